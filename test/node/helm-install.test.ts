import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, binDir } from '../../harness/binaries.ts';
import { requireKube } from '../../harness/environment.ts';
import { buildImage, OPERATOR_REPOSITORY, type BuiltImage } from '../../harness/images.ts';
import { GENERATED_NAME, violations } from '../../harness/invariants.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import {
  create,
  createReaderGroups,
  get,
  mysqlSql,
  secretData,
  sql,
  waitForCondition,
  waitForCredentialGone,
  type Lab,
} from '../../harness/lab.ts';
import { startMariaDB } from '../../harness/mariadb.ts';
import { importIntoNode } from '../../harness/node.ts';
import { NODE_IP } from '../../harness/node-network.ts';
import { kubectl, RESTRICTED_CONTAINER, RESTRICTED_POD, requireNode } from '../../harness/pods.ts';
import { startPostgres, type StartedDatabase } from '../../harness/postgres.ts';
import { waitFor } from '../../harness/processes.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { isNotFound } from '../../src/runtime/kube/errors.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';

// dbcred as a platform team runs it: `helm install` of the chart with its defaults (two replicas,
// leader election, the chart's RBAC and ServiceAccount, restricted pods, the image built from the
// Containerfile), reaching the apiserver through the `kubernetes` Service and the databases over
// the pod network; an app Deployment that mounts the generated Secrets and queries both databases
// with them across a rotation; the leader pod deleted; a `helm upgrade` to a new image tag; `helm
// uninstall` after the README's clean-up. The figures it measures are printed (docs/node.md).

const run = promisify(execFile);
const CHART = join(REPO_ROOT, 'charts', 'dbcred');
const RELEASE = 'dbcred';
const UPGRADE_TAG = 'upgrade-test';
const CHART_APP_VERSION = /^appVersion:\s*"?([^"\s]+)/m.exec(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))![1]!;

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: { containerStatuses?: { ready: boolean }[] };
}

describe('dbcred installed with helm on a real node', () => {
  const client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
  let helm: (args: string[]) => Promise<string>;
  let image: BuiltImage;
  let system: TestNamespace;
  let tenant: TestNamespace;
  let postgres: StartedDatabase;
  let mariadb: StartedDatabase;
  let lab: Lab;
  let installed = false;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    const bin = join(await binDir(['helm']), 'helm');
    helm = async (args) => (await run(bin, args, { env: { ...process.env, KUBECONFIG: requireKube().kubeconfig } })).stdout;
    image = await buildImage('operator');
    // Under the chart's default name too (dbcred/operator:<appVersion>), as `docker build -t` names it.
    await importIntoNode(requireNode(), image, [`${OPERATOR_REPOSITORY}:${CHART_APP_VERSION}`, `${OPERATOR_REPOSITORY}:${UPGRADE_TAG}`]);
    [postgres, mariadb] = await Promise.all([startPostgres({ podReachable: true }), startMariaDB({ podReachable: true })]);
    await createReaderGroups(postgres, mariadb);
    system = await createTestNamespace('dbcred-system', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    tenant = await createTestNamespace('tenant');
    lab = { ns: tenant, client, postgres, mariadb, cleanup: () => Promise.resolve() };
  }, 900_000);

  afterAll(async () => {
    for (const line of Object.entries(figures)) console.log(`[figure] ${line[0]}: ${line[1]} ms`);
    if (installed) await helm(['uninstall', RELEASE, '--namespace', system.name, '--wait']).catch(() => undefined);
    await tenant?.cleanup();
    await system?.cleanup();
    await Promise.all([postgres?.stop(), mariadb?.stop()]);
  }, 120_000);

  /** The operator pods of the release, by name, with their image and readiness. */
  async function operatorPods(): Promise<{ name: string; image: string; ready: boolean; deleting: boolean }[]> {
    const list = JSON.parse(await kubectl(['get', 'pods', '-n', system.name, '-l', 'app.kubernetes.io/name=dbcred', '-o', 'json'])) as {
      items: PodJson[];
    };
    return list.items.map((p) => ({
      name: p.metadata.name,
      image: p.spec.containers[0]!.image,
      ready: (p.status.containerStatuses ?? []).every((c) => c.ready) && (p.status.containerStatuses ?? []).length > 0,
      deleting: p.metadata.deletionTimestamp !== undefined,
    }));
  }

  /** The pod holding the operator's Lease (undefined while nobody does). */
  async function leader(): Promise<string | undefined> {
    const lease = await client
      .get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, 'dbcred-operator', system.name)
      .catch(() => undefined);
    return lease?.spec?.holderIdentity || undefined;
  }

  async function waitForSecret(name: string, timeoutMs: number): Promise<Record<string, string>> {
    let data: Record<string, string> | undefined;
    await showingOperator(
      waitFor(`the Secret of ${name}`, async () => (data = await secretData(client, tenant.name, name)) !== undefined, {
        timeoutMs,
        intervalMs: 50,
      }),
    );
    return data!;
  }

  /** showingOperator adds the operator pods and the end of their logs to a failed wait's error. */
  async function showingOperator<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (error) {
      const out = [
        await kubectl(['get', 'pods', '-n', system.name, '-o', 'wide']).catch(String),
        await kubectl(['get', 'events', '-n', system.name, '--sort-by=.lastTimestamp']).catch(String),
      ];
      for (const pod of await operatorPods().catch(() => []))
        out.push(`--- ${pod.name}`, await kubectl(['logs', '-n', system.name, pod.name, '--tail=15']).catch(String));
      throw new Error(`${(error as Error).message}\n${out.join('\n')}`, { cause: error });
    }
  }

  /** The app's log lines ("pg ok <user>", "mysql FAIL <error>", ...); the last read is kept for failure messages. */
  let lastAppLog: string[] = [];
  async function appLog(): Promise<string[]> {
    lastAppLog = (await kubectl(['logs', '-n', tenant.name, 'deployment/app', '--tail=-1'])).split('\n').filter(Boolean);
    return lastAppLog;
  }
  const appLogTail = () => `the app's log ends:\n${lastAppLog.slice(-8).join('\n')}`;

  it('installs with the chart defaults: two restricted replicas, one leader, a credential becomes a Secret', async () => {
    const started = Date.now();
    await helm(['install', RELEASE, CHART, '--namespace', system.name]);
    installed = true;
    for (const [name, db] of [
      ['pg-admin', postgres],
      ['mysql-admin', mariadb],
    ] as const) {
      await client.create(Resources.Secret, {
        metadata: { name, namespace: tenant.name },
        stringData: { username: db.info.admin.user, password: db.info.admin.password },
      });
    }
    // The databases at the node's address, where pods reach them (the operator's pods included).
    for (const [name, engine, db] of [
      ['pg', 'postgres', postgres],
      ['mysql', 'mysql', mariadb],
    ] as const) {
      await create(client, 'DatabaseServer', tenant.name, name, {
        engine,
        host: NODE_IP,
        port: db.info.port,
        database: 'app',
        adminCredentialsSecretRef: { name: `${name}-admin` },
        tls: { mode: 'disable' },
      });
      await create(client, 'DatabaseRole', tenant.name, `${name}-app`, {
        serverRef: { name },
        defaultTTL: '90s',
        maxTTL: '1h',
        memberOf: ['app_readers'],
      });
      // Rotated at a third of the ttl; the previous user keeps working 45 s, past the kubelet's refresh of the mounted file.
      await create(client, 'DatabaseCredential', tenant.name, `${name}-app`, {
        roleRef: { name: `${name}-app` },
        ttl: '90s',
        rotation: { renewAtPercent: 33, overlap: '45s' },
      });
    }
    const data = await waitForSecret('pg-app', 90_000);
    figures['helm install → first Secret'] = Date.now() - started;
    expect(data).toMatchObject({ host: NODE_IP, port: String(postgres.info.port), database: 'app' });
    await waitForCondition(client, 'DatabaseCredential', tenant.name, 'mysql-app', 'Ready', 'True', undefined, 60_000);

    await showingOperator(
      waitFor('two operator pods Ready', async () => (await operatorPods()).filter((p) => p.ready).length === 2, {
        timeoutMs: 120_000,
        intervalMs: 250,
      }),
    );
    const pods = await operatorPods();
    expect(pods.map((p) => p.image)).toEqual([`dbcred/operator:${CHART_APP_VERSION}`, `dbcred/operator:${CHART_APP_VERSION}`]);
    expect(pods.map((p) => p.name)).toContain(await leader());
  }, 300_000);

  it('an app Deployment mounting the Secrets queries both databases with them, and keeps working across a rotation', async () => {
    const query = (secret: string, cmd: string) =>
      `d=/creds/${secret}; if out=$(${cmd} 2>&1); then echo "${secret} ok $out"; else echo "${secret} FAIL $out" | tr '\\n' ' '; echo; fi`;
    const loop = [
      'while :; do',
      query(
        'pg',
        'PGPASSWORD=$(cat $d/password) psql -h $(cat $d/host) -p $(cat $d/port) -U $(cat $d/username) -d $(cat $d/database) -tAc "select current_user from orders limit 1"',
      ),
      query(
        'mysql',
        'MYSQL_PWD=$(cat $d/password) mariadb --protocol=tcp -h $(cat $d/host) -P $(cat $d/port) -u $(cat $d/username) -D $(cat $d/database) -N -e "select current_user() from orders limit 1"',
      ),
      'sleep 1; done',
    ].join('\n');
    const created = Date.now();
    await client.create(Resources.Deployment, {
      metadata: { name: 'app', namespace: tenant.name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            securityContext: RESTRICTED_POD,
            containers: [
              {
                name: 'app',
                image: requireNode().images.app!,
                imagePullPolicy: 'Never',
                securityContext: RESTRICTED_CONTAINER,
                command: ['sh', '-c', loop],
                volumeMounts: [
                  { name: 'pg', mountPath: '/creds/pg', readOnly: true },
                  { name: 'mysql', mountPath: '/creds/mysql', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'pg', secret: { secretName: 'pg-app' } },
              { name: 'mysql', secret: { secretName: 'mysql-app' } },
            ],
          },
        },
      },
    });
    const first = async (secret: string) =>
      (await get(client, 'DatabaseCredential', tenant.name, `${secret}-app`)).status?.current?.username as string;
    const [pgUser, mysqlUser] = [await first('pg'), await first('mysql')];
    await waitFor(
      'the app to query both databases',
      async () => {
        const log = await appLog().catch(() => []);
        return log.some((l) => l.startsWith(`pg ok ${pgUser}`)) && log.some((l) => l.startsWith(`mysql ok ${mysqlUser}@`));
      },
      { timeoutMs: 120_000, intervalMs: 500, onTimeout: appLogTail },
    );
    figures['app Deployment created → app connected to both databases'] = Date.now() - created;

    // The rotation (at a third of 90 s): the app picks up the new users from the mounted files,
    // before the previous ones are revoked, and no query fails on the way.
    let rotated: { pg: string; mysql: string } | undefined;
    await waitFor(
      'both credentials to rotate',
      async () => {
        const [pg, mysql] = [await first('pg'), await first('mysql')];
        if (pg !== pgUser && mysql !== mysqlUser) rotated = { pg, mysql };
        return rotated !== undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await waitFor(
      'the app to use the new users',
      async () => {
        const log = await appLog();
        return log.some((l) => l.startsWith(`pg ok ${rotated!.pg}`)) && log.some((l) => l.startsWith(`mysql ok ${rotated!.mysql}@`));
      },
      { timeoutMs: 90_000, intervalMs: 500, onTimeout: appLogTail },
    );
    // Rotations come every 30 s and each user keeps working 45 s after its replacement: the first
    // users are gone from the databases within a minute or so.
    await waitFor(
      'the first users to be revoked',
      async () =>
        (await sql(postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${pgUser}'`])).length === 0 &&
        (await mysqlSql(mariadb, [`SELECT 1 FROM mysql.user WHERE User = '${mysqlUser}'`])).length === 0,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const revokedAt = (await appLog()).length;
    await waitFor('two more rounds of queries after the revocation', async () => (await appLog()).length >= revokedAt + 4, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    const log = await appLog();
    const firstOk = log.findIndex((l) => l.includes(' ok '));
    expect(log.slice(firstOk).filter((l) => l.includes(' FAIL '))).toEqual([]);
    expect(log.at(-1)).toMatch(/^(pg|mysql) ok /);
  }, 420_000);

  it('deleting the leader pod hands the lease to the other replica, and issuance goes on', async () => {
    const before = await leader();
    expect(before).toBeDefined();
    const deleted = Date.now();
    await kubectl(['delete', 'pod', '-n', system.name, before!, '--wait=false']);
    // The deleted leader releases the Lease as it stops; the other replica takes it at its next try.
    let after: string | undefined;
    await waitFor('the other replica to take the lease', async () => (after = await leader()) !== undefined && after !== before, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    figures['leader pod deleted → the other replica leads'] = Date.now() - deleted;
    expect((await operatorPods()).map((p) => p.name)).toContain(after);
    const created = Date.now();
    await create(client, 'DatabaseCredential', tenant.name, 'after-handover', { roleRef: { name: 'pg-app' }, ttl: '10m' });
    await waitForSecret('after-handover', 60_000);
    figures['credential created after the handover → Secret'] = Date.now() - created;
    await waitFor(
      'the Deployment to replace the deleted pod',
      async () => {
        const pods = await operatorPods();
        return pods.filter((p) => p.ready && !p.deleting).length === 2;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }, 240_000);

  it('helm upgrade to a new image tag replaces both pods and loses no credential', async () => {
    await helm(['upgrade', RELEASE, CHART, '--namespace', system.name, '--set', `image.tag=${UPGRADE_TAG}`]);
    await waitFor(
      'both pods to run the new image',
      async () => {
        const pods = (await operatorPods()).filter((p) => !p.deleting);
        return pods.length === 2 && pods.every((p) => p.ready && p.image.endsWith(`:${UPGRADE_TAG}`));
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
    await create(client, 'DatabaseCredential', tenant.name, 'after-upgrade', { roleRef: { name: 'mysql-app' }, ttl: '10m' });
    await waitForCondition(client, 'DatabaseCredential', tenant.name, 'after-upgrade', 'Ready', 'True', undefined, 60_000);
    // Every credential still has a live user in a Secret that logs in, and no user is left over.
    let found: string[] = [];
    await waitFor('the invariant to hold', async () => (found = await violations(lab)).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
      onTimeout: () => found.join('; '),
    });
    for (const name of ['pg-app', 'mysql-app', 'after-handover', 'after-upgrade'])
      await waitForCondition(client, 'DatabaseCredential', tenant.name, name, 'Ready', 'True', undefined, 60_000);
  }, 300_000);

  it('helm uninstall after deleting the credentials (the README clean-up) leaves no dbcred user and no finalizer behind', async () => {
    await kubectl(['delete', 'databasecredentials', '--all', '-n', tenant.name, '--wait=false']);
    for (const name of ['pg-app', 'mysql-app', 'after-handover', 'after-upgrade'])
      await waitForCredentialGone(client, tenant.name, name, 60_000);
    await helm(['uninstall', RELEASE, '--namespace', system.name, '--wait']);
    installed = false;
    const users = async () => [
      ...(await sql(postgres, [`SELECT rolname FROM pg_roles WHERE rolname ~ '${GENERATED_NAME}'`])),
      ...(await mysqlSql(mariadb, [`SELECT User FROM mysql.user WHERE User REGEXP BINARY '${GENERATED_NAME}'`])),
    ];
    expect(await users()).toEqual([]);
    await waitFor('the operator pods to be gone', async () => (await operatorPods()).length === 0, { timeoutMs: 60_000, intervalMs: 250 });
    // Nothing the operator protected is left holding a finalizer: the tenant's namespace goes away.
    await tenant.cleanup();
    await waitFor(
      `namespace ${tenant.name} to be deleted`,
      () =>
        client.get(Resources.Namespace, tenant.name).then(
          () => false,
          (error: unknown) => {
            if (isNotFound(error)) return true;
            throw error;
          },
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 180_000);
});
