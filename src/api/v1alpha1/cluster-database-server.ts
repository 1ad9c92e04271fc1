import { z } from 'zod';
import { DatabaseServerStatus, serverColumns, serverSpecFields } from './database-server.ts';
import type { KindDefinition } from './kind.ts';
import { allowedNamespaces } from './namespace-selector.ts';
import { described, objectMeta } from './schema.ts';
import { tenantRolesField } from './server-policy.ts';

export const ClusterDatabaseServerSpec = described(
  z.object({
    ...serverSpecFields(true),
    allowedNamespaces: allowedNamespaces(
      'Namespaces whose own DatabaseRoles may use this server. When omitted, only ClusterDatabaseRoles may.',
    ).optional(),
    tenantRoles: tenantRolesField,
  }),
  'How to reach a database as an administrator, shared across namespaces.',
);

export const ClusterDatabaseServer = z.object({
  apiVersion: z.string(),
  kind: z.literal('ClusterDatabaseServer'),
  metadata: objectMeta,
  spec: ClusterDatabaseServerSpec,
  status: DatabaseServerStatus.optional(),
});
export type ClusterDatabaseServer = z.output<typeof ClusterDatabaseServer>;
export type ClusterDatabaseServerSpec = z.output<typeof ClusterDatabaseServerSpec>;

export const clusterDatabaseServerKind: KindDefinition = {
  kind: 'ClusterDatabaseServer',
  plural: 'clusterdatabaseservers',
  singular: 'clusterdatabaseserver',
  shortNames: ['cdbs'],
  scope: 'Cluster',
  description:
    'A database server that ClusterDatabaseRoles (and DatabaseRoles in allowed namespaces) issue users on, and the admin login to do it with.',
  spec: ClusterDatabaseServerSpec,
  status: DatabaseServerStatus,
  printerColumns: serverColumns,
};
