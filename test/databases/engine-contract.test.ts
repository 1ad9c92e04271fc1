// The engine contract: the same specification, run unchanged against real PostgreSQL and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Engine, UserPolicy } from '../../src/engines/engine.ts';
import { generatePassword } from '../../src/engines/password.ts';
import { usernameFor } from '../../src/engines/username.ts';
import { isDbcredError, type DbcredError } from '../../src/util/errors.ts';
import { requireDatabase } from '../../harness/environment.ts';
import { waitFor } from '../../harness/processes.ts';
import { mariadbTarget, postgresTarget, type Target } from './engine-targets.ts';

const targets: Target[] = [postgresTarget(requireDatabase('postgres')), mariadbTarget(requireDatabase('mariadb'))];

/** Everything about an error that could reach a log: message, stack, cause chain and JSON. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error)
      parts.push(current.message, current.stack ?? '', JSON.stringify(current), JSON.stringify(Object.entries(current)));
    else parts.push(JSON.stringify(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

async function failure(work: Promise<unknown>): Promise<DbcredError> {
  try {
    await work;
  } catch (error) {
    if (isDbcredError(error)) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
}

describe.each(targets)('the $label engine', (target) => {
  const run = randomBytes(3).toString('hex');
  const table = `dbc_probe_${run}`;
  const echoTable = `dbc_echo_${run}`;
  const group = `dbc_group_${run}`;
  let engine: Engine;
  const issued: string[] = [];

  const newUser = (policy: UserPolicy = {}, ttlMs = 3_600_000) => {
    const username = usernameFor({ credentialUid: randomUUID(), serial: 1, prefix: 'ct', marker: engine.marker }, engine.maxUsernameLength);
    issued.push(username);
    return { username, password: generatePassword(), expiresAt: new Date(Date.now() + ttlMs), policy };
  };

  beforeAll(async () => {
    await target.superuser(`CREATE TABLE ${table} (id int)`);
    await target.superuser(`INSERT INTO ${table} VALUES (42)`);
    await target.superuser(`CREATE TABLE ${echoTable} (v text)${target.tableOptions}`);
    await target.superuser(
      `GRANT INSERT, SELECT ON ${echoTable} TO ${target.info.engine === 'postgres' ? `"${target.info.admin.user}"` : `\`${target.info.admin.user}\`@'%'`}`,
    );
    await target.createGroup(group, table);
    engine = target.engine();
  });

  afterAll(async () => {
    for (const username of issued) await engine.revokeUser(username, {}).catch(() => undefined);
    await engine.close();
    await target.dropGroup(group);
    await target.superuser(`DROP TABLE IF EXISTS ${table}`);
    await target.superuser(`DROP TABLE IF EXISTS ${echoTable}`);
  });

  describe('ping and privileges', () => {
    it('reports the server version, how it enforces expiry, and an unencrypted admin connection', async () => {
      const facts = await engine.ping();
      expect(facts.version).toContain(target.info.version.split('-')[0]!.split(' ')[0]!);
      expect(facts.expiryEnforcement).toBe(target.expiryEnforcement);
      expect(facts.tls).toBe(false);
    });

    it('finds nothing missing for the harness admin and a group it may grant', async () => {
      expect(await engine.checkPrivileges({ memberOf: [group] })).toEqual({ missing: [] });
    });

    it('names a group role that does not exist', async () => {
      const report = await engine.checkPrivileges({ memberOf: [`${group}_nope`] });
      expect(report.missing).toEqual([expect.stringContaining(`${group}_nope`)]);
    });

    it('says the admin login is refused, without the password, when the password is wrong', async () => {
      const wrong = target.engine({ user: target.info.admin.user, password: 'not-the-password-123' });
      try {
        const error = await failure(wrong.ping());
        expect(error.code).toBe('DB_AUTH_FAILED');
        expect(error.retryable).toBe(false);
        expect(errorText(error)).not.toContain('not-the-password-123');
      } finally {
        await wrong.close();
      }
    });
  });

  describe('privileged accounts', () => {
    const quoted = (name: string) => (target.info.engine === 'postgres' ? `"${name}"` : name);

    it('finds nothing privileged in a group that only reads a table, nor in a name that does not exist', async () => {
      expect(await engine.privilegedAccounts([group, `${group}_nope`])).toEqual([]);
    });

    it('names the admin login and the superuser, saying why', async () => {
      const found = await engine.privilegedAccounts([target.info.admin.user, target.info.superuser.user]);
      expect(found.map((a) => a.name).sort()).toEqual([target.info.admin.user, target.info.superuser.user].sort());
      const admin = found.find((a) => a.name === target.info.admin.user)!;
      expect(admin.reasons.map((r) => r.why).join(' ')).toContain('admin login');
    });

    it('finds a privilege reached through a group the account is a member of', async () => {
      const outer = `${group}_outer`;
      const mighty = `${group}_mighty`;
      await target.superuser(`CREATE ROLE ${quoted(mighty)}${target.info.engine === 'postgres' ? ' NOLOGIN CREATEROLE' : ''}`);
      if (target.info.engine === 'mysql') await target.superuser(`GRANT CREATE USER ON *.* TO ${mighty}`);
      await target.superuser(`CREATE ROLE ${quoted(outer)}`);
      await target.superuser(`GRANT ${quoted(mighty)} TO ${quoted(outer)}`);
      try {
        const [found] = await engine.privilegedAccounts([outer]);
        expect(found?.name).toBe(outer);
        expect(found?.reasons.map((r) => r.why).join(' ')).toContain(mighty);
      } finally {
        await target.superuser(`DROP ROLE ${quoted(outer)}`);
        await target.superuser(`DROP ROLE ${quoted(mighty)}`);
      }
    });
  });

  describe('a created user', () => {
    it('logs in, runs the probe query and reads through its group role', async () => {
      const user = newUser({ memberOf: [group] });
      expect(await engine.createUser(user)).toEqual({ created: true });
      await engine.verifyLogin(user);
      const session = await target.session(user);
      try {
        expect(await session.query(`SELECT id FROM ${table}`)).toEqual([{ id: 42 }]);
      } finally {
        await session.close();
      }
    });

    it('is created again without error and ends up with the password of the latest call', async () => {
      const user = newUser({ memberOf: [group] });
      await engine.createUser(user);
      const retry = { ...user, password: generatePassword() };
      expect(await engine.createUser(retry)).toEqual({ created: false });
      expect(await engine.createUser(retry)).toEqual({ created: false });
      await engine.verifyLogin(retry);
      expect((await failure(engine.verifyLogin(user))).code).toBe('DB_VERIFY_FAILED');
    });

    it('cannot open more sessions than its connection limit', async () => {
      const user = newUser({ connectionLimit: 1 });
      await engine.createUser(user);
      const first = await target.session(user);
      try {
        await expect(target.session(user)).rejects.toThrow();
      } finally {
        await first.close();
      }
    });

    it('appears in the list of owned users with its expiry', async () => {
      const user = newUser();
      await engine.createUser(user);
      const owned = (await engine.listOwnedUsers()).find((u) => u.username === user.username);
      expect(owned).toBeDefined();
      expect(Math.abs(owned!.expiresAt!.getTime() - user.expiresAt.getTime())).toBeLessThan(1_000);
    });

    it('is refused when a group role does not exist, and nothing is left behind', async () => {
      const user = newUser({ memberOf: [`${group}_missing`] });
      const error = await failure(engine.createUser(user));
      expect(error.code).toBe('DB_GROUP_ROLE_MISSING');
      // PostgreSQL rolls the whole create back; MariaDB keeps the user until it is revoked.
      await engine.revokeUser(user.username, {});
      expect((await engine.listOwnedUsers()).map((u) => u.username)).not.toContain(user.username);
    });

    it('is refused when its name is not one usernameFor makes', async () => {
      const error = await failure(engine.createUser({ ...newUser(), username: 'app_owner' }));
      expect(error.code).toBe('DB_INVALID_NAME');
    });
  });

  describe('connections', () => {
    it('opens exactly one connection per issued user, its verification login, and none to revoke it once the admin pool is warm', async () => {
      const opened: string[] = [];
      const counted = target.engine(undefined, { onConnection: (purpose, name) => opened.push(`${name}:${purpose}`) });
      try {
        const warm = newUser({ memberOf: [group] });
        await counted.createUser(warm);
        await counted.verifyLogin(warm);
        await counted.revokeUser(warm.username, {});
        expect(opened).toContain(`${target.info.engine}:admin`);
        opened.length = 0;
        for (let i = 0; i < 3; i++) {
          const user = newUser({ memberOf: [group] });
          await counted.createUser(user);
          await counted.verifyLogin(user);
          await counted.revokeUser(user.username, { revocation: { terminateSessions: true } });
        }
        expect(opened).toEqual(Array.from({ length: 3 }, () => `${target.info.engine}:login`));
      } finally {
        await counted.close();
      }
    });
  });

  describe('expiry', () => {
    it('is the one given at creation, as the list reports it', async () => {
      const user = newUser({}, 7_200_000);
      await engine.createUser(user);
      const owned = (await engine.listOwnedUsers()).find((u) => u.username === user.username);
      expect(Math.abs(owned!.expiresAt!.getTime() - user.expiresAt.getTime())).toBeLessThan(1_000);
    });

    it('is enforced by the database: past its expiry the user cannot log in, with nothing else running', async () => {
      const user = newUser({}, 2_500);
      await engine.createUser(user);
      await engine.verifyLogin(user);
      await waitFor(
        'the expired user to be refused',
        async () => {
          const error = await engine.verifyLogin(user).then(
            () => undefined,
            (e: unknown) => e,
          );
          return isDbcredError(error, 'DB_VERIFY_FAILED');
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
    });
  });

  describe('password rotation', () => {
    it('makes the new password work and the old one fail, repeatably', async () => {
      const user = newUser();
      await engine.createUser(user);
      const rotated = { username: user.username, password: generatePassword({ length: 40, alphabet: 'alphanumeric-symbols' }) };
      await engine.rotatePassword(rotated);
      await engine.rotatePassword(rotated);
      await engine.verifyLogin(rotated);
      expect((await failure(engine.verifyLogin(user))).code).toBe('DB_VERIFY_FAILED');
    });

    it('fails with DB_USER_MISSING for a user that does not exist', async () => {
      const error = await failure(engine.rotatePassword({ username: newUser().username, password: generatePassword() }));
      expect(error.code).toBe('DB_USER_MISSING');
    });
  });

  describe('revocation', () => {
    it('ends the open session of the user, drops it, and removes it from the list', async () => {
      const user = newUser({ memberOf: [group] });
      await engine.createUser(user);
      const session = await target.session(user);
      try {
        expect(await session.alive()).toBe(true);
        const result = await engine.revokeUser(user.username, { revocation: { terminateSessions: true } });
        expect(result).toEqual({ existed: true, terminatedSessions: 1 });
        expect(await session.alive()).toBe(false);
      } finally {
        await session.close();
      }
      expect((await failure(engine.verifyLogin(user))).code).toBe('DB_VERIFY_FAILED');
      expect((await engine.listOwnedUsers()).map((u) => u.username)).not.toContain(user.username);
    });

    it('succeeds again for a user that is already gone', async () => {
      const user = newUser();
      await engine.createUser(user);
      expect((await engine.revokeUser(user.username, {})).existed).toBe(true);
      expect(await engine.revokeUser(user.username, {})).toEqual({ existed: false, terminatedSessions: 0 });
    });

    it('runs the revocation statements before the user is dropped', async () => {
      const user = newUser();
      await engine.createUser(user);
      const marker = `revoked-${user.username}`;
      await engine.revokeUser(user.username, { revocationStatements: [`INSERT INTO ${echoTable} (v) VALUES ('${marker}')`] });
      expect(await target.superuser(`SELECT v FROM ${echoTable} WHERE v = '${marker}'`)).toEqual([{ v: marker }]);
    });

    it("refuses a name that usernameFor cannot have made, so it never drops someone else's user", async () => {
      expect((await failure(engine.revokeUser(target.info.admin.user, {}))).code).toBe('DB_INVALID_NAME');
    });
  });

  describe('statements built from hostile values', () => {
    it('store each value exactly, as one statement, whatever it contains', async () => {
      const hostile = fc.string({
        unit: fc.constantFrom("'", '"', '`', '\\', ';', '-', '#', '/', '*', '$', '{', '}', ' ', '\n', 'a', 'é', '😀', '%', '_'),
        minLength: 1,
        maxLength: 40,
      });
      await fc.assert(
        fc.asyncProperty(hostile, async (value) => {
          const user = { ...newUser(), password: value };
          await engine.createUser({ ...user, policy: { creationStatements: [`INSERT INTO ${echoTable} (v) VALUES ({{password}})`] } });
          await engine.revokeUser(user.username, {});
          const rows = await target.superuser(`SELECT v FROM ${echoTable}`);
          return rows.some((r) => r['v'] === value);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe('errors', () => {
    it('never contain the password, even when the server echoes it', async () => {
      const user = newUser({ creationStatements: [target.echoingFailure] });
      const error = await failure(engine.createUser(user));
      expect(error.code).toMatch(/^DB_/);
      expect(errorText(error)).not.toContain(user.password);
      // Nothing was echoed into our message either: the server's text was redacted or withheld.
      expect(error.message).toMatch(/REDACTED|withheld/);
      await engine.revokeUser(user.username, {});
    });

    it('of a refused login never contain the password tried', async () => {
      const user = newUser();
      await engine.createUser(user);
      const wrong = { username: user.username, password: generatePassword() };
      const error = await failure(engine.verifyLogin(wrong));
      expect(error.code).toBe('DB_VERIFY_FAILED');
      expect(errorText(error)).not.toContain(wrong.password);
    });
  });

  describe('admin password rotation', () => {
    it('switches the engine to the new password, which alone works afterwards, and converges on retry', async () => {
      const admin = await target.createAdmin();
      const rotating = target.engine(admin);
      const next = generatePassword();
      try {
        await rotating.rotateAdminPassword(next);
        await rotating.ping();
        await rotating.rotateAdminPassword(next);
        // A retry after a crash: an engine still configured with the old password converges too.
        const stale = target.engine(admin);
        await stale.rotateAdminPassword(next);
        await stale.ping();
        await stale.close();
        const old = target.engine(admin);
        expect((await failure(old.ping())).code).toBe('DB_AUTH_FAILED');
        await old.close();
      } finally {
        await rotating.close();
        await target.dropAdmin(admin.user);
      }
    });
  });
});
