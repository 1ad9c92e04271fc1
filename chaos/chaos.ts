// npm run chaos [-- --long]: random SIGKILLs of the operator process during continuous
// issue/rotate/delete traffic, with PostgreSQL restarts now and then; after every round the
// operator is restarted and, with the traffic still running, the invariant must hold again (operator-owned users == users named in
// status, every Secret logs in, nothing expired is current). Short: 10 rounds; long: 1,000.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbcredResources } from '../src/controllers/resources.ts';
import { REPO_ROOT } from '../test/harness/binaries.ts';
import { startOperatorProcess, type OperatorProcess } from '../test/harness/operator-process.ts';
import { useControlPlane } from '../test/harness/tool-stack.ts';
import { create, startLab } from '../test/integration/fixtures.ts';
import { violations } from '../test/integration/invariants.ts';

const long = process.argv.includes('--long');
const rounds = long ? 1000 : 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

const controlPlane = await useControlPlane();
const lab = await startLab('chaos');
const dir = await mkdtemp(join(tmpdir(), 'dbcred-chaos-'));

const counts = { rounds: 0, kills: 0, databaseRestarts: 0, created: 0, deleted: 0, violations: 0, convergeMs: [] as number[] };
const problems: string[] = [];
let serial = 0;
let traffic = true;
const live = new Set<string>();

// Traffic: keep ~20 credentials alive, short ttls so rotations happen, random deletions.
const generator = (async () => {
  while (traffic) {
    try {
      if (live.size < 20 || Math.random() < 0.3) {
        const name = `c-${serial++}`;
        const role = Math.random() < 0.5 ? 'pg-readers' : 'mysql-readers';
        await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: role }, ttl: '8s', rotation: { renewAtPercent: 50, overlap: '1s' } });
        live.add(name);
        counts.created++;
      } else {
        const name = [...live][Math.floor(Math.random() * live.size)]!;
        live.delete(name);
        await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name).catch(() => undefined);
        counts.deleted++;
      }
    } catch {
      // The apiserver is up throughout; a failed call is just traffic lost.
    }
    await sleep(random(20, 150));
  }
})();

let op: OperatorProcess = await startOperatorProcess({ namespace: lab.ns.name, dir, name: 'op-0' });
for (let round = 1; round <= rounds; round++) {
  await sleep(random(300, 3000));
  op.child.kill('SIGKILL');
  await op.exited;
  counts.kills++;
  if (round % 4 === 0) {
    const outage = await lab.postgres.interrupt!();
    await sleep(random(200, 1500));
    await outage.resume();
    counts.databaseRestarts++;
  }
  op = await startOperatorProcess({ namespace: lab.ns.name, dir, name: `op-${round}` });
  // The fresh operator must converge while the traffic goes on: the invariant must hold again.
  const started = Date.now();
  let last: string[] = [];
  const paused = new Promise<void>((resolve) => {
    const check = async () => {
      last = await violations(lab).catch((e: unknown) => [`check failed: ${(e as Error).message}`]);
      if (last.length === 0 || Date.now() - started > 45_000) resolve();
      else setTimeout(() => void check(), 250);
    };
    void check();
  });
  await paused;
  counts.rounds++;
  counts.convergeMs.push(Date.now() - started);
  if (last.length > 0) {
    counts.violations += last.length;
    problems.push(`round ${round}: ${last.join('; ')}`);
  }
  console.log(`round ${round}/${rounds}: killed, ${counts.databaseRestarts} db restarts so far, converged in ${Date.now() - started} ms, ${last.length} violation(s)`);
}
traffic = false;
await generator;
await op.stop();

const result = { mode: long ? 'long' : 'short', ...counts, problems, finishedAt: new Date().toISOString() };
const out = join(REPO_ROOT, 'chaos-results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
await lab.cleanup().catch(() => undefined);
await rm(dir, { recursive: true, force: true });
await controlPlane.stop();
console.log(`chaos: ${counts.rounds} rounds, ${counts.kills} kills, ${counts.databaseRestarts} database restarts, ${counts.created} created, ${counts.deleted} deleted, ${counts.violations} violations (chaos-results/latest.json)`);
process.exit(counts.violations === 0 ? 0 : 1);
