// MariaDB-only behaviour: expiry events (created, moved, dropped, firing with no operator), the
// OperatorOnly report when the scheduler is off, per-user grants and the privilege report.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { generatePassword } from '../../src/engines/password.ts';
import { expiryEventName } from '../../src/engines/mysql/mysql-statements.ts';
import { DEFAULT_MARKER } from '../../src/engines/engine.ts';
import { usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';
import { requireDatabase } from '../../harness/environment.ts';
import { startMariaDB } from '../../harness/mariadb.ts';
import type { StartedDatabase } from '../../harness/postgres.ts';
import { waitFor } from '../../harness/processes.ts';
import { mariadbTarget } from './engine-targets.ts';

const shared = mariadbTarget(requireDatabase('mariadb'));
const user = (policy = {}, ttlMs = 600_000) => ({
  username: usernameFor({ credentialUid: randomUUID(), serial: 1, prefix: 'my', marker: DEFAULT_MARKER }, 32),
  password: generatePassword(),
  expiresAt: new Date(Date.now() + ttlMs),
  policy,
});
const eventAt = async (username: string) => {
  const rows = await shared.superuser(
    `SELECT UNIX_TIMESTAMP(CONVERT_TZ(EXECUTE_AT, TIME_ZONE, '+00:00')) AS at FROM information_schema.EVENTS WHERE EVENT_NAME = '${expiryEventName(username)}'`,
  );
  return rows.length === 0 ? undefined : Number(rows[0]!['at']) * 1000;
};
const exists = async (username: string) => (await shared.superuser(`SELECT 1 FROM mysql.user WHERE User = '${username}'`)).length > 0;

describe('the MariaDB engine with the event scheduler on', () => {
  const engine = shared.engine();
  afterAll(async () => {
    await engine.close();
  });

  it('schedules an expiry event at creation and drops it on early revocation', async () => {
    const issued = user();
    await engine.createUser(issued);
    expect(Math.abs((await eventAt(issued.username))! - issued.expiresAt.getTime())).toBeLessThan(1_000);
    await engine.revokeUser(issued.username, {});
    expect(await eventAt(issued.username)).toBeUndefined();
  });

  it('drops an expired user on time with no operator running: the engine is closed right after creation', async () => {
    const issued = user({}, 2_500);
    const once = shared.engine();
    await once.createUser(issued);
    await once.close();
    expect(await exists(issued.username)).toBe(true);
    await waitFor('the expiry event to drop the user', async () => !(await exists(issued.username)), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(issued.expiresAt.getTime() - 1_000);
    expect(await eventAt(issued.username)).toBeUndefined();
  });

  it("grants the role's per-user privileges", async () => {
    const table = `dbc_grant_${randomBytes(3).toString('hex')}`;
    await shared.superuser(`CREATE TABLE ${table} (id int)`);
    const issued = user({
      mysql: { userHost: '%', grants: [{ privileges: ['SELECT', 'INSERT'], database: shared.info.database, table }] },
    });
    try {
      await engine.createUser(issued);
      const session = await shared.session(issued);
      await session.query(`INSERT INTO ${table} VALUES (7)`);
      expect(await session.query(`SELECT id FROM ${table}`)).toEqual([{ id: 7 }]);
      await session.close();
    } finally {
      await engine.revokeUser(issued.username, {});
      await shared.superuser(`DROP TABLE ${table}`);
    }
  });

  it('refuses two memberOf roles (MariaDB activates one default role) before creating anything', async () => {
    const issued = user({ memberOf: ['a', 'b'] });
    const error = await engine.createUser(issued).catch((e: unknown) => e);
    expect(isDbcredError(error, 'DB_UNSUPPORTED')).toBe(true);
    expect(await exists(issued.username)).toBe(false);
    expect(await eventAt(issued.username)).toBeUndefined();
  });

  it('reports what an admin without privileges lacks, including ADMIN OPTION on a role', async () => {
    const weak = { user: `dbcred_t_weak_${randomBytes(3).toString('hex')}`, password: generatePassword() };
    await shared.superuser(`CREATE USER \`${weak.user}\`@'%' IDENTIFIED BY '${weak.password}'`);
    await shared.superuser(`GRANT SHOW VIEW ON \`${shared.info.database}\`.* TO \`${weak.user}\`@'%'`); // enough to connect to it
    const weakEngine = shared.engine(weak);
    try {
      const report = await weakEngine.checkPrivileges({
        memberOf: ['some_role'],
        mysql: { userHost: '%', grants: [{ privileges: ['SELECT'], database: 'app', table: '*' }] },
      });
      expect(report.missing).toEqual([
        expect.stringContaining('CREATE USER'),
        expect.stringContaining('SELECT on mysql.user'),
        expect.stringContaining('PROCESS'),
        expect.stringContaining('CONNECTION ADMIN'),
        expect.stringContaining('EVENT'),
        expect.stringContaining('SELECT WITH GRANT OPTION'),
        expect.stringContaining('"some_role" WITH ADMIN OPTION'),
      ]);
    } finally {
      await weakEngine.close();
      await shared.superuser(`DROP USER \`${weak.user}\`@'%'`);
    }
  });
});

describe('the MariaDB engine with the event scheduler off (private server)', () => {
  let server: StartedDatabase;
  beforeAll(async () => {
    server = await startMariaDB({ eventScheduler: false });
  }, 60_000);
  afterAll(async () => {
    await server.stop();
  });

  it('reports OperatorOnly expiry, creates no event, and lists users without an expiry', async () => {
    const target = mariadbTarget(server.info);
    const engine = target.engine();
    try {
      expect((await engine.ping()).expiryEnforcement).toBe('OperatorOnly');
      const issued = user();
      await engine.createUser(issued);
      expect(await target.superuser('SELECT EVENT_NAME FROM information_schema.EVENTS')).toEqual([]);
      expect((await engine.listOwnedUsers()).find((u) => u.username === issued.username)).toEqual({ username: issued.username });
      await engine.revokeUser(issued.username, {});
    } finally {
      await engine.close();
    }
  });
});
