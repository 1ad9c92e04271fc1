import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Informer } from '../../src/runtime/cache/informer.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { splitKey, type KubeObject } from '../../src/runtime/kube/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/util/clock.ts';
import { requireKube } from '../../harness/environment.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { waitFor } from '../../harness/processes.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };
const COUNT = 1000;

let ns: TestNamespace;
let client: KubeClient;
beforeAll(async () => {
  ns = await createTestNamespace('burst');
  client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
});
afterAll(async () => {
  await ns.cleanup();
});

/** runLimited runs tasks with at most `limit` in flight. */
async function runLimited(count: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('a controller under a burst', () => {
  it(`reconciles all of ${COUNT} objects created at once, one worker per key, each reconcile on the latest version`, async () => {
    const informer = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns.name,
      labelSelector: 'dbcred.io/test=burst',
      clock: systemClock,
      logger: silentLogger,
    });
    const processed = new Map<string, number[]>();
    const inFlight = new Set<string>();
    let overlaps = 0;
    const controller = new Controller({
      name: 'burst',
      clock: systemClock,
      logger: silentLogger,
      workers: 4,
      reconciler: {
        async reconcile(key) {
          if (inFlight.has(key)) overlaps++;
          inFlight.add(key);
          try {
            const cm = informer.get(key);
            if (!cm) return;
            const version = Number(cm.data?.['v']);
            processed.set(key, [...(processed.get(key) ?? []), version]);
            if (cm.metadata.annotations?.['seen-v'] === String(version)) return;
            await client.mergePatch(Resources.ConfigMap, splitKey(key).name, ns.name, {
              metadata: { annotations: { 'seen-v': String(version) } },
            });
          } finally {
            inFlight.delete(key);
          }
        },
      },
    }).watch(informer);
    informer.start();
    await informer.synced;
    controller.start();
    try {
      await runLimited(COUNT, 32, (i) =>
        client.create(Resources.ConfigMap, {
          metadata: { name: `cm-${i}`, namespace: ns.name, labels: { 'dbcred.io/test': 'burst' } },
          data: { v: '1', payload: 'x'.repeat(100) },
        }),
      );
      // A second wave changes a fifth of them while the first is still being reconciled.
      await runLimited(COUNT / 5, 32, (i) => client.mergePatch(Resources.ConfigMap, `cm-${i * 5}`, ns.name, { data: { v: '2' } }));

      await waitFor(
        'every ConfigMap to carry its latest version as seen',
        async () => {
          const { items } = await client.listAll<ConfigMap>(Resources.ConfigMap, {
            namespace: ns.name,
            labelSelector: 'dbcred.io/test=burst',
          });
          return items.length === COUNT && items.every((cm) => cm.metadata.annotations?.['seen-v'] === cm.data?.['v']);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );

      expect(overlaps).toBe(0);
      // Once a reconcile saw version 2 of an object, none saw version 1 again.
      for (const versions of processed.values()) {
        const firstTwo = versions.indexOf(2);
        if (firstTwo >= 0) expect(versions.slice(firstTwo).every((v) => v === 2)).toBe(true);
      }
      expect(informer.size()).toBe(COUNT);
    } finally {
      await controller.stop(5_000);
      await informer.stop();
    }
  }, 180_000);
});
