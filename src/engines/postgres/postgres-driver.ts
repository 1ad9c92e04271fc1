// The pg library behind the few structural interfaces the engine needs (Kysely's layout), so the
// engine can be tested with a fake and pg stays an implementation detail of this file.
import type pg from 'pg';
import type { TlsOptions } from '../tls-options.ts';

// pg is loaded when a PostgreSQL server is first used: ~10 MiB of RSS that an installation without
// one does not carry.
let loaded: Promise<typeof pg> | undefined;
const pgLibrary = () => (loaded ??= import('pg').then((m) => m.default));

export interface PostgresResult {
  rows: Record<string, unknown>[];
}

/**
 * A statement sent over the extended query protocol, where PostgreSQL itself refuses a text that
 * holds more than one statement ("cannot insert multiple commands into a prepared statement").
 */
export interface OneStatement {
  text: string;
  queryMode: 'extended';
}

/** oneStatement wraps SQL that must run as exactly one statement, whatever our own lexer thought of it. */
export const oneStatement = (text: string): OneStatement => ({ text, queryMode: 'extended' });

/** Something that runs SQL (one statement, or several over the simple protocol) with optional bind parameters. */
export interface PostgresQueryable {
  query(sql: string | OneStatement, params?: readonly unknown[]): Promise<PostgresResult>;
}

/** A connection checked out of the pool; release it exactly once. */
export interface PostgresPoolClient extends PostgresQueryable {
  release(destroy?: boolean): void;
}

export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
  end(): Promise<void>;
}

/** A single connection, for logins as an issued user. */
export interface PostgresClient extends PostgresQueryable {
  connect(): Promise<unknown>;
  end(): Promise<void>;
}

export interface PostgresConnectConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  tls: TlsOptions | undefined;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Called once for each connection opened (a pool's new client, or a client's connect). */
  onConnect?: () => void;
}

/** Makes pools and clients; the engine gets pgDriver unless a test hands it a fake. */
export interface PostgresDriver {
  createPool(config: PostgresConnectConfig, max: number): PostgresPool;
  createClient(config: PostgresConnectConfig): PostgresClient;
}

function clientConfig(config: PostgresConnectConfig): pg.ClientConfig {
  const tls = config.tls;
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    application_name: 'dbcred',
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    // A lost server must not hang a query forever: the socket-level timeout backs up statement_timeout.
    query_timeout: config.statementTimeoutMs + 5_000,
    // SCRAM-SHA-256-PLUS where the server offers it: the password exchange is bound to this TLS
    // session, so a man in the middle with a certificate we accepted still cannot relay the login.
    enableChannelBinding: tls !== undefined,
    ssl:
      tls === undefined
        ? false
        : {
            rejectUnauthorized: tls.rejectUnauthorized,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            ...(tls.verifyHostName ? {} : { checkServerIdentity: () => undefined }),
          },
  };
}

// An idle pooled connection that dies (server restart) emits 'error'; unhandled, it would crash
// the process. The next checkout gets a fresh connection, so there is nothing else to do.
const ignore = (): void => undefined;

/** pgDriver creates real pg pools and clients. */
export const pgDriver: PostgresDriver = {
  createPool(config, max) {
    const pool = pgLibrary().then((library) =>
      new library.Pool({ ...clientConfig(config), max, idleTimeoutMillis: 30_000 })
        .on('error', ignore)
        .on('connect', () => config.onConnect?.()),
    );
    return {
      query: async (sql, params) => (await pool).query(sql as string, params as unknown[] | undefined),
      connect: async () => (await pool).connect(),
      end: async () => (await pool).end(),
    };
  },
  createClient(config) {
    const client = pgLibrary().then((library) => new library.Client(clientConfig(config)).on('error', ignore));
    return {
      query: async (sql, params) => (await client).query(sql as string, params as unknown[] | undefined),
      connect: async () => {
        await (await client).connect();
        config.onConnect?.();
      },
      end: async () => (await client).end(),
    };
  },
};
