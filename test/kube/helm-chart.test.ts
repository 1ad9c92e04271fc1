import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, binDir } from '../../harness/binaries.ts';
import { kubectl } from '../../harness/crds.ts';
import { requireKube } from '../../harness/environment.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { waitFor } from '../../harness/processes.ts';

const run = promisify(execFile);
const CHART = join(REPO_ROOT, 'charts', 'dbcred');
let ns: TestNamespace;
let helm: string;
const release = 'dbcred';

async function helmRun(args: string[]): Promise<string> {
  const { stdout } = await run(helm, args, { env: { ...process.env, KUBECONFIG: requireKube().kubeconfig } });
  return stdout;
}

beforeAll(async () => {
  helm = join(await binDir(['helm']), 'helm');
  // The operator's own namespace enforces the restricted Pod Security Standard.
  ns = await createTestNamespace('chart', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await helmRun(['install', release, CHART, '--namespace', ns.name, '--set', `operator.instance=${ns.name}`, '--wait=false']);
}, 120_000);
afterAll(async () => {
  await helmRun(['uninstall', release, '--namespace', ns.name]).catch(() => undefined);
  await ns.cleanup();
});

const sa = () => `system:serviceaccount:${ns.name}:${release}`;
async function can(verb: string, resourceAndSubresource: string, namespace?: string, as = sa()): Promise<boolean> {
  // kubectl reads TYPE/NAME: a subresource goes in its own flag, or it is taken for an object's name.
  const [resource, subresource] = resourceAndSubresource.split('/');
  try {
    const out = await kubectl(requireKube().kubeconfig, [
      'auth',
      'can-i',
      verb,
      resource!,
      ...(subresource ? [`--subresource=${subresource}`] : []),
      `--as=${as}`,
      ...(namespace ? ['-n', namespace] : ['--all-namespaces']),
    ]);
    return out.trim() === 'yes';
  } catch (error) {
    // can-i exits 1 when the answer is no
    return (error as { stdout?: string }).stdout?.trim() === 'yes';
  }
}

describe('the Helm chart', () => {
  it('lints, and refuses values that break its schema', async () => {
    expect(await helmRun(['lint', CHART])).toContain('0 chart(s) failed');
    await expect(helmRun(['template', 'x', CHART, '--set', 'replicas=0'])).rejects.toThrow(/replicas/);
    await expect(helmRun(['template', 'x', CHART, '--set', 'operator.instance=Bad_Name'])).rejects.toThrow(/instance/);
  });

  it('installs a Deployment whose pods the restricted Pod Security Standard admits', async () => {
    await waitFor(
      'the ReplicaSet to create the operator pods',
      async () => {
        const pods = JSON.parse(
          await kubectl(requireKube().kubeconfig, [
            'get',
            'pods',
            '-n',
            ns.name,
            '-l',
            `app.kubernetes.io/instance=${release}`,
            '-o',
            'json',
          ]),
        ) as { items: unknown[] };
        return pods.items.length === 2;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const events = await kubectl(requireKube().kubeconfig, ['get', 'events', '-n', ns.name, '-o', 'json']);
    expect(events).not.toContain('violates PodSecurity');
  });

  it('installs the admission policy that adds the revoke finalizer, unless disabled', async () => {
    const policies = await kubectl(requireKube().kubeconfig, [
      'get',
      'mutatingadmissionpolicies,mutatingadmissionpolicybindings',
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '-o',
      'name',
    ]);
    expect(policies.trim().split('\n').sort()).toEqual([
      `mutatingadmissionpolicy.admissionregistration.k8s.io/${release}-revoke-finalizer`,
      `mutatingadmissionpolicybinding.admissionregistration.k8s.io/${release}-revoke-finalizer`,
    ]);
    const without = await helmRun(['template', 'x', CHART, '--set', 'revokeFinalizerPolicy.enabled=false']);
    expect(without).not.toContain('MutatingAdmissionPolicy');
  });

  it('grants the operator what it needs and nothing more', async () => {
    const yes: [string, string, string?][] = [
      ['list', 'databasecredentials.dbcred.io'],
      ['watch', 'clusterdatabaseservers.dbcred.io'],
      ['patch', 'databasecredentials.dbcred.io/status'],
      ['patch', 'databasecredentials.dbcred.io'],
      ['create', 'secrets', 'any-team'],
      ['delete', 'secrets', 'any-team'],
      ['get', 'secrets', 'any-team'],
      ['create', 'events.events.k8s.io', 'any-team'],
      ['patch', 'deployments.apps', 'any-team'],
      ['list', 'namespaces'],
      ['update', 'leases.coordination.k8s.io', ns.name],
    ];
    const no: [string, string, string?][] = [
      ['delete', 'databasecredentials.dbcred.io'],
      ['create', 'databaseroles.dbcred.io'],
      ['update', 'databaseservers.dbcred.io'],
      ['create', 'pods', 'any-team'],
      ['delete', 'deployments.apps', 'any-team'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['update', 'leases.coordination.k8s.io', 'kube-system'],
      ['delete', 'namespaces'],
      ['create', 'serviceaccounts/token', 'any-team'],
    ];
    for (const [verb, resource, namespace] of yes)
      expect({ verb, resource, allowed: await can(verb, resource, namespace) }).toEqual({ verb, resource, allowed: true });
    for (const [verb, resource, namespace] of no)
      expect({ verb, resource, allowed: await can(verb, resource, namespace) }).toEqual({ verb, resource, allowed: false });
  });

  it("gives a namespace's admins and editors its dbcred kinds, but never their status nor the cluster kinds", async () => {
    const tenant = `tenant-${ns.name}`;
    await kubectl(requireKube().kubeconfig, [
      'create',
      'rolebinding',
      'tenant-edit',
      '--clusterrole=edit',
      `--user=${tenant}`,
      '-n',
      ns.name,
    ]);
    await waitFor(
      'the built-in edit role to aggregate the dbcred kinds',
      () => can('create', 'databasecredentials.dbcred.io', ns.name, tenant),
      {
        timeoutMs: 30_000,
      },
    );
    for (const resource of ['databaseservers', 'databaseroles', 'databasecredentials', 'databasestaticcredentials'])
      expect({ resource, allowed: await can('delete', `${resource}.dbcred.io`, ns.name, tenant) }).toEqual({ resource, allowed: true });
    const no: [string, string, string?][] = [
      ['patch', 'databasecredentials.dbcred.io/status', ns.name],
      ['update', 'databasestaticcredentials.dbcred.io/status', ns.name],
      ['create', 'clusterdatabaseservers.dbcred.io'],
      ['create', 'clusterdatabaseroles.dbcred.io'],
      ['create', 'databasecredentials.dbcred.io', 'other-team'],
    ];
    for (const [verb, resource, namespace] of no)
      expect({ verb, resource, allowed: await can(verb, resource, namespace, tenant) }).toEqual({ verb, resource, allowed: false });
  });
});
