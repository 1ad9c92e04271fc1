// /healthz (the process serves), /readyz (caches synced and connected, i.e. safe to route to), and
// /metrics: a small HTTP server serving the probes, the metrics, or both (when their addresses match).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
  serve: { probes: boolean; metrics: boolean };
  registry: Registry;
  /** Returns the reasons the process is not ready; empty when ready. */
  notReadyReasons: () => string[];
}

/** startHealthServer listens and resolves with the server and its bound port; paths it does not serve are 404. */
export async function startHealthServer(options: HealthServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (options.serve.probes && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (options.serve.probes && path === '/readyz') {
      const reasons = options.notReadyReasons();
      res
        .writeHead(reasons.length === 0 ? 200 : 503, { 'content-type': 'text/plain' })
        .end(reasons.length === 0 ? 'ok\n' : reasons.join('\n') + '\n');
    } else if (options.serve.metrics && path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
