import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Informer } from '../../src/runtime/cache/informer.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/util/clock.ts';
import { CACHE_DIR } from '../../harness/stack.ts';
import { startControlPlane, type ControlPlane } from '../../harness/control-plane.ts';
import { compactEtcd } from '../../harness/etcd.ts';
import { waitFor } from '../../harness/processes.ts';
import { startTcpProxy, type TcpProxy } from '../../harness/tcp-proxy.ts';

// These tests restart and cut off an apiserver, so they run their own private control plane
// (with the watch cache off, so a compacted resourceVersion reaches the client as 410 Gone).

let cp: ControlPlane;
let proxy: TcpProxy;
let direct: KubeClient;
let viaProxy: KubeClient;

beforeAll(async () => {
  const dir = await mkdtemp(join(CACHE_DIR, 'run', 'private-'));
  cp = await startControlPlane({ dir, apiserverFlags: ['--watch-cache=false'] });
  direct = KubeClient.fromKubeconfigFile(cp.kubeconfig);
  const port = Number(new URL(cp.server).port);
  proxy = await startTcpProxy('127.0.0.1', port);
  const proxied = join(dir, 'proxied.kubeconfig');
  await writeFile(proxied, (await readFile(cp.kubeconfig, 'utf8')).replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`));
  viaProxy = KubeClient.fromKubeconfigFile(proxied);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await cp?.stop();
  if (cp) await rm(cp.dir, { recursive: true, force: true });
});

type ConfigMap = KubeObject & { data?: Record<string, string> };

async function namespace(name: string): Promise<string> {
  await direct.create(Resources.Namespace, { metadata: { name } });
  return name;
}

function configMapInformer(client: KubeClient, ns: string) {
  const informer = new Informer<ConfigMap>({
    client,
    resource: Resources.ConfigMap,
    namespace: ns,
    clock: systemClock,
    logger: silentLogger,
    watchdogMs: 30_000,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  const syncedKeys: string[] = [];
  informer.on((e) => {
    if (e.type === 'upsert' && e.sync) syncedKeys.push(e.object.metadata.name);
  });
  return { informer, syncedKeys };
}

/** The informer's view equals the API's: same names, same resourceVersions. */
async function cacheMatchesApi(informer: Informer<ConfigMap>, ns: string): Promise<boolean> {
  const { items } = await direct.listAll<ConfigMap>(Resources.ConfigMap, { namespace: ns });
  const api = items.map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}`).sort();
  const cache = informer
    .list()
    .map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}`)
    .sort();
  return JSON.stringify(api) === JSON.stringify(cache);
}

async function churn(ns: string, prefix: string): Promise<void> {
  for (let i = 0; i < 5; i++)
    await direct.create(Resources.ConfigMap, { metadata: { name: `${prefix}-${i}`, namespace: ns }, data: { v: '1' } });
  for (let i = 0; i < 3; i++) await direct.mergePatch(Resources.ConfigMap, `seed-${i}`, ns, { data: { v: prefix } });
  for (let i = 3; i < 5; i++) await direct.delete(Resources.ConfigMap, `seed-${i}`, ns);
}

describe('the informer', () => {
  it('keeps its cache complete across a kube-apiserver restart, and re-delivers every key after reconnecting', async () => {
    const ns = await namespace('restart');
    for (let i = 0; i < 10; i++)
      await direct.create(Resources.ConfigMap, { metadata: { name: `seed-${i}`, namespace: ns }, data: { v: '0' } });
    const { informer, syncedKeys } = configMapInformer(direct, ns);
    informer.start();
    try {
      await informer.synced;
      expect(await cacheMatchesApi(informer, ns)).toBe(true);
      syncedKeys.length = 0;

      await cp.restartApiserver();
      await churn(ns, 'after-restart');

      await waitFor('the cache to match the API after the restart', () => cacheMatchesApi(informer, ns), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(informer.stats.failures).toBeGreaterThanOrEqual(1);
      // Every key that existed when the watch came back was delivered again (level-based), not only the changed ones.
      expect(informer.stats.resyncs + informer.stats.gone).toBeGreaterThanOrEqual(1);
      for (let i = 0; i < 10; i++) expect(syncedKeys).toContain(`seed-${i}`);
    } finally {
      await informer.stop();
    }
  });

  it('relists after 410 Gone (its resourceVersion compacted away) and misses no change made while it was cut off', async () => {
    const ns = await namespace('gone');
    for (let i = 0; i < 10; i++)
      await direct.create(Resources.ConfigMap, { metadata: { name: `seed-${i}`, namespace: ns }, data: { v: '0' } });
    const { informer } = configMapInformer(viaProxy, ns);
    informer.start();
    try {
      await informer.synced;
      const listsBefore = informer.stats.lists;

      proxy.cut();
      await churn(ns, 'while-cut');
      await compactEtcd(cp.etcdEndpoint);
      proxy.restore();

      await waitFor('the cache to match the API after the 410', () => cacheMatchesApi(informer, ns), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(informer.stats.gone).toBeGreaterThanOrEqual(1);
      expect(informer.stats.lists).toBeGreaterThan(listsBefore);
      expect(informer.get(`${ns}/seed-0`)?.data).toEqual({ v: 'while-cut' });
      expect(informer.get(`${ns}/seed-4`)).toBeUndefined();
    } finally {
      await informer.stop();
    }
  });

  it('restarts a watch that went silent (the watchdog)', async () => {
    const ns = await namespace('silent');
    const informer = new Informer<ConfigMap>({
      client: viaProxy,
      resource: Resources.ConfigMap,
      namespace: ns,
      clock: systemClock,
      logger: silentLogger,
      watchdogMs: 1_000,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    informer.start();
    try {
      await informer.synced;
      proxy.freeze(); // the connection stays open but nothing arrives: no error, no event
      await direct.create(Resources.ConfigMap, { metadata: { name: 'during-silence', namespace: ns } });
      await waitFor('the watchdog to fire', () => Promise.resolve(informer.stats.watchdogRestarts >= 1), { timeoutMs: 10_000 });
      proxy.restore();
      await waitFor('the missed object to arrive', () => Promise.resolve(informer.get(`${ns}/during-silence`) !== undefined), {
        timeoutMs: 10_000,
      });
    } finally {
      proxy.restore();
      await informer.stop();
    }
  });
});
