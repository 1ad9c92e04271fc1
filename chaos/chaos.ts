// npm run chaos [-- --long]: faults during continuous issue/rotate/delete traffic, on a control
// plane of its own. Each round is one of: a SIGKILL of the operator process (every 4th with a
// PostgreSQL restart while it is down; every 3rd restarting it on a clock skewed by up to ±4 s),
// or a kube-apiserver restart under the running operator (every 5th). After every round, with the
// traffic still running, the invariant must hold again: operator-owned users == users named in
// status, every Secret logs in, nothing expired is current. Short: 10 rounds; long: 1,000; or --rounds=N.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import { REPO_ROOT } from '../harness/binaries.ts';
import { startOperatorProcess, type OperatorProcess } from '../harness/operator-process.ts';
import { privateControlPlane } from '../harness/tool-stack.ts';
import { create, startLab } from '../harness/lab.ts';
import { violations } from '../harness/invariants.ts';

const long = process.argv.includes('--long');
const roundsFlag = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsFlag ? Number(roundsFlag.slice('--rounds='.length)) : long ? 1000 : 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

const controlPlane = await privateControlPlane();
const lab = await startLab('chaos');
const dir = await mkdtemp(join(tmpdir(), 'dbcred-chaos-'));
// An unexpected crash of this process must not leave its control plane, databases and operator
// running (they would load the machine for whatever runs next).
let op: OperatorProcess | undefined;
const abandon = async (error: unknown) => {
  console.error('chaos: crashed; stopping what it started', error);
  op?.child.kill('SIGKILL');
  spawnSync('pkill', ['-KILL', '-f', dir]); // an operator still starting is not in `op` yet; its flags name dir
  await lab.cleanup().catch(() => undefined);
  await controlPlane.stop().catch(() => undefined);
  spawnSync('pkill', ['-KILL', '-f', dir]); // and one the rounds started meanwhile
  await rm(dir, { recursive: true, force: true });
  process.exit(2);
};
process.on('uncaughtException', (error) => void abandon(error));
process.on('unhandledRejection', (error) => void abandon(error));
const out = join(REPO_ROOT, 'chaos-results');

const counts = {
  rounds: 0,
  kills: 0,
  databaseRestarts: 0,
  apiserverRestarts: 0,
  skewedOperators: 0,
  created: 0,
  deleted: 0,
  violations: 0,
  convergeMs: [] as number[],
};

// A skewed clock for the operator process only (libfaketime; monotonic time is left alone so
// timers still fire on time): its expiries and renewals are then computed from a wrong "now".
const fakeTimeLib = readdirSync('/usr/lib')
  .map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`)
  .find((lib) => existsSync(lib));
if (!fakeTimeLib) throw new Error('libfaketime is missing: run scripts/setup-system.sh');
const skewed = (seconds: number): NodeJS.ProcessEnv => ({
  LD_PRELOAD: fakeTimeLib,
  FAKETIME: `${seconds >= 0 ? '+' : ''}${seconds.toFixed(1)}s`,
  FAKETIME_DONT_FAKE_MONOTONIC: '1',
  FAKETIME_NO_CACHE: '1',
});
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
        await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
          roleRef: { name: role },
          ttl: '8s',
          rotation: { renewAtPercent: 50, overlap: '1s' },
        });
        live.add(name);
        counts.created++;
      } else {
        const name = [...live][Math.floor(Math.random() * live.size)]!;
        live.delete(name);
        await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name).catch(() => undefined);
        counts.deleted++;
      }
    } catch {
      // During an apiserver restart calls fail: that is just traffic lost.
    }
    await sleep(random(20, 150));
  }
})();

op = await startOperatorProcess({ namespace: lab.ns.name, dir, name: 'op-0' });
for (let round = 1; round <= rounds; round++) {
  await sleep(random(300, 3000));
  let fault: string;
  if (round % 5 === 0) {
    // The operator keeps running: its watches break, its writes fail, and it must pick up again.
    await controlPlane.restartApiserver();
    counts.apiserverRestarts++;
    fault = 'apiserver restarted';
  } else {
    op.child.kill('SIGKILL');
    await op.exited;
    counts.kills++;
    fault = 'operator killed';
    if (round % 4 === 0) {
      const outage = await lab.postgres.interrupt!();
      await sleep(random(200, 1500));
      await outage.resume();
      counts.databaseRestarts++;
      fault += ', PostgreSQL restarted';
    }
    const skew = round % 3 === 0 ? random(-4, 4) : 0;
    if (skew !== 0) {
      counts.skewedOperators++;
      fault += `, restarted ${skew.toFixed(1)} s off`;
    }
    op = await startOperatorProcess({ namespace: lab.ns.name, dir, name: `op-${round}`, env: skew !== 0 ? skewed(skew) : {} });
  }
  // The fresh operator must converge while the traffic goes on: the invariant must hold again.
  const started = Date.now();
  let last: string[] = [];
  let reportedSlow = false;
  const paused = new Promise<void>((resolve) => {
    const check = async () => {
      last = await violations(lab).catch((e: unknown) => [`check failed: ${(e as Error).message}`]);
      if (!reportedSlow && last.length > 0 && Date.now() - started > 10_000) {
        // Not a failure yet, but what a slow convergence waits for is the lead to its cause.
        reportedSlow = true;
        console.log(`round ${round}: still converging after 10 s: ${last.join('; ')}`);
      }
      if (last.length === 0 || Date.now() - started > 45_000) resolve();
      else setTimeout(() => void check(), 250);
    };
    void check();
  });
  await paused;
  if (reportedSlow) {
    const kept = join(out, `slow-round-${round}.log`);
    await mkdir(out, { recursive: true });
    await copyFile(op.logFile, kept);
    console.log(`round ${round}: the operator's log is kept in ${kept}`);
  }
  counts.rounds++;
  counts.convergeMs.push(Date.now() - started);
  if (last.length > 0) {
    counts.violations += last.length;
    problems.push(`round ${round}: ${last.join('; ')}`);
  }
  console.log(`round ${round}/${rounds}: ${fault}; converged in ${Date.now() - started} ms, ${last.length} violation(s)`);
}
traffic = false;
await generator;
await op.stop();

const result = { mode: long ? 'long' : roundsFlag ? 'rounds' : 'short', ...counts, problems, finishedAt: new Date().toISOString() };
await mkdir(out, { recursive: true });
await writeFile(join(out, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
await lab.cleanup().catch(() => undefined);
await rm(dir, { recursive: true, force: true });
await controlPlane.stop();
console.log(
  `chaos: ${counts.rounds} rounds, ${counts.kills} kills, ${counts.databaseRestarts} database restarts, ${counts.apiserverRestarts} apiserver restarts, ${counts.skewedOperators} skewed operators, ${counts.created} created, ${counts.deleted} deleted, ${counts.violations} violations (chaos-results/latest.json)`,
);
process.exit(counts.violations === 0 ? 0 : 1);
