// A role's quota (maxActiveCredentials) counts the users issued from it that exist or may exist:
// each credential's current, pending and retiring users.
import { usernamesIn, type DatabaseCredential, type DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { ConditionError } from '../condition-error.ts';
import type { ResolvedRole } from '../roles.ts';

type RoleRef = { kind?: string; name?: string };

/** usersIn counts the users a status says exist or may exist: current, pending and retiring. */
export function usersIn(st: DatabaseCredentialStatus | undefined): number {
  return usernamesIn(st).length;
}

/** roleRefOf reads a cached credential's role reference (the cache holds unvalidated objects). */
export const roleRefOf = (c: KubeObject): RoleRef | undefined => (c as { spec?: { roleRef?: RoleRef } }).spec?.roleRef;

/** usesRole tells whether a cached credential names the role (a DatabaseRole only from its own namespace). */
export function usesRole(c: KubeObject, roleKind: string, roleName: string, roleNamespace?: string): boolean {
  const ref = roleRefOf(c);
  if ((ref?.kind ?? 'DatabaseRole') !== roleKind || ref?.name !== roleName) return false;
  return roleKind !== 'DatabaseRole' || c.metadata.namespace === roleNamespace;
}

/**
 * liveUsers counts users issued from a role that exist or may exist, leaving out one credential's;
 * `latest` maps a cached credential to the newest copy this process knows (its own writes).
 */
export function liveUsers(
  credentials: Informer<KubeObject>,
  roleKind: string,
  roleName: string,
  roleNamespace?: string,
  exceptUid?: string,
  latest: (raw: KubeObject) => KubeObject = (raw) => raw,
): number {
  let n = 0;
  for (const raw of credentials.list()) {
    if (exceptUid !== undefined && raw.metadata.uid === exceptUid) continue;
    if (usesRole(raw, roleKind, roleName, roleNamespace)) n += usersIn((latest(raw) as { status?: DatabaseCredentialStatus }).status);
  }
  return n;
}

/** roleKey identifies a role for the quota lock. */
export const roleKey = (role: ResolvedRole) => `${role.kind}/${role.role.metadata.namespace ?? ''}/${role.role.metadata.name}`;

/**
 * quotaRefusal returns the denial when one more user would exceed the role's quota, or undefined.
 * Counting walks every credential: only for a role with a quota. Each credential is counted from
 * the newest status this process knows (`latest`: an intent it just wrote may not be cached yet),
 * and the credential's own from its latest status. Exact when the callers of one role hold its lock
 * (roleKey) from this check until their intent is written.
 */
export function quotaRefusal(
  credentials: Informer<KubeObject>,
  role: ResolvedRole,
  cred: DatabaseCredential,
  latest?: (raw: KubeObject) => KubeObject,
): ConditionError | undefined {
  const max = role.role.spec.maxActiveCredentials;
  if (max === undefined) return undefined;
  const live =
    liveUsers(credentials, role.kind, role.role.metadata.name, role.role.metadata.namespace, cred.metadata.uid, latest) +
    usersIn(cred.status);
  if (live + 1 <= max) return undefined;
  return new ConditionError('LIMIT_EXCEEDED', 'QuotaExceeded', `role ${role.role.metadata.name} allows ${max} live users and has ${live}`);
}

/** isWaitingForQuota tells whether a cached credential was refused for want of a place in its role's quota. */
export function isWaitingForQuota(c: KubeObject): boolean {
  const conditions = (c as { status?: DatabaseCredentialStatus }).status?.conditions ?? [];
  return conditions.some((x) => (x.type === 'Ready' || x.type === 'Rotating') && x.status === 'False' && x.reason === 'QuotaExceeded');
}
