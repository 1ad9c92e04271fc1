// Shared set-up of the lifecycle suites: private database servers (so the operator's orphan sweep
// never meets other suites' users), a namespace, admin Secrets, servers and roles.
import pg from 'pg';
import mysql from 'mysql2/promise';
import { KubeClient } from '../src/runtime/kube/client.ts';
import { Resources } from '../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../src/runtime/kube/types.ts';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import { RESTARTED_AT_ANNOTATION } from '../src/controllers/rollout-restart.ts';
import type { DatabaseCredentialStatus } from '../src/api/v1alpha1/index.ts';
import { requireKube } from './environment.ts';
import { createTestNamespace, type TestNamespace } from './kube-client.ts';
import { startMariaDB } from './mariadb.ts';
import { startPostgres, type StartedDatabase } from './postgres.ts';
import { waitFor } from './processes.ts';

export type Obj = KubeObject & { spec?: Record<string, unknown>; status?: DatabaseCredentialStatus };

export interface Lab {
  ns: TestNamespace;
  client: KubeClient;
  postgres: StartedDatabase;
  mariadb: StartedDatabase;
  cleanup(): Promise<void>;
}

/**
 * startLab starts private PostgreSQL (with extra server settings, if given) and MariaDB with group
 * roles, a namespace, servers and roles.
 */
export async function startLab(prefix: string, options: { postgresConfig?: Record<string, string> } = {}): Promise<Lab> {
  const [postgres, mariadb] = await Promise.all([startPostgres({ extraConfig: options.postgresConfig }), startMariaDB()]);
  const ns = await createTestNamespace(prefix);
  const client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
  await createReaderGroups(postgres, mariadb);
  for (const [name, db] of [
    ['pg-admin', postgres],
    ['mysql-admin', mariadb],
  ] as const) {
    await client.create(Resources.Secret, {
      metadata: { name, namespace: ns.name },
      stringData: { username: db.info.admin.user, password: db.info.admin.password },
    });
  }
  await create(client, 'DatabaseServer', ns.name, 'pg', {
    engine: 'postgres',
    host: '127.0.0.1',
    port: postgres.info.port,
    database: 'app',
    adminCredentialsSecretRef: { name: 'pg-admin' },
    tls: { mode: 'disable' },
    staticUsers: LAB_STATIC_USERS,
  });
  await create(client, 'DatabaseServer', ns.name, 'mysql', {
    engine: 'mysql',
    host: '127.0.0.1',
    port: mariadb.info.port,
    database: 'app',
    adminCredentialsSecretRef: { name: 'mysql-admin' },
    tls: { mode: 'disable' },
    staticUsers: LAB_STATIC_USERS,
  });
  await create(client, 'DatabaseRole', ns.name, 'pg-readers', {
    serverRef: { name: 'pg' },
    defaultTTL: '1h',
    maxTTL: '2h',
    memberOf: ['app_readers'],
    usernamePrefix: 'app',
  });
  await create(client, 'DatabaseRole', ns.name, 'mysql-readers', {
    serverRef: { name: 'mysql' },
    defaultTTL: '1h',
    maxTTL: '2h',
    memberOf: ['app_readers'],
    usernamePrefix: 'app',
  });
  return {
    ns,
    client,
    postgres,
    mariadb,
    cleanup: async () => {
      await ns.cleanup();
      await Promise.all([postgres.stop(), mariadb.stop()]);
    },
  };
}

/**
 * createReaderGroups makes the group role `app_readers` in both databases, which the admin may grant
 * (WITH ADMIN OPTION): members may read the table `orders` (two rows), not the table `secrets`.
 */
export async function createReaderGroups(postgres: StartedDatabase, mariadb: StartedDatabase): Promise<void> {
  await sql(
    postgres,
    [
      'CREATE ROLE app_readers NOLOGIN',
      'CREATE TABLE orders (id int)',
      'INSERT INTO orders VALUES (1), (2)',
      'CREATE TABLE secrets (id int)',
      'GRANT SELECT ON orders TO app_readers',
      `GRANT app_readers TO ${postgres.info.admin.user} WITH ADMIN OPTION`,
    ],
    'app',
  );
  await mysqlSql(mariadb, [
    'CREATE ROLE app_readers',
    'CREATE TABLE app.orders (id int)',
    'INSERT INTO app.orders VALUES (1), (2)',
    'CREATE TABLE app.secrets (id int)',
    'GRANT SELECT ON app.orders TO app_readers',
    `GRANT app_readers TO '${mariadb.info.admin.user}'@'%' WITH ADMIN OPTION`,
  ]);
}

/** The existing users the lab's servers let DatabaseStaticCredentials rotate. */
export const LAB_STATIC_USERS = { names: ['legacy_batch', 'no_such_user'], patterns: ['static_*'] };

/** sql runs statements as the PostgreSQL superuser. */
export async function sql(db: StartedDatabase, statements: string[], database = 'app'): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({
    host: db.info.host,
    port: db.info.port,
    database,
    user: db.info.superuser.user,
    password: db.info.superuser.password,
  });
  client.on('error', () => undefined); // a connection ended by the server also fails the awaited call
  await client.connect();
  let rows: pg.QueryResultRow[] = [];
  try {
    for (const s of statements) rows = (await client.query<pg.QueryResultRow>(s)).rows;
  } finally {
    await client.end();
  }
  return rows;
}

/** mysqlSql runs statements as the MariaDB superuser. */
export async function mysqlSql(db: StartedDatabase, statements: string[]): Promise<unknown[]> {
  const conn = await mysql.createConnection({
    host: db.info.host,
    port: db.info.port,
    user: db.info.superuser.user,
    password: db.info.superuser.password,
  });
  conn.on('error', () => undefined); // as above
  let rows: unknown[] = [];
  try {
    for (const s of statements) rows = (await conn.query(s))[0] as unknown[];
  } finally {
    await conn.end();
  }
  return rows;
}

/** create writes a dbcred object. */
export async function create(
  client: KubeClient,
  kind: keyof typeof DbcredResources,
  namespace: string | undefined,
  name: string,
  spec: Record<string, unknown>,
): Promise<Obj> {
  return client.create<Obj>(DbcredResources[kind], { metadata: { name, ...(namespace ? { namespace } : {}) }, spec });
}

/** get reads a dbcred object. */
export function get(client: KubeClient, kind: keyof typeof DbcredResources, namespace: string, name: string): Promise<Obj> {
  return client.get<Obj>(DbcredResources[kind], name, namespace);
}

/** condition returns a condition of an object's status. */
export function condition(obj: Obj, type: string): { status: string; reason: string; message: string } | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** waitForCondition polls an object until its condition has the status (and reason, if given). */
export async function waitForCondition(
  client: KubeClient,
  kind: keyof typeof DbcredResources,
  namespace: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 30_000,
): Promise<Obj> {
  let last: Obj | undefined;
  await waitFor(
    `${kind} ${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      last = await get(client, kind, namespace, name);
      const c = condition(last, type);
      return c?.status === status && (reason === undefined || c.reason === reason);
    },
    { timeoutMs, intervalMs: 50, onTimeout: () => JSON.stringify(last?.status ?? {}) },
  );
  return last!;
}

/** secretData reads a Secret's data as plain strings (undefined if it does not exist). */
export async function secretData(client: KubeClient, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, name, namespace);
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch {
    return undefined;
  }
}

/** issueCredential creates a DatabaseCredential of a role, waits until it is Ready and returns the login its Secret holds. */
export async function issueCredential(
  client: KubeClient,
  namespace: string,
  name: string,
  role: string,
): Promise<{ user: string; password: string }> {
  await create(client, 'DatabaseCredential', namespace, name, { roleRef: { name: role } });
  await waitForCondition(client, 'DatabaseCredential', namespace, name, 'Ready', 'True');
  const data = (await secretData(client, namespace, name))!;
  return { user: data['username']!, password: data['password']! };
}

/** waitForCredentialGone polls until the DatabaseCredential no longer exists (its finalizer let go). */
export async function waitForCredentialGone(client: KubeClient, namespace: string, name: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `DatabaseCredential ${name} to be released`,
    async () => {
      try {
        await get(client, 'DatabaseCredential', namespace, name);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** adminLogsIn tells whether the database accepts its admin user with password (a fresh connection, closed at once). */
export function adminLogsIn(db: StartedDatabase, password: string): Promise<boolean> {
  return userLogsIn(db, db.info.admin.user, password);
}

/** userLogsIn tells whether the database accepts user with password (a fresh connection, closed at once). */
export async function userLogsIn(db: StartedDatabase, user: string, password: string): Promise<boolean> {
  try {
    await (await openSession(db, user, password)).close();
    return true;
  } catch (error) {
    // Only a refused login answers "no"; anything else (the server down) is the test's failure.
    const e = error as { code?: string; errno?: number };
    if (e.code === '28P01' || e.errno === 1045 || e.errno === 1698) return false;
    throw error;
  }
}

/** A session held open as some user; `ended` settles when the server ends it. */
export interface HeldSession {
  ended: Promise<void>;
  close(): Promise<void>;
}

/** openSession logs in as user and keeps the session open until close() or the server ends it. */
export async function openSession(db: StartedDatabase, user: string, password: string): Promise<HeldSession> {
  const { host, port } = db.info;
  if (db.info.engine === 'postgres') {
    const client = new pg.Client({ host, port, database: 'app', user, password });
    const ended = new Promise<void>((resolve) => client.on('error', () => resolve()).on('end', () => resolve()));
    await client.connect();
    return { ended, close: () => client.end().catch(() => undefined) };
  }
  const conn = await mysql.createConnection({ host, port, user, password });
  const ended = new Promise<void>((resolve) => conn.on('error', () => resolve()).on('end', () => resolve()));
  return { ended, close: () => conn.end().catch(() => undefined) };
}

/** An Event as the operator writes it (events.k8s.io/v1). */
export type EventObject = KubeObject & { type?: string; reason?: string; note?: string; regarding?: { kind?: string; name?: string } };

/** waitForEvent polls the namespace's Events until one of this type and reason is about the named object, and returns it. */
export async function waitForEvent(
  client: KubeClient,
  namespace: string,
  regarding: string,
  type: 'Normal' | 'Warning',
  reason: string,
  timeoutMs = 20_000,
): Promise<EventObject> {
  let found: EventObject | undefined;
  await waitFor(
    `a ${type} Event ${reason} about ${regarding}`,
    async () => {
      const { items } = await client.list<EventObject>(Resources.Event, { namespace });
      found = items.find((e) => e.type === type && e.reason === reason && e.regarding?.name === regarding);
      return found !== undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return found!;
}

/** createPostgresServer creates a DatabaseServer on the lab's PostgreSQL (database app, no TLS) that logs in with adminSecret. */
export function createPostgresServer(lab: Lab, name: string, adminSecret: string): Promise<Obj> {
  return create(lab.client, 'DatabaseServer', lab.ns.name, name, {
    engine: 'postgres',
    host: '127.0.0.1',
    port: lab.postgres.info.port,
    database: 'app',
    adminCredentialsSecretRef: { name: adminSecret },
    tls: { mode: 'disable' },
  });
}

/** waitForRestartStamp waits until a rollout restart stamped the Deployment's pod template, and returns the stamp. */
export async function waitForRestartStamp(client: KubeClient, namespace: string, deployment: string, timeoutMs = 15_000): Promise<string> {
  let stamp: string | undefined;
  await waitFor(
    `Deployment ${deployment} to be stamped by a rollout restart`,
    async () => {
      const d = await client.get<KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
        Resources.Deployment,
        deployment,
        namespace,
      );
      stamp = d.spec.template.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
      return stamp !== undefined;
    },
    { timeoutMs },
  );
  return stamp!;
}
