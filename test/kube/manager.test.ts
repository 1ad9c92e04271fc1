import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Informer } from '../../src/runtime/cache/informer.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createRuntimeMetrics, reconcileHooks } from '../../src/observability/metrics.ts';
import { systemClock } from '../../src/util/clock.ts';
import { requireKube } from '../../harness/environment.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { waitFor } from '../../harness/processes.ts';

let ns: TestNamespace;
let client: KubeClient;
beforeAll(async () => {
  ns = await createTestNamespace('manager');
  client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
});
afterAll(async () => {
  await ns.cleanup();
});

describe('the manager', () => {
  it('serves /healthz, reports ready only once caches are synced, exposes dbcred_ metrics, and stops cleanly', async () => {
    const metrics = createRuntimeMetrics();
    // One address for both: one server answers all three paths (the old --health-addr).
    const at = { host: '127.0.0.1', port: 0 };
    const manager = new Manager({ client, clock: systemClock, logger: silentLogger, metrics, health: at, metricsServer: at });
    const informer = manager.addInformer(
      new Informer<KubeObject>({ client, resource: Resources.ConfigMap, namespace: ns.name, clock: systemClock, logger: silentLogger }),
    );
    const seen: string[] = [];
    manager.addController(
      new Controller({
        name: 'configmaps',
        clock: systemClock,
        logger: silentLogger,
        hooks: reconcileHooks(metrics),
        mayReconcile: manager.mayReconcile,
        reconciler: { reconcile: (key) => Promise.resolve(void seen.push(key)) },
      }).watch(informer),
    );
    await manager.start();
    const base = `http://127.0.0.1:${manager.healthPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    await client.create(Resources.ConfigMap, { metadata: { name: 'watched', namespace: ns.name } });
    await waitFor('the ConfigMap to be reconciled', () => Promise.resolve(seen.includes(`${ns.name}/watched`)), { timeoutMs: 10_000 });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/dbcred_reconcile_total\{controller="configmaps",outcome="success"\} [1-9]/);
    expect(text).toContain('dbcred_informer_objects{resource="configmaps"}');

    await manager.stop();
    expect(await manager.exited).toBe('stopped');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('serves the probes and the metrics on their own ports when their addresses differ', async () => {
    const manager = new Manager({
      client,
      clock: systemClock,
      logger: silentLogger,
      metrics: createRuntimeMetrics(),
      health: { host: '127.0.0.1', port: 0 },
      metricsServer: { host: undefined, port: 0 },
    });
    await manager.start();
    const probes = `http://127.0.0.1:${manager.healthPort}`;
    const metrics = `http://127.0.0.1:${manager.metricsPort}`;
    expect(manager.metricsPort).not.toBe(manager.healthPort);
    expect((await fetch(`${probes}/readyz`)).status).toBe(200);
    expect((await fetch(`${probes}/metrics`)).status).toBe(404);
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);
    expect((await fetch(`${metrics}/healthz`)).status).toBe(404);
    await manager.stop();
  });

  it('gives up at once, saying what to do, when the Lease namespace does not exist', async () => {
    const manager = new Manager({
      client,
      clock: systemClock,
      logger: silentLogger,
      metrics: createRuntimeMetrics(),
      leaderElection: { namespace: `${ns.name}-missing`, name: 'dbcred-operator', identity: 'me' },
    });
    await manager.start();
    expect(await manager.exited).toBe('lease-namespace-missing');
    expect(manager.gaveUp).toContain(`the leader election namespace ${ns.name}-missing does not exist`);
    expect(manager.gaveUp).toContain('--leader-elect=false');
  });
});
