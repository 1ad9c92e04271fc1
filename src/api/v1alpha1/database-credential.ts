import { z } from 'zod';
import { TTL_BOUNDS } from './database-role.ts';
import { ageColumn, labelSafeName, readyColumns, type KindDefinition } from './kind.ts';
import {
  celIsDuration,
  conditions,
  described,
  duration,
  durationsCompare,
  immutable,
  objectMeta,
  objectName,
  observedGeneration,
} from './schema.ts';
import { rolloutRestartTargets, secretSpec } from './secret-spec.ts';

export const DatabaseCredentialSpec = described(
  z.object({
    roleRef: described(
      z.object({
        kind: described(z.enum(['DatabaseRole', 'ClusterDatabaseRole']), 'DatabaseRole (same namespace) or ClusterDatabaseRole.').default(
          'DatabaseRole',
        ),
        name: objectName('Name of the role.'),
      }),
      'The role (and through it, the server) to issue users from. Immutable.',
      [immutable('roleRef', 'create a new DatabaseCredential to use another role or server')],
    ),
    ttl: duration(
      "Lifetime of each issued user; must not exceed the role's maxTTL. Default: the role's defaultTTL.",
      TTL_BOUNDS,
    ).optional(),
    rotation: described(
      z.object({
        enabled: described(
          z.boolean(),
          'Issue a replacement user before the current one expires. When false, the credential is revoked at expiry and its Secret deleted.',
        ).default(true),
        renewAtPercent: described(z.number().int().min(10).max(90), 'When to issue the replacement, as a percentage of the ttl.').default(
          67,
        ),
        overlap: duration(
          "How long the previous user keeps working after the replacement is published (give pods time to pick up the new Secret). Never past that user's own expiry. Default: 5m, or less when the previous user expires sooner (it has (100 - renewAtPercent)% of the ttl left when it is replaced), so a short ttl needs no overlap of its own.",
          { min: '0s', max: '24h' },
        ).optional(),
      }),
      'Rotation before expiry. Ignored (not validated against the ttl) when enabled is false.',
    ).default({ enabled: true, renewAtPercent: 67 }),
    secret: secretSpec,
    rolloutRestartTargets,
    deletionPolicy: described(
      z.enum(['Revoke', 'Retain']),
      'Revoke: deleting this object drops every user it issued. Retain: the current user and its Secret are left in place, no longer managed; the user lives while that Secret does (and until its expiry); other users are dropped.',
    ).default('Revoke'),
  }),
  'A request for short-lived database credentials, published in a Secret.',
  [
    {
      // Only an overlap the user wrote, and only while rotation is on: a default never refuses a ttl.
      rule: `!has(self.ttl) || !self.rotation.enabled || !has(self.rotation.overlap) || !${celIsDuration('self.ttl')} || !${celIsDuration('self.rotation.overlap')} || duration(self.rotation.overlap) < duration(self.ttl)`,
      message: 'rotation.overlap must be shorter than ttl',
      fieldPath: '.rotation.overlap',
      check: (v) =>
        v.ttl === undefined ||
        !v.rotation.enabled ||
        v.rotation.overlap === undefined ||
        durationsCompare(v.rotation.overlap, v.ttl, (o, t) => o < t),
    },
  ],
);

const username = described(z.string().min(1).max(80), 'Database user name.');
const serial = described(z.number().int().min(0), 'Sequence number of the issued user (1 for the first).');
const time = (d: string) => described(z.string(), `${d} (RFC 3339).`);

export const DatabaseCredentialStatus = described(
  z.object({
    observedGeneration,
    conditions,
    secretName: described(z.string(), 'The Secret holding the current user.').optional(),
    server: described(
      z.object({
        kind: described(z.enum(['DatabaseServer', 'ClusterDatabaseServer']), 'Kind of the server.'),
        name: described(z.string(), 'Name of the server.'),
        namespace: described(z.string(), 'Namespace of a DatabaseServer.').optional(),
      }),
      'The server the users live on, recorded before the first user is created, so they can be revoked even after the role is gone.',
    ).optional(),
    rotationRequest: described(
      z.string().max(256),
      'The last value of the dbcred.io/rotate annotation carried out: a new value asks for a new user now.',
    ).optional(),
    stalledOn: described(
      z.string().max(64),
      'Digest of what a Stalled issuance depended on (the credential, its role and its server); while it matches, a restarted operator does not try again before the recheck.',
    ).optional(),
    lastSerial: described(
      z.number().int().min(0),
      'Serial of the last user this credential issued (recorded with the intent). Serials never repeat, so neither do usernames, even after an expiry.',
    ).optional(),
    current: described(
      z.object({
        username,
        serial,
        issuedAt: time('When the user was created'),
        expiresAt: time('When the user expires (the database enforces it where it can)'),
        renewAt: time('When the replacement will be issued').optional(),
      }),
      'The verified user the Secret names.',
    ).optional(),
    pending: described(
      z.object({
        username,
        serial,
        expiresAt: time('Expiry the user is created with'),
        startedAt: time('When the intent was recorded'),
      }),
      'A user about to be created or being verified (recorded before it exists, so a crash never leaks it).',
    ).optional(),
    retiring: described(
      z
        .array(
          described(
            z.object({
              username,
              serial,
              revokeAt: time('When the user will be dropped'),
              reason: described(
                z.string().max(256),
                'Why the user is retiring: Rotated (replaced on schedule) or Repaired (replaced because its Secret or user was damaged).',
              ).optional(),
            }),
            'A replaced user in its overlap window, or one that could not be dropped yet.',
          ),
        )
        .max(64),
      'Users to drop; each is dropped at revokeAt and retried until it is gone.',
    ).optional(),
  }),
  'Observed state of the credential.',
);

export const DatabaseCredential = z.object({
  apiVersion: z.string(),
  kind: z.literal('DatabaseCredential'),
  metadata: objectMeta,
  spec: DatabaseCredentialSpec,
  status: DatabaseCredentialStatus.optional(),
});
export type DatabaseCredential = z.output<typeof DatabaseCredential>;
export type DatabaseCredentialSpec = z.output<typeof DatabaseCredentialSpec>;
export type DatabaseCredentialStatus = z.output<typeof DatabaseCredentialStatus>;

/**
 * Set on a DatabaseCredential (to any new value, e.g. the time) to rotate it now: a new verified user
 * in the Secret, the previous one revoked after the overlap as on schedule.
 */
export const ROTATE_ANNOTATION = 'dbcred.io/rotate';

/**
 * usernamesIn lists every user a credential's status says exists or may exist — pending (its
 * CREATE may have run), current, retiring — the users its deletion revokes and the sweep spares.
 */
export function usernamesIn(st: Pick<DatabaseCredentialStatus, 'pending' | 'current' | 'retiring'> | undefined): string[] {
  return [st?.pending?.username, st?.current?.username, ...(st?.retiring ?? []).map((r) => r.username)].filter(
    (u): u is string => u !== undefined,
  );
}

export const databaseCredentialKind: KindDefinition = {
  kind: 'DatabaseCredential',
  plural: 'databasecredentials',
  singular: 'databasecredential',
  shortNames: ['dbc'],
  scope: 'Namespaced',
  description: 'A request for a short-lived database user, published in a Secret, rotated before it expires and revoked when it ends.',
  spec: DatabaseCredentialSpec,
  status: DatabaseCredentialStatus,
  objectRules: [labelSafeName],
  // Break-glass by role or server: kubectl delete databasecredentials --field-selector spec.roleRef.name=orders
  selectableFields: ['.spec.roleRef.kind', '.spec.roleRef.name', '.status.server.kind', '.status.server.name'],
  printerColumns: [
    { name: 'Role', type: 'string', jsonPath: '.spec.roleRef.name', description: 'Role the user is issued from.' },
    ...readyColumns,
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', description: 'Secret holding the credentials.' },
    { name: 'User', type: 'string', jsonPath: '.status.current.username', description: 'Current database user.', priority: 1 },
    // A string, not a date: kubectl prints future dates as <invalid>.
    { name: 'Expires', type: 'string', jsonPath: '.status.current.expiresAt', description: 'When the current user expires.' },
    ageColumn,
  ],
};
