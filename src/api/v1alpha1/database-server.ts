import { z } from 'zod';
import { ageColumn, readyColumns, type KindDefinition } from './kind.ts';
import { conditions, cronSchedule, described, immutable, objectMeta, objectName, observedGeneration, timeZone } from './schema.ts';
import { serverPolicyFields } from './server-policy.ts';

export const ENGINES = ['postgres', 'mysql'] as const;

/** Set on a server (to any new value, e.g. the time) to rotate its admin password now. */
export const ADMIN_ROTATION_ANNOTATION = 'dbcred.io/rotate-admin';
export type Engine = (typeof ENGINES)[number];

/** Fields of a reference to a Secret key, with the namespace only where the referrer is cluster-scoped. */
const secretRefFields = (cluster: boolean) => ({
  name: objectName('Name of the Secret.'),
  ...(cluster ? { namespace: objectName('Namespace of the Secret (required: a cluster-scoped server has no namespace of its own).') } : {}),
});

/** The spec shared by DatabaseServer and ClusterDatabaseServer; `cluster` adds Secret namespaces. */
export function serverSpecFields(cluster: boolean) {
  const where = cluster ? 'the given namespace' : "the server's namespace";
  return {
    engine: described(z.enum(ENGINES), 'Database engine: postgres (PostgreSQL 12+) or mysql (MySQL 8 and MariaDB 10.6+). Immutable.', [
      immutable('engine', 'create a new server object for another engine'),
    ]),
    host: described(
      z
        .string()
        .min(1)
        .max(253)
        .regex(/^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$/, { message: 'must be a host name or an IP address' }),
      'Host name or IP address the operator connects to, and that goes into issued Secrets.',
    ),
    port: described(z.number().int().min(1).max(65535), 'TCP port. Default: 5432 for postgres, 3306 for mysql.').optional(),
    database: described(
      z.string().min(1).max(64),
      'Database to connect to and to name in issued Secrets. Default: postgres for postgres; none for mysql.',
    ).optional(),
    adminCredentialsSecretRef: described(
      z.object({
        ...secretRefFields(cluster),
        usernameKey: described(z.string().min(1).max(253), 'Key holding the admin user name.').default('username'),
        passwordKey: described(z.string().min(1).max(253), 'Key holding the admin password.').default('password'),
      }),
      `Secret in ${where} with the administrator login the operator uses to create and drop users.`,
    ),
    tls: described(
      z.object({
        mode: described(
          z.enum(['disable', 'require', 'verify-ca', 'verify-full']),
          'disable: plain TCP; require: TLS without certificate checks; verify-ca: TLS with the certificate checked against the CA; verify-full: verify-ca plus the host name.',
        ).default('verify-full'),
        caSecretRef: described(
          z.object({
            ...secretRefFields(cluster),
            key: described(z.string().min(1).max(253), 'Key holding the PEM CA bundle.').default('ca.crt'),
          }),
          `Secret in ${where} with the CA certificate(s) for verify-ca and verify-full. Default: the system CAs.`,
        ).optional(),
      }),
      'Transport security between the operator (and issued clients) and the database.',
      [
        {
          rule: "self.mode in ['verify-ca', 'verify-full'] || !has(self.caSecretRef)",
          message: 'tls.caSecretRef is only used with mode verify-ca or verify-full',
          check: (v) => v.mode === 'verify-ca' || v.mode === 'verify-full' || v.caSecretRef === undefined,
        },
      ],
    ).default({ mode: 'verify-full' }),
    maxConnections: described(z.number().int().min(1).max(100), "Size of the operator's admin connection pool for this server.").default(5),
    ...serverPolicyFields,
    adminRotation: described(
      z.object({
        schedule: cronSchedule(
          'When to rotate the admin password (the new one is written back to the admin Secret).',
          'Times are wall-clock times in timeZone.',
        ),
        timeZone: timeZone('The time zone of schedule.').default('Etc/UTC'),
      }),
      `Rotate the admin password on a schedule: at once when set, then on the schedule (a time missed while the operator was down is made up once on start). Off when omitted; the annotation ${ADMIN_ROTATION_ANNOTATION} rotates on demand either way. The operator must own the Secret's value: anything else that writes it (GitOps, an external secret store) would put back a password the database no longer accepts.`,
    ).optional(),
  };
}

export const DatabaseServerSpec = described(z.object(serverSpecFields(false)), 'How to reach a database as an administrator.');

export const DatabaseServerStatus = described(
  z.object({
    observedGeneration,
    conditions,
    serverVersion: described(z.string().max(256), 'Version the server reported at the last check.').optional(),
    expiryEnforcement: described(
      z.enum(['ValidUntil', 'EventScheduler', 'OperatorOnly']),
      'How expiry is enforced by the database itself: ValidUntil (PostgreSQL), EventScheduler (MySQL/MariaDB with event_scheduler=ON), or OperatorOnly (the operator must be running to revoke on time).',
    ).optional(),
    lastAdminRotationTime: described(z.string(), 'When the admin password was last rotated (RFC 3339).').optional(),
    nextAdminRotationTime: described(z.string(), 'When spec.adminRotation rotates the admin password next (RFC 3339).').optional(),
    adminRotationRequest: described(
      z.string().max(256),
      `The value of the ${ADMIN_ROTATION_ANNOTATION} annotation whose on-demand rotation is done: a rotation is requested by setting the annotation to any other value.`,
    ).optional(),
  }),
  'Observed state of the server.',
);

export const DatabaseServer = z.object({
  apiVersion: z.string(),
  kind: z.literal('DatabaseServer'),
  metadata: objectMeta,
  spec: DatabaseServerSpec,
  status: DatabaseServerStatus.optional(),
});
export type DatabaseServer = z.output<typeof DatabaseServer>;
export type DatabaseServerSpec = z.output<typeof DatabaseServerSpec>;
export type DatabaseServerStatus = z.output<typeof DatabaseServerStatus>;

export const serverColumns = [
  { name: 'Engine', type: 'string', jsonPath: '.spec.engine', description: 'Database engine.' },
  { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'Host the operator connects to.' },
  ...readyColumns,
  { name: 'Version', type: 'string', jsonPath: '.status.serverVersion', description: 'Server version.', priority: 1 },
  {
    name: 'Expiry',
    type: 'string',
    jsonPath: '.status.expiryEnforcement',
    description: 'How expiry is enforced: ValidUntil or EventScheduler by the database, OperatorOnly by the operator alone.',
  },
  ageColumn,
] satisfies KindDefinition['printerColumns'];

export const databaseServerKind: KindDefinition = {
  kind: 'DatabaseServer',
  plural: 'databaseservers',
  singular: 'databaseserver',
  shortNames: ['dbs'],
  scope: 'Namespaced',
  description: 'A database server that DatabaseRoles in the same namespace issue users on, and the admin login to do it with.',
  spec: DatabaseServerSpec,
  status: DatabaseServerStatus,
  printerColumns: serverColumns,
};
