// The dbcred kinds as runtime resource types, derived from the API definitions.
import { GROUP, KINDS, VERSION } from '../api/v1alpha1/index.ts';
import type { ResourceType } from '../runtime/kube/builtin-resources.ts';

function resource(kind: string): ResourceType {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return { group: GROUP, version: VERSION, plural: def.plural, kind: def.kind, namespaced: def.scope === 'Namespaced' };
}

export const DbcredResources = {
  DatabaseServer: resource('DatabaseServer'),
  ClusterDatabaseServer: resource('ClusterDatabaseServer'),
  DatabaseRole: resource('DatabaseRole'),
  ClusterDatabaseRole: resource('ClusterDatabaseRole'),
  DatabaseCredential: resource('DatabaseCredential'),
  DatabaseStaticCredential: resource('DatabaseStaticCredential'),
} as const;

/** The finalizer that revokes every issued user before a DatabaseCredential goes away. */
export const REVOKE_FINALIZER = 'dbcred.io/revoke-users';
