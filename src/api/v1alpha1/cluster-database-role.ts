import { z } from 'zod';
import { DatabaseRoleStatus, roleColumns, roleSpecFields, roleSpecRules } from './database-role.ts';
import type { KindDefinition } from './kind.ts';
import { allowedNamespaces } from './namespace-selector.ts';
import { described, objectMeta } from './schema.ts';

export const ClusterDatabaseRoleSpec = described(
  z.object({
    ...roleSpecFields(['ClusterDatabaseServer'], 'ClusterDatabaseServer'),
    allowedNamespaces: allowedNamespaces(
      'Namespaces whose DatabaseCredentials may use this role. Required: a cluster role is usable from nowhere until you say where.',
    ),
  }),
  'What a credential issued from this role may do, and for how long; usable from the allowed namespaces.',
  roleSpecRules,
);

export const ClusterDatabaseRole = z.object({
  apiVersion: z.string(),
  kind: z.literal('ClusterDatabaseRole'),
  metadata: objectMeta,
  spec: ClusterDatabaseRoleSpec,
  status: DatabaseRoleStatus.optional(),
});
export type ClusterDatabaseRole = z.output<typeof ClusterDatabaseRole>;
export type ClusterDatabaseRoleSpec = z.output<typeof ClusterDatabaseRoleSpec>;

export const clusterDatabaseRoleKind: KindDefinition = {
  kind: 'ClusterDatabaseRole',
  plural: 'clusterdatabaseroles',
  singular: 'clusterdatabaserole',
  shortNames: ['cdbr'],
  scope: 'Cluster',
  description: 'A role defined once by the platform team and usable by DatabaseCredentials in the namespaces it allows.',
  spec: ClusterDatabaseRoleSpec,
  status: DatabaseRoleStatus,
  selectableFields: ['.spec.serverRef.kind', '.spec.serverRef.name'],
  printerColumns: roleColumns,
};
