// Measures issuance latency (DatabaseCredential created → Ready with its Secret written, seen by a
// watch) and revocation lag after expiry (expiresAt → user revoked, from the audit records), on
// both engines, with the operator in-process against the local stack (or its own) and
// private database servers. Usage: node scripts/measure-lifecycle.ts [count=200]
import { useControlPlane } from '../harness/tool-stack.ts';
import { startOperator } from '../harness/operator.ts';
import { create, startLab } from '../harness/lab.ts';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import type { KubeObject } from '../src/runtime/kube/types.ts';
import type { DatabaseCredentialStatus } from '../src/api/v1alpha1/index.ts';

const count = Number(process.argv[2] ?? 200);
const controlPlane = await useControlPlane();
const lab = await startLab('measure');
const op = await startOperator(lab.ns.name, { workers: '16' });

const readyAt = new Map<string, number>();
const waiters = new Map<string, () => void>();
const watchAbort = new AbortController();
void (async () => {
  for (;;) {
    try {
      const { resourceVersion } = await lab.client.listAll(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
      for await (const e of lab.client.watch<KubeObject & { status?: DatabaseCredentialStatus }>(
        DbcredResources.DatabaseCredential,
        { namespace: lab.ns.name, resourceVersion },
        watchAbort.signal,
      )) {
        const ready = e.object.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
        if (ready && !readyAt.has(e.object.metadata.name)) {
          readyAt.set(e.object.metadata.name, performance.now());
          waiters.get(e.object.metadata.name)?.();
        }
      }
    } catch {
      if (watchAbort.signal.aborted) return;
    }
  }
})();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const results: Record<string, unknown> = {};
for (const [engine, role] of [
  ['postgres', 'pg-readers'],
  ['mysql', 'mysql-readers'],
] as const) {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${engine}-${i}`;
    const started = performance.now();
    const seen = new Promise<void>((resolve) => waiters.set(name, resolve));
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: role } });
    await seen;
    latencies.push(readyAt.get(name)! - started);
  }
  const expiring: string[] = [];
  for (let i = 0; i < 50; i++) {
    const name = `${engine}-exp-${i}`;
    expiring.push(name);
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: role },
      ttl: '3s',
      rotation: { enabled: false, overlap: '0s' },
    });
  }
  await new Promise((r) => setTimeout(r, 6_000));
  const lags: number[] = [];
  const records = op.audit
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { action: string; time: string; object: { name: string }; message: string });
  for (const name of expiring) {
    // The issue record says "until <expiresAt>"; the revoke record's time is when the user was gone.
    const issued = records.find((r) => r.action === 'issue' && r.object.name === name);
    const revoked = records.find((r) => r.action === 'revoke' && r.object.name === name);
    const expiresAt = issued ? /until (\S+)$/.exec(issued.message)?.[1] : undefined;
    if (revoked && expiresAt) lags.push(Date.parse(revoked.time) - Date.parse(expiresAt));
  }
  results[engine] = {
    issuance: { n: latencies.length, p50: pct(latencies, 50).toFixed(1), p99: pct(latencies, 99).toFixed(1) },
    revocationLag: { n: lags.length, p50: pct(lags, 50), p99: pct(lags, 99) },
  };
}
console.log(JSON.stringify(results, null, 2));
watchAbort.abort();
await op.stop();
await lab.cleanup();
await controlPlane.stop();
process.exit(0);
