// The two real servers as contract-suite targets: how to build an engine for each, how to reach
// it as the superuser (fixtures), how to open a session as an issued user, and the few SQL texts
// that differ between engines. The contract suite itself never branches on the engine.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Engine, EngineOptions, ServerConnection, UserLogin } from '../../src/engines/engine.ts';
import { MysqlEngine } from '../../src/engines/mysql/mysql-engine.ts';
import { PostgresEngine } from '../../src/engines/postgres/postgres-engine.ts';
import type { DatabaseServerInfo, Login } from '../../harness/database-info.ts';

/** A live session as some user; `alive` runs a trivial query and says whether it still works. */
export interface Session {
  query(sql: string): Promise<Record<string, unknown>[]>;
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export interface Target {
  label: string;
  info: DatabaseServerInfo;
  /** The connection the operator would use: the harness admin, TLS off. */
  connection(admin?: Login): ServerConnection;
  engine(admin?: Login, options?: EngineOptions): Engine;
  /** Runs a fixture statement as the superuser. */
  superuser(sql: string): Promise<Record<string, unknown>[]>;
  /** Opens a session as a login (to the application database). */
  session(login: UserLogin): Promise<Session>;
  /** Creates a group role that may SELECT from `table`, grantable by the admin. */
  createGroup(name: string, table: string): Promise<void>;
  dropGroup(name: string): Promise<void>;
  /** Creates an admin like the harness one (for tests that rotate its password). */
  createAdmin(): Promise<Login>;
  dropAdmin(name: string): Promise<void>;
  /** A creation statement whose failure makes the server echo {{password}} in its error. */
  echoingFailure: string;
  /** Appended to CREATE TABLE so text columns hold any Unicode. */
  tableOptions: string;
  /** The expiry enforcement the shared server should report. */
  expiryEnforcement: 'ValidUntil' | 'EventScheduler';
}

const fixturePassword = () => randomBytes(18).toString('base64url');

/** postgresTarget wraps a PostgreSQL server the harness started. */
export function postgresTarget(info: DatabaseServerInfo): Target {
  const connection = (admin: Login = info.admin): ServerConnection => ({
    host: info.host,
    port: info.port,
    database: info.database,
    admin: { username: admin.user, password: admin.password },
    tls: { mode: 'disable' },
    maxConnections: 4,
  });
  const superuser = async (sql: string) => {
    const client = new pg.Client({
      host: info.host,
      port: info.port,
      database: info.database,
      user: info.superuser.user,
      password: info.superuser.password,
    });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  return {
    label: `PostgreSQL ${info.version}`,
    info,
    connection,
    engine: (admin, options) => new PostgresEngine(connection(admin), options),
    superuser,
    async session(login) {
      const client = new pg.Client({
        host: info.host,
        port: info.port,
        database: info.database,
        user: login.username,
        password: login.password,
      });
      client.on('error', () => undefined); // a terminated backend reports here
      await client.connect();
      return {
        query: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
        alive: () =>
          client.query('SELECT 1').then(
            () => true,
            () => false,
          ),
        close: () => client.end().catch(() => undefined),
      };
    },
    async createGroup(name, table) {
      await superuser(`CREATE ROLE "${name}" NOLOGIN`);
      await superuser(`GRANT SELECT ON "${table}" TO "${name}"`);
      // PostgreSQL 16+ needs ADMIN OPTION to grant a role; 15's CREATEROLE does not, but it does no harm.
      await superuser(`GRANT "${name}" TO "${info.admin.user}" WITH ADMIN OPTION`);
    },
    async dropGroup(name) {
      await superuser(`DROP OWNED BY "${name}"`);
      await superuser(`DROP ROLE IF EXISTS "${name}"`);
    },
    async createAdmin() {
      const login = { user: `dbcred_t_admin_${randomBytes(4).toString('hex')}`, password: fixturePassword() };
      await superuser(`CREATE ROLE "${login.user}" LOGIN CREATEROLE PASSWORD '${login.password}'`);
      await superuser(`GRANT pg_signal_backend TO "${login.user}"`);
      return login;
    },
    async dropAdmin(name) {
      await superuser(`DROP ROLE IF EXISTS "${name}"`);
    },
    echoingFailure: 'SELECT {{password}}::int',
    tableOptions: '',
    expiryEnforcement: 'ValidUntil',
  };
}

/** mariadbTarget wraps a MariaDB server the harness started. */
export function mariadbTarget(info: DatabaseServerInfo): Target {
  const connection = (admin: Login = info.admin): ServerConnection => ({
    host: info.host,
    port: info.port,
    database: info.database,
    admin: { username: admin.user, password: admin.password },
    tls: { mode: 'disable' },
    maxConnections: 4,
  });
  const superuser = async (sql: string) => {
    const conn = await mysql.createConnection({
      host: info.host,
      port: info.port,
      database: info.database,
      user: info.superuser.user,
      password: info.superuser.password,
    });
    try {
      const [rows] = await conn.query(sql);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    } finally {
      await conn.end();
    }
  };
  return {
    label: `MariaDB ${info.version}`,
    info,
    connection,
    engine: (admin, options) => new MysqlEngine(connection(admin), options),
    superuser,
    async session(login) {
      const conn = await mysql.createConnection({ host: info.host, port: info.port, user: login.username, password: login.password });
      conn.on('error', () => undefined); // a killed connection reports here
      let used = false;
      return {
        query: async (sql) => {
          // Not at connect time: a user without rights on the database could not connect at all.
          if (!used) await conn.query(`USE \`${info.database}\``);
          used = true;
          const [rows] = await conn.query(sql);
          return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
        },
        alive: () =>
          conn.query('SELECT 1').then(
            () => true,
            () => false,
          ),
        close: () => conn.end().catch(() => undefined),
      };
    },
    async createGroup(name, table) {
      await superuser(`CREATE ROLE \`${name}\``);
      await superuser(`GRANT SELECT ON \`${info.database}\`.\`${table}\` TO \`${name}\``);
      await superuser(`GRANT \`${name}\` TO \`${info.admin.user}\`@'%' WITH ADMIN OPTION`);
    },
    async dropGroup(name) {
      await superuser(`DROP ROLE IF EXISTS \`${name}\``);
    },
    async createAdmin() {
      const login = { user: `dbcred_t_admin_${randomBytes(4).toString('hex')}`, password: fixturePassword() };
      await superuser(`CREATE USER \`${login.user}\`@'%' IDENTIFIED BY '${login.password}'`);
      await superuser(`GRANT ALL PRIVILEGES ON *.* TO \`${login.user}\`@'%' WITH GRANT OPTION`);
      return login;
    },
    async dropAdmin(name) {
      await superuser(`DROP USER IF EXISTS \`${name}\`@'%'`);
    },
    echoingFailure: "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = {{password}}",
    tableOptions: ' DEFAULT CHARSET=utf8mb4',
    expiryEnforcement: 'EventScheduler',
  };
}
