import { z } from 'zod';
import { ageColumn, readyColumns, type KindDefinition } from './kind.ts';
import {
  celIsDuration,
  conditions,
  described,
  duration,
  durationsCompare,
  identifier,
  immutable,
  objectMeta,
  objectName,
  observedGeneration,
} from './schema.ts';
import { STATEMENT_VARIABLES, celAllowedPlaceholders, describeVariables, unknownPlaceholders } from './templates.ts';

export const TTL_BOUNDS = { min: '1s', max: '8760h' } as const;

/** How generated passwords look: long, random (crypto), from an alphabet that never needs escaping. */
export const passwordPolicy = described(
  z.object({
    length: described(z.number().int().min(24).max(128), 'Number of characters.').default(32),
    alphabet: described(
      z.enum(['alphanumeric', 'alphanumeric-symbols']),
      'alphanumeric: A-Z a-z 0-9; alphanumeric-symbols adds - _ . ~ (still safe in URLs, shells and SQL literals).',
    ).default('alphanumeric'),
  }),
  'How generated passwords look.',
).default({ length: 32, alphabet: 'alphanumeric' });

const statements = (what: string) =>
  described(
    z.array(z.string().min(1).max(4096)).max(16),
    `${what} Each entry is one SQL statement; the variables ${describeVariables(STATEMENT_VARIABLES)} are replaced by values the engine quotes, never spliced raw.`,
    [
      {
        rule: `self.all(s, ${celAllowedPlaceholders('s', STATEMENT_VARIABLES)})`,
        message: `statements may only use the variables ${describeVariables(STATEMENT_VARIABLES)}`,
        check: (v) => v.every((s) => unknownPlaceholders(s, STATEMENT_VARIABLES).length === 0),
      },
    ],
  ).optional();

const MYSQL_PRIVILEGES = [
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
] as const;

/** The spec shared by DatabaseRole and ClusterDatabaseRole, given the allowed server kinds. */
export function roleSpecFields(serverKinds: readonly [string, ...string[]], defaultServerKind: string) {
  return {
    serverRef: described(
      z.object({
        kind: described(z.enum(serverKinds), `Kind of the server: ${serverKinds.join(' or ')}.`).default(defaultServerKind as never),
        name: objectName('Name of the server.'),
      }),
      'The server users are issued on. Immutable: users already issued live there.',
      [immutable('serverRef', 'create a new role for another server')],
    ),
    defaultTTL: duration('Lifetime of an issued user when the credential does not ask for one.', TTL_BOUNDS).default('1h'),
    maxTTL: duration('Longest lifetime a credential may ask for.', TTL_BOUNDS).default('24h'),
    memberOf: described(
      z.array(identifier('A group role that must already exist on the server.')).max(32),
      'Group roles each issued user joins (PostgreSQL: IN ROLE; MySQL/MariaDB: GRANT role + SET DEFAULT ROLE). The recommended way to grant access: privileges stay on the group, not on each user.',
    ).optional(),
    creationStatements: statements('Advanced: statements run after the user is created (e.g. extra GRANTs).'),
    revocationStatements: statements('Advanced: statements run before the user is dropped.'),
    usernamePrefix: described(
      z
        .string()
        .min(1)
        .max(8)
        .regex(/^[a-z][a-z0-9]*$/, { message: 'must be 1-8 lowercase letters and digits, starting with a letter' }),
      "Readable part of generated user names (dbc<tag>_<prefix>_<random>); the dbc<tag>_ head (the installation's marker) is always there so the operator can find its users.",
    ).optional(),
    passwordPolicy,
    connectionLimit: described(
      z.number().int().min(1).max(10000),
      'Most concurrent sessions per issued user. Unlimited when omitted.',
    ).optional(),
    maxActiveCredentials: described(
      z.number().int().min(1).max(100000),
      "Quota: most live users issued from this role at once (a rotation's overlap counts). Unlimited when omitted.",
    ).optional(),
    revocation: described(
      z.object({
        terminateSessions: described(z.boolean(), 'End the live sessions of a user when it is revoked.').default(true),
      }),
      'What revocation does besides dropping the user.',
    ).default({ terminateSessions: true }),
    postgres: described(
      z.object({
        ownedObjects: described(
          z.object({
            action: described(
              z.enum(['Drop', 'Reassign']),
              'Drop: objects the user created are dropped with it; Reassign: they are given to reassignTo.',
            ).default('Drop'),
            reassignTo: identifier('Role that receives the objects when action is Reassign.').optional(),
          }),
          'What happens to objects a revoked user owns.',
          [
            {
              rule: "self.action != 'Reassign' || has(self.reassignTo)",
              message: 'ownedObjects.reassignTo is required when action is Reassign',
              check: (v) => v.action !== 'Reassign' || v.reassignTo !== undefined,
            },
          ],
        ).default({ action: 'Drop' }),
      }),
      'PostgreSQL-only settings. Only for a postgres server.',
    ).optional(),
    mysql: described(
      z.object({
        userHost: described(
          z
            .string()
            .min(1)
            .max(255)
            .regex(/^[A-Za-z0-9.%_:-]+$/),
          "Host part of issued accounts ('user'@'host').",
        ).default('%'),
        grants: described(
          z
            .array(
              described(
                z.object({
                  privileges: described(
                    z.array(z.enum(MYSQL_PRIVILEGES)).min(1).max(MYSQL_PRIVILEGES.length),
                    `Privileges, from: ${MYSQL_PRIVILEGES.join(', ')}.`,
                  ),
                  database: described(
                    z
                      .string()
                      .min(1)
                      .max(64)
                      .regex(/^(\*|[A-Za-z0-9_$-]+)$/),
                    'Database, or * for all.',
                  ),
                  table: described(
                    z
                      .string()
                      .min(1)
                      .max(64)
                      .regex(/^(\*|[A-Za-z0-9_$-]+)$/),
                    'Table, or * for all.',
                  ).default('*'),
                }),
                'One GRANT ... ON database.table.',
              ),
            )
            .max(32),
          'Per-user privileges granted at creation (prefer memberOf).',
        ).optional(),
      }),
      'MySQL/MariaDB-only settings. Only for a mysql server.',
    ).optional(),
  };
}

/** Cross-field rules of a role spec, shared by both role kinds. */
export const roleSpecRules = [
  {
    rule: `!${celIsDuration('self.defaultTTL')} || !${celIsDuration('self.maxTTL')} || duration(self.defaultTTL) <= duration(self.maxTTL)`,
    message: 'defaultTTL must not exceed maxTTL',
    fieldPath: '.defaultTTL',
    check: (v: { defaultTTL: string; maxTTL: string }) => durationsCompare(v.defaultTTL, v.maxTTL, (d, m) => d <= m),
  },
  {
    rule: '!(has(self.postgres) && has(self.mysql))',
    message: "set at most one engine block: postgres or mysql, matching the server's engine",
    check: (v: { postgres?: unknown; mysql?: unknown }) => !(v.postgres !== undefined && v.mysql !== undefined),
  },
];

export const DatabaseRoleSpec = described(
  z.object(roleSpecFields(['DatabaseServer', 'ClusterDatabaseServer'], 'DatabaseServer')),
  'What a credential issued from this role may do, and for how long.',
  roleSpecRules,
);

export const DatabaseRoleStatus = described(
  z.object({
    observedGeneration,
    conditions,
    engine: described(z.enum(['postgres', 'mysql']), 'Engine of the referenced server, once resolved.').optional(),
    activeCredentials: described(z.number().int().min(0), 'Live users issued from this role.').optional(),
  }),
  'Observed state of the role.',
);

export const DatabaseRole = z.object({
  apiVersion: z.string(),
  kind: z.literal('DatabaseRole'),
  metadata: objectMeta,
  spec: DatabaseRoleSpec,
  status: DatabaseRoleStatus.optional(),
});
export type DatabaseRole = z.output<typeof DatabaseRole>;
export type DatabaseRoleSpec = z.output<typeof DatabaseRoleSpec>;
export type DatabaseRoleStatus = z.output<typeof DatabaseRoleStatus>;

export const roleColumns = [
  { name: 'Server', type: 'string', jsonPath: '.spec.serverRef.name', description: 'Server users are issued on.' },
  { name: 'Default-TTL', type: 'string', jsonPath: '.spec.defaultTTL', description: 'Lifetime when a credential asks for none.' },
  { name: 'Max-TTL', type: 'string', jsonPath: '.spec.maxTTL', description: 'Longest lifetime allowed.' },
  { name: 'Active', type: 'integer', jsonPath: '.status.activeCredentials', description: 'Live users issued from this role.' },
  ...readyColumns,
  ageColumn,
] satisfies KindDefinition['printerColumns'];

export const databaseRoleKind: KindDefinition = {
  kind: 'DatabaseRole',
  plural: 'databaseroles',
  singular: 'databaserole',
  shortNames: ['dbr'],
  scope: 'Namespaced',
  description: 'What DatabaseCredentials in the same namespace may get: the server, group roles, lifetimes and limits of issued users.',
  spec: DatabaseRoleSpec,
  status: DatabaseRoleStatus,
  selectableFields: ['.spec.serverRef.kind', '.spec.serverRef.name'],
  printerColumns: roleColumns,
};
