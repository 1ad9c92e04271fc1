// What brings a server back to its controllers: its own changes to both (the health check and the
// protection), and a credential on it starting or ceasing to have live users to the protection only.
// Handlers only enqueue keys.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { hasLiveUsers, serverOfCredential } from './server-protection.ts';

/** The controllers of one server kind: its health check and its protection. */
export interface ServerControllers {
  check: Controller;
  protection: Controller;
}

/** watchServerSources wires the event sources of the server controllers onto them. */
export function watchServerSources(
  servers: ServerControllers,
  clusterServers: ServerControllers,
  s: { servers: Informer<KubeObject>; clusterServers: Informer<KubeObject>; credentials: Informer<KubeObject> },
): void {
  servers.check.watch(s.servers);
  servers.protection.watch(s.servers);
  clusterServers.check.watch(s.clusterServers);
  clusterServers.protection.watch(s.clusterServers);
  s.credentials.on((e) => {
    // Only a change of "has live users" matters: not every issuance re-checks its server.
    if (e.type === 'upsert' && hasLiveUsers(e.object) === (e.previous !== undefined && hasLiveUsers(e.previous))) return;
    const ref = serverOfCredential(e.object);
    if (!ref) return;
    if (ref.kind === 'ClusterDatabaseServer') clusterServers.protection.enqueue(ref.name);
    else servers.protection.enqueue(`${ref.namespace}/${ref.name}`);
  });
}
