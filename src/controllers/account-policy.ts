// What a server lets roles and static credentials do with database accounts (I7), as pure checks
// of specs: the server's allowlists (server-policy.ts in the API) and the refusals that hold
// whatever they say. Whether an account is privileged in the database is the engines' check
// (Engine.privilegedAccounts); these run first and need no connection.
import type { AccountSet } from '../api/v1alpha1/index.ts';
import type { PrivilegedAccount } from '../engines/engine.ts';
import { usernameTag } from '../engines/username.ts';
import { ConditionError } from './condition-error.ts';
import type { AnyServer } from './engine-pool.ts';
import type { AnyRole } from './roles.ts';

/** Schemas no role may be granted on, whatever it is: they hold the accounts and the server's state. */
const MYSQL_SYSTEM_SCHEMAS = new Set(['mysql', 'sys', 'performance_schema', 'information_schema']);

/** matchesAccountSet: the name is listed, or matches a pattern (* matches any run of characters). */
export function matchesAccountSet(set: AccountSet | undefined, name: string): boolean {
  if (!set) return false;
  if (set.names?.includes(name)) return true;
  return (set.patterns ?? []).some((p) => globToRegExp(p).test(name));
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.$]/g, (c) => `\\${c}`));
  return new RegExp(`^${escaped.join('.*')}$`);
}

// Any installation's generated names (dbc<tag>_…), and the dbc_… form of earlier versions.
const isIssuedUser = (name: string) => usernameTag(name) !== undefined || name.startsWith('dbc_');
const refuse = (message: string) => new ConditionError('ACCESS_DENIED', 'NotAllowedByServer', message);

/**
 * rolePolicyRefusal returns why a role may not issue users on the server, or undefined. A
 * DatabaseRole on a ClusterDatabaseServer is a tenant's: it gets only what the server's tenantRoles
 * allow. Every role, whoever wrote it, is refused users dbcred issues as group roles, PostgreSQL
 * predefined roles the server does not allow by name, and MySQL grants on every database or on the
 * system schemas.
 */
export function rolePolicyRefusal(role: AnyRole, server: AnyServer): ConditionError | undefined {
  const spec = role.spec;
  const engine = server.spec.engine;
  const tenant = role.kind === 'DatabaseRole' && server.kind === 'ClusterDatabaseServer';
  const tenantRoles = tenant && server.kind === 'ClusterDatabaseServer' ? server.spec.tenantRoles : undefined;
  const where = `${server.kind} ${server.metadata.name}`;
  const groups = [...(spec.memberOf ?? []), ...(spec.postgres?.ownedObjects.reassignTo ? [spec.postgres.ownedObjects.reassignTo] : [])];
  for (const group of groups) {
    if (isIssuedUser(group)) return refuse(`${group} is a user dbcred issues; no role may join it`);
    if (engine === 'postgres' && group.startsWith('pg_') && !(server.spec.allowedPredefinedRoles ?? []).includes(group)) {
      return refuse(`${group} is a PostgreSQL predefined role that ${where} does not allow (spec.allowedPredefinedRoles)`);
    }
    if (tenantRoles && !matchesAccountSet(tenantRoles.memberOf, group)) {
      return refuse(`${where} does not let the DatabaseRoles of namespaces use group role ${group} (spec.tenantRoles.memberOf)`);
    }
  }
  if (
    tenantRoles &&
    tenantRoles.statements !== 'Allowed' &&
    ((spec.creationStatements?.length ?? 0) > 0 || (spec.revocationStatements?.length ?? 0) > 0)
  ) {
    return refuse(`${where} does not let the DatabaseRoles of namespaces carry SQL statements (spec.tenantRoles.statements)`);
  }
  for (const grant of spec.mysql?.grants ?? []) {
    if (grant.database === '*' || MYSQL_SYSTEM_SCHEMAS.has(grant.database.toLowerCase())) {
      return refuse(
        `grants on ${grant.database}.* are never allowed: they reach the accounts and the server's own schemas; name an application database`,
      );
    }
    if (tenantRoles && !(tenantRoles.grantDatabases ?? []).includes(grant.database)) {
      return refuse(
        `${where} does not let the DatabaseRoles of namespaces grant on database ${grant.database} (spec.tenantRoles.grantDatabases)`,
      );
    }
  }
  return undefined;
}

/**
 * staticUserRefusal returns why a DatabaseStaticCredential may not rotate this user's password
 * through the server, or undefined: the server must list it in staticUsers, and the admin login
 * and users dbcred issues are refused whatever it lists.
 */
export function staticUserRefusal(username: string, server: AnyServer, adminUsername: string): ConditionError | undefined {
  const where = `${server.kind} ${server.metadata.name}`;
  if (username === adminUsername)
    return refuse(`${username} is the admin login of ${where}; its password is never rotated by a DatabaseStaticCredential`);
  if (isIssuedUser(username))
    return refuse(`${username} is a user dbcred issues; DatabaseStaticCredentials rotate only existing, named users`);
  if (!matchesAccountSet(server.spec.staticUsers, username)) {
    return refuse(`${where} does not let DatabaseStaticCredentials rotate ${username} (spec.staticUsers lists the users it allows)`);
  }
  return undefined;
}

/**
 * privilegedRefusal turns what the database said about accounts (Engine.privilegedAccounts) into a
 * refusal, or undefined: every reason counts except predefined roles the server allows by name.
 */
export function privilegedRefusal(accounts: readonly PrivilegedAccount[], server: AnyServer, what: string): ConditionError | undefined {
  const allowed = server.spec.allowedPredefinedRoles ?? [];
  for (const account of accounts) {
    const reasons = account.reasons.filter((r) => r.predefinedRole === undefined || !allowed.includes(r.predefinedRole));
    if (reasons.length > 0) {
      return new ConditionError(
        'ACCESS_DENIED',
        'PrivilegedAccount',
        `${what} ${account.name} is privileged: ${reasons.map((r) => r.why).join('; ')}`,
      );
    }
  }
  return undefined;
}
