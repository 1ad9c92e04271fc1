// The mysql2 library behind the few structural interfaces the engine needs (Kysely's layout), so
// the engine can be tested with a fake and mysql2 stays an implementation detail of this file.
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import type mysql from 'mysql2/promise';
import type { TlsOptions } from '../tls-options.ts';

// mysql2 is loaded when a MySQL server is first used: ~20 MiB of RSS that an installation without
// one does not carry.
let loaded: Promise<typeof mysql> | undefined;
const mysql2 = () => (loaded ??= import('mysql2/promise').then((m) => m.default));

export type MysqlRow = Record<string, unknown>;

/** Something that runs statements. `query` sends text; `execute` binds parameters server-side. */
export interface MysqlQueryable {
  query(sql: string): Promise<MysqlRow[]>;
  execute(sql: string, params: readonly unknown[]): Promise<MysqlRow[]>;
}

export interface MysqlPool extends MysqlQueryable {
  end(): Promise<void>;
}

/** A single connection, for logins as an issued user. */
export interface MysqlConnection extends MysqlQueryable {
  end(): Promise<void>;
}

export interface MysqlConnectConfig {
  host: string;
  port: number;
  /** Undefined: connect without a default database (issued users may have no rights on it). */
  database: string | undefined;
  user: string;
  password: string;
  tls: TlsOptions | undefined;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Called once for each connection opened (a pool's new one, or a connect). */
  onConnect?: () => void;
}

/** Makes pools and connections; the engine gets mysql2Driver unless a test hands it a fake. */
export interface MysqlDriver {
  createPool(config: MysqlConnectConfig, max: number): MysqlPool;
  connect(config: MysqlConnectConfig): Promise<MysqlConnection>;
}

function options(config: MysqlConnectConfig): mysql.ConnectionOptions {
  const tls = config.tls;
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    ...(config.database === undefined ? {} : { database: config.database }),
    connectTimeout: config.connectTimeoutMs,
    charset: 'utf8mb4',
    // One statement per call: a second statement in a string is a syntax error, never run.
    multipleStatements: false,
    ...(tls === undefined
      ? {}
      : {
          ssl: {
            rejectUnauthorized: tls.rejectUnauthorized,
            verifyIdentity: tls.verifyHostName,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          },
          ...(tls.verifyHostName && isIP(config.host) !== 0 ? { stream: () => socketNamedFor(config.host, config.port) } : {}),
        }),
  };
}

/**
 * socketNamedFor connects to an IP address so that the TLS handshake checks the certificate against
 * that address, before any credential is sent. mysql2 hands tls.connect no server name for an IP
 * host, and Node.js then checks the certificate against the socket's `_host` (set only for DNS
 * names) or else "localhost": a certificate for "localhost" would pass for any IP.
 */
function socketNamedFor(host: string, port: number): Socket {
  const socket = tcpConnect(port, host);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  (socket as Socket & { _host?: string })._host = host;
  return socket;
}

type Runner = Pick<mysql.Connection, 'query' | 'execute'>;

function queryable(runner: Runner, timeout: number): MysqlQueryable {
  return {
    async query(sql) {
      const [rows] = await runner.query({ sql, timeout });
      return Array.isArray(rows) ? (rows as MysqlRow[]) : [];
    },
    async execute(sql, params) {
      const [rows] = await runner.execute({ sql, timeout }, params as mysql.ExecuteValues[]);
      return Array.isArray(rows) ? (rows as MysqlRow[]) : [];
    },
  };
}

/** mysql2Driver creates real mysql2 pools and connections; every admin session runs in UTC. */
export const mysql2Driver: MysqlDriver = {
  createPool(config, max) {
    const pool = mysql2().then((m) =>
      m.createPool({ ...options(config), connectionLimit: max, maxIdle: max, idleTimeout: 30_000, enableKeepAlive: true }),
    );
    const prepared = new WeakSet<object>();
    // Each statement checks a connection out explicitly, so a new connection is prepared (time
    // zone) before its first statement runs.
    const withConnection = async <T>(work: (runner: MysqlQueryable) => Promise<T>): Promise<T> => {
      const connection = await (await pool).getConnection();
      try {
        if (!prepared.has(connection.connection)) {
          config.onConnect?.(); // a connection the pool just opened
          // Expiry events are scheduled with FROM_UNIXTIME and read back with UNIX_TIMESTAMP: both
          // in the session time zone, pinned to UTC here.
          await connection.query("SET time_zone = '+00:00'");
          prepared.add(connection.connection);
        }
        return await work(queryable(connection, config.statementTimeoutMs));
      } finally {
        connection.release();
      }
    };
    return {
      query: (sql) => withConnection((c) => c.query(sql)),
      execute: (sql, params) => withConnection((c) => c.execute(sql, params)),
      end: async () => (await pool).end(),
    };
  },
  async connect(config) {
    const connection = await (await mysql2()).createConnection(options(config));
    config.onConnect?.();
    connection.on('error', () => undefined);
    return { ...queryable(connection, config.statementTimeoutMs), end: () => connection.end() };
  },
};
