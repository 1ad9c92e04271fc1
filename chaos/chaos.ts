// npm run chaos [-- --long]: faults during continuous issue/rotate/delete traffic, on a control
// plane of its own, against what users run: two operator processes with leader election on. Each
// round is one of, in turn: a SIGKILL of the leader (every other one with a PostgreSQL restart
// while it is down; every third replacement on a clock skewed by up to ±4 s), the leader frozen
// (SIGSTOP) past its lease so the other takes over, then resumed, the lease handed over mid-traffic
// (SIGTERM of the leader), a SIGKILL of the follower, or a kube-apiserver restart under both. A
// replica that is gone is replaced. After every round, with the traffic still running, the
// invariant must hold again: operator-owned users == users named in status, every Secret logs in,
// nothing expired is current. Short: 10 rounds; long: 1,000; or --rounds=N. Traffic: --live=N
// credentials kept alive (default 20) and --ops-per-second=N creations/deletions (default 12).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import { Resources } from '../src/runtime/kube/builtin-resources.ts';
import { isNotFound } from '../src/runtime/kube/errors.ts';
import type { KubeObject } from '../src/runtime/kube/types.ts';
import { REPO_ROOT } from '../harness/binaries.ts';
import { startOperatorProcess, type OperatorProcess } from '../harness/operator-process.ts';
import { privateControlPlane } from '../harness/tool-stack.ts';
import { create, startLab } from '../harness/lab.ts';
import { violations } from '../harness/invariants.ts';

const long = process.argv.includes('--long');
const roundsFlag = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsFlag ? Number(roundsFlag.slice('--rounds='.length)) : long ? 1000 : 10;
const numberFlag = (name: string, fallback: number) => {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = flag ? Number(flag.slice(name.length + 3)) : fallback;
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`);
  return value;
};
// The traffic, scalable to what the machine can carry (docs/benchmarks.md, Chaos): credentials
// kept alive (each rotates every 4 s) and creations or deletions a second beside them.
const liveTarget = numberFlag('live', 20);
const opsPerSecond = numberFlag('ops-per-second', 12);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

const dir = await mkdtemp(join(tmpdir(), 'dbcred-chaos-'));
// An unexpected crash of this process, or a failed start, must not leave its control plane,
// databases and operators running (they would load the machine for whatever runs next).
const replicas = new Map<string, OperatorProcess>();
const startedParts: { controlPlane?: Awaited<ReturnType<typeof privateControlPlane>>; lab?: Awaited<ReturnType<typeof startLab>> } = {};
const abandon = async (error: unknown, why = 'crashed') => {
  if (error === undefined) console.error(`chaos: ${why}; stopping what it started`);
  else console.error(`chaos: ${why}; stopping what it started`, error);
  for (const r of replicas.values()) r.child.kill('SIGKILL');
  spawnSync('pkill', ['-KILL', '-f', dir]); // an operator still starting is not in `replicas` yet; its flags name dir
  await startedParts.lab?.cleanup().catch(() => undefined);
  await startedParts.controlPlane?.stop().catch(() => undefined);
  spawnSync('pkill', ['-KILL', '-f', dir]); // and one the rounds started meanwhile
  await rm(dir, { recursive: true, force: true });
  process.exit(2);
};
process.on('uncaughtException', (error) => void abandon(error));
process.on('unhandledRejection', (error) => void abandon(error));
process.on('SIGINT', () => void abandon(undefined, 'interrupted (SIGINT)'));
process.on('SIGTERM', () => void abandon(undefined, 'stopped (SIGTERM)'));
const controlPlane = (startedParts.controlPlane = await privateControlPlane().catch(abandon));
const lab = (startedParts.lab = await startLab('chaos').catch(abandon));
const out = join(REPO_ROOT, 'chaos-results');

const counts = {
  rounds: 0,
  kills: 0,
  followerKills: 0,
  pauses: 0,
  handovers: 0,
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

// Traffic: keep ~liveTarget credentials alive, short ttls so rotations happen, random deletions.
const generator = (async () => {
  while (traffic) {
    // During an apiserver restart calls fail, some after the apiserver acted: a name stays in `live`
    // until a deletion of it succeeds (or finds nothing), so no credential is left behind to rotate
    // forever. (Before 2026-12-03 such credentials piled up: the load grew with every apiserver
    // restart, and so did the convergence of every long run.)
    if (live.size < liveTarget || Math.random() < 0.3) {
      const name = `c-${serial++}`;
      const role = Math.random() < 0.5 ? 'pg-readers' : 'mysql-readers';
      live.add(name);
      await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
        roleRef: { name: role },
        ttl: '8s',
        rotation: { renewAtPercent: 50, overlap: '1s' },
      }).then(
        () => counts.created++,
        () => undefined,
      );
    } else {
      const name = [...live][Math.floor(Math.random() * live.size)]!;
      await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name).then(
        () => {
          live.delete(name);
          counts.deleted++;
        },
        (error: unknown) => {
          if (isNotFound(error)) live.delete(name);
        },
      );
    }
    // Evenly around the asked rate (12 a second: 20–150 ms apart, as the runs before 2026-12-03 had it).
    const meanMs = 1000 / opsPerSecond;
    await sleep(random(meanMs * 0.24, meanMs * 1.76));
  }
})();

// Short leases, so a take-over happens within seconds.
const LEASE_MS = 4_000;
const election = (identity: string) => [
  '--leader-elect=true',
  `--leader-election-namespace=${lab.ns.name}`,
  `--lease-duration=${LEASE_MS}ms`,
  '--renew-deadline=3s',
  '--retry-period=500ms',
  `--identity=${identity}`,
];
let started = 0;
async function startReplica(env: NodeJS.ProcessEnv = {}): Promise<void> {
  const identity = `op-${started++}`;
  replicas.set(identity, await startOperatorProcess({ namespace: lab.ns.name, dir, name: identity, env, flags: election(identity) }));
}
/** Replicas that exited (a resumed leader that lost its lease exits) are replaced, so two always run. */
async function keepTwo(env: NodeJS.ProcessEnv = {}): Promise<void> {
  for (const [identity, r] of replicas) if (r.child.exitCode !== null || r.child.signalCode !== null) replicas.delete(identity);
  while (replicas.size < 2) await startReplica(env);
}
/** The replica holding the lease (waits until one of the running replicas does). */
async function leader(): Promise<[string, OperatorProcess]> {
  for (let i = 0; i < 200; i++) {
    const lease = await lab.client
      .get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, 'dbcred-operator', lab.ns.name)
      .catch(() => undefined);
    const holder = lease?.spec?.holderIdentity;
    const r = holder ? replicas.get(holder) : undefined;
    if (holder && r && r.child.exitCode === null && r.child.signalCode === null) return [holder, r];
    await sleep(100);
  }
  throw new Error('no running replica took the lease within 20 s');
}
const gone = (r: OperatorProcess, ms: number) => Promise.race([r.exited.then(() => true), sleep(ms).then(() => false)]);

await keepTwo();
for (let round = 1; round <= rounds; round++) {
  // A random point in the traffic: issuances and rotations take about a second each.
  await sleep(random(200, 2000));
  let fault: string;
  const kind = round % 5;
  if (kind === 0) {
    // Both keep running: their watches break, their writes fail, and they must pick up again.
    await controlPlane.restartApiserver();
    counts.apiserverRestarts++;
    fault = 'apiserver restarted';
  } else if (kind === 1) {
    const [, r] = await leader();
    r.child.kill('SIGKILL');
    await r.exited;
    counts.kills++;
    fault = 'leader killed';
    if (counts.kills % 2 === 0) {
      const outage = await lab.postgres.interrupt!();
      await sleep(random(200, 1500));
      await outage.resume();
      counts.databaseRestarts++;
      fault += ', PostgreSQL restarted';
    }
  } else if (kind === 2) {
    // Frozen past its lease: the other replica takes over; once resumed it must do nothing more and exit.
    const [identity, r] = await leader();
    r.child.kill('SIGSTOP');
    await sleep(LEASE_MS + random(500, 2500));
    r.child.kill('SIGCONT');
    counts.pauses++;
    fault = `leader frozen ${identity}, resumed`;
    if (!(await gone(r, 30_000))) fault += ' (kept the lease: nobody took it)';
  } else if (kind === 3) {
    const [, r] = await leader();
    r.child.kill('SIGTERM');
    await r.exited;
    counts.handovers++;
    fault = 'lease handed over (leader stopped gracefully)';
  } else {
    const [holder] = await leader();
    const follower = [...replicas].find(([identity]) => identity !== holder)?.[1];
    follower?.child.kill('SIGKILL');
    if (follower) await follower.exited;
    counts.followerKills++;
    fault = 'follower killed';
  }
  const skew = round % 3 === 0 && kind !== 0 ? random(-4, 4) : 0;
  if (skew !== 0) {
    counts.skewedOperators++;
    fault += `, replaced on a clock ${skew.toFixed(1)} s off`;
  }
  // A replica that is gone is replaced as a Deployment would, while the survivor carries on: the
  // convergence clock runs from the fault, not from the replacement's start, and the next round
  // waits for the replacement.
  const since = Date.now();
  const replacing = keepTwo(skew !== 0 ? skewed(skew) : {});
  // The replicas must converge while the traffic goes on: the invariant must hold again.
  let last: string[] = [];
  let reportedSlow = false;
  const paused = new Promise<void>((resolve) => {
    const check = async () => {
      last = await violations(lab).catch((e: unknown) => [`check failed: ${(e as Error).message}`]);
      if (!reportedSlow && last.length > 0 && Date.now() - since > 10_000) {
        // Not a failure yet, but what a slow convergence waits for is the lead to its cause.
        reportedSlow = true;
        console.log(`round ${round}: still converging after 10 s: ${last.join('; ')}`);
      }
      if (last.length === 0 || Date.now() - since > 45_000) resolve();
      else setTimeout(() => void check(), 250);
    };
    void check();
  });
  await paused;
  if (reportedSlow) {
    await mkdir(out, { recursive: true });
    for (const [identity, r] of replicas) await copyFile(r.logFile, join(out, `slow-round-${round}-${identity}.log`));
    console.log(`round ${round}: the replicas' logs are kept in ${out}/slow-round-${round}-*.log`);
  }
  const converged = Date.now() - since;
  await replacing;
  counts.rounds++;
  counts.convergeMs.push(converged);
  if (last.length > 0) {
    counts.violations += last.length;
    problems.push(`round ${round}: ${last.join('; ')}`);
  }
  console.log(`round ${round}/${rounds}: ${fault}; converged in ${converged} ms, ${last.length} violation(s)`);
}
traffic = false;
await generator;
for (const r of replicas.values()) await r.stop();

const sorted = [...counts.convergeMs].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const convergence = { p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? 0 };
const result = {
  mode: long ? 'long' : roundsFlag ? 'rounds' : 'short',
  replicas: 2,
  traffic: { live: liveTarget, opsPerSecond },
  ...counts,
  convergence,
  problems,
  finishedAt: new Date().toISOString(),
};
await mkdir(out, { recursive: true });
await writeFile(join(out, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
await lab.cleanup().catch(() => undefined);
await rm(dir, { recursive: true, force: true });
await controlPlane.stop();
console.log(
  `chaos (2 replicas, ${liveTarget} live credentials, ${opsPerSecond} ops/s): ${counts.rounds} rounds, ${counts.kills} leader kills, ${counts.pauses} leader pauses, ${counts.handovers} handovers, ${counts.followerKills} follower kills, ${counts.databaseRestarts} database restarts, ${counts.apiserverRestarts} apiserver restarts, ${counts.skewedOperators} skewed replicas, ${counts.created} created, ${counts.deleted} deleted, ${counts.violations} violations, convergence p50 ${convergence.p50} ms p99 ${convergence.p99} ms max ${convergence.max} ms (chaos-results/latest.json)`,
);
process.exit(counts.violations === 0 ? 0 : 1);
