// Every statement the PostgreSQL engine sends, built by pure functions. Names go through
// quoteIdentifier and values through quoteLiteral, nothing else; the property test in
// test/unit/engines-postgres-statements.test.ts parses each result with PostgreSQL's own parser.
import { DbcredError } from '../../util/errors.ts';

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated, so we refuse them. */
export const POSTGRES_MAX_IDENTIFIER_BYTES = 63;

/** quoteIdentifier returns name as one double-quoted identifier; it refuses NUL and names over 63 bytes. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0') || Buffer.byteLength(name, 'utf8') > POSTGRES_MAX_IDENTIFIER_BYTES) {
    throw new DbcredError(
      'DB_INVALID_NAME',
      `a PostgreSQL name must be 1-${POSTGRES_MAX_IDENTIFIER_BYTES} bytes without NUL (got ${Buffer.byteLength(name, 'utf8')} bytes)`,
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * quoteLiteral returns value as one string literal that means the same whatever
 * standard_conforming_strings says: a value with a backslash becomes an E'' string with the
 * backslashes doubled (as libpq's PQescapeLiteral does). It refuses NUL, which PostgreSQL cannot store.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new DbcredError('DB_TEMPLATE_INVALID', 'a value contains a NUL character');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? ` E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

/** timestampLiteral renders an instant as a timestamptz literal in UTC. */
export function timestampLiteral(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new DbcredError('DB_TEMPLATE_INVALID', 'expiresAt is not a valid date');
  return quoteLiteral(at.toISOString());
}

function connectionLimit(limit: number | undefined): string {
  const n = limit ?? -1;
  if (!Number.isSafeInteger(n) || n < -1) throw new DbcredError('DB_TEMPLATE_INVALID', 'connectionLimit must be a non-negative integer');
  return ` CONNECTION LIMIT ${n}`;
}

export interface PostgresRoleAttributes {
  username: string;
  /** SCRAM-SHA-256 verifier (never the plaintext). */
  verifier: string;
  expiresAt: Date;
  connectionLimit?: number;
  memberOf?: readonly string[];
}

/** The statements of the PostgreSQL engine; each returns exactly one statement. */
export const postgresStatements = {
  /** CREATE ROLE ... LOGIN with password verifier, VALID UNTIL, CONNECTION LIMIT and IN ROLE. */
  createRole(role: PostgresRoleAttributes): string {
    const groups = role.memberOf ?? [];
    return (
      `CREATE ROLE ${quoteIdentifier(role.username)} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS` +
      ` PASSWORD ${quoteLiteral(role.verifier)} VALID UNTIL ${timestampLiteral(role.expiresAt)}${connectionLimit(role.connectionLimit)}` +
      (groups.length > 0 ? ` IN ROLE ${groups.map(quoteIdentifier).join(', ')}` : '')
    );
  },
  /** ALTER ROLE to the attributes of a request: the convergence step when the role already exists. */
  convergeRole(role: PostgresRoleAttributes): string {
    return (
      `ALTER ROLE ${quoteIdentifier(role.username)} WITH LOGIN PASSWORD ${quoteLiteral(role.verifier)}` +
      ` VALID UNTIL ${timestampLiteral(role.expiresAt)}${connectionLimit(role.connectionLimit)}`
    );
  },
  /** GRANT group TO user (a no-op with a notice when already a member). */
  grantMembership(group: string, username: string): string {
    return `GRANT ${quoteIdentifier(group)} TO ${quoteIdentifier(username)}`;
  },
  /** COMMENT ON ROLE: the ownership marker (I2). */
  commentOnRole(username: string, marker: string): string {
    return `COMMENT ON ROLE ${quoteIdentifier(username)} IS ${quoteLiteral(marker)}`;
  },
  password(username: string, verifier: string): string {
    return `ALTER ROLE ${quoteIdentifier(username)} PASSWORD ${quoteLiteral(verifier)}`;
  },
  /** The admin's own password: a role may always change its own. */
  currentUserPassword(verifier: string): string {
    return `ALTER ROLE CURRENT_USER PASSWORD ${quoteLiteral(verifier)}`;
  },
  /** NOLOGIN first, so no new session can start between ending sessions and dropping the role. */
  noLogin(username: string): string {
    return `ALTER ROLE ${quoteIdentifier(username)} WITH NOLOGIN`;
  },
  /** REASSIGN OWNED and DROP OWNED need the privileges of the role, so the admin joins it first. */
  joinRole(username: string): string {
    return `GRANT ${quoteIdentifier(username)} TO CURRENT_USER`;
  },
  reassignOwned(username: string, to: string): string {
    return `REASSIGN OWNED BY ${quoteIdentifier(username)} TO ${quoteIdentifier(to)}`;
  },
  dropOwned(username: string): string {
    return `DROP OWNED BY ${quoteIdentifier(username)}`;
  },
  dropRole(username: string): string {
    return `DROP ROLE IF EXISTS ${quoteIdentifier(username)}`;
  },
};

/** Read-only queries; values are bind parameters ($1), never spliced. */
export const postgresQueries = {
  facts: `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS version_num,
    COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls`,
  adminPrivileges: `SELECT r.rolsuper AS superuser, r.rolcreaterole AS createrole,
    pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') AS signal_backend
    FROM pg_roles r WHERE r.rolname = current_user`,
  /** $1: group role names. One row per existing group, with whether the admin may grant it. */
  groupRoles: `SELECT g.rolname AS name, g.rolsuper AS superuser,
    pg_has_role(current_user, g.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option
    FROM pg_roles g WHERE g.rolname = ANY($1::text[])`,
  /**
   * $1: account names. Each account with every role it reaches through memberships (itself
   * included), where that role is privileged: an attribute beyond LOGIN, a predefined role, or the
   * admin login.
   */
  privileged: `WITH RECURSIVE reach(name, oid) AS (
      SELECT r.rolname, r.oid FROM pg_roles r WHERE r.rolname = ANY($1::text[])
      UNION
      SELECT reach.name, m.roleid FROM reach JOIN pg_auth_members m ON m.member = reach.oid)
    SELECT reach.name AS name, p.rolname AS via, p.rolsuper AS superuser, p.rolcreaterole AS createrole,
      p.rolreplication AS replication, p.rolbypassrls AS bypassrls, p.rolname = current_user AS admin,
      left(p.rolname, 3) = 'pg_' AS predefined
    FROM reach JOIN pg_roles p ON p.oid = reach.oid
    WHERE p.rolsuper OR p.rolcreaterole OR p.rolreplication OR p.rolbypassrls OR p.rolname = current_user OR left(p.rolname, 3) = 'pg_'
    ORDER BY reach.name, p.rolname`,
  /** $1: user name. Its marker comment, or no row. */
  role: `SELECT shobj_description(oid, 'pg_authid') AS marker FROM pg_roles WHERE rolname = $1`,
  /** $1: user name. Whether it owns or holds privileges on anything in this database or on shared objects. */
  hasDependencies: `SELECT EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON d.refobjid = r.oid
    WHERE r.rolname = $1 AND d.refclassid = 'pg_authid'::regclass
      AND d.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))) AS has`,
  /** $1: user name, $2: wait ms (PostgreSQL 14+ waits for each backend to exit). */
  terminate:
    'SELECT pid, pg_terminate_backend(pid, $2::bigint) AS ended FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
  /** $1: user name (PostgreSQL 12-13: no wait). */
  terminateNoWait: 'SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
  /** $1: marker, $2: name head (dbc<tag>_). Users whose name starts with our head and whose comment is our marker. */
  owned: `SELECT rolname AS username, rolvaliduntil AS valid_until FROM pg_roles
    WHERE left(rolname, length($2::text)) = $2::text AND shobj_description(oid, 'pg_authid') = $1 ORDER BY rolname`,
};
