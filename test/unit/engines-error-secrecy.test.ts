// Failures at every step of every engine operation never carry a password, verifier or hash. The
// fake drivers fail the Nth call with the worst error a driver could raise: one whose message and
// properties repeat the whole statement and its parameters.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_MARKER, type Engine, type ServerConnection } from '../../src/engines/engine.ts';
import { redactServerMessage, WITHHELD } from '../../src/engines/engine-error.ts';
import type { MysqlDriver, MysqlRow } from '../../src/engines/mysql/mysql-driver.ts';
import { MysqlEngine } from '../../src/engines/mysql/mysql-engine.ts';
import type { PostgresDriver, PostgresQueryable } from '../../src/engines/postgres/postgres-driver.ts';
import { PostgresEngine } from '../../src/engines/postgres/postgres-engine.ts';
import { EngineRegistry, builtinEngines } from '../../src/engines/registry.ts';
import { usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';

const ADMIN_PASSWORD = 'AdminPassw0rdAdminPassw0rd';
const USER_PASSWORD = 'UserPassw0rdUserPassw0rdUser';
const NEW_PASSWORD = 'NewPassw0rdNewPassw0rdNewPa';
const connection: ServerConnection = {
  host: 'db.invalid',
  port: 1,
  database: 'app',
  admin: { username: 'admin', password: ADMIN_PASSWORD },
  tls: { mode: 'disable' },
  maxConnections: 2,
};

/** A driver call log and a switch that fails the Nth call. */
class Script {
  calls = 0;
  readonly statements: string[] = [];
  readonly failAt: number;
  readonly codes: { code?: string; errno?: number };
  constructor(failAt: number, codes: { code?: string; errno?: number }) {
    this.failAt = failAt;
    this.codes = codes;
  }

  call(sql: string, params: readonly unknown[] = [], extra = ''): void {
    this.calls++;
    this.statements.push(sql);
    if (this.calls === this.failAt) {
      const text = `failed: ${sql} ${JSON.stringify(params)} ${extra}`;
      throw Object.assign(new Error(text), { ...this.codes, sql, query: sql, detail: text, sqlMessage: text, parameters: params });
    }
  }
}

function pgFake(script: Script, rows: (sql: string) => Record<string, unknown>[]): PostgresDriver {
  const queryable = (): PostgresQueryable => ({
    query: (statement, params) => {
      const sql = typeof statement === 'string' ? statement : statement.text;
      script.call(sql, params);
      return Promise.resolve({ rows: rows(sql) });
    },
  });
  return {
    createPool: (config) => ({
      ...queryable(),
      connect: () => {
        script.call('connect', [], config.password);
        return Promise.resolve({ ...queryable(), release: () => undefined });
      },
      end: () => Promise.resolve(),
    }),
    createClient: (config) => ({
      ...queryable(),
      connect: () => Promise.resolve(script.call('connect', [], config.password)),
      end: () => Promise.resolve(),
    }),
  };
}

function mysqlFake(script: Script, rows: (sql: string) => MysqlRow[]): MysqlDriver {
  const queryable = {
    query: (sql: string) => {
      script.call(sql);
      return Promise.resolve(rows(sql));
    },
    execute: (sql: string, params: readonly unknown[]) => {
      script.call(sql, params);
      return Promise.resolve(rows(sql));
    },
  };
  return {
    createPool: () => ({ ...queryable, end: () => Promise.resolve() }),
    connect: (config) => {
      script.call('connect', [], config.password);
      return Promise.resolve({ ...queryable, end: () => Promise.resolve() });
    },
  };
}

const pgRows = (sql: string): Record<string, unknown>[] => {
  if (sql.includes('server_version')) return [{ version: '15.0', version_num: 150000, tls: false }];
  if (sql.includes('rolcreaterole')) return [{ superuser: false, createrole: true, signal_backend: true }];
  if (sql.includes("shobj_description(oid, 'pg_authid') AS marker")) return [{ marker: 'dbcred' }];
  if (sql.includes('pg_shdepend')) return [{ has: true }];
  if (sql.includes('pg_terminate_backend')) return [{ pid: 1, ended: true }];
  if (sql.startsWith('SELECT 1')) return [{ probe: 1 }];
  return [];
};

const mysqlRows = (sql: string): MysqlRow[] => {
  if (sql.includes('VERSION()')) return [{ version: '10.11.0-MariaDB', scheduler: 'ON', admin: 'admin@%' }];
  if (sql.includes('Ssl_cipher')) return [{ Value: '' }];
  if (sql.includes('FROM mysql.user WHERE User = ?')) return [{ host: '%' }];
  if (sql.startsWith('SELECT 1')) return [{ probe: 1 }];
  return [];
};

const user = {
  // The engines here keep the default marker: the name carries its tag.
  username: usernameFor({ credentialUid: 'u', serial: 1, prefix: 'app', marker: DEFAULT_MARKER }, 32),
  password: USER_PASSWORD,
  expiresAt: new Date(Date.now() + 60_000),
  policy: {
    memberOf: ['readers'],
    creationStatements: ['SELECT {{password}}', 'GRANT x TO {{username}}'],
    revocationStatements: ['SELECT 1'],
  },
};

const operations: Record<string, (engine: Engine) => Promise<unknown>> = {
  ping: (e) => e.ping(),
  checkPrivileges: (e) => e.checkPrivileges(user.policy),
  createUser: (e) => e.createUser(user),
  verifyLogin: (e) => e.verifyLogin(user),
  rotatePassword: (e) => e.rotatePassword({ username: user.username, password: NEW_PASSWORD }),
  revokeUser: (e) => e.revokeUser(user.username, user.policy),
  listOwnedUsers: (e) => e.listOwnedUsers(),
  rotateAdminPassword: (e) => e.rotateAdminPassword(NEW_PASSWORD),
};

/** Every text of an error that could reach a log. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth++) {
    if (!(e instanceof Error)) {
      parts.push(JSON.stringify(e));
      break;
    }
    parts.push(e.message, e.stack ?? '', JSON.stringify(e), JSON.stringify(Object.entries(e)));
    e = e.cause;
  }
  return parts.join('\n');
}

const engines = [
  {
    name: 'postgres',
    make: (s: Script) => new PostgresEngine(connection, { scramIterations: 1 }, pgFake(s, pgRows)),
    codes: { code: '42601' },
  },
  {
    name: 'mysql',
    make: (s: Script) => new MysqlEngine(connection, {}, mysqlFake(s, mysqlRows)),
    codes: { code: 'ER_PARSE_ERROR', errno: 1064 },
  },
];

describe.each(engines)('$name engine errors', ({ make, codes }) => {
  it.each(Object.keys(operations))('of %s, failing at each step in turn, hold no password, verifier or hash', async (operation) => {
    let steps = 0;
    for (let failAt = 1; failAt < 40; failAt++) {
      const script = new Script(failAt, codes);
      const engine = make(script);
      let error: unknown;
      try {
        await operations[operation]!(engine);
      } catch (e) {
        error = e;
      }
      if (script.calls < failAt) break; // the operation finished before reaching this step
      steps++;
      // A step may be allowed to fail (a privilege probe reports instead of throwing); anything thrown is ours.
      if (error !== undefined) expect(isDbcredError(error)).toBe(true);
      // Verifiers and hashes the engine computed are in the statements it sent.
      const derived = script.statements.join(' ').match(/SCRAM-SHA-256\$[^']+|\*[0-9A-F]{40}/g) ?? [];
      const text = errorText(error);
      for (const secret of [ADMIN_PASSWORD, USER_PASSWORD, NEW_PASSWORD, ...derived]) expect(text).not.toContain(secret);
    }
    expect(steps).toBeGreaterThan(0);
  });
});

describe('redactServerMessage', () => {
  it('replaces whole secrets and withholds a message that still holds a fragment of one', () => {
    expect(redactServerMessage('invalid input syntax for type integer: "s3cretValue"', ['s3cretValue'])).toBe(
      'invalid input syntax for type integer: "[REDACTED]"',
    );
    expect(redactServerMessage("... near '*2470C0C06DEE42FD16' at line 1", ['*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'])).toBe(WITHHELD);
    expect(redactServerMessage('syntax error at or near "foo"', [])).toBe('syntax error (near ...)');
    expect(redactServerMessage('role "x" does not exist', ['pw'])).toBe('role "x" does not exist');
  });
});

describe('the engine registry', () => {
  it('knows postgres and mysql, builds either, and refuses a second registration of a name', async () => {
    const registry = builtinEngines();
    expect(registry.names()).toEqual(['postgres', 'mysql']);
    const engine = registry.create('mysql', connection);
    expect(engine.name).toBe('mysql');
    await engine.close();
    expect(() => registry.register('postgres', () => engine)).toThrow('already registered');
    expect(() => new EngineRegistry().create('oracle', connection)).toThrow(expect.objectContaining({ code: 'DB_UNSUPPORTED' }));
  });
});
