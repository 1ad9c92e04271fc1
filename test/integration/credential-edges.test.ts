import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DbcredResources, REVOKE_FINALIZER } from '../../src/controllers/dbcred-resources.ts';
import { installationMarker, usernameFor } from '../../src/engines/username.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { KubeError } from '../../src/runtime/kube/errors.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { requireKube } from '../../harness/environment.ts';
import { kubectl } from '../../harness/crds.ts';
import { createTestNamespace } from '../../harness/kube-client.ts';
import { waitFor } from '../../harness/processes.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { startTcpProxy } from '../../harness/tcp-proxy.ts';
import {
  condition,
  create,
  get,
  waitForCredentialGone,
  secretData,
  sql,
  startLab,
  waitForCondition,
  type Lab,
  type Obj,
  waitForRestartStamp,
} from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator;

beforeAll(async () => {
  lab = await startLab('edges');
  op = await startOperator(lab.ns.name);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

/** credentialReconciles reads the operator's count of credential reconciles, all outcomes, from /metrics. */
const credentialReconciles = async () => {
  const text = await (await fetch(`http://127.0.0.1:${op.operator.manager.healthPort}/metrics`)).text();
  return [...text.matchAll(/^dbcred_reconcile_total\{controller="databasecredentials",outcome="\w+"\} (\d+)/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
};
const pgUserExists = async (username: string) =>
  (await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${username}'`])).length === 1;

describe('servers and roles report why they are not ready', () => {
  it('a wrong admin password: AuthenticationFailed; a closed port: Unreachable; a missing Secret: SecretNotFound', async () => {
    await lab.client.create(Resources.Secret, {
      metadata: { name: 'wrong-admin', namespace: lab.ns.name },
      stringData: { username: lab.postgres.info.admin.user, password: 'not-the-password' },
    });
    await create(lab.client, 'DatabaseServer', lab.ns.name, 'bad-password', {
      engine: 'postgres',
      host: '127.0.0.1',
      port: lab.postgres.info.port,
      database: 'app',
      adminCredentialsSecretRef: { name: 'wrong-admin' },
      tls: { mode: 'disable' },
    });
    await create(lab.client, 'DatabaseServer', lab.ns.name, 'closed-port', {
      engine: 'postgres',
      host: '127.0.0.1',
      port: 1,
      database: 'app',
      adminCredentialsSecretRef: { name: 'pg-admin' },
      tls: { mode: 'disable' },
    });
    await create(lab.client, 'DatabaseServer', lab.ns.name, 'no-secret', {
      engine: 'postgres',
      host: '127.0.0.1',
      port: lab.postgres.info.port,
      adminCredentialsSecretRef: { name: 'absent' },
      tls: { mode: 'disable' },
    });
    const auth = await waitForCondition(
      lab.client,
      'DatabaseServer',
      lab.ns.name,
      'bad-password',
      'Ready',
      'False',
      'AuthenticationFailed',
    );
    expect(condition(auth, 'Ready')?.message).not.toContain('not-the-password');
    await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'closed-port', 'Ready', 'False', 'Unreachable');
    const missing = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'no-secret', 'Ready', 'False', 'SecretNotFound');
    expect(condition(missing, 'Ready')?.message).toBe(`Secret ${lab.ns.name}/absent does not exist`);
    const ok = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg', 'Ready', 'True', 'Connected');
    expect(ok.status).toMatchObject({ expiryEnforcement: 'ValidUntil', serverVersion: expect.stringMatching(/^PostgreSQL 1\d/) });
  });

  it('a MariaDB server without a database cannot expire users by itself: ExpiryEnforced=False, a Warning, a metric', async () => {
    await create(lab.client, 'DatabaseServer', lab.ns.name, 'no-database', {
      engine: 'mysql',
      host: '127.0.0.1',
      port: lab.mariadb.info.port,
      adminCredentialsSecretRef: { name: 'mysql-admin' },
      tls: { mode: 'disable' },
    });
    const operatorOnly = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'no-database', 'ExpiryEnforced', 'False');
    expect(condition(operatorOnly, 'ExpiryEnforced')).toMatchObject({ reason: 'ExpiryByOperatorOnly' });
    expect(condition(operatorOnly, 'ExpiryEnforced')?.message).toContain('event scheduler');
    expect(condition(operatorOnly, 'Ready')?.status).toBe('True'); // it works, only less safely
    const enforced = await waitForCondition(
      lab.client,
      'DatabaseServer',
      lab.ns.name,
      'mysql',
      'ExpiryEnforced',
      'True',
      'ExpiryByDatabase',
    );
    expect(enforced.status).toMatchObject({ expiryEnforcement: 'EventScheduler' });
    await waitFor(
      'an ExpiryByOperatorOnly Warning Event',
      async () => {
        const events = await lab.client.list<KubeObject & { reason?: string; type?: string; regarding?: { name?: string } }>(
          Resources.Event,
          {
            namespace: lab.ns.name,
          },
        );
        return events.items.some((e) => e.type === 'Warning' && e.reason === 'ExpiryByOperatorOnly' && e.regarding?.name === 'no-database');
      },
      { timeoutMs: 10_000 },
    );
    const text = await (await fetch(`http://127.0.0.1:${op.operator.manager.healthPort}/metrics`)).text();
    expect(text).toContain(`dbcred_server_expiry_not_enforced{kind="DatabaseServer",namespace="${lab.ns.name}",name="no-database"} 1`);
    expect(text).toContain(`dbcred_server_expiry_not_enforced{kind="DatabaseServer",namespace="${lab.ns.name}",name="mysql"} 0`);
  });

  it("a role with the other engine's block: EngineMismatch; a role whose group role does not exist: not Ready", async () => {
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'mismatch', { serverRef: { name: 'pg' }, mysql: { userHost: '%' } });
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'no-group', { serverRef: { name: 'pg' }, memberOf: ['no_such_group'] });
    const mismatch = await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'mismatch', 'Ready', 'False', 'EngineMismatch');
    expect(condition(mismatch, 'Ready')?.message).toBe('the role has a mysql block but server pg runs postgres');
    const noGroup = await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'no-group', 'Ready', 'False');
    expect(condition(noGroup, 'Ready')?.message).toContain('no_such_group');
    await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'pg-readers', 'Ready', 'True');
  });
});

describe('limits', () => {
  it("a role's quota of live users refuses the credential beyond it, and creates nothing for it", async () => {
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'quota-one', {
      serverRef: { name: 'pg' },
      memberOf: ['app_readers'],
      maxActiveCredentials: 1,
    });
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-first', { roleRef: { name: 'quota-one' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-first', 'Ready', 'True');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-second', { roleRef: { name: 'quota-one' } });
    const denied = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-second', 'Ready', 'False', 'QuotaExceeded');
    expect(condition(denied, 'Ready')?.message).toBe('role quota-one allows 1 live users and has 1');
    expect(await secretData(lab.client, lab.ns.name, 'quota-second')).toBeUndefined();
    // The role's count follows its credentials within seconds, not only at its minutely check.
    await waitFor(
      'the role to count its live user',
      async () => {
        const role = await get(lab.client, 'DatabaseRole', lab.ns.name, 'quota-one');
        return (role.status as { activeCredentials?: number } | undefined)?.activeCredentials === 1;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });

  it.each([
    ['pg', 'PostgreSQL'],
    ['mysql', 'MariaDB'],
  ])('ten credentials of a role with a quota of 3, created at once, get exactly 3 users (%s)', async (server) => {
    const role = `quota-three-${server}`;
    await create(lab.client, 'DatabaseRole', lab.ns.name, role, {
      serverRef: { name: server },
      memberOf: ['app_readers'],
      maxActiveCredentials: 3,
    });
    const names = Array.from({ length: 10 }, (_, i) => `${role}-${i}`);
    await Promise.all(names.map((name) => create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: role } })));
    let outcomes: string[] = [];
    await waitFor(
      'every credential to be issued or refused for the quota',
      async () => {
        outcomes = await Promise.all(
          names.map(async (name) => {
            const ready = condition(await get(lab.client, 'DatabaseCredential', lab.ns.name, name), 'Ready');
            return ready?.status === 'True' ? 'issued' : ready?.reason === 'QuotaExceeded' ? 'refused' : 'undecided';
          }),
        );
        return !outcomes.includes('undecided');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(outcomes.filter((o) => o === 'issued')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(7);
    for (const name of names) await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
  });

  it('a credential waiting for a place in the quota gets its user as soon as another credential of the role is deleted', async () => {
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'quota-waits', {
      serverRef: { name: 'pg' },
      memberOf: ['app_readers'],
      maxActiveCredentials: 1,
    });
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-holder', { roleRef: { name: 'quota-waits' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-holder', 'Ready', 'True');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-waiter', { roleRef: { name: 'quota-waits' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-waiter', 'Ready', 'False', 'QuotaExceeded');
    await lab.client.delete(DbcredResources.DatabaseCredential, 'quota-holder', lab.ns.name);
    // Well before the 30 s re-check: the holder's revocation frees the place.
    const issued = await waitForCondition(
      lab.client,
      'DatabaseCredential',
      lab.ns.name,
      'quota-waiter',
      'Ready',
      'True',
      undefined,
      10_000,
    );
    expect(await pgUserExists(issued.status!.current!.username)).toBe(true);
  });

  it('a rotation the quota refuses keeps the current user until its expiry, says why, waits without looping, then issues a user with a new name', async () => {
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'quota-rotate', {
      serverRef: { name: 'pg' },
      memberOf: ['app_readers'],
      maxActiveCredentials: 1,
    });
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-rotating', {
      roleRef: { name: 'quota-rotate' },
      ttl: '6s',
      rotation: { renewAtPercent: 50, overlap: '1s' },
    });
    const first = (await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-rotating', 'Ready', 'True')).status!
      .current!;
    const refused = await waitForCondition(
      lab.client,
      'DatabaseCredential',
      lab.ns.name,
      'quota-rotating',
      'Rotating',
      'False',
      'QuotaExceeded',
    );
    expect(refused.status!.current!.username).toBe(first.username);
    expect(condition(refused, 'Ready')?.status).toBe('True');
    const before = await credentialReconciles();
    // At its expiry the user is revoked; with it gone the quota has room, so a new user follows.
    let next: Obj | undefined;
    await waitFor(
      'a new user after the expiry',
      async () => {
        next = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'quota-rotating');
        return next.status?.current !== undefined && next.status.current.username !== first.username;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    // Between the refusal and the expiry (~3 s) there was nothing to do: a handful of reconciles, not thousands.
    expect((await credentialReconciles()) - before).toBeLessThan(50);
    expect(
      op.audit
        .map((l) => JSON.parse(l) as { action: string; username?: string })
        .filter((r) => r.username === first.username)
        .map((r) => r.action),
    ).toEqual(['issue', 'revoke', 'expire']);
    expect(await pgUserExists(first.username)).toBe(false);
    // Serials never repeat, so neither does a username, even after an expiry.
    expect(next!.status!.current!.serial).toBe(2);
    expect(next!.status!.lastSerial).toBe(2);
  });
});

describe('rollout restarts', () => {
  it('a rotation stamps the pod template of each target so its pods pick up the new Secret', async () => {
    await lab.client.create(Resources.Deployment, {
      metadata: { name: 'api', namespace: lab.ns.name },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'app' }] } },
      },
    });
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'restarting', {
      roleRef: { name: 'pg-readers' },
      ttl: '4s',
      rotation: { renewAtPercent: 50, overlap: '1s' },
      rolloutRestartTargets: [{ kind: 'Deployment', name: 'api' }],
    });
    const first = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'restarting', 'Ready', 'True');
    const firstUser = first.status!.current!.username;
    const stamp = await waitForRestartStamp(lab.client, lab.ns.name, 'api');
    const now = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'restarting');
    expect(now.status?.current?.username).not.toBe(firstUser);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(Date.parse(now.status!.current!.issuedAt) - 1);
  });
});

describe('revocation during a database outage', () => {
  it('is retried and shown while PostgreSQL is down, and done within seconds of its return', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'outage', { roleRef: { name: 'pg-readers' } });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'outage', 'Ready', 'True');
    const username = ready.status!.current!.username;
    const outage = await lab.postgres.interrupt!();
    let resumed = false;
    try {
      await lab.client.delete(DbcredResources.DatabaseCredential, 'outage', lab.ns.name);
      const failing = await waitForCondition(
        lab.client,
        'DatabaseCredential',
        lab.ns.name,
        'outage',
        'RevocationFailing',
        'True',
        'RevocationFailed',
      );
      expect(condition(failing, 'RevocationFailing')?.message).toContain(`could not revoke user ${username}`);
      // Ready no longer says the credential works.
      expect(condition(failing, 'Ready')).toMatchObject({ status: 'False', reason: 'RevocationFailed' });
      await outage.resume();
      resumed = true;
      const back = Date.now();
      await waitForCredentialGone(lab.client, lab.ns.name, 'outage', 15_000);
      const lag = Date.now() - back;
      console.log(`revoked ${lag} ms after PostgreSQL came back`);
      expect(lag).toBeLessThan(7_000);
      expect(await pgUserExists(username)).toBe(false);
    } finally {
      if (!resumed) await outage.resume();
    }
  });
});

describe('apiserver hiccups', () => {
  it('a rotation whose read of the admin Secret fails (apiserver restarting) is retried within moments, without a failure condition or Warning', async () => {
    const ns = await createTestNamespace('hiccup');
    // Only the credential reconciler's reads of the admin Secret fail, and only while armed.
    const client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
    const realGet = client.get.bind(client);
    let failNext = 0;
    let injected = 0;
    client.get = async (res, name, namespace) => {
      if (failNext > 0 && res === Resources.Secret && name === 'pg-admin' && new Error().stack?.includes('DatabaseCredentialReconciler')) {
        failNext--;
        injected++;
        throw new KubeError(503, 'ServiceUnavailable', 'injected: the apiserver is restarting');
      }
      return realGet(res, name, namespace);
    };
    // No sweep: it reads the admin Secret too, and would refresh the operator's copy of it.
    const scoped = await startOperator(ns.name, { 'sweep-schedule': '0 0 0 1 1 *' }, { client });
    try {
      await lab.client.create(Resources.Secret, {
        metadata: { name: 'pg-admin', namespace: ns.name },
        stringData: { username: lab.postgres.info.admin.user, password: lab.postgres.info.admin.password },
      });
      await create(lab.client, 'DatabaseServer', ns.name, 'pg', {
        engine: 'postgres',
        host: '127.0.0.1',
        port: lab.postgres.info.port,
        database: 'app',
        adminCredentialsSecretRef: { name: 'pg-admin' },
        tls: { mode: 'disable' },
      });
      await create(lab.client, 'DatabaseRole', ns.name, 'readers', { serverRef: { name: 'pg' }, memberOf: ['app_readers'] });
      // Renewal 12 s after issue: the operator's copy of the admin Secret (kept 10 s) is read again then.
      await create(lab.client, 'DatabaseCredential', ns.name, 'renewing', {
        roleRef: { name: 'readers' },
        ttl: '24s',
        rotation: { renewAtPercent: 50, overlap: '1s' },
      });
      const first = (await waitForCondition(lab.client, 'DatabaseCredential', ns.name, 'renewing', 'Ready', 'True')).status!.current!;
      failNext = 3;
      let rotated: Obj | undefined;
      await waitFor(
        'the rotation',
        async () => {
          rotated = await get(lab.client, 'DatabaseCredential', ns.name, 'renewing');
          return rotated.status?.current?.username !== first.username && rotated.status?.current !== undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(injected).toBe(3);
      expect(Date.parse(rotated!.status!.current!.issuedAt) - Date.parse(first.renewAt!)).toBeLessThan(3_000);
      expect(condition(rotated!, 'Ready')).toMatchObject({ status: 'True', reason: 'Rotated' });
      const events = await lab.client.list<KubeObject & { reason?: string }>(Resources.Event, { namespace: ns.name });
      expect(events.items.filter((e) => e.reason === 'IssueFailed')).toEqual([]);
    } finally {
      await scoped.stop();
      await ns.cleanup();
    }
  }, 60_000);
});

describe('an issuance that fails for good after the user was created', () => {
  it('a Secret the apiserver refuses: the user is dropped at once, nothing stays pending, it stalls until fixed, and deletion leaves nothing', async () => {
    // A platform admission policy that refuses Secrets with a label the credential asks for.
    const policy = `refuse-labelled-secrets-${lab.ns.name}`;
    await kubectl(
      requireKube().kubeconfig,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicy',
            metadata: { name: policy },
            spec: {
              failurePolicy: 'Fail',
              matchConstraints: {
                resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }],
              },
              validations: [
                {
                  expression: "!has(object.metadata.labels) || !('refuse-me' in object.metadata.labels)",
                  reason: 'Invalid',
                  message: 'refused by policy',
                },
              ],
            },
          },
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicyBinding',
            metadata: { name: policy },
            spec: {
              policyName: policy,
              validationActions: ['Deny'],
              matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': lab.ns.name } } },
            },
          },
        ],
      }),
    );
    try {
      await waitFor(
        'the admission policy to refuse labelled Secrets',
        async () => {
          try {
            await lab.client.create(
              Resources.Secret,
              { metadata: { name: 'probe', namespace: lab.ns.name, labels: { 'refuse-me': 'yes' } } },
              { dryRun: true },
            );
            return false;
          } catch (error) {
            return error instanceof KubeError && error.status === 422;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret', {
        roleRef: { name: 'pg-readers' },
        secret: { labels: { 'refuse-me': 'yes' } },
      });
      const refused = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret', 'Ready', 'False');
      expect(condition(refused, 'Ready')?.message).toContain('refused by policy');
      // Dropped, audited as a revocation, not left pending for the sweep.
      // Across operator processes: the records of those stopped are kept here.
      const earlier: string[] = [];
      const revoked = () => [
        ...earlier,
        ...op.audit
          .map((l) => JSON.parse(l) as { action: string; object?: { name?: string }; username?: string; reason?: string })
          .filter((r) => r.action === 'revoke' && r.object?.name === 'refused-secret' && r.reason === 'abandoned')
          .map((r) => r.username!),
      ];
      await waitFor('the created user to be revoked', () => Promise.resolve(revoked().length > 0), { timeoutMs: 20_000 });
      const first = revoked()[0]!;
      expect(await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${first}'`])).toEqual([]);
      await waitFor(
        'the intent to be cleared',
        async () => (await get(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret')).status?.pending?.username !== first,
        { timeoutMs: 10_000 },
      );
      // It cannot fix itself: it waits for a change instead of creating and dropping a user per retry.
      const waiting = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret', 'Ready', 'False');
      expect(condition(waiting, 'Ready')?.message).toContain('not retried until the credential, its role or its server changes');
      expect((await get(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret')).status?.lastSerial).toBe(1);
      expect(revoked()).toEqual([first]);
      // kubectl describe says so: Stalled since the failure, with what would unblock it.
      expect(condition(waiting, 'Stalled')).toMatchObject({ status: 'True', reason: condition(waiting, 'Ready')!.reason });
      expect(condition(waiting, 'Stalled')?.message).toContain('issuing waits for a change of the credential');
      // A restarted operator (or a new leader) knows it from status: no new attempt before the recheck.
      earlier.push(...revoked());
      await op.stop();
      op = await startOperator(lab.ns.name);
      const { items } = await lab.client.list(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
      await waitFor(
        'the restarted operator to reconcile every credential once',
        async () => (await credentialReconciles()) >= items.length,
        {
          timeoutMs: 20_000,
        },
      );
      expect((await get(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret')).status?.lastSerial).toBe(1);
      expect(revoked()).toEqual([first]);
      // Touching the credential (an annotation) is how a user asks for another try.
      await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'refused-secret', lab.ns.name, {
        metadata: { annotations: { 'example.com/retry': '1' } },
      });
      await waitFor('a second attempt, dropped as well', () => Promise.resolve(revoked().length === 2), { timeoutMs: 20_000 });
      // The cause fixed (the platform drops its policy) and a retry asked: issued, and no longer Stalled.
      await kubectl(requireKube().kubeconfig, ['delete', 'validatingadmissionpolicybinding', policy]);
      await waitFor(
        'the admission policy to admit labelled Secrets again',
        () =>
          lab.client
            .create(
              Resources.Secret,
              { metadata: { name: 'probe', namespace: lab.ns.name, labels: { 'refuse-me': 'yes' } } },
              { dryRun: true },
            )
            .then(
              () => true,
              () => false,
            ),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'refused-secret', lab.ns.name, {
        metadata: { annotations: { 'example.com/retry': '2' } },
      });
      await waitFor(
        'the credential to be Ready and no longer Stalled',
        async () => {
          const cred = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret');
          return condition(cred, 'Ready')?.status === 'True' && condition(cred, 'Stalled') === undefined;
        },
        { timeoutMs: 20_000 },
      );
      const issued = (await get(lab.client, 'DatabaseCredential', lab.ns.name, 'refused-secret')).status!.current!.username;
      const abandoned = revoked();
      await lab.client.delete(DbcredResources.DatabaseCredential, 'refused-secret', lab.ns.name);
      await waitForCredentialGone(lab.client, lab.ns.name, 'refused-secret');
      for (const username of [...abandoned, issued])
        expect(await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${username}'`])).toEqual([]);
    } finally {
      await kubectl(requireKube().kubeconfig, [
        'delete',
        'validatingadmissionpolicybinding,validatingadmissionpolicy',
        policy,
        '--ignore-not-found',
      ]);
    }
  });
});

describe('the Secret follows its spec and its server', () => {
  it('a template or label change, or the server moving to another port, renders the Secret again for the same user and password', async () => {
    const proxy = await startTcpProxy('127.0.0.1', lab.postgres.info.port);
    try {
      await create(lab.client, 'DatabaseServer', lab.ns.name, 'pg-moving', {
        engine: 'postgres',
        host: '127.0.0.1',
        port: lab.postgres.info.port,
        database: 'app',
        adminCredentialsSecretRef: { name: 'pg-admin' },
        tls: { mode: 'disable' },
      });
      await create(lab.client, 'DatabaseRole', lab.ns.name, 'moving-readers', {
        serverRef: { name: 'pg-moving' },
        memberOf: ['app_readers'],
      });
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'follows', { roleRef: { name: 'moving-readers' } });
      const username = (await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'follows', 'Ready', 'True')).status!.current!
        .username;
      const before = (await secretData(lab.client, lab.ns.name, 'follows'))!;

      await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'follows', lab.ns.name, {
        spec: { secret: { labels: { team: 'orders' }, template: { DATABASE_URL: '{{uri}}' } } },
      });
      await waitFor(
        'the new key in the Secret',
        async () => (await secretData(lab.client, lab.ns.name, 'follows'))?.['DATABASE_URL'] !== undefined,
        { timeoutMs: 10_000 },
      );
      const rendered = await lab.client.get<KubeObject>(Resources.Secret, 'follows', lab.ns.name);
      expect(rendered.metadata.labels?.['team']).toBe('orders');
      const after = (await secretData(lab.client, lab.ns.name, 'follows'))!;
      expect(after['DATABASE_URL']).toBe(before['uri']);
      expect([after['username'], after['password']]).toEqual([before['username'], before['password']]);

      await lab.client.mergePatch(DbcredResources.DatabaseServer, 'pg-moving', lab.ns.name, { spec: { port: proxy.port } });
      await waitFor(
        'the new port in the Secret',
        async () => (await secretData(lab.client, lab.ns.name, 'follows'))?.['port'] === String(proxy.port),
        { timeoutMs: 10_000 },
      );
      const moved = (await secretData(lab.client, lab.ns.name, 'follows'))!;
      expect([moved['username'], moved['password']]).toEqual([before['username'], before['password']]);
      expect(moved['DATABASE_URL']).toContain(`:${proxy.port}/`);
      // The same user, still working, through the new address.
      const client = new pg.Client({
        host: '127.0.0.1',
        port: proxy.port,
        database: 'app',
        user: moved['username'],
        password: moved['password'],
      });
      await client.connect();
      await client.end();
      const now = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'follows');
      expect(now.status!.current!.username).toBe(username);
      expect(
        op.audit
          .map((l) => JSON.parse(l) as { action: string; username?: string })
          .filter((r) => r.username === username)
          .map((r) => r.action),
      ).toEqual(['issue', 'republish', 'republish']);
    } finally {
      await lab.client.delete(DbcredResources.DatabaseCredential, 'follows', lab.ns.name).catch(() => undefined);
      await waitForCredentialGone(lab.client, lab.ns.name, 'follows');
      await proxy.close();
    }
  });
});

describe('namespace deletion', () => {
  it('revokes every credential in the namespace, even though its server and admin Secret go with it', async () => {
    const ns = await createTestNamespace('doomed');
    const scoped = await startOperator(ns.name);
    try {
      await lab.client.create(Resources.Secret, {
        metadata: { name: 'pg-admin', namespace: ns.name },
        stringData: { username: lab.postgres.info.admin.user, password: lab.postgres.info.admin.password },
      });
      await create(lab.client, 'DatabaseServer', ns.name, 'pg', {
        engine: 'postgres',
        host: '127.0.0.1',
        port: lab.postgres.info.port,
        database: 'app',
        adminCredentialsSecretRef: { name: 'pg-admin' },
        tls: { mode: 'disable' },
      });
      await create(lab.client, 'DatabaseRole', ns.name, 'readers', { serverRef: { name: 'pg' }, memberOf: ['app_readers'] });
      const users: string[] = [];
      for (const name of ['one', 'two', 'three']) {
        await create(lab.client, 'DatabaseCredential', ns.name, name, { roleRef: { name: 'readers' } });
        users.push((await waitForCondition(lab.client, 'DatabaseCredential', ns.name, name, 'Ready', 'True')).status!.current!.username);
      }
      for (const u of users) expect(await pgUserExists(u)).toBe(true);
      await ns.cleanup();
      await waitFor(
        'the namespace to be gone',
        async () => {
          try {
            await lab.client.get(Resources.Namespace, ns.name);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      for (const u of users) expect(await pgUserExists(u)).toBe(false);
    } finally {
      await scoped.stop();
    }
  }, 90_000);
});

describe('the safety net', () => {
  it('puts back the revoke finalizer when it is missing (no admission policy, or removed by hand)', async () => {
    const created = await create(lab.client, 'DatabaseCredential', lab.ns.name, 'unfinalized', { roleRef: { name: 'pg-readers' } });
    expect(created.metadata.finalizers).toEqual([REVOKE_FINALIZER]); // the chart's admission policy, at create
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'unfinalized', 'Ready', 'True');
    await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'unfinalized', lab.ns.name, { metadata: { finalizers: null } });
    await waitFor(
      'the operator to add the finalizer again',
      async () =>
        (await get(lab.client, 'DatabaseCredential', lab.ns.name, 'unfinalized')).metadata.finalizers?.includes(REVOKE_FINALIZER) === true,
      { timeoutMs: 10_000 },
    );
    const username = (await get(lab.client, 'DatabaseCredential', lab.ns.name, 'unfinalized')).status!.current!.username;
    await lab.client.delete(DbcredResources.DatabaseCredential, 'unfinalized', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'unfinalized');
    expect(await pgUserExists(username)).toBe(false);
  });

  it('re-issues a credential whose database user was dropped by hand', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'dropped', { roleRef: { name: 'pg-readers' } });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'dropped', 'Ready', 'True');
    const username = ready.status!.current!.username;
    await sql(lab.postgres, [`DROP ROLE ${username}`]);
    // The Secret is written before the status records the new user: wait for both to name it.
    let reissued = '';
    await waitFor(
      'a new user in the Secret and the status',
      async () => {
        const data = await secretData(lab.client, lab.ns.name, 'dropped');
        const current = (await get(lab.client, 'DatabaseCredential', lab.ns.name, 'dropped')).status?.current?.username;
        reissued = current ?? '';
        return data !== undefined && data['username'] !== username && data['username'] === current;
      },
      { timeoutMs: 15_000 },
    );
    expect(await pgUserExists(reissued)).toBe(true);
  });

  it('drops a user that carries the dbcred marker but that no credential names (an orphan)', async () => {
    // The operator's marker: its --instance (the namespace) and this cluster's kube-system uid.
    const kubeSystem = await lab.client.get<KubeObject>(Resources.Namespace, 'kube-system');
    const marker = installationMarker(lab.ns.name, kubeSystem.metadata.uid!);
    const orphan = usernameFor({ credentialUid: 'orphan', serial: 1, prefix: 'app', marker }, 63);
    await sql(lab.postgres, [`CREATE ROLE ${orphan} LOGIN`, `COMMENT ON ROLE ${orphan} IS '${marker}'`]);
    const unmarked = usernameFor({ credentialUid: 'unmarked', serial: 1, prefix: 'app', marker }, 63);
    await sql(lab.postgres, [`CREATE ROLE ${unmarked} LOGIN`]);
    try {
      await waitFor('the orphan to be dropped', async () => !(await pgUserExists(orphan)), { timeoutMs: 15_000 });
      expect(op.audit.join('')).toContain(`"action":"orphan-drop"`);
      // A role with the name pattern but without this installation's marker is not ours: it stays.
      expect(await pgUserExists(unmarked)).toBe(true);
    } finally {
      await sql(lab.postgres, [`DROP ROLE IF EXISTS ${unmarked}`]);
    }
  });

  it('leaves the user and the Secret in place when deletionPolicy is Retain', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'kept', { roleRef: { name: 'pg-readers' }, deletionPolicy: 'Retain' });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'kept', 'Ready', 'True');
    const username = ready.status!.current!.username;
    await lab.client.delete(DbcredResources.DatabaseCredential, 'kept', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'kept', 15_000);
    expect(await pgUserExists(username)).toBe(true);
    const kept = await lab.client.get<KubeObject>(Resources.Secret, 'kept', lab.ns.name);
    expect(kept.metadata.ownerReferences ?? []).toEqual([]);
    expect((await secretData(lab.client, lab.ns.name, 'kept'))?.['username']).toBe(username);
    expect(op.audit.join('')).toContain('"action":"retain"');
  });
});

describe('secrets stay secret', () => {
  it('no password appears in any Event or status of the namespace', async () => {
    const data = await secretData(lab.client, lab.ns.name, 'quota-first');
    const events = await lab.client.list<KubeObject>(Resources.Event, { namespace: lab.ns.name });
    const creds = await lab.client.list<KubeObject>(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
    expect(data?.['password']).toBeDefined();
    expect(JSON.stringify(events)).not.toContain(data!['password']);
    expect(JSON.stringify(creds)).not.toContain(data!['password']);
    expect(events.items.length).toBeGreaterThan(0);
  });
});
