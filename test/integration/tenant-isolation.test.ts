// A hostile tenant: a ServiceAccount with only the built-in `edit` role in its own namespace (into
// which the chart aggregates the namespaced dbcred kinds) creates any dbcred object there and tries
// to reach further than the platform team allowed. Each attempt must be refused visibly (condition,
// Warning Event, audit record) and leave the databases as they were: passwords, users, memberships
// and grants, and the platform's namespace untouched.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { SERVER_SECRET_LABEL } from '../../src/secrets/secret-metadata.ts';
import { waitFor } from '../../harness/processes.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { canI, tenantClient } from '../../harness/tenant.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import {
  condition,
  create,
  mysqlSql,
  secretData,
  sql,
  startLab,
  waitForCondition,
  waitForCredentialGone,
  type Lab,
  type Obj,
} from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator;
let clusterServer: string;
/** The tenant: namespace `edit` only. */
let tenant: KubeClient;
/** The platform team's namespace, holding the shared server's admin Secret. */
let platform: TestNamespace;
let accountsBefore: string;
let platformSecretBefore: KubeObject & { data?: Record<string, string> };

beforeAll(async () => {
  lab = await startLab('tenant');
  clusterServer = `shared-pg-${lab.ns.name}`;
  await sql(lab.postgres, [
    "CREATE ROLE other_team_login LOGIN PASSWORD 'other-team-password-1'",
    "CREATE ROLE power_login LOGIN CREATEROLE PASSWORD 'power-password-1'",
    'CREATE ROLE other_team_writers NOLOGIN',
    'CREATE ROLE power_group NOLOGIN CREATEROLE',
    'CREATE ROLE sneaky_group NOLOGIN',
    'GRANT pg_execute_server_program TO sneaky_group',
  ]);
  await mysqlSql(lab.mariadb, [
    'CREATE ROLE mighty',
    'GRANT ALL PRIVILEGES ON *.* TO mighty',
    `GRANT mighty TO '${lab.mariadb.info.admin.user}'@'%' WITH ADMIN OPTION`,
  ]);
  tenant = await tenantClient(lab.client, lab.ns.name);
  // Servers of the tenant's own that list every user as rotatable: the refusals below hold whatever
  // a server lists.
  for (const [name, engine, port, secret] of [
    ['pg-open', 'postgres', lab.postgres.info.port, 'pg-admin'],
    ['mysql-open', 'mysql', lab.mariadb.info.port, 'mysql-admin'],
  ] as const) {
    await create(tenant, 'DatabaseServer', lab.ns.name, name, {
      engine,
      host: '127.0.0.1',
      port,
      database: 'app',
      adminCredentialsSecretRef: { name: secret },
      tls: { mode: 'disable' },
      staticUsers: { patterns: ['*'] },
    });
  }
  // The platform team's shared server, its admin Secret in the platform's namespace: the tenant's
  // namespace may use it, with app_readers and two group roles that look harmless by name but are not.
  platform = await createTestNamespace('platform');
  await lab.client.create(Resources.Secret, {
    metadata: { name: 'pg-admin', namespace: platform.name },
    stringData: { username: lab.postgres.info.admin.user, password: lab.postgres.info.admin.password },
  });
  await create(lab.client, 'ClusterDatabaseServer', undefined, clusterServer, {
    engine: 'postgres',
    host: '127.0.0.1',
    port: lab.postgres.info.port,
    database: 'app',
    adminCredentialsSecretRef: { name: 'pg-admin', namespace: platform.name },
    tls: { mode: 'disable' },
    allowedNamespaces: { names: [lab.ns.name] },
    tenantRoles: { memberOf: { names: ['app_readers', 'power_group', 'sneaky_group', 'pg_execute_server_program'] } },
  });
  // Another team's ClusterDatabaseRole on the shared server, not offered to this namespace.
  await create(lab.client, 'ClusterDatabaseRole', undefined, `other-team-${lab.ns.name}`, {
    serverRef: { name: clusterServer },
    memberOf: ['app_readers'],
    allowedNamespaces: { names: ['other-team'] },
  });
  accountsBefore = await accounts();
  platformSecretBefore = await lab.client.get(Resources.Secret, 'pg-admin', platform.name);
  op = await startOperator(lab.ns.name);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await lab?.client.delete(DbcredResources.ClusterDatabaseRole, `other-team-${lab.ns.name}`).catch(() => undefined);
  await lab?.client.delete(DbcredResources.ClusterDatabaseServer, clusterServer).catch(() => undefined);
  await platform?.cleanup();
  await lab?.cleanup();
});

/**
 * Every account that existed before the tenant arrived, on both servers: password hashes,
 * attributes, memberships and grants (the users dbcred issues aside).
 */
async function accounts(): Promise<string> {
  const roles = await sql(lab.postgres, [
    `SELECT rolname, rolpassword, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolvaliduntil
       FROM pg_authid WHERE rolname !~ '^dbc([a-z2-7]{4})?_' ORDER BY rolname`,
  ]);
  const members = await sql(lab.postgres, [
    `SELECT m.member::regrole::text AS member, m.roleid::regrole::text AS role, m.admin_option FROM pg_auth_members m
       WHERE m.member::regrole::text !~ '^dbc([a-z2-7]{4})?_' ORDER BY 1, 2`,
  ]);
  const tables = await sql(lab.postgres, [
    "SELECT tablename, tableowner FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
  ]);
  const users = await mysqlSql(lab.mariadb, [
    "SELECT User, Host, Priv FROM mysql.global_priv WHERE User NOT REGEXP '^dbc([a-z2-7]{4})?_' ORDER BY User, Host",
  ]);
  const roleEdges = await mysqlSql(lab.mariadb, [
    "SELECT * FROM mysql.roles_mapping WHERE User NOT REGEXP '^dbc([a-z2-7]{4})?_' ORDER BY User, Host, Role",
  ]);
  const dbGrants = await mysqlSql(lab.mariadb, [
    "SELECT * FROM mysql.db WHERE User NOT REGEXP '^dbc([a-z2-7]{4})?_' ORDER BY User, Host, Db",
  ]);
  return JSON.stringify({ roles, members, tables, users, roleEdges, dbGrants });
}

async function pgLogsIn(user: string, password: string): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port: lab.postgres.info.port, database: 'app', user, password });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function mariadbLogsIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: lab.mariadb.info.port, user, password });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Users dbcred issued on the PostgreSQL server, and every membership in the database. */
async function pgState(): Promise<string> {
  const users = await sql(lab.postgres, [
    "SELECT string_agg(rolname, ',' ORDER BY rolname) AS u FROM pg_roles WHERE rolname ~ '^dbc([a-z2-7]{4})?_'",
  ]);
  const members = await sql(lab.postgres, [
    "SELECT string_agg(m.member::regrole || '>' || m.roleid::regrole, ',' ORDER BY m.member::regrole::text, m.roleid::regrole::text) AS m FROM pg_auth_members m",
  ]);
  return JSON.stringify([users[0]?.['u'], members[0]?.['m']]);
}

/** What the audit log says was denied, by object name. */
const denials = (name: string) =>
  op.audit
    .map((line) => JSON.parse(line) as { action: string; object?: { name?: string }; reason?: string })
    .filter((r) => r.action === 'deny' && r.object?.name === name);

async function warningEvents(name: string): Promise<string[]> {
  const events = await lab.client.list<KubeObject & { reason?: string; type?: string; regarding?: { name?: string } }>(Resources.Event, {
    namespace: lab.ns.name,
  });
  return events.items.filter((e) => e.type === 'Warning' && e.regarding?.name === name).map((e) => e.reason ?? '');
}

/** refusedVisibly waits for an object's refusal and checks it is also an Event and an audit record. */
async function refusedVisibly(
  kind: 'DatabaseStaticCredential' | 'DatabaseRole' | 'DatabaseCredential',
  name: string,
  reason: string,
): Promise<Obj> {
  const obj = await waitForCondition(lab.client, kind, lab.ns.name, name, 'Ready', 'False', reason);
  await waitFor(`a Warning Event ${reason} on ${name}`, async () => (await warningEvents(name)).includes(reason), { timeoutMs: 10_000 });
  expect(denials(name).map((d) => d.reason)).toContain(reason);
  return obj;
}

describe('a DatabaseStaticCredential cannot take over an account', () => {
  it.each([
    ['the admin login', 'pg-open', () => lab.postgres.info.admin, 'NotAllowedByServer'],
    ['the PostgreSQL superuser', 'pg-open', () => lab.postgres.info.superuser, 'PrivilegedAccount'],
    ['a CREATEROLE user', 'pg-open', () => ({ user: 'power_login', password: 'power-password-1' }), 'PrivilegedAccount'],
    [
      'a user the server does not list',
      'pg',
      () => ({ user: 'other_team_login', password: 'other-team-password-1' }),
      'NotAllowedByServer',
    ],
  ])('%s is refused and keeps its password', async (_what, server, account, reason) => {
    const before = await pgState();
    const { user, password } = account();
    const name = `static-${user.replaceAll('_', '-')}-${server}`;
    await create(tenant, 'DatabaseStaticCredential', lab.ns.name, name, {
      serverRef: { name: server },
      username: user,
      rotationSchedule: '@daily',
    });
    const refused = await refusedVisibly('DatabaseStaticCredential', name, reason);
    expect(condition(refused, 'Ready')?.message).toContain(user);
    expect(await pgLogsIn(user, password)).toBe(true);
    expect(await secretData(lab.client, lab.ns.name, name)).toBeUndefined();
    expect(await pgState()).toBe(before);
  });

  it('a user dbcred issued is refused', async () => {
    await create(tenant, 'DatabaseStaticCredential', lab.ns.name, 'static-issued', {
      serverRef: { name: 'pg-open' },
      username: 'dbc_app_aaaaaaaaaaaaaaaa',
      rotationSchedule: '@daily',
    });
    await refusedVisibly('DatabaseStaticCredential', 'static-issued', 'NotAllowedByServer');
  });

  it('MariaDB: an account with global privileges is refused and keeps its password', async () => {
    const { user, password } = lab.mariadb.info.superuser;
    await create(tenant, 'DatabaseStaticCredential', lab.ns.name, 'static-mariadb-root', {
      serverRef: { name: 'mysql-open' },
      username: user,
      rotationSchedule: '@daily',
    });
    await refusedVisibly('DatabaseStaticCredential', 'static-mariadb-root', 'PrivilegedAccount');
    expect(await mariadbLogsIn(user, password)).toBe(true);
  });
});

describe("a tenant's DatabaseRole on a shared server gets only what the server allows", () => {
  async function tenantRole(name: string, spec: Record<string, unknown>): Promise<void> {
    await create(tenant, 'DatabaseRole', lab.ns.name, name, {
      serverRef: { kind: 'ClusterDatabaseServer', name: clusterServer },
      ...spec,
    });
  }

  it('a group role the server allows: Ready, and its credential is issued', async () => {
    await tenantRole('allowed', { memberOf: ['app_readers'] });
    await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'allowed', 'Ready', 'True');
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'allowed-cred', { roleRef: { name: 'allowed' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'allowed-cred', 'Ready', 'True');
  });

  it.each([
    ['a group role the server does not list', { memberOf: ['other_team_writers'] }, 'NotAllowedByServer'],
    ['SQL statements (run as the admin)', { creationStatements: ['GRANT other_team_writers TO {{username}}'] }, 'NotAllowedByServer'],
    ['a predefined role that reaches the database host', { memberOf: ['pg_execute_server_program'] }, 'NotAllowedByServer'],
    ['a listed group role that has CREATEROLE', { memberOf: ['power_group'] }, 'PrivilegedAccount'],
    ['a listed group role that is a member of pg_execute_server_program', { memberOf: ['sneaky_group'] }, 'PrivilegedAccount'],
    [
      'owned objects reassigned to the admin',
      { postgres: { ownedObjects: { action: 'Reassign', reassignTo: 'dbcred_admin' } } },
      'NotAllowedByServer',
    ],
  ])('%s: the role is refused, its credential too, and no user is created', async (_what, spec, reason) => {
    const before = await pgState();
    const name = `bad-${reason.toLowerCase()}-${Math.abs(hash(JSON.stringify(spec)))}`;
    await tenantRole(name, spec);
    const refused = await refusedVisibly('DatabaseRole', name, reason);
    expect(condition(refused, 'Ready')?.message).toMatch(/spec\.|privileged/);
    await create(tenant, 'DatabaseCredential', lab.ns.name, `${name}-cred`, { roleRef: { name } });
    await refusedVisibly('DatabaseCredential', `${name}-cred`, reason);
    expect(await secretData(lab.client, lab.ns.name, `${name}-cred`)).toBeUndefined();
    expect(await pgState()).toBe(before);
  });
});

describe('every role, whoever wrote it', () => {
  it('PostgreSQL: role SQL that hides a second statement runs neither, at issue nor at revocation', async () => {
    const hidden = (table: string) => `SELECT 1 AS é$$; CREATE TABLE ${table} (x int); SELECT 1 AS ê$$`;
    const before = await pgState();
    await create(tenant, 'DatabaseRole', lab.ns.name, 'two-statements', {
      serverRef: { name: 'pg' },
      creationStatements: [hidden('pwned_at_issue')],
    });
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'two-statements-cred', { roleRef: { name: 'two-statements' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'two-statements-cred', 'Ready', 'False', 'TemplateInvalid');
    await waitFor('a TemplateInvalid Warning Event', async () => (await warningEvents('two-statements-cred')).includes('TemplateInvalid'), {
      timeoutMs: 10_000,
    });
    await create(tenant, 'DatabaseRole', lab.ns.name, 'two-statements-revoke', {
      serverRef: { name: 'pg' },
      revocationStatements: [hidden('pwned_at_revoke')],
    });
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'two-statements-revoke-cred', {
      roleRef: { name: 'two-statements-revoke' },
    });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'two-statements-revoke-cred', 'Ready', 'True');
    await tenant.delete(DbcredResources.DatabaseCredential, 'two-statements-revoke-cred', lab.ns.name);
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'two-statements-revoke-cred', 'RevocationFailing', 'True');
    const tables = await sql(lab.postgres, [
      "SELECT to_regclass('public.pwned_at_issue') AS a, to_regclass('public.pwned_at_revoke') AS b",
    ]);
    expect(tables[0]).toEqual({ a: null, b: null });
    // With the statement gone from the role, the revocation goes through and nothing is left.
    await tenant.mergePatch(DbcredResources.DatabaseRole, 'two-statements-revoke', lab.ns.name, {
      spec: { revocationStatements: null },
    });
    await waitForCredentialGone(lab.client, lab.ns.name, 'two-statements-revoke-cred');
    await tenant.delete(DbcredResources.DatabaseCredential, 'two-statements-cred', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'two-statements-cred');
    expect(await pgState()).toBe(before);
  });

  it('MariaDB: a group role with global privileges is refused', async () => {
    await create(tenant, 'DatabaseRole', lab.ns.name, 'mighty', { serverRef: { name: 'mysql' }, memberOf: ['mighty'] });
    await refusedVisibly('DatabaseRole', 'mighty', 'PrivilegedAccount');
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'mighty-cred', { roleRef: { name: 'mighty' } });
    await refusedVisibly('DatabaseCredential', 'mighty-cred', 'PrivilegedAccount');
    const rows = (await mysqlSql(lab.mariadb, ["SELECT COUNT(*) AS n FROM mysql.user WHERE User REGEXP '^dbc([a-z2-7]{4})?_'"])) as {
      n: number | string;
    }[];
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it('MariaDB: grants on every database (which covers the mysql schema) are refused', async () => {
    await create(tenant, 'DatabaseRole', lab.ns.name, 'star-grants', {
      serverRef: { name: 'mysql' },
      mysql: { grants: [{ privileges: ['SELECT'], database: '*' }] },
    });
    await refusedVisibly('DatabaseRole', 'star-grants', 'NotAllowedByServer');
  });
});

describe('transport', () => {
  it('a server whose certificate the operator does not check says so', async () => {
    const server = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg', 'TransportVerified', 'False', 'TLSDisabled');
    expect(condition(server, 'TransportVerified')?.message).toContain('verify-full');
    // And says it where people look: a Warning Event on the server.
    await waitFor(
      'a TLSDisabled Warning Event on the server',
      async () => {
        const events = await lab.client.list<KubeObject & { type?: string; reason?: string; regarding?: { name?: string; kind?: string } }>(
          Resources.Event,
          { namespace: lab.ns.name },
        );
        return events.items.some((e) => e.type === 'Warning' && e.reason === 'TLSDisabled' && e.regarding?.kind === 'DatabaseServer');
      },
      { timeoutMs: 15_000 },
    );
  });
});

describe('a credential whose status was edited', () => {
  it('the tenant cannot: the status subresource (the record of issued users) is not in its role', async () => {
    for (const resource of ['databasecredentials', 'databasestaticcredentials', 'databaseroles', 'databaseservers'])
      expect({ resource, allowed: await canI(tenant, 'patch', resource, lab.ns.name, 'status') }).toEqual({ resource, allowed: false });
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'status-writer', { roleRef: { name: 'pg-readers' } });
    await expect(
      tenant.mergePatch(
        DbcredResources.DatabaseCredential,
        'status-writer',
        lab.ns.name,
        { status: { pending: null } },
        { subresource: 'status' },
      ),
    ).rejects.toMatchObject({ status: 403 });
  });

  // Defence in depth, for whoever may write status all the same (a cluster admin's mistake).
  it("never revokes, converges or publishes a user it did not issue: another team's user keeps working", async () => {
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'team-victim', { roleRef: { name: 'pg-readers' } });
    const victim = (await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'team-victim', 'Ready', 'True')).status!.current!;
    const victimPassword = (await secretData(lab.client, lab.ns.name, 'team-victim'))!['password']!;
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'forger', { roleRef: { name: 'pg-readers' } });
    const forger = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'forger', 'Ready', 'True');
    // Whoever may write the status subresource names the victim's user as retiring (due now) and as
    // the pending intent (which, completed, would reset its password into the forger's Secret).
    const past = new Date(Date.now() - 60_000).toISOString();
    await lab.client.mergePatch(
      DbcredResources.DatabaseCredential,
      'forger',
      lab.ns.name,
      {
        status: {
          retiring: [{ username: victim.username, serial: victim.serial, revokeAt: past, reason: 'Rotated' }],
          pending: { username: victim.username, serial: 9, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), startedAt: past },
        },
      },
      { subresource: 'status' },
    );
    await waitFor('a Warning Event ForeignUser on forger', async () => (await warningEvents('forger')).includes('ForeignUser'), {
      timeoutMs: 10_000,
    });
    expect(denials('forger').map((d) => d.reason)).toContain('ForeignUser');
    const cleaned = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'forger', 'Ready', 'True');
    expect(cleaned.status?.pending).toBeUndefined();
    expect(cleaned.status?.retiring ?? []).toEqual([]);
    expect(cleaned.status?.current?.username).toBe(forger.status!.current!.username);
    expect(await pgLogsIn(victim.username, victimPassword)).toBe(true);
    expect((await secretData(lab.client, lab.ns.name, 'forger'))!['username']).toBe(forger.status!.current!.username);
  });
});

describe('what the platform team keeps', () => {
  it('cluster-scoped servers and roles cannot be created by a tenant', async () => {
    await expect(
      create(tenant, 'ClusterDatabaseServer', undefined, `tenant-made-${lab.ns.name}`, {
        engine: 'postgres',
        host: '127.0.0.1',
        adminCredentialsSecretRef: { name: 'pg-admin', namespace: lab.ns.name },
        allowedNamespaces: { names: [lab.ns.name] },
      }),
    ).rejects.toMatchObject({ status: 403 });
    expect(await canI(tenant, 'create', 'clusterdatabaseroles')).toBe(false);
    expect(await canI(tenant, 'get', 'secrets', platform.name)).toBe(false);
  });

  it('a ClusterDatabaseRole offered to another namespace is refused, and no user is created', async () => {
    const before = await pgState();
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'borrowed-role', {
      roleRef: { kind: 'ClusterDatabaseRole', name: `other-team-${lab.ns.name}` },
    });
    const refused = await refusedVisibly('DatabaseCredential', 'borrowed-role', 'NamespaceNotAllowed');
    expect(refused.status?.pending).toBeUndefined();
    expect(await pgState()).toBe(before);
  });

  it('a shared server that does not allow the namespace cannot be used by its roles', async () => {
    const name = `closed-${lab.ns.name}`;
    await create(lab.client, 'ClusterDatabaseServer', undefined, name, {
      engine: 'postgres',
      host: '127.0.0.1',
      port: lab.postgres.info.port,
      adminCredentialsSecretRef: { name: 'pg-admin', namespace: platform.name },
      tls: { mode: 'disable' },
      allowedNamespaces: { names: ['other-team'] },
    });
    try {
      await create(tenant, 'DatabaseRole', lab.ns.name, 'on-closed', { serverRef: { kind: 'ClusterDatabaseServer', name } });
      await refusedVisibly('DatabaseRole', 'on-closed', 'NamespaceNotAllowed');
    } finally {
      await lab.client.delete(DbcredResources.ClusterDatabaseServer, name);
    }
  });
});

describe("a tenant's own namespace", () => {
  it('a Retain credential naming a Secret it does not own leaves that Secret and its owner as they were', async () => {
    const before = await pgState();
    const owner = await tenant.create<KubeObject>(Resources.ConfigMap, { metadata: { name: 'victim-owner', namespace: lab.ns.name } });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'victim-owner', uid: owner.metadata.uid!, controller: true }];
    await tenant.create(Resources.Secret, {
      metadata: { name: 'victim', namespace: lab.ns.name, ownerReferences },
      stringData: { k: 'v' },
    });
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'retain-victim', {
      roleRef: { name: 'pg-readers' },
      deletionPolicy: 'Retain',
      secret: { name: 'victim' },
    });
    const conflicted = await waitForCondition(
      lab.client,
      'DatabaseCredential',
      lab.ns.name,
      'retain-victim',
      'Ready',
      'False',
      'SecretConflict',
    );
    // Refused before any user was created: nothing pending, nothing in the database; said in an Event too.
    expect(conflicted.status?.pending).toBeUndefined();
    await waitFor('a SecretConflict Warning Event', async () => (await warningEvents('retain-victim')).includes('SecretConflict'), {
      timeoutMs: 10_000,
    });
    expect(await pgState()).toBe(before);
    await tenant.delete(DbcredResources.DatabaseCredential, 'retain-victim', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'retain-victim');
    const victim = await lab.client.get<KubeObject>(Resources.Secret, 'victim', lab.ns.name);
    expect(victim.metadata.ownerReferences).toEqual(ownerReferences);
    expect(await secretData(lab.client, lab.ns.name, 'victim')).toEqual({ k: 'v' });
  });
});

describe('after every attempt above', () => {
  it("every account that existed before is as it was, and the platform's admin Secret says what it said", async () => {
    expect(await accounts()).toBe(accountsBefore);
    const secret = await lab.client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, 'pg-admin', platform.name);
    expect(secret.data).toEqual(platformSecretBefore.data);
    // The only changes are the operator's own: the label its watch of server Secrets selects on,
    // and the shared server's hold while users issued on it live (server protection).
    expect(secret.metadata.labels).toEqual({ ...platformSecretBefore.metadata.labels, [SERVER_SECRET_LABEL]: 'true' });
    expect(secret.metadata.annotations).toEqual(platformSecretBefore.metadata.annotations);
    for (const f of secret.metadata.finalizers ?? []) expect(f).toMatch(/^in-use\.dbcred\.io\//);
  });
});

function hash(text: string): number {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}
