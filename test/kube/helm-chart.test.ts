import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, binDir } from '../../harness/binaries.ts';
import { kubectl } from '../../harness/crds.ts';
import { requireKube } from '../../harness/environment.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { create, get, waitForCondition, waitForCredentialGone } from '../../harness/lab.ts';
import { startOperator } from '../../harness/operator.ts';
import { startPostgres, type StartedDatabase } from '../../harness/postgres.ts';
import { waitFor } from '../../harness/processes.ts';
import { RESTARTED_AT_ANNOTATION } from '../../src/controllers/rollout-restart.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { KubeError } from '../../src/runtime/kube/errors.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';

const run = promisify(execFile);
const CHART = join(REPO_ROOT, 'charts', 'dbcred');
let ns: TestNamespace;
let helm: string;
const release = 'dbcred';
/**
 * These suites check what the chart grants and runs the operator in-process as its ServiceAccount;
 * the node project's kubelet shares this control plane and holds the chart's default image, so the
 * releases' own pods are kept off every node (a running in-cluster replica would reconcile the same
 * objects, and every other suite's, as a second installation).
 */
const NO_PODS = ['--set-string', 'nodeSelector.dbcred-test/no-node=true'];

async function helmRun(args: string[]): Promise<string> {
  const { stdout } = await run(helm, args, { env: { ...process.env, KUBECONFIG: requireKube().kubeconfig } });
  return stdout;
}

beforeAll(async () => {
  helm = join(await binDir(['helm']), 'helm');
  // The operator's own namespace enforces the restricted Pod Security Standard.
  ns = await createTestNamespace('chart', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await helmRun(['install', release, CHART, '--namespace', ns.name, '--set', `operator.instance=${ns.name}`, '--wait=false', ...NO_PODS]);
}, 120_000);
afterAll(async () => {
  await helmRun(['uninstall', release, '--namespace', ns.name]).catch(() => undefined);
  await ns.cleanup();
});

const sa = () => `system:serviceaccount:${ns.name}:${release}`;
/** can asks the apiserver whether `as` may do verb on a resource ("plural.group/subresource"), or on one object (name). */
async function can(verb: string, resourceAndSubresource: string, namespace?: string, as = sa(), name?: string): Promise<boolean> {
  // kubectl reads TYPE/NAME: a subresource goes in its own flag, or it is taken for an object's name.
  const [resource, subresource] = resourceAndSubresource.split('/');
  try {
    const out = await kubectl(requireKube().kubeconfig, [
      'auth',
      'can-i',
      verb,
      name ? `${resource!}/${name}` : resource!,
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

  it('installs a PodDisruptionBudget for its two replicas and a Service that exposes only the metrics port', async () => {
    const get = async <T>(kind: string, name: string) =>
      JSON.parse(await kubectl(requireKube().kubeconfig, ['get', kind, name, '-n', ns.name, '-o', 'json'])) as T;
    const pdb = await get<{ spec: { maxUnavailable?: number } }>('poddisruptionbudget', release);
    expect(pdb.spec.maxUnavailable).toBe(1);
    const service = await get<{ spec: { ports: { name: string; port: number }[] } }>('service', `${release}-metrics`);
    expect(service.spec.ports.map((p) => [p.name, p.port])).toEqual([['metrics', 8080]]);
  });

  it('installs the admission policies (revoke finalizer, requester), unless disabled', async () => {
    const policies = await kubectl(requireKube().kubeconfig, [
      'get',
      'mutatingadmissionpolicies,mutatingadmissionpolicybindings',
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '-o',
      'name',
    ]);
    expect(policies.trim().split('\n').sort()).toEqual([
      `mutatingadmissionpolicy.admissionregistration.k8s.io/${release}-requester`,
      `mutatingadmissionpolicy.admissionregistration.k8s.io/${release}-revoke-finalizer`,
      `mutatingadmissionpolicybinding.admissionregistration.k8s.io/${release}-requester`,
      `mutatingadmissionpolicybinding.admissionregistration.k8s.io/${release}-revoke-finalizer`,
    ]);
    const without = await helmRun([
      'template',
      'x',
      CHART,
      '--set',
      'revokeFinalizerPolicy.enabled=false',
      '--set',
      'requesterPolicy.enabled=false',
    ]);
    expect(without).not.toContain('MutatingAdmissionPolicy');
  });

  it('passes a given cluster id to the operator, and then grants no read of kube-system', async () => {
    const scopedWith = (extra: string[]) =>
      helmRun(['template', 'x', CHART, '--set', 'operator.watchNamespace=team', ...extra, '--show-only', 'templates/rbac.yaml']);
    expect(await scopedWith([])).toContain('"kube-system"');
    expect(await scopedWith(['--set', 'operator.clusterId=prod-eu-1'])).not.toContain('kube-system');
    const deployment = await helmRun([
      'template',
      'x',
      CHART,
      '--set',
      'operator.clusterId=prod-eu-1',
      '--show-only',
      'templates/deployment.yaml',
    ]);
    expect(deployment).toContain('--cluster-id=prod-eu-1');
    await expect(helmRun(['template', 'x', CHART, '--set', 'operator.clusterId=bad id'])).rejects.toThrow(/clusterId/);
  });

  it('grants the operator what it needs and nothing more', async () => {
    const yes: [string, string, string?][] = [
      ['list', 'databasecredentials.dbcred.io'],
      ['watch', 'clusterdatabaseservers.dbcred.io'],
      ['patch', 'databasecredentials.dbcred.io/status'],
      ['patch', 'databasecredentials.dbcred.io'],
      // finalizers: a server is held while users issued on it live
      ['patch', 'databaseservers.dbcred.io'],
      ['patch', 'clusterdatabaseservers.dbcred.io'],
      // blockOwnerDeletion on the Secrets it owns (OwnerReferencesPermissionEnforcement)
      ['update', 'databasecredentials.dbcred.io/finalizers', 'any-team'],
      ['update', 'databasestaticcredentials.dbcred.io/finalizers', 'any-team'],
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
      ['create', 'databaseservers.dbcred.io'],
      ['delete', 'clusterdatabaseservers.dbcred.io'],
      ['patch', 'databasecredentials.dbcred.io/finalizers', 'any-team'],
      ['update', 'databaseservers.dbcred.io/finalizers', 'any-team'],
      ['update', 'clusterdatabaseservers.dbcred.io/finalizers'],
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

// Namespace-scoped mode: two more releases in their own namespace, each watching its own team
// namespace; one with rollout restarts, one without. Their cluster-scoped objects are named after
// the release, so they do not collide with the release above.
describe('the Helm chart with operator.watchNamespace (namespace-scoped RBAC)', () => {
  let operatorNs: TestNamespace;
  let teamA: TestNamespace;
  let teamB: TestNamespace;
  let adminNs: TestNamespace;
  let postgres: StartedDatabase;
  let admin: KubeClient;
  const scoped = 'scoped';
  const noRestarts = 'norestart';
  // The ServiceAccount is named after the release's fullname (<release>-dbcred).
  const account = (rel: string) => `${rel}-dbcred`;
  const asSa = (rel: string) => `system:serviceaccount:${operatorNs.name}:${account(rel)}`;

  beforeAll(async () => {
    helm ??= join(await binDir(['helm']), 'helm');
    [operatorNs, teamA, teamB, adminNs] = await Promise.all([
      createTestNamespace('chart-op', { 'pod-security.kubernetes.io/enforce': 'restricted' }),
      createTestNamespace('chart-team-a'),
      createTestNamespace('chart-team-b'),
      createTestNamespace('chart-db-admin'),
    ]);
    const common = ['--namespace', operatorNs.name, '--wait=false', '--set', 'replicas=1', ...NO_PODS];
    const quiet = ['--set', 'revokeFinalizerPolicy.enabled=false', '--set', 'tenantRbac.aggregate=false'];
    await helmRun([
      'install',
      scoped,
      CHART,
      ...common,
      ...quiet,
      '--set',
      `operator.watchNamespace=${teamA.name}`,
      '--set',
      `operator.instance=${teamA.name}`,
      '--set',
      `operator.adminSecretNamespaces={${adminNs.name}}`,
    ]);
    await helmRun([
      'install',
      noRestarts,
      CHART,
      ...common,
      ...quiet,
      '--set',
      `operator.watchNamespace=${teamB.name}`,
      '--set',
      `operator.instance=${teamB.name}`,
      '--set',
      'operator.rolloutRestarts.enabled=false',
    ]);
    postgres = await startPostgres();
    admin = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
  }, 120_000);
  afterAll(async () => {
    for (const rel of [scoped, noRestarts]) await helmRun(['uninstall', rel, '--namespace', operatorNs.name]).catch(() => undefined);
    await Promise.all([operatorNs, teamA, teamB, adminNs].filter(Boolean).map((n) => n.cleanup()));
    await postgres?.stop();
  }, 60_000);

  it('grants the namespaced kinds, Secrets and workloads in the watched namespace only, and cluster-wide only the cluster kinds', async () => {
    const as = asSa(scoped);
    const yes: [string, string, string?, string?][] = [
      ['list', 'databasecredentials.dbcred.io', teamA.name],
      ['watch', 'databaseservers.dbcred.io', teamA.name],
      ['patch', 'databasecredentials.dbcred.io/status', teamA.name],
      ['update', 'databasestaticcredentials.dbcred.io', teamA.name],
      ['patch', 'databaseservers.dbcred.io', teamA.name],
      ['update', 'databasecredentials.dbcred.io/finalizers', teamA.name],
      ['update', 'databasestaticcredentials.dbcred.io/finalizers', teamA.name],
      ['patch', 'clusterdatabaseservers.dbcred.io'],
      ['create', 'secrets', teamA.name],
      ['update', 'secrets', teamA.name],
      ['delete', 'secrets', teamA.name],
      ['watch', 'secrets', teamA.name],
      ['create', 'events.events.k8s.io', teamA.name],
      ['patch', 'deployments.apps', teamA.name],
      ['patch', 'daemonsets.apps', teamA.name],
      ['get', 'secrets', adminNs.name],
      ['list', 'clusterdatabaseservers.dbcred.io'],
      ['watch', 'clusterdatabaseroles.dbcred.io'],
      ['patch', 'clusterdatabaseservers.dbcred.io/status'],
      ['update', 'clusterdatabaseroles.dbcred.io/status'],
      ['watch', 'namespaces', undefined, teamA.name],
      ['get', 'namespaces', undefined, 'kube-system'],
      ['update', 'leases.coordination.k8s.io', operatorNs.name],
    ];
    const no: [string, string, string?, string?][] = [
      ['create', 'secrets', 'any-team'],
      ['get', 'secrets', 'any-team'],
      ['create', 'secrets'], // cluster-wide
      ['list', 'secrets'],
      ['create', 'secrets', adminNs.name],
      ['patch', 'secrets', adminNs.name],
      ['list', 'secrets', adminNs.name],
      ['patch', 'databaseservers.dbcred.io', 'any-team'],
      ['patch', 'deployments.apps', 'any-team'],
      ['patch', 'deployments.apps'],
      ['list', 'databasecredentials.dbcred.io'],
      ['list', 'databasecredentials.dbcred.io', 'any-team'],
      ['patch', 'databasecredentials.dbcred.io/status', 'any-team'],
      ['update', 'databasecredentials.dbcred.io/finalizers', 'any-team'],
      ['update', 'databasestaticcredentials.dbcred.io/finalizers'],
      ['create', 'events.events.k8s.io', 'any-team'],
      ['delete', 'databasecredentials.dbcred.io', teamA.name],
      ['create', 'pods', teamA.name],
      ['delete', 'deployments.apps', teamA.name],
      ['list', 'namespaces'],
      ['get', 'namespaces', undefined, 'any-team'],
      ['list', 'namespaces', undefined, 'kube-system'],
      ['create', 'clusterdatabaseservers.dbcred.io'],
      ['update', 'leases.coordination.k8s.io', teamA.name],
    ];
    const ask = async ([verb, resource, namespace, name]: [string, string, string?, string?]) => ({
      verb,
      resource,
      namespace,
      name,
      allowed: await can(verb, resource, namespace, as, name),
    });
    for (const q of yes) expect(await ask(q)).toEqual({ verb: q[0], resource: q[1], namespace: q[2], name: q[3], allowed: true });
    for (const q of no) expect(await ask(q)).toEqual({ verb: q[0], resource: q[1], namespace: q[2], name: q[3], allowed: false });
  });

  it('with operator.rolloutRestarts.enabled=false, grants no workload access anywhere and tells the operator', async () => {
    const as = asSa(noRestarts);
    expect(await can('create', 'secrets', teamB.name, as)).toBe(true);
    for (const resource of ['deployments.apps', 'statefulsets.apps', 'daemonsets.apps'])
      for (const namespace of [teamB.name, 'any-team', undefined])
        expect({ resource, namespace, allowed: await can('patch', resource, namespace, as) }).toEqual({
          resource,
          namespace,
          allowed: false,
        });
    // The cluster-wide mode drops the workload rule too, and both pass the flag.
    const clusterWide = await helmRun(['template', 'x', CHART, '--set', 'operator.rolloutRestarts.enabled=false']);
    expect(clusterWide).toContain('--rollout-restarts=false');
    expect(clusterWide).not.toContain('deployments');
    expect(await helmRun(['template', 'x', CHART])).toContain('--rollout-restarts=true');
  });

  /** startAs runs the operator in-process as a release's ServiceAccount, watching ns, with a PostgreSQL server and role there. */
  async function startAs(rel: string, ns: string, flags: Record<string, string> = {}) {
    await admin.create(Resources.Secret, {
      metadata: { name: 'pg-admin', namespace: ns },
      stringData: { username: postgres.info.admin.user, password: postgres.info.admin.password },
    });
    await create(admin, 'DatabaseServer', ns, 'pg', {
      engine: 'postgres',
      host: '127.0.0.1',
      port: postgres.info.port,
      database: 'app',
      adminCredentialsSecretRef: { name: 'pg-admin' },
      tls: { mode: 'disable' },
    });
    await create(admin, 'DatabaseRole', ns, 'readers', { serverRef: { name: 'pg' }, usernamePrefix: 'app' });
    await admin.create(Resources.Deployment, {
      metadata: { name: 'api', namespace: ns },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'app' }] } },
      },
    });
    const token = (await kubectl(requireKube().kubeconfig, ['create', 'token', account(rel), '-n', operatorNs.name])).trim();
    const client = admin.withToken(token);
    const op = await startOperator(ns, flags, { client });
    return { client, op };
  }

  /** rotateOnce creates a credential that rotates after ~2 s and returns it once a second user is current. */
  async function rotateOnce(ns: string) {
    await create(admin, 'DatabaseCredential', ns, 'app', {
      roleRef: { name: 'readers' },
      ttl: '4s',
      rotation: { renewAtPercent: 50, overlap: '1s' },
      rolloutRestartTargets: [{ kind: 'Deployment', name: 'api' }],
    });
    const first = await waitForCondition(admin, 'DatabaseCredential', ns, 'app', 'Ready', 'True');
    expect(first.status?.current?.username).toMatch(/^dbc[a-z0-9]*_app_/);
    let rotated = first;
    await waitFor(
      'the credential to rotate',
      async () => {
        rotated = await get(admin, 'DatabaseCredential', ns, 'app');
        return (rotated.status?.current?.serial ?? 0) >= 2;
      },
      { timeoutMs: 20_000, onTimeout: () => JSON.stringify(rotated.status ?? {}) },
    );
    return rotated;
  }

  const restartedAt = async (ns: string) =>
    (
      await admin.get<KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
        Resources.Deployment,
        'api',
        ns,
      )
    ).spec.template.metadata.annotations?.[RESTARTED_AT_ANNOTATION];

  /** releaseCredential deletes the credential and waits until the operator revoked its users and let go. */
  async function releaseCredential(ns: string): Promise<void> {
    await admin.delete(DbcredResources.DatabaseCredential, 'app', ns);
    await waitForCredentialGone(admin, ns, 'app');
  }

  it('runs the operator as its ServiceAccount: a credential in the watched namespace becomes Ready and its rotation restarts the Deployment', async () => {
    const { client, op } = await startAs(scoped, teamA.name);
    try {
      // The Namespace is read by name (field selector), which its resourceNames rule allows; all Namespaces are not.
      const mine = await client.list(Resources.Namespace, { fieldSelector: `metadata.name=${teamA.name}` });
      expect(mine.items.map((n) => n.metadata.name)).toEqual([teamA.name]);
      const all = await client.list(Resources.Namespace).catch((error: unknown) => error);
      expect(all).toBeInstanceOf(KubeError);
      expect((all as KubeError).status).toBe(403);
      await rotateOnce(teamA.name);
      await waitFor('the Deployment to be stamped after the rotation', async () => (await restartedAt(teamA.name)) !== undefined, {
        timeoutMs: 15_000,
      });
    } finally {
      // Revoked while the operator still runs, so the namespace is not left with a finalizer.
      await releaseCredential(teamA.name).catch(() => undefined);
      await op.stop();
    }
  }, 90_000);

  it('with --rollout-restarts=false, a rotation stays Ready, patches no workload, and says so in a Warning Event', async () => {
    const { op } = await startAs(noRestarts, teamB.name, { 'rollout-restarts': 'false' });
    try {
      const rotated = await rotateOnce(teamB.name);
      let warning: (KubeObject & { type?: string; note?: string }) | undefined;
      await waitFor(
        'a RolloutRestartsDisabled Warning Event on the credential',
        async () => {
          const events = await admin.list<KubeObject & { reason?: string; type?: string; note?: string; regarding?: { name?: string } }>(
            Resources.Event,
            { namespace: teamB.name },
          );
          warning = events.items.find((e) => e.reason === 'RolloutRestartsDisabled' && e.regarding?.name === 'app');
          return warning !== undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(warning).toMatchObject({ type: 'Warning' });
      expect(warning!.note).toContain('Deployment api');
      expect(rotated.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
      expect(await restartedAt(teamB.name)).toBeUndefined();
    } finally {
      await releaseCredential(teamB.name).catch(() => undefined);
      await op.stop();
    }
  }, 90_000);
});
