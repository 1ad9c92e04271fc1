// What a server's owner lets others do through it: which existing users DatabaseStaticCredentials
// may rotate, which PostgreSQL predefined roles any role may grant, and (on a ClusterDatabaseServer)
// what the DatabaseRoles of tenant namespaces may ask for. The operator refuses some things
// whatever these say (the admin login, users it issues, privileged accounts): see the README's
// security model.
import { z } from 'zod';
import { described } from './schema.ts';

const accountName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$.-]*$/, { message: 'must be an account name: letters, digits, _, $, . and -' });
const accountPattern = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_*][A-Za-z0-9_$.*-]*$/, { message: 'must be an account name where * matches any run of characters' });

/** accountSet: database accounts by exact name and by glob pattern (* matches any run of characters). */
export const accountSet = (description: string) =>
  described(
    z.object({
      names: described(z.array(accountName).max(256), 'Accounts by exact name.').optional(),
      patterns: described(
        z.array(accountPattern).max(32),
        'Accounts by pattern: * matches any run of characters (app_* matches app_batch).',
      ).optional(),
    }),
    description,
  );

export type AccountSet = z.output<ReturnType<typeof accountSet>>;

/** Fields of both server kinds. */
export const serverPolicyFields = {
  staticUsers: accountSet(
    'Existing users whose password DatabaseStaticCredentials may rotate through this server; none when omitted. Never, whatever this says: the admin login, users dbcred issues (dbc<tag>_*), and privileged accounts (PostgreSQL: SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS, or a member of such a role; MySQL/MariaDB: any global privilege or GRANT OPTION).',
  ).optional(),
  allowedPredefinedRoles: described(
    z
      .array(
        z
          .string()
          .min(4)
          .max(63)
          .regex(/^pg_[a-z_]+$/, { message: 'must be a PostgreSQL predefined role (pg_...)' }),
      )
      .max(32),
    'PostgreSQL predefined roles (pg_*) that roles on this server may put in memberOf, e.g. pg_read_all_data; none when omitted. pg_execute_server_program, pg_read_server_files and pg_write_server_files reach the database host: name them only if that is what you mean.',
  ).optional(),
};

/** What the DatabaseRoles of allowed namespaces may ask for on a ClusterDatabaseServer. */
export const tenantRolesField = described(
  z.object({
    memberOf: accountSet(
      'Group roles those roles may put in memberOf (and use as postgres.ownedObjects.reassignTo); none when omitted.',
    ).optional(),
    grantDatabases: described(
      z
        .array(
          z
            .string()
            .min(1)
            .max(64)
            .regex(/^[A-Za-z0-9_$-]+$/),
        )
        .max(64),
      'MySQL/MariaDB: databases those roles may name in mysql.grants; none when omitted.',
    ).optional(),
    statements: described(
      z.enum(['Forbidden', 'Allowed']),
      'Whether those roles may carry creationStatements and revocationStatements (run as the admin login). Forbidden by default.',
    ).default('Forbidden'),
  }),
  "What the DatabaseRoles of allowed namespaces may ask for. ClusterDatabaseRoles (the platform team's) are not limited by it. By default: bare users only (no group roles, grants or statements).",
).default({ statements: 'Forbidden' });
