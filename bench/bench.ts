// npm run bench [-- --long]: issuance latency against the floor, a burst, sustained throughput,
// revocation lag (a burst of expiries) and bulk revocation, on both engines, with the operator
// in-process against the local stack (started if none runs) and private database servers.
// Prints a table and writes JSON to bench-results/<time>.json and bench-results/latest.json.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DbcredResources } from '../src/controllers/resources.ts';
import { builtinEngines } from '../src/engines/registry.ts';
import { generatePassword } from '../src/engines/password.ts';
import { usernameFor } from '../src/engines/username.ts';
import { Resources } from '../src/runtime/kube/resources.ts';
import type { KubeObject } from '../src/runtime/kube/types.ts';
import type { DatabaseCredentialStatus } from '../src/api/v1alpha1/index.ts';
import { REPO_ROOT } from '../test/harness/binaries.ts';
import { startOperator } from '../test/harness/operator.ts';
import { useControlPlane } from '../test/harness/tool-stack.ts';
import { create, startLab, type Lab } from '../test/integration/fixtures.ts';
import { distribution, figure, table, type Figure } from './stats.ts';

const long = process.argv.includes('--long');
const config = long
  ? { floorN: 200, rate: 20, rateN: 400, burst: 100, sustainSeconds: 600, expiryBurst: 1000 }
  : { floorN: 50, rate: 20, rateN: 100, burst: 100, sustainSeconds: 5, expiryBurst: 200 };
const SUSTAIN_RATE = { postgres: 150, mysql: 80 } as const;
const ENGINES = [['postgres', 'pg-readers', 'pg'], ['mysql', 'mysql-readers', 'mysql']] as const;

type Cred = KubeObject & { status?: DatabaseCredentialStatus };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The stack: the one started by hand, or our own for this run.
const controlPlane = await useControlPlane();
const lab: Lab = await startLab('bench');
for (const [, , server] of ENGINES) await lab.client.mergePatch(DbcredResources.DatabaseServer, server, lab.ns.name, { spec: { maxConnections: 20 } });
// The production sweep interval: a test's 2 s sweep would compete with the load being measured.
const op = await startOperator(lab.ns.name, { workers: '32', 'sweep-schedule': '*/30 * * * * *' });

// Ready times, as a watch sees them.
const readyAt = new Map<string, number>();
const waiters = new Map<string, () => void>();
const watchStop = new AbortController();
void (async () => {
  while (!watchStop.signal.aborted) {
    try {
      const { resourceVersion } = await lab.client.listAll(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
      for await (const e of lab.client.watch<Cred>(DbcredResources.DatabaseCredential, { namespace: lab.ns.name, resourceVersion }, watchStop.signal)) {
        const name = e.object.metadata.name;
        if (!readyAt.has(name) && e.object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
          readyAt.set(name, performance.now());
          waiters.get(name)?.();
        }
      }
    } catch {
      await sleep(100);
    }
  }
})();

/** issue creates a credential and resolves with create → Ready in ms (or undefined after 30 s). */
async function issue(name: string, role: string, spec: Record<string, unknown> = {}): Promise<number | undefined> {
  const seen = new Promise<void>((resolve) => waiters.set(name, resolve));
  const started = performance.now();
  try {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: role }, ...spec });
  } catch {
    return undefined;
  }
  const timedOut = await Promise.race([seen.then(() => false), sleep(30_000).then(() => true)]);
  return timedOut ? undefined : readyAt.get(name)! - started;
}

async function atRate<T>(count: number, perSecond: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const start = performance.now();
  const all: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    all.push(task(i));
  }
  return Promise.all(all);
}

const figures: Figure[] = [];
const results: Record<string, unknown> = { mode: long ? 'long' : 'short', startedAt: new Date().toISOString(), config };
for (const [engineName, role] of ENGINES) {
  const r: Record<string, unknown> = {};
  // The floor: what issuing costs without the operator (create + verify + a direct Secret create).
  const server = lab[engineName === 'postgres' ? 'postgres' : 'mariadb'].info;
  const engine = builtinEngines().create(engineName, {
    host: server.host, port: server.port, database: 'app', admin: { username: server.admin.user, password: server.admin.password },
    tls: { mode: 'disable' }, maxConnections: 5,
  }, { scramIterations: 16 });
  const floor: number[] = [];
  for (let i = 0; i < config.floorN; i++) {
    const username = usernameFor({ credentialUid: randomUUID(), serial: 1 }, engine.maxUsernameLength);
    const password = generatePassword({ length: 32, alphabet: 'alphanumeric' });
    const t0 = performance.now();
    await engine.createUser({ username, password, expiresAt: new Date(Date.now() + 3_600_000), policy: { memberOf: ['app_readers'] } });
    await engine.verifyLogin({ username, password });
    await lab.client.create(Resources.Secret, { metadata: { name: `floor-${engineName}-${i}`, namespace: lab.ns.name }, stringData: { username, password } });
    floor.push(performance.now() - t0);
    await engine.revokeUser(username, {});
  }
  await engine.close();
  const floorD = distribution(floor);

  const latencies = (await atRate(config.rateN, config.rate, (i) => issue(`${engineName}-rate-${i}`, role))).filter((x): x is number => x !== undefined);
  const issuance = distribution(latencies);
    const burst = await Promise.all(Array.from({ length: config.burst }, (_, i) => issue(`${engineName}-burst-${i}`, role)));
  const burstMs = Math.max(...burst.map((x) => x ?? 30_000));

  const sustainRate = SUSTAIN_RATE[engineName];
  const sustainCount = sustainRate * config.sustainSeconds;
  const t0 = performance.now();
  const sustained = await atRate(sustainCount, sustainRate, (i) => issue(`${engineName}-s-${i}`, role));
  const sustainMs = performance.now() - t0;
  const ok = sustained.filter((x) => x !== undefined).length;
  const achieved = (ok * 1000) / sustainMs;

  // A burst of expiries: issued together with a short ttl, rotation off; lag from the audit trail.
  const expiring = Array.from({ length: config.expiryBurst }, (_, i) => `${engineName}-exp-${i}`);
  await Promise.all(expiring.map((name) => issue(name, role, { ttl: '20s', rotation: { enabled: false, overlap: '0s' } })));
  const audit = () => op.audit.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; time: string; object: { name: string }; message: string });
  const expiresAt = new Map<string, number>();
  for (const rec of audit()) if (rec.action === 'issue' && rec.object.name.startsWith(`${engineName}-exp-`)) expiresAt.set(rec.object.name, Date.parse(/until (\S+)$/.exec(rec.message)![1]!));
  const lastExpiry = Math.max(...expiresAt.values());
  while (Date.now() < lastExpiry + 10_000 && audit().filter((r) => r.action === 'expire' && r.object.name.startsWith(`${engineName}-exp-`)).length < expiring.length) await sleep(200);
  const revokedAt = new Map(audit().filter((rec) => rec.action === 'revoke' && rec.object.name.startsWith(`${engineName}-exp-`)).map((rec) => [rec.object.name, Date.parse(rec.time)]));
  const lags = [...expiresAt].filter(([n]) => revokedAt.has(n)).map(([n, e]) => revokedAt.get(n)! - e);
  const lag = distribution(lags);
  const cleared = Math.max(...revokedAt.values()) - lastExpiry;

  r['floor'] = floorD;
  r['issuance'] = issuance;
  r['burst'] = { count: config.burst, allReadyMs: Math.round(burstMs), failed: burst.filter((x) => x === undefined).length };
  r['sustained'] = { targetPerSecond: sustainRate, seconds: config.sustainSeconds, issued: ok, errors: sustainCount - ok, achievedPerSecond: Math.round(achieved) };
  r['revocationLag'] = { ...lag, revoked: revokedAt.size, expected: expiring.length, clearedAfterLastExpiryMs: cleared };
  results[engineName] = r;
  figures.push(
    figure(`${engineName} floor p50 (create+verify+Secret)`, floorD.p50, 'ms'),
    figure(`${engineName} issuance p50 at ${config.rate}/s`, issuance.p50, 'ms', { op: '<=', value: Math.round(floorD.p50 * 1.5 * 10) / 10 }),
    figure(`${engineName} issuance p99 at ${config.rate}/s`, issuance.p99, 'ms', { op: '<=', value: 100 }),
    figure(`${engineName} issuance / floor (p50)`, issuance.p50 / floorD.p50, 'x', { op: '<=', value: 1.5 }),
    figure(`${engineName} ${config.burst} at once, all Ready`, burstMs, 'ms', { op: '<=', value: 1000 }),
    figure(`${engineName} sustained (${config.sustainSeconds}s at ${sustainRate}/s)`, achieved, '/s', { op: '>=', value: sustainRate }),
    figure(`${engineName} sustained errors`, sustainCount - ok, '', { op: '<=', value: 0 }),
    figure(`${engineName} revocation lag p50`, lag.p50, 'ms'),
    figure(`${engineName} revocation lag p99`, lag.p99, 'ms', { op: '<=', value: 500 }),
    figure(`${engineName} ${config.expiryBurst} expiries cleared after the last`, cleared, 'ms', { op: '<=', value: 5000 }),
  );
}

// Bulk revocation: delete everything; the finalizers revoke each user.
const { items } = await lab.client.listAll<Cred>(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
const live = items.filter((c) => c.status?.current).length;
const delStart = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < items.length) {
    const c = items[next++]!;
    await lab.client.delete(DbcredResources.DatabaseCredential, c.metadata.name, lab.ns.name).catch(() => undefined);
  }
}));
while ((await lab.client.list(DbcredResources.DatabaseCredential, { namespace: lab.ns.name, limit: 1 })).items.length > 0) await sleep(100);
const bulkRate = (live * 1000) / (performance.now() - delStart);
results['bulkRevocation'] = { credentials: items.length, liveUsers: live, perSecond: Math.round(bulkRate) };
figures.push(figure(`bulk revocation (${live} live users)`, bulkRate, '/s'));

results['figures'] = figures;
results['finishedAt'] = new Date().toISOString();
watchStop.abort();
await op.stop();
await lab.cleanup();
await controlPlane.stop();

const dir = join(REPO_ROOT, 'bench-results');
await mkdir(dir, { recursive: true });
const json = JSON.stringify(results, null, 2) + '\n';
await writeFile(join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), json);
await writeFile(join(dir, 'latest.json'), json);
console.log(table(figures));
console.log(`\nresults: bench-results/latest.json (${figures.filter((f) => f.pass === false).length} target(s) missed)`);
process.exit(0);
