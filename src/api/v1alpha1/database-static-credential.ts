import { z } from 'zod';
import { passwordPolicy } from './database-role.ts';
import { ageColumn, labelSafeName, readyColumns, type KindDefinition } from './kind.ts';
import { conditions, cronSchedule, described, immutable, objectMeta, objectName, observedGeneration, timeZone } from './schema.ts';
import { rolloutRestartTargets, secretSpec } from './secret-spec.ts';

export const DatabaseStaticCredentialSpec = described(
  z.object({
    serverRef: described(
      z.object({
        kind: described(
          z.enum(['DatabaseServer', 'ClusterDatabaseServer']),
          'DatabaseServer (same namespace) or ClusterDatabaseServer (must allow this namespace).',
        ).default('DatabaseServer'),
        name: objectName('Name of the server.'),
      }),
      'The server the user lives on. Immutable.',
      [immutable('serverRef', 'create a new object for another server')],
    ),
    username: described(
      z
        .string()
        .min(1)
        .max(80)
        .regex(/^[A-Za-z_][A-Za-z0-9_$.-]*$/),
      'The existing, long-lived database user whose password is rotated. Immutable.',
      [immutable('username', 'create a new object for another user')],
    ),
    rotationSchedule: cronSchedule('When to rotate the password.', 'Times are wall-clock times in rotationTimeZone.'),
    rotationTimeZone: timeZone('The time zone of rotationSchedule.').default('Etc/UTC'),
    passwordPolicy,
    secret: secretSpec,
    rolloutRestartTargets,
  }),
  'Rotate the password of an existing database user on a schedule and keep its Secret current.',
);

export const DatabaseStaticCredentialStatus = described(
  z.object({
    observedGeneration,
    conditions,
    secretName: described(z.string(), 'The Secret holding the password.').optional(),
    lastRotationTime: described(z.string(), 'When the password was last rotated (RFC 3339).').optional(),
    nextRotationTime: described(z.string(), 'When the password will next be rotated (RFC 3339).').optional(),
  }),
  'Observed state of the static credential.',
);

export const DatabaseStaticCredential = z.object({
  apiVersion: z.string(),
  kind: z.literal('DatabaseStaticCredential'),
  metadata: objectMeta,
  spec: DatabaseStaticCredentialSpec,
  status: DatabaseStaticCredentialStatus.optional(),
});
export type DatabaseStaticCredential = z.output<typeof DatabaseStaticCredential>;
export type DatabaseStaticCredentialSpec = z.output<typeof DatabaseStaticCredentialSpec>;

export const databaseStaticCredentialKind: KindDefinition = {
  kind: 'DatabaseStaticCredential',
  plural: 'databasestaticcredentials',
  singular: 'databasestaticcredential',
  shortNames: ['dbsc'],
  scope: 'Namespaced',
  description: 'The password of an existing, long-lived database user, rotated on a schedule and published in a Secret.',
  spec: DatabaseStaticCredentialSpec,
  status: DatabaseStaticCredentialStatus,
  objectRules: [labelSafeName],
  selectableFields: ['.spec.serverRef.kind', '.spec.serverRef.name', '.spec.username'],
  printerColumns: [
    { name: 'Server', type: 'string', jsonPath: '.spec.serverRef.name', description: 'Server the user lives on.' },
    { name: 'Username', type: 'string', jsonPath: '.spec.username', description: 'The rotated user.' },
    ...readyColumns,
    { name: 'Last-Rotation', type: 'date', jsonPath: '.status.lastRotationTime', description: 'When the password was last rotated.' },
    ageColumn,
  ],
};
