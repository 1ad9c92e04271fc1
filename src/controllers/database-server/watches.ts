// What brings a server back to its controller: its own changes, and a credential on it starting or
// ceasing to have live users (the server's protection finalizers follow). Handlers only enqueue keys.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { hasLiveUsers, serverOfCredential } from './server-protection.ts';

/** watchServerSources wires the event sources of both server controllers onto them. */
export function watchServerSources(
  serverController: Controller,
  clusterServerController: Controller,
  s: { servers: Informer<KubeObject>; clusterServers: Informer<KubeObject>; credentials: Informer<KubeObject> },
): void {
  serverController.watch(s.servers);
  clusterServerController.watch(s.clusterServers);
  s.credentials.on((e) => {
    // Only a change of "has live users" matters: not every issuance re-checks its server.
    if (e.type === 'upsert' && hasLiveUsers(e.object) === (e.previous !== undefined && hasLiveUsers(e.previous))) return;
    const ref = serverOfCredential(e.object);
    if (!ref) return;
    if (ref.kind === 'ClusterDatabaseServer') clusterServerController.enqueue(ref.name);
    else serverController.enqueue(`${ref.namespace}/${ref.name}`);
  });
}
