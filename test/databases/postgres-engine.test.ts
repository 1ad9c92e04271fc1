// PostgreSQL-only behaviour: no plaintext in a statement log, owned objects, the ownership marker,
// SCRAM iterations and the privilege report.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { generatePassword } from '../../src/engines/password.ts';
import { DEFAULT_MARKER } from '../../src/engines/engine.ts';
import { usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';
import { requireDatabase } from '../../harness/environment.ts';
import { startPostgres, type StartedDatabase } from '../../harness/postgres.ts';
import { postgresTarget } from './engine-targets.ts';

const shared = postgresTarget(requireDatabase('postgres'));
const newName = () => usernameFor({ credentialUid: randomUUID(), serial: 1, prefix: 'pg', marker: DEFAULT_MARKER }, 63);
const user = (policy = {}) => ({ username: newName(), password: generatePassword(), expiresAt: new Date(Date.now() + 600_000), policy });

describe('with log_statement=all on a private server', () => {
  let server: StartedDatabase;
  beforeAll(async () => {
    server = await startPostgres({ extraConfig: { log_statement: 'all', log_min_error_statement: 'error' } });
  }, 60_000);
  afterAll(async () => {
    await server.stop();
  });

  it('the server log holds verifiers but never a plaintext password, across the whole lifecycle', async () => {
    const target = postgresTarget(server.info);
    const engine = target.engine();
    const issued = user();
    const rotated = generatePassword();
    const adminNext = generatePassword();
    try {
      await engine.createUser(issued);
      await engine.createUser(issued); // the convergence path too
      await engine.verifyLogin(issued);
      await engine.rotatePassword({ username: issued.username, password: rotated });
      await engine.rotateAdminPassword(adminNext);
      await engine.revokeUser(issued.username, {});
    } finally {
      await engine.close();
    }
    const log = await readFile(server.info.logFile, 'utf8');
    expect(log).toContain(`CREATE ROLE "${issued.username}"`);
    expect(log).toContain('SCRAM-SHA-256$4096:');
    for (const secret of [issued.password, rotated, adminNext]) expect(log).not.toContain(secret);
  });
});

describe('the PostgreSQL engine', () => {
  const run = randomBytes(3).toString('hex');
  const heir = `dbc_heir_${run}`;
  const engine = shared.engine();

  beforeAll(async () => {
    await shared.superuser(`CREATE ROLE "${heir}" NOLOGIN`);
    // REASSIGN OWNED needs the admin to hold the target role.
    await shared.superuser(`GRANT "${heir}" TO "${shared.info.admin.user}"`);
  });
  afterAll(async () => {
    await engine.close();
    await shared.superuser(`DROP OWNED BY "${heir}"`);
    await shared.superuser(`DROP ROLE "${heir}"`);
  });

  async function userWithTable(policy: object) {
    const issued = user({
      ...policy,
      creationStatements: ['GRANT CREATE ON SCHEMA public TO {{username}}'],
    });
    await engine.createUser(issued);
    const table = `t_${issued.username}`;
    const session = await shared.session(issued);
    await session.query(`CREATE TABLE "${table}" (x int)`);
    await session.close();
    return { issued, table };
  }

  it('drops the objects a revoked user owns when ownedObjects.action is Drop', async () => {
    const { issued, table } = await userWithTable({});
    await engine.revokeUser(issued.username, { postgres: { ownedObjects: { action: 'Drop' } } });
    expect(await shared.superuser(`SELECT 1 FROM pg_class WHERE relname = '${table}'`)).toEqual([]);
  });

  it('gives the objects to reassignTo when ownedObjects.action is Reassign', async () => {
    const { issued, table } = await userWithTable({});
    await engine.revokeUser(issued.username, { postgres: { ownedObjects: { action: 'Reassign', reassignTo: heir } } });
    expect(await shared.superuser(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = '${table}'`)).toEqual([
      { owner: heir },
    ]);
  });

  it('leaves alone a dbc_ role without its marker: no convergence, no drop, not listed', async () => {
    const name = newName();
    await shared.superuser(`CREATE ROLE "${name}" LOGIN`);
    try {
      const create = await engine.createUser({ ...user(), username: name }).catch((e: unknown) => e);
      expect(isDbcredError(create, 'DB_USER_CONFLICT')).toBe(true);
      const revoke = await engine.revokeUser(name, {}).catch((e: unknown) => e);
      expect(isDbcredError(revoke, 'DB_USER_CONFLICT')).toBe(true);
      expect((await engine.listOwnedUsers()).map((u) => u.username)).not.toContain(name);
      expect(await shared.superuser(`SELECT 1 AS present FROM pg_roles WHERE rolname = '${name}'`)).toEqual([{ present: 1 }]);
    } finally {
      await shared.superuser(`DROP ROLE "${name}"`);
    }
  });

  it('stores a verifier with the configured SCRAM iterations, and the user logs in with it', async () => {
    const cheap = shared.engine(undefined, { scramIterations: 1 });
    const issued = user();
    try {
      await cheap.createUser(issued);
      await cheap.verifyLogin(issued);
      const [row] = await shared.superuser(`SELECT rolpassword FROM pg_authid WHERE rolname = '${issued.username}'`);
      expect(String(row?.['rolpassword'])).toMatch(/^SCRAM-SHA-256\$1:/);
    } finally {
      await cheap.revokeUser(issued.username, {});
      await cheap.close();
    }
  });

  it('reports CREATEROLE and pg_signal_backend missing for an admin without them', async () => {
    const weak = { user: `dbcred_t_weak_${run}`, password: generatePassword() };
    await shared.superuser(`CREATE ROLE "${weak.user}" LOGIN PASSWORD '${weak.password}'`);
    const weakEngine = shared.engine(weak);
    try {
      const report = await weakEngine.checkPrivileges({});
      expect(report.missing).toEqual([expect.stringContaining('CREATEROLE'), expect.stringContaining('pg_signal_backend')]);
      const error = await weakEngine.createUser(user()).catch((e: unknown) => e);
      expect(isDbcredError(error, 'DB_MISSING_PRIVILEGES')).toBe(true);
    } finally {
      await weakEngine.close();
      await shared.superuser(`DROP ROLE "${weak.user}"`);
    }
  });
});
