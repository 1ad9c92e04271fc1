// What brings a DatabaseStaticCredential back to its controller. Handlers only enqueue keys.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { generationChanged, labelsChanged } from '../../runtime/predicates.ts';

export interface StaticCredentialSources {
  staticCredentials: Informer<KubeObject>;
  secrets: Informer<KubeObject>;
  namespaces: Informer<KubeObject>;
  servers: Informer<KubeObject>;
  clusterServers: Informer<KubeObject>;
}

/** watchStaticCredentialSources wires every event source of the static-credential controller onto it. */
export function watchStaticCredentialSources(controller: Controller, s: StaticCredentialSources): Controller {
  controller.watch(s.staticCredentials).watchOwned(s.secrets, 'DatabaseStaticCredential');
  // A namespace's labels decide whether cluster servers allow it.
  s.namespaces.on((e) => {
    if (labelsChanged(e)) controller.enqueueMatching(s.staticCredentials, (c) => c.metadata.namespace === e.object.metadata.name);
  });
  // A server whose spec changed (its address, say) may change what the Secrets say.
  for (const servers of [s.servers, s.clusterServers]) {
    servers.on((e) => {
      if (e.type === 'upsert' && e.previous !== undefined && generationChanged(e)) controller.enqueueMatching(s.staticCredentials);
    });
  }
  return controller;
}
