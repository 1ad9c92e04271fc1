// The fallback for kubeconfig users DirectConnection cannot serve (exec and auth-provider plugins,
// basic auth, proxies): client-node authenticates, and its per-request dispatcher is built once per
// set of TLS credentials instead (client-node 2.0.1 builds a new one per call: a fresh TCP + TLS
// handshake each time, 9 ms instead of 3 ms per Secret create on our machine). Imported lazily.
import { createHash } from 'node:crypto';
import { KubeConfig, RequestContext, type Cluster } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import type { Connection } from './connection.ts';

type CreateDispatcher = (cluster: Cluster | null, agentOptions: object) => Dispatcher | undefined;

/** A KubeConfig whose dispatcher is built once per set of TLS credentials instead of once per request. */
class ReusingKubeConfig extends KubeConfig {
  private current: { key: string; dispatcher: Dispatcher | undefined } | undefined;

  constructor() {
    super();
    const build = (KubeConfig.prototype as unknown as { createDispatcher: CreateDispatcher }).createDispatcher;
    // createDispatcher is private in client-node's typings; shadowing it is the one seam it offers.
    (this as unknown as { createDispatcher: CreateDispatcher }).createDispatcher = (cluster, agentOptions) => {
      const key = createHash('sha256')
        .update(JSON.stringify(this.createDispatcherOptions(cluster, agentOptions)))
        .digest('hex');
      if (this.current?.key !== key) {
        const previous = this.current?.dispatcher;
        this.current = { key, dispatcher: build.call(this, cluster, agentOptions) };
        // Credentials rotated (e.g. a new client certificate): let in-flight requests finish on the old pool.
        void previous?.close().catch(() => undefined);
      }
      return this.current.dispatcher;
    };
  }

  /** dropConnections discards the pool after a network failure; a fresh dispatcher reconnects. */
  dropConnections(): void {
    const previous = this.current?.dispatcher;
    this.current = undefined;
    void previous?.destroy().catch(() => undefined);
  }
}

/** clientNodeConnection loads the kubeconfig files (merged, the first one's context) with client-node. */
export function clientNodeConnection(paths: string[]): Connection {
  const kc = new ReusingKubeConfig();
  kc.loadFromFile(paths[0]!);
  for (const path of paths.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(path);
    kc.mergeConfig(more, true);
  }
  const server = (kc.getCurrentCluster()?.server ?? '').replace(/\/$/, '');
  return {
    server,
    async authenticate() {
      const ctx = new RequestContext(server, 'GET');
      await kc.applySecurityAuthentication(ctx);
      return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
    },
    dropConnections: () => kc.dropConnections(),
    withToken: () => {
      throw new Error('withToken is not available with client-node authentication');
    },
  };
}
