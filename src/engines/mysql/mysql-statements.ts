// Every statement the MySQL/MariaDB engine sends, built by pure functions. Names go through
// quoteIdentifier (backticks, which mean the same under every sql_mode) and values through
// quoteLiteral; test/databases/mysql-statements.test.ts runs each against the real server with
// hostile names and checks its effect.
import { DbcredError } from '../../util/errors.ts';

/** MariaDB or MySQL: they differ in password hashing and SET DEFAULT ROLE. */
export type MysqlFlavor = 'mariadb' | 'mysql';

/** MySQL's limit on user names (MariaDB allows 80; the smaller limit keeps names portable). */
export const MYSQL_MAX_USERNAME_LENGTH = 32;

/** The privileges a role's grants may name (the API's closed list). */
export const MYSQL_GRANTABLE_PRIVILEGES = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'EXECUTE',
  'SHOW VIEW',
  'CREATE',
  'ALTER',
  'DROP',
  'INDEX',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'CREATE VIEW',
  'TRIGGER',
  'REFERENCES',
  'EVENT',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
]);

/** quoteIdentifier returns name as one backtick-quoted identifier; it refuses empty names and NUL. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new DbcredError('DB_INVALID_NAME', 'a MySQL name must be non-empty and without NUL');
  return `\`${name.replaceAll('`', '``')}\``;
}

/** quoteAccount returns 'user'@'host' as two quoted identifiers. */
export function quoteAccount(user: string, host: string): string {
  return `${quoteIdentifier(user)}@${quoteIdentifier(host)}`;
}

/**
 * quoteLiteral returns value as one string literal under every sql_mode: quotes are doubled and
 * backslashes escaped, so with NO_BACKSLASH_ESCAPES the literal still ends where it should (its
 * backslashes then read doubled). It refuses NUL.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new DbcredError('DB_TEMPLATE_INVALID', 'a value contains a NUL character');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** datetimeLiteral renders an instant as a UTC 'YYYY-MM-DD HH:MM:SS' literal (what DATETIME columns accept). */
export function datetimeLiteral(at: Date): string {
  unixSeconds(at); // validates
  return quoteLiteral(at.toISOString().slice(0, 19).replace('T', ' '));
}

/** unixSeconds rounds an instant up to whole seconds (events fire on second boundaries; never early). */
export function unixSeconds(at: Date): number {
  const ms = at.getTime();
  if (!Number.isFinite(ms) || ms <= 0) throw new DbcredError('DB_TEMPLATE_INVALID', 'expiresAt is not a valid date');
  return Math.ceil(ms / 1000);
}

function maxConnections(limit: number | undefined): string {
  const n = limit ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new DbcredError('DB_TEMPLATE_INVALID', 'connectionLimit must be a non-negative integer');
  return ` WITH MAX_USER_CONNECTIONS ${n}`;
}

/** The IDENTIFIED clause: a pre-hashed mysql_native_password on MariaDB, the server's default plugin on MySQL 8. */
function identified(flavor: MysqlFlavor, secret: { hash: string; password: string }): string {
  if (!/^\*[0-9A-F]{40}$/.test(secret.hash)) throw new DbcredError('DB_TEMPLATE_INVALID', 'not a mysql_native_password hash');
  return flavor === 'mariadb' ? `IDENTIFIED BY PASSWORD ${quoteLiteral(secret.hash)}` : `IDENTIFIED BY ${quoteLiteral(secret.password)}`;
}

export interface MysqlAccountAttributes {
  username: string;
  host: string;
  secret: { hash: string; password: string };
  connectionLimit?: number;
}

/** The expiry event of a user: one per user name, in the server's database. */
export function expiryEventName(username: string): string {
  return `dbc_expire_${username}`;
}

/** The statements of the MySQL/MariaDB engine; each returns exactly one statement. */
export const mysqlStatements = {
  createUser(flavor: MysqlFlavor, account: MysqlAccountAttributes): string {
    return `CREATE USER ${quoteAccount(account.username, account.host)} ${identified(flavor, account.secret)}${maxConnections(account.connectionLimit)}`;
  },
  /** ALTER USER to the attributes of a request: the convergence step when the user already exists. */
  convergeUser(flavor: MysqlFlavor, account: MysqlAccountAttributes): string {
    return `ALTER USER ${quoteAccount(account.username, account.host)} ${identified(flavor, account.secret)}${maxConnections(account.connectionLimit)} ACCOUNT UNLOCK`;
  },
  grantRole(role: string, username: string, host: string): string {
    return `GRANT ${quoteIdentifier(role)} TO ${quoteAccount(username, host)}`;
  },
  /** MariaDB activates one default role per user; MySQL 8 takes a list. */
  setDefaultRoles(flavor: MysqlFlavor, roles: readonly string[], username: string, host: string): string {
    if (roles.length === 0) throw new DbcredError('DB_TEMPLATE_INVALID', 'no role to make default');
    if (flavor === 'mariadb') {
      if (roles.length > 1)
        throw new DbcredError(
          'DB_UNSUPPORTED',
          'MariaDB activates one default role per user: grant the group roles to one role and name that one in memberOf',
        );
      return `SET DEFAULT ROLE ${quoteIdentifier(roles[0]!)} FOR ${quoteAccount(username, host)}`;
    }
    return `SET DEFAULT ROLE ${roles.map(quoteIdentifier).join(', ')} TO ${quoteAccount(username, host)}`;
  },
  grant(privileges: readonly string[], database: string, table: string, username: string, host: string): string {
    if (privileges.length === 0 || privileges.some((p) => !MYSQL_GRANTABLE_PRIVILEGES.has(p))) {
      throw new DbcredError('DB_TEMPLATE_INVALID', `grants may only name ${[...MYSQL_GRANTABLE_PRIVILEGES].join(', ')}`);
    }
    const on = (name: string) => (name === '*' ? '*' : quoteIdentifier(name));
    return `GRANT ${privileges.join(', ')} ON ${on(database)}.${on(table)} TO ${quoteAccount(username, host)}`;
  },
  password(flavor: MysqlFlavor, username: string, host: string, secret: { hash: string; password: string }): string {
    return `ALTER USER ${quoteAccount(username, host)} ${identified(flavor, secret)}`;
  },
  // No ALTER USER CURRENT_USER(): MariaDB 10.11 accepts it with IDENTIFIED BY PASSWORD and changes nothing.

  /** ACCOUNT LOCK first, so no new session can start between ending sessions and dropping the user. */
  lock(username: string, host: string): string {
    return `ALTER USER ${quoteAccount(username, host)} ACCOUNT LOCK`;
  },
  kill(connectionId: number): string {
    if (!Number.isSafeInteger(connectionId) || connectionId < 0)
      throw new DbcredError('DB_TEMPLATE_INVALID', 'connection id must be a non-negative integer');
    return `KILL CONNECTION ${connectionId}`;
  },
  dropUsers(username: string, hosts: readonly string[]): string {
    return `DROP USER IF EXISTS ${hosts.map((h) => quoteAccount(username, h)).join(', ')}`;
  },
  /** A one-shot event that drops the user at expiresAt, then deletes itself (ON COMPLETION NOT PRESERVE). */
  createExpiryEvent(schema: string, username: string, hosts: readonly string[], expiresAt: Date): string {
    return (
      `CREATE EVENT IF NOT EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(expiryEventName(username))}` +
      ` ON SCHEDULE AT FROM_UNIXTIME(${unixSeconds(expiresAt)}) ON COMPLETION NOT PRESERVE` +
      ` COMMENT 'dbcred: drops an expired user' DO ${mysqlStatements.dropUsers(username, hosts)}`
    );
  },
  moveExpiryEvent(schema: string, username: string, expiresAt: Date): string {
    return `ALTER EVENT ${quoteIdentifier(schema)}.${quoteIdentifier(expiryEventName(username))} ON SCHEDULE AT FROM_UNIXTIME(${unixSeconds(expiresAt)}) ENABLE`;
  },
  dropExpiryEvent(schema: string, username: string): string {
    return `DROP EVENT IF EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(expiryEventName(username))}`;
  },
};

/** Read-only queries; values are bind parameters (?), sent with the binary protocol. */
export const mysqlQueries = {
  facts: 'SELECT VERSION() AS version, @@event_scheduler AS scheduler, CURRENT_USER() AS admin',
  tls: "SHOW SESSION STATUS LIKE 'Ssl_cipher'",
  /** ?: user name. Every host the name exists on (roles have an empty host). */
  hosts: "SELECT Host AS host FROM mysql.user WHERE User = ? AND Host <> ''",
  /** ?: user name. */
  sessions: 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
  /** ?, ?: length of the name head, the head (dbc<tag>_). Accounts whose name starts with it. */
  owned: "SELECT DISTINCT User AS username FROM mysql.user WHERE LEFT(User, ?) = ? AND Host <> '' ORDER BY User",
  /** ?: schema. Expiry events and when they fire (session time zone is UTC). */
  expiryEvents:
    "SELECT EVENT_NAME AS name, UNIX_TIMESTAMP(EXECUTE_AT) AS at FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND LEFT(EVENT_NAME, 11) = 'dbc_expire_'",
  /** ?: grantee ('user'@'host'). */
  globalPrivileges:
    'SELECT PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?',
  /** ?: grantee. */
  schemaPrivileges:
    'SELECT TABLE_SCHEMA AS db, PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?',
  applicableRoles: 'SELECT ROLE_NAME AS role, IS_GRANTABLE AS grantable FROM information_schema.APPLICABLE_ROLES',
  readUsers: 'SELECT 1 FROM mysql.user LIMIT 0',
  /** Every global privilege of every account and role ('user'@'host' or 'role'). */
  allGlobalPrivileges:
    'SELECT GRANTEE AS grantee, PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.USER_PRIVILEGES',
  /** Every table privilege on the system schemas (roles included, as 'role'@''). */
  sensitiveTablePrivileges: `SELECT GRANTEE AS grantee, TABLE_SCHEMA AS db, TABLE_NAME AS tbl, PRIVILEGE_TYPE AS privilege
    FROM information_schema.TABLE_PRIVILEGES
    WHERE LOWER(TABLE_SCHEMA) IN ('mysql', 'sys', 'performance_schema', 'information_schema') OR IS_GRANTABLE = 'YES'`,
  /** MariaDB's roles (information_schema.USER_PRIVILEGES leaves them out: SHOW GRANTS tells theirs). */
  rolesMariadb: "SELECT User AS role FROM mysql.user WHERE Host = '' AND is_role = 'Y'",
  /** Every schema privilege on the system schemas, and every schema-level GRANT OPTION. */
  sensitiveSchemaPrivileges: `SELECT GRANTEE AS grantee, TABLE_SCHEMA AS db, PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable
    FROM information_schema.SCHEMA_PRIVILEGES
    WHERE LOWER(TABLE_SCHEMA) IN ('mysql', 'sys', 'performance_schema', 'information_schema') OR IS_GRANTABLE = 'YES'`,
  /** Which role each account or role was granted (MariaDB). */
  roleGrantsMariadb: 'SELECT User AS grantee, Role AS role FROM mysql.roles_mapping',
  /** Which role each account or role was granted (MySQL 8). */
  roleGrantsMysql: 'SELECT TO_USER AS grantee, FROM_USER AS role FROM mysql.role_edges',
};
