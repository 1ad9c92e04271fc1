// What brings a server back to its controllers: its own changes to all three (the health check, the
// protection and the admin rotation), a credential on it starting or ceasing to have live users
// to the protection only, and a change of a Secret it logs in with to the health check.
// Handlers only enqueue keys.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { digestOf } from '../../secrets/secret-digest.ts';
import { hasLiveUsers, secretsOfServer, serverOfCredential } from './server-protection.ts';

/** The controllers of one server kind: its health check, its protection and its admin rotation. */
export interface ServerControllers {
  check: Controller;
  protection: Controller;
  adminRotation: Controller;
}

/** watchServerSources wires the event sources of the server controllers onto them. */
export function watchServerSources(
  servers: ServerControllers,
  clusterServers: ServerControllers,
  s: {
    servers: Informer<KubeObject>;
    clusterServers: Informer<KubeObject>;
    credentials: Informer<KubeObject>;
    serverSecrets: Informer<KubeObject>;
  },
): void {
  for (const c of [servers.check, servers.protection, servers.adminRotation]) c.watch(s.servers);
  for (const c of [clusterServers.check, clusterServers.protection, clusterServers.adminRotation]) c.watch(s.clusterServers);
  s.credentials.on((e) => {
    // Only a change of "has live users" matters: not every issuance re-checks its server.
    if (e.type === 'upsert' && hasLiveUsers(e.object) === (e.previous !== undefined && hasLiveUsers(e.previous))) return;
    const ref = serverOfCredential(e.object);
    if (!ref) return;
    if (ref.kind === 'ClusterDatabaseServer') clusterServers.protection.enqueue(ref.name);
    else servers.protection.enqueue(`${ref.namespace}/${ref.name}`);
  });
  // A Secret a server logs in with whose data changed, or that was deleted, is checked at once
  // rather than at the next minute's check; a relist or a metadata change (our own finalizer) is not.
  s.serverSecrets.on((e) => {
    if (e.type === 'upsert' && e.sync) return;
    const hashOf = (o: KubeObject) => digestOf(o).dataHash;
    const changed = e.type === 'delete' || (e.previous !== undefined && hashOf(e.previous) !== hashOf(e.object));
    if (!changed) return;
    const { namespace, name } = e.object.metadata;
    const uses = (raw: KubeObject, kind: 'DatabaseServer' | 'ClusterDatabaseServer') =>
      secretsOfServer(raw, { kind, name: raw.metadata.name, namespace: raw.metadata.namespace }).some(
        (x) => x.namespace === namespace && x.name === name,
      );
    servers.check.enqueueMatching(s.servers, (raw) => uses(raw, 'DatabaseServer'));
    clusterServers.check.enqueueMatching(s.clusterServers, (raw) => uses(raw, 'ClusterDatabaseServer'));
  });
}
