// What revocation needs cannot disappear before it is done, in the manner of kubernetes.io/pvc-protection:
// while users issued on a server may live, the server carries a finalizer, and so does each Secret
// it reads to log in (admin login, CA). A namespace deleted with the operator down therefore keeps
// its server and admin Secret until the credentials in it are revoked, after any restart. Pure
// helpers here; the server reconciler does the writes.
import { createHash } from 'node:crypto';
import type { DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { usersIn } from '../database-credential/quota.ts';
import { serverKey, type ServerRef } from '../engine-pool.ts';

/** The finalizer that keeps a server object while users issued on it may live. */
export const SERVER_IN_USE_FINALIZER = 'dbcred.io/issued-users';

/**
 * secretFinalizer is the finalizer a server puts on each Secret it logs in with: one per server, so
 * two servers sharing an admin Secret never release each other's hold.
 */
export function secretFinalizer(ref: ServerRef): string {
  return `in-use.dbcred.io/${createHash('sha256').update(serverKey(ref)).digest('hex').slice(0, 20)}`;
}

/** serverOfCredential is the server a cached credential's users live on, as its status records it. */
export function serverOfCredential(raw: KubeObject): ServerRef | undefined {
  const server = (raw as { status?: DatabaseCredentialStatus }).status?.server;
  if (!server) return undefined;
  return server.kind === 'ClusterDatabaseServer'
    ? { kind: server.kind, name: server.name }
    : { kind: server.kind, name: server.name, namespace: server.namespace ?? raw.metadata.namespace };
}

/** hasLiveUsers: the cached credential records a user that exists or may exist (current, pending, retiring). */
export const hasLiveUsers = (raw: KubeObject): boolean => usersIn((raw as { status?: DatabaseCredentialStatus }).status) > 0;

/** serverInUse tells whether any cached credential records live users on the server. */
export function serverInUse(credentials: Informer<KubeObject>, ref: ServerRef): boolean {
  const key = serverKey(ref);
  return credentials.list().some((raw) => {
    const on = serverOfCredential(raw);
    return on !== undefined && serverKey(on) === key && hasLiveUsers(raw);
  });
}

/** The Secrets a server logs in with (admin login, and its CA when it names one), by namespace and name. */
export function secretsOfServer(raw: KubeObject, ref: ServerRef): { namespace: string; name: string }[] {
  const spec = (raw as { spec?: { adminCredentialsSecretRef?: SecretRef; tls?: { caSecretRef?: SecretRef } } }).spec;
  const refs = [spec?.adminCredentialsSecretRef, spec?.tls?.caSecretRef].filter((r): r is SecretRef => typeof r?.name === 'string');
  const namespaceOf = (r: SecretRef) => (ref.kind === 'DatabaseServer' ? ref.namespace : r.namespace);
  return refs.flatMap((r) => {
    const namespace = namespaceOf(r);
    return namespace ? [{ namespace, name: r.name }] : [];
  });
}

interface SecretRef {
  name: string;
  namespace?: string;
}
