// Resolving a role reference into the role, the server it issues on, and the policy for users,
// with the tenancy rules applied. Shared by the role and credential controllers.
import { ClusterDatabaseRole, DatabaseRole, validate } from '../api/v1alpha1/index.ts';
import type { UserPolicy } from '../engines/engine.ts';
import type { Informer } from '../runtime/cache/informer.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { ConditionError } from './condition-error.ts';
import type { EnginePool, ServerRef } from './engine-pool.ts';
import { namespaceAllowed } from './tenancy.ts';

export type AnyRole = DatabaseRole | ClusterDatabaseRole;

export interface ResolvedRole {
  kind: 'DatabaseRole' | 'ClusterDatabaseRole';
  role: AnyRole;
  server: ServerRef;
  policy: UserPolicy;
}

export interface RoleInformers {
  roles: Informer<KubeObject>;
  clusterRoles: Informer<KubeObject>;
  namespaces: Informer<KubeObject>;
}

/**
 * policyOf maps a role spec onto the engines' UserPolicy, copying only the fields the engines read;
 * written out field by field so that a change to the CRD is met here, not inside the engines.
 */
export function policyOf(role: AnyRole): UserPolicy {
  const { memberOf, connectionLimit, creationStatements, revocationStatements, revocation, postgres, mysql } = role.spec;
  return {
    memberOf,
    connectionLimit,
    creationStatements,
    revocationStatements,
    revocation: { terminateSessions: revocation.terminateSessions },
    postgres:
      postgres === undefined
        ? undefined
        : {
            ownedObjects: { action: postgres.ownedObjects.action, reassignTo: postgres.ownedObjects.reassignTo },
          },
    mysql:
      mysql === undefined
        ? undefined
        : {
            userHost: mysql.userHost,
            grants: mysql.grants?.map(({ privileges, database, table }) => ({ privileges, database, table })),
          },
  };
}

/** namespaceLabels returns a namespace's labels from the cache ({} if unknown). */
export function namespaceLabels(informers: RoleInformers, namespace: string): Record<string, string> {
  return informers.namespaces.get(namespace)?.metadata.labels ?? {};
}

/**
 * resolveRole finds the role a credential in `namespace` refers to, checks that the namespace may
 * use it and that the role may use its server, and returns both; otherwise it throws a
 * ConditionError with the reason (RoleNotFound, InvalidSpec, NamespaceNotAllowed, ServerNotFound).
 */
export function resolveRole(
  informers: RoleInformers,
  engines: EnginePool,
  ref: { kind: 'DatabaseRole' | 'ClusterDatabaseRole'; name: string },
  namespace: string,
): ResolvedRole {
  const raw = ref.kind === 'DatabaseRole' ? informers.roles.get(`${namespace}/${ref.name}`) : informers.clusterRoles.get(ref.name);
  const where = ref.kind === 'DatabaseRole' ? `${namespace}/${ref.name}` : ref.name;
  if (!raw) throw new ConditionError('REFERENCE_MISSING', 'RoleNotFound', `${ref.kind} ${where} does not exist`);
  const parsed = ref.kind === 'DatabaseRole' ? validate(DatabaseRole, raw) : validate(ClusterDatabaseRole, raw);
  if (!parsed.ok) throw new ConditionError('REFERENCE_INVALID', 'RoleNotReady', `${ref.kind} ${where} is invalid: ${parsed.message}`);
  const role = parsed.value;
  if (ref.kind === 'ClusterDatabaseRole') {
    const allowed = (role as ClusterDatabaseRole).spec.allowedNamespaces;
    if (!namespaceAllowed(allowed, namespace, namespaceLabels(informers, namespace))) {
      throw new ConditionError(
        'ACCESS_DENIED',
        'NamespaceNotAllowed',
        `ClusterDatabaseRole ${ref.name} does not allow namespace ${namespace}`,
      );
    }
  }
  return { kind: ref.kind, role, server: roleServer(informers, engines, role), policy: policyOf(role) };
}

/**
 * roleServer returns the server a role issues on; a namespaced role may use a
 * ClusterDatabaseServer only if the server allows the role's namespace (else NamespaceNotAllowed).
 */
export function roleServer(informers: RoleInformers, engines: EnginePool, role: AnyRole): ServerRef {
  return serverFor(informers, engines, role.spec.serverRef, role.metadata.namespace);
}

/**
 * serverFor resolves a serverRef made from `namespace` (undefined for cluster-scoped referrers): a
 * DatabaseServer in that namespace, or a ClusterDatabaseServer whose allowedNamespaces include it.
 */
export function serverFor(
  informers: RoleInformers,
  engines: EnginePool,
  ref: { kind: string; name: string },
  namespace: string | undefined,
): ServerRef {
  if (ref.kind === 'DatabaseServer') return { kind: 'DatabaseServer', name: ref.name, namespace };
  const server: ServerRef = { kind: 'ClusterDatabaseServer', name: ref.name };
  if (namespace !== undefined) {
    const serverObject = engines.serverObject(server);
    const allowed = 'allowedNamespaces' in serverObject.spec ? serverObject.spec.allowedNamespaces : undefined;
    if (!namespaceAllowed(allowed, namespace, namespaceLabels(informers, namespace))) {
      throw new ConditionError(
        'ACCESS_DENIED',
        'NamespaceNotAllowed',
        `ClusterDatabaseServer ${server.name} does not allow namespace ${namespace}`,
      );
    }
  }
  return server;
}
