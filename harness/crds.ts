import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KINDS } from '../src/api/v1alpha1/index.ts';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import { KubeClient } from '../src/runtime/kube/client.ts';
import { KubeError } from '../src/runtime/kube/errors.ts';
import { REPO_ROOT, binDir } from './binaries.ts';
import { waitFor } from './processes.ts';

const run = promisify(execFile);

/** kubectl runs the cached kubectl against a kubeconfig and returns stdout; stderr is in the error. */
export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const bin = join(await binDir(['kubectl']), 'kubectl');
  const child = run(bin, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

/** The requester admission policy the harness installs (the chart's, as release dbcred-tests). */
export const TEST_REQUESTER_POLICY = 'dbcred-tests-requester';

/**
 * installCrds server-side applies crds/, the chart's admission policies (revoke finalizer, requester) and its
 * tenant ClusterRoles (rendered by helm: the suites run with what the chart installs), and waits until every dbcred CRD is
 * Established, the apiserver's discovery lists all of them (on a fresh apiserver that can lag by
 * tens of seconds, and kubectl's short names and the dbcred category depend on it), and the admission
 * policies can type them (see admissionKnowsKinds).
 */
export async function installCrds(kubeconfig: string): Promise<void> {
  await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager=dbcred-tests', '-f', join(REPO_ROOT, 'crds')]);
  const helm = join(await binDir(['helm']), 'helm');
  const { stdout: policy } = await run(helm, [
    'template',
    'dbcred-tests',
    join(REPO_ROOT, 'charts', 'dbcred'),
    // helm template assumes no optional APIs; the harness's apiserver serves this one.
    '--api-versions',
    'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy',
    '--show-only',
    'templates/revoke-finalizer-policy.yaml',
    '--show-only',
    'templates/requester-policy.yaml',
    '--show-only',
    'templates/tenant-rbac.yaml',
  ]);
  await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager=dbcred-tests', '-f', '-'], policy);
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=dbcred']);
  const expected = KINDS.length;
  await waitFor(
    'discovery to list the dbcred kinds',
    async () => {
      const names = (await kubectl(kubeconfig, ['api-resources', '--api-group=dbcred.io', '--cached=false', '-o', 'name']))
        .trim()
        .split('\n')
        .filter(Boolean);
      return names.length === expected;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const client = KubeClient.fromKubeconfigFile(kubeconfig);
  await waitFor('the admission policies to type the dbcred kinds', () => admissionKnowsKinds(client), {
    timeoutMs: 120_000,
    intervalMs: 250,
  });
}

/**
 * admissionKnowsKinds is true once a dry-run create of every dbcred kind gets past mutating admission.
 * The MutatingAdmissionPolicies type an object from the apiserver's OpenAPI, which is published after
 * discovery: until then a create is refused with 503 "Resource kind … not found" (seen in CI).
 */
async function admissionKnowsKinds(client: KubeClient): Promise<boolean> {
  for (const resource of Object.values(DbcredResources)) {
    const metadata = { name: 'admission-probe', ...(resource.namespaced ? { namespace: 'default' } : {}) };
    try {
      await client.create(resource, { metadata, spec: {} }, { dryRun: true });
    } catch (e) {
      // An empty spec is invalid (422): the object was typed and mutated, then refused by validation.
      if (e instanceof KubeError && e.status === 503) return false;
      if (!(e instanceof KubeError && e.status === 422)) throw e;
    }
  }
  return true;
}
