// What brings a DatabaseCredential back to its controller. Every handler only enqueues keys, read
// from the caches; the reconcile does the rest.
import type { DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import type { Informer, InformerEvent } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { conditionBecameFalse, conditionBecameTrue, generationChanged, labelsChanged } from '../../runtime/predicates.ts';
import { serverKey } from '../engine-pool.ts';
import { serverOfCredential } from '../database-server/server-protection.ts';
import { isWaitingForQuota, roleRefOf, usersIn, usesRole } from './quota.ts';

export interface CredentialSources {
  credentials: Informer<KubeObject>;
  secrets: Informer<KubeObject>;
  roles: Informer<KubeObject>;
  clusterRoles: Informer<KubeObject>;
  namespaces: Informer<KubeObject>;
  servers: Informer<KubeObject>;
  clusterServers: Informer<KubeObject>;
}

const statusOf = (o: KubeObject) => (o as { status?: DatabaseCredentialStatus }).status;

/** watchCredentialSources wires every event source of the credential controller onto it. */
export function watchCredentialSources(controller: Controller, s: CredentialSources): Controller {
  controller.watch(s.credentials).watchOwned(s.secrets, 'DatabaseCredential');

  // A place freed in a role's quota (a credential deleted, or holding fewer users) goes at once to
  // the credentials of that role refused for want of one.
  s.credentials.on((e) => {
    const ref = roleRefOf(e.object);
    if (!ref?.name) return;
    const freed = e.type === 'delete' || (e.previous !== undefined && usersIn(statusOf(e.object)) < usersIn(statusOf(e.previous)));
    if (!freed) return;
    const kind = ref.kind ?? 'DatabaseRole';
    const namespace = kind === 'ClusterDatabaseRole' ? undefined : e.object.metadata.namespace;
    const role = kind === 'ClusterDatabaseRole' ? s.clusterRoles.get(ref.name) : s.roles.get(`${namespace}/${ref.name}`);
    if ((role as { spec?: { maxActiveCredentials?: number } } | undefined)?.spec?.maxActiveCredentials === undefined) return;
    controller.enqueueMatching(s.credentials, (c) => isWaitingForQuota(c) && usesRole(c, kind, ref.name!, namespace));
  });

  // A role that appeared, went or changed its spec brings back its credentials; its status (the
  // live-user count, rewritten every few seconds while credentials come and go) does not, and a
  // relist re-delivers the credentials themselves.
  // A role that has just been checked (Ready turned True) lets its waiting credentials go on.
  const roleMatters = (e: InformerEvent<KubeObject>) => generationChanged(e) || conditionBecameTrue(e, 'Ready');
  s.roles.on((e) => {
    if (roleMatters(e)) {
      controller.enqueueMatching(s.credentials, (c) => usesRole(c, 'DatabaseRole', e.object.metadata.name, e.object.metadata.namespace));
    }
  });
  s.clusterRoles.on((e) => {
    if (roleMatters(e)) controller.enqueueMatching(s.credentials, (c) => usesRole(c, 'ClusterDatabaseRole', e.object.metadata.name));
  });

  // A namespace's labels decide whether cluster roles and servers allow it (allowedNamespaces
  // selectors): a change brings back the credentials waiting in it.
  s.namespaces.on((e) => {
    if (labelsChanged(e)) controller.enqueueMatching(s.credentials, (c) => c.metadata.namespace === e.object.metadata.name);
  });

  // A server whose spec changed (its address, say) may change what its credentials' Secrets say;
  // one that became Ready lets the credentials waiting on it go on at once. One that stopped being
  // Ready shows at once on the credentials whose users live there (not at their next renewal):
  // they say they cannot rotate, and why.
  for (const [servers, kind] of [
    [s.servers, 'DatabaseServer'],
    [s.clusterServers, 'ClusterDatabaseServer'],
  ] as const) {
    servers.on((e) => {
      const specChanged = e.type === 'upsert' && e.previous !== undefined && generationChanged(e);
      if (specChanged || conditionBecameTrue(e, 'Ready')) {
        controller.enqueueMatching(s.credentials);
        return;
      }
      if (!conditionBecameFalse(e, 'Ready')) return;
      const key = serverKey({ kind, name: e.object.metadata.name, namespace: e.object.metadata.namespace });
      controller.enqueueMatching(s.credentials, (c) => {
        const on = serverOfCredential(c);
        return on !== undefined && serverKey(on) === key;
      });
    });
  }
  return controller;
}
