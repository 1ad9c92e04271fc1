// The one interface the operator uses to manage users on a database server. Each engine
// (postgres/, mysql/) implements it; the contract suite in test/databases runs the same tests
// against both. Every method is idempotent: a retry after a crash at any instant converges.
// The engines own these types and the controllers map the CRDs onto them (policyOf in
// src/controllers/roles.ts), so a change to the API shows up there rather than in every engine.

/** The engines this operator ships (a DatabaseServer's spec.engine). */
export type EngineName = 'postgres' | 'mysql';

/** Transport security: the same four modes as libpq's sslmode (minus prefer/allow). */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** How the database itself enforces a user's expiry (the server status's expiryEnforcement). */
export type ExpiryEnforcement = 'ValidUntil' | 'EventScheduler' | 'OperatorOnly';

/** How to reach a server as its administrator: a resolved DatabaseServer spec plus its Secrets. */
export interface ServerConnection {
  host: string;
  /** Default: 5432 for postgres, 3306 for mysql. */
  port?: number;
  /** Database to connect to. PostgreSQL default: postgres. MySQL: where expiry events live (none: OperatorOnly). */
  database?: string;
  admin: { username: string; password: string };
  tls: { mode: TlsMode; caPem?: string };
  /** Size of the admin pool. */
  maxConnections: number;
}

/** Tuning that is not part of the API; every field has a safe default. */
export interface EngineOptions {
  /** Time to establish a connection (TCP + TLS + auth). Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest a single statement may run. Default 30 s. */
  statementTimeoutMs?: number;
  /**
   * This installation's ownership marker (I2), `<instance>@<cluster id>` (installationMarker):
   * every generated user name carries its tag, and PostgreSQL also writes it as COMMENT ON ROLE.
   * Default DEFAULT_MARKER (tests and tools only: the operator always passes its own).
   */
  marker?: string;
  /** PostgreSQL: PBKDF2 iterations of the SCRAM-SHA-256 verifier. Default 4096 (PostgreSQL's own default). */
  scramIterations?: number;
  /**
   * Told of every connection the engine opens to the database: `admin` (a new one in its admin
   * pool) or `login` (an issued or static user's own, to verify it). Connections cost the database
   * (PostgreSQL forks a backend for each): the operator counts them per issuance and revocation.
   */
  onConnection?: (purpose: ConnectionPurpose, engine: 'postgres' | 'mysql') => void;
}

/** Why an engine opened a connection (EngineOptions.onConnection). */
export type ConnectionPurpose = 'admin' | 'login';

/** What shapes an issued user, beyond its name, password and expiry; all optional (a bare user by default). */
export interface UserPolicy {
  /** Group roles the user joins; each must already exist on the server. */
  memberOf?: readonly string[];
  /** Most concurrent sessions of the user; unlimited when omitted. */
  connectionLimit?: number;
  /** Statement templates run after the user is created (see template.ts). */
  creationStatements?: readonly string[];
  /** Statement templates run before the user is dropped (see template.ts). */
  revocationStatements?: readonly string[];
  /** Whether revocation ends the user's live sessions; omitted means it does. */
  revocation?: { terminateSessions: boolean };
  /** PostgreSQL only: what happens to objects the user owns when it is dropped (default Drop). */
  postgres?: { ownedObjects: { action: 'Drop' | 'Reassign'; reassignTo?: string } };
  /** MySQL only: the account's host part and per-user grants. */
  mysql?: {
    /** Host part of the account ('user'@'host'). */
    userHost: string;
    /** One GRANT each; the engine refuses privileges outside MYSQL_GRANTABLE_PRIVILEGES. */
    grants?: readonly { privileges: readonly string[]; database: string; table: string }[];
  };
}

/** A user to create: the name comes from usernameFor, the password from generatePassword. */
export interface NewUser {
  username: string;
  password: string;
  expiresAt: Date;
  policy: UserPolicy;
}

export interface UserLogin {
  username: string;
  password: string;
}

/** What ping learned about the server. */
export interface ServerFacts {
  version: string;
  expiryEnforcement: ExpiryEnforcement;
  /** Whether the admin connection is encrypted. */
  tls: boolean;
}

/** Privileges the admin lacks for the given policy, in words an operator can act on; empty when all is well. */
export interface PrivilegeReport {
  missing: string[];
}

/** An account the operator must never hand out (as a group role) nor rotate, and why. */
export interface PrivilegedAccount {
  /** The account asked about. */
  name: string;
  /** Each privilege it has or reaches, in words an operator can act on. */
  reasons: {
    why: string;
    /** Set when the privilege is a PostgreSQL predefined role (pg_*), which a server may allow by name. */
    predefinedRole?: string;
  }[];
}

/** A user carrying this operator's marker. */
export interface OwnedUser {
  username: string;
  /** When the database will stop accepting it; undefined when the database does not know (OperatorOnly). */
  expiresAt?: Date;
}

/** A login the database refused, as its log recorded it. */
export interface FailedLogin {
  at: Date;
  username: string;
  /** The client's address, when the database logged it (TCP connections). */
  clientAddress?: string;
  /** The database's own words (e.g. 'Role "x" does not exist.'); never a password. */
  detail?: string;
}

/**
 * What readFailedLogins found: the failures logged since the cursor and the cursor to pass next,
 * or why this server's failed logins cannot be seen by the admin.
 */
export type FailedLoginRead = { visible: true; cursor: string; failures: FailedLogin[] } | { visible: false; why: string };

export interface CreateResult {
  /** false when the user already existed (a retry) and was converged to the request. */
  created: boolean;
}

export interface RevokeResult {
  /** false when there was nothing to drop ("does not exist" is success). */
  existed: boolean;
  /** Live sessions of the user that were ended. */
  terminatedSessions: number;
}

/** The engine interface: one admin pool on one server, and the user lifecycle on it. */
export interface Engine {
  readonly name: EngineName;
  /** Longest user name the server accepts (PostgreSQL 63 bytes, MySQL 32 characters). */
  readonly maxUsernameLength: number;
  /** The installation marker whose tag the users it creates carry in their names (usernameFor's marker). */
  readonly marker: string;
  /** ping checks that the admin can log in and reports the server version, expiry enforcement and TLS. */
  ping(): Promise<ServerFacts>;
  /** checkPrivileges lists what the admin lacks to issue and revoke users under the policy. */
  checkPrivileges(policy?: UserPolicy): Promise<PrivilegeReport>;
  /**
   * privilegedAccounts returns, of the named accounts, those that are or can become privileged: the
   * admin login, PostgreSQL SUPERUSER/CREATEROLE/REPLICATION/BYPASSRLS or predefined roles, MySQL
   * global privileges, GRANT OPTION or grants on the system schemas, directly or through roles they
   * are members of. Unknown names are not listed.
   */
  privilegedAccounts(names: readonly string[]): Promise<PrivilegedAccount[]>;
  /** createUser makes the user with its expiry, limits, memberships, grants and creation statements. */
  createUser(user: NewUser): Promise<CreateResult>;
  /** verifyLogin opens a fresh connection as the user and runs a probe query. */
  verifyLogin(login: UserLogin): Promise<void>;
  /** rotatePassword gives an existing user a new password. */
  rotatePassword(login: UserLogin): Promise<void>;
  /** revokeUser ends the user's sessions (per policy), handles what it owns and drops it. */
  revokeUser(username: string, policy: UserPolicy): Promise<RevokeResult>;
  /**
   * listOwnedUsers returns every user that carries this installation's marker: its tag in the name
   * (and, on PostgreSQL, its COMMENT); users of other installations sharing the server are not listed.
   */
  listOwnedUsers(): Promise<OwnedUser[]>;
  /**
   * readFailedLogins returns the refused logins the database logged after the cursor (an opaque
   * string from the previous call); without a cursor it returns none and a cursor at the log's end.
   * Not visible when the database keeps its log where the admin cannot read it: the reason says
   * what to change.
   */
  readFailedLogins(cursor?: string): Promise<FailedLoginRead>;
  /** rotateAdminPassword changes the admin's own password; later connections use the new one. */
  rotateAdminPassword(newPassword: string): Promise<void>;
  /** close ends the admin pool. */
  close(): Promise<void>;
}

/** Builds an engine for one server; it opens no connection until the first call. */
export type EngineFactory = (connection: ServerConnection, options?: EngineOptions) => Engine;

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
/** The marker of an engine built without one (EngineOptions.marker). */
export const DEFAULT_MARKER = 'dbcred';
