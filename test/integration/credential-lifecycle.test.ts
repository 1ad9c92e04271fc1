import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { verifyChain } from '../../src/audit/audit-log.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { waitFor } from '../../harness/processes.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import {
  condition,
  create,
  get,
  waitForCredentialGone,
  mysqlSql,
  secretData,
  sql,
  startLab,
  waitForCondition,
  type Lab,
} from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator;

beforeAll(async () => {
  lab = await startLab('lifecycle');
  op = await startOperator(lab.ns.name);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

const engines = [
  { engine: 'postgres', role: 'pg-readers' },
  { engine: 'mysql', role: 'mysql-readers' },
] as const;

/** loginAndRead logs in with a Secret's data and reads `table`; it returns the rows or the error message. */
async function loginAndRead(
  engine: 'postgres' | 'mysql',
  data: Record<string, string>,
  table: string,
): Promise<{ user: string; rows?: number; error?: string }> {
  if (engine === 'postgres') {
    const c = new pg.Client({
      host: data['host'],
      port: Number(data['port']),
      database: data['database'],
      user: data['username'],
      password: data['password'],
    });
    await c.connect();
    try {
      const who = (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      try {
        return { user: who, rows: (await c.query(`SELECT * FROM ${table}`)).rowCount ?? 0 };
      } catch (error) {
        return { user: who, error: (error as Error).message };
      }
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({
    host: data['host'],
    port: Number(data['port']),
    database: data['database'],
    user: data['username'],
    password: data['password'],
  });
  try {
    const [who] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT * FROM app.${table}`);
      return { user: String(who[0]?.['u']).split('@')[0]!, rows: rows.length };
    } catch (error) {
      return { user: String(who[0]?.['u']).split('@')[0]!, error: (error as Error).message };
    }
  } finally {
    await c.end();
  }
}

async function userExists(engine: 'postgres' | 'mysql', username: string): Promise<boolean> {
  if (engine === 'postgres') return (await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${username}'`])).length === 1;
  return (await mysqlSql(lab.mariadb, [`SELECT 1 FROM mysql.user WHERE User = '${username}'`])).length === 1;
}

describe.each(engines)('a DatabaseCredential on $engine', ({ engine, role }) => {
  it('becomes a Secret whose user logs in and can read what its group role allows, and nothing more', async () => {
    const name = `app-${engine}`;
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: role },
      ttl: '30m',
      secret: { template: { DATABASE_URL: '{{uri}}' } },
    });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True', 'Issued');
    const data = (await secretData(lab.client, lab.ns.name, name))!;
    expect(Object.keys(data).sort()).toEqual(['DATABASE_URL', 'database', 'host', 'jdbc-url', 'password', 'port', 'uri', 'username']);
    expect(data['username']).toBe(ready.status?.current?.username);
    expect(data['username']).toMatch(/^dbc[a-z2-7]{4}_app_[a-z2-7]{16}$/);
    expect(data['DATABASE_URL']).toBe(data['uri']);
    expect(await loginAndRead(engine, data, 'orders')).toEqual({ user: data['username'], rows: 2 });
    const denied = await loginAndRead(engine, data, 'secrets');
    expect(denied.error).toMatch(/permission denied|command denied/i);
    // The password appears nowhere but in the Secret: not in status, not in the audit trail.
    expect(JSON.stringify(ready)).not.toContain(data['password']);
    expect(op.audit.join('')).not.toContain(data['password']);
    expect(Date.parse(ready.status!.current!.expiresAt) - Date.parse(ready.status!.current!.issuedAt)).toBeGreaterThan(29 * 60_000);
  });

  it('is revoked completely when deleted: the user is dropped and the Secret garbage-collected', async () => {
    const name = `deleted-${engine}`;
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: role } });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    const username = ready.status?.current?.username as string;
    expect(await userExists(engine, username)).toBe(true);
    await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, name, 20_000);
    expect(await userExists(engine, username)).toBe(false);
    await waitFor('the Secret to be garbage-collected', async () => (await secretData(lab.client, lab.ns.name, name)) === undefined, {
      timeoutMs: 20_000,
    });
  });

  it('without rotation, is revoked at expiry: the user is gone within a second and the Secret deleted', async () => {
    const name = `expiring-${engine}`;
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: role },
      ttl: '3s',
      rotation: { enabled: false, overlap: '0s' },
    });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    const username = ready.status?.current?.username as string;
    const expiresAt = Date.parse(ready.status!.current!.expiresAt);
    await waitFor('the user to be dropped', async () => !(await userExists(engine, username)), { timeoutMs: 10_000, intervalMs: 20 });
    const lag = Date.now() - expiresAt;
    expect(lag).toBeLessThan(1_000);
    const expired = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'False', 'Expired');
    expect(expired.status?.current).toBeUndefined();
    // Nothing still claims a user is in the Secret.
    expect(condition(expired, 'Issued')).toMatchObject({ status: 'False', reason: 'Expired' });
    expect(await secretData(lab.client, lab.ns.name, name)).toBeUndefined();
  });
});

describe('rotation', () => {
  it('publishes a new verified user before expiry; the old one keeps working for the overlap, then is revoked and its session ended', async () => {
    const name = 'rotating';
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: 'pg-readers' },
      ttl: '6s',
      rotation: { renewAtPercent: 50, overlap: '2s' },
    });
    const first = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    const oldUser = first.status!.current!.username;
    const oldData = (await secretData(lab.client, lab.ns.name, name))!;
    const session = new pg.Client({
      host: oldData['host'],
      port: Number(oldData['port']),
      database: oldData['database'],
      user: oldData['username'],
      password: oldData['password'],
    });
    await session.connect();
    const sessionEnded = new Promise<void>((resolve) => session.on('error', () => resolve()).on('end', () => resolve()));
    try {
      await waitFor('a new user in the Secret', async () => (await secretData(lab.client, lab.ns.name, name))?.['username'] !== oldUser, {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      const rotatedAt = Date.now();
      const newData = (await secretData(lab.client, lab.ns.name, name))!;
      expect(await loginAndRead('postgres', newData, 'orders')).toEqual({ user: newData['username'], rows: 2 });
      // During the overlap the old user still works.
      expect(await userExists('postgres', oldUser)).toBe(true);
      expect((await session.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      await waitFor('the old user to be revoked', async () => !(await userExists('postgres', oldUser)), {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      expect(Date.now() - rotatedAt).toBeGreaterThanOrEqual(1_500);
      await sessionEnded;
      // The status forgets the old user one write after it was dropped.
      await waitFor(
        'the status to forget the old user',
        async () => ((await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status?.retiring ?? []).length === 0,
        { timeoutMs: 5_000, intervalMs: 50 },
      );
      const after = await get(lab.client, 'DatabaseCredential', lab.ns.name, name);
      expect(after.status?.retiring ?? []).toEqual([]);
      expect(after.status?.current?.serial).toBeGreaterThanOrEqual(2);
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('with nothing but a short ttl, rotates and keeps the previous user until its own expiry (the default overlap)', async () => {
    const name = 'short-defaults';
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'mysql-readers' }, ttl: '6s' });
    const first = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    const old = first.status!.current!;
    let retiring: { username: string; revokeAt: string }[] = [];
    await waitFor(
      'the replacement, with the previous user retiring',
      async () => {
        retiring = (await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status?.retiring ?? [];
        return retiring.some((r) => r.username === old.username);
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    // 5 minutes by default, but never past the user's own expiry, which a 6 s ttl reaches first (a
    // replacement that came late, after that expiry, retires it at once).
    const revokeAt = Date.parse(retiring.find((r) => r.username === old.username)!.revokeAt);
    const expiresAt = Date.parse(old.expiresAt);
    expect(revokeAt - expiresAt).toBeGreaterThanOrEqual(0);
    expect(revokeAt - expiresAt).toBeLessThan(10_000);
    await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, name);
  });
});

describe('repairs and refusals', () => {
  it('replaces a Secret deleted by hand with a new working user', async () => {
    const name = 'drift';
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'pg-readers' } });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    const oldUser = ready.status?.current?.username as string;
    await lab.client.delete({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true }, name, lab.ns.name);
    await waitFor(
      'a new Secret with a new user',
      async () => {
        const data = await secretData(lab.client, lab.ns.name, name);
        return data !== undefined && data['username'] !== oldUser;
      },
      { timeoutMs: 15_000 },
    );
    const data = (await secretData(lab.client, lab.ns.name, name))!;
    expect(await loginAndRead('postgres', data, 'orders')).toEqual({ user: data['username'], rows: 2 });
  });

  it("refuses a ttl above the role's maxTTL with a condition, an Event and an audit record, and creates nothing", async () => {
    const name = 'too-long';
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'pg-readers' }, ttl: '3h' });
    const denied = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'False', 'TTLAboveMax');
    expect(condition(denied, 'Ready')?.message).toBe("ttl 3h is above the role's maxTTL 2h; ask for at most 2h");
    expect(denied.status?.current).toBeUndefined();
    expect(denied.status?.pending).toBeUndefined();
    expect(await secretData(lab.client, lab.ns.name, name)).toBeUndefined();
    await waitFor(
      'the audit record',
      () => Promise.resolve(op.audit.some((l) => l.includes('"action":"deny"') && l.includes(`"name":"${name}"`))),
      { timeoutMs: 5_000 },
    );
  });

  it('refuses a ClusterDatabaseRole that does not allow the namespace', async () => {
    const roleName = `other-team-${lab.ns.name}`;
    await create(lab.client, 'ClusterDatabaseRole', undefined, roleName, {
      serverRef: { name: 'nowhere' },
      allowedNamespaces: { names: ['someone-else'] },
    });
    try {
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'trespass', { roleRef: { kind: 'ClusterDatabaseRole', name: roleName } });
      const denied = await waitForCondition(
        lab.client,
        'DatabaseCredential',
        lab.ns.name,
        'trespass',
        'Ready',
        'False',
        'NamespaceNotAllowed',
      );
      expect(condition(denied, 'Ready')?.message).toBe(`ClusterDatabaseRole ${roleName} does not allow namespace ${lab.ns.name}`);
      expect(await secretData(lab.client, lab.ns.name, 'trespass')).toBeUndefined();
    } finally {
      await lab.client.delete(DbcredResources.ClusterDatabaseRole, roleName);
    }
  });

  it('takes a refused credential up again when its namespace gets the labels a ClusterDatabaseRole asks for', async () => {
    const roleName = `labelled-${lab.ns.name}`;
    const label = `allow-${lab.ns.name}`;
    await create(lab.client, 'ClusterDatabaseRole', undefined, roleName, {
      serverRef: { name: 'nowhere' },
      allowedNamespaces: { selector: { matchLabels: { [label]: 'yes' } } },
    });
    try {
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'waits-for-label', {
        roleRef: { kind: 'ClusterDatabaseRole', name: roleName },
      });
      await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'waits-for-label', 'Ready', 'False', 'NamespaceNotAllowed');
      await lab.client.mergePatch(Resources.Namespace, lab.ns.name, undefined, { metadata: { labels: { [label]: 'yes' } } });
      // Allowed now; what stops it is the next thing: the role's server does not exist.
      const next = await waitForCondition(
        lab.client,
        'DatabaseCredential',
        lab.ns.name,
        'waits-for-label',
        'Ready',
        'False',
        'ServerNotFound',
        10_000,
      );
      expect(condition(next, 'Ready')?.message).toContain('nowhere');
    } finally {
      await lab.client.mergePatch(Resources.Namespace, lab.ns.name, undefined, { metadata: { labels: { [label]: null } } });
      await lab.client.delete(DbcredResources.DatabaseCredential, 'waits-for-label', lab.ns.name);
      await lab.client.delete(DbcredResources.ClusterDatabaseRole, roleName);
    }
  });

  it('counts issues, revocations, denials and lag in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${op.operator.manager.healthPort}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 'NaN');
    expect(value(/^dbcred_credentials_issued_total\{engine="postgres",why="issue"\} (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^dbcred_credentials_issued_total\{engine="mysql",why="issue"\} (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^dbcred_credentials_issued_total\{engine="postgres",why="rotate"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^dbcred_credentials_revoked_total\{why="expired"\} (\d+)/m)).toBe(2);
    expect(value(/^dbcred_credentials_revoked_total\{why="deleted"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
    expect(value(/^dbcred_revocation_lag_seconds_count\{why="expired"\} (\d+)/m)).toBe(2);
    expect(value(/^dbcred_denials_total\{reason="TTLAboveMax"\} (\d+)/m)).toBe(1);
    expect(value(/^dbcred_active_credentials (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^dbcred_issuance_duration_seconds_count\{engine="postgres"\} (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^dbcred_events_dropped_total (\d+)/m)).toBe(0);
    // Node's process metrics keep their standard names, for stock dashboards.
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toContain('dbcred_process_');
    // The queue depth is read at the scrape, for every controller.
    expect(text).toMatch(/^dbcred_workqueue_depth\{controller="databasecredentials"\} \d+/m);
  });

  it("exports each current user's expiry, as its credential's status says", async () => {
    const text = await (await fetch(`http://127.0.0.1:${op.operator.manager.healthPort}/metrics`)).text();
    const series = [...text.matchAll(/^dbcred_credential_expiry_timestamp_seconds\{namespace="([^"]+)",name="([^"]+)"\} (\S+)$/gm)];
    const mine = series.filter(([, namespace]) => namespace === lab.ns.name);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    for (const [, namespace, name, seconds] of mine) {
      const cred = await lab.client.get<KubeObject>(DbcredResources.DatabaseCredential, name!, namespace).catch(() => undefined);
      if (!cred) continue; // deleted since the scrape
      const expiresAt = (cred as { status?: { current?: { expiresAt?: string } } }).status?.current?.expiresAt;
      // A credential may rotate between the scrape and the read: then its expiry only moved later.
      expect(Date.parse(expiresAt!) / 1000).toBeGreaterThanOrEqual(Number(seconds));
    }
  });

  it('keeps an audit trail whose hash chain verifies', () => {
    expect(op.audit.length).toBeGreaterThan(5);
    expect(verifyChain(op.audit.join('').split('\n'))).toEqual({ ok: true, records: op.audit.length });
  });
});
