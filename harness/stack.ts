import { mkdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { apiOk, startControlPlane, type ControlPlane } from './control-plane.ts';
import type { TestEnvironment } from './environment.ts';
import { startMariaDB } from './mariadb.ts';
import { startPostgres, type StartedDatabase } from './postgres.ts';
import { isAlive, stopPid } from './processes.ts';

/** Which parts of the local stack a run needs. */
export interface StackNeeds {
  kube: boolean;
  databases: boolean;
}

/** A started stack: what it offers and how to stop it. */
export interface Stack {
  env: TestEnvironment;
  stop(): Promise<void>;
}

/** The cache folder outside the checkout (binaries, the hand-started stack's state). */
export const CACHE_DIR = process.env['DBCRED_CACHE_DIR'] ?? join(homedir(), '.cache', 'dbcred');
const STATE_FILE = join(CACHE_DIR, 'run', 'stack.json');

interface StackState {
  env: TestEnvironment;
  processes: { pid: number; stopSignal: NodeJS.Signals }[];
  dirs: string[];
}

/**
 * startStack starts the control plane and the database servers the run needs, in parallel, in new
 * temporary folders on free ports, so it never collides with another run.
 */
export async function startStack(needs: StackNeeds, options: { detached?: boolean } = {}): Promise<Stack & { state: StackState }> {
  const detached = options.detached ?? false;
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const track = <T extends { stop(): Promise<void> }>(p: Promise<T>) => p.then((s) => (started.push(s), s));
    await mkdir(join(CACHE_DIR, 'run'), { recursive: true });
    const runDir = needs.kube ? await mkdtemp(join(CACHE_DIR, 'run', 'kube-')) : undefined;
    const none = Promise.resolve(undefined);
    const [kube, postgres, mariadb] = await Promise.all([
      runDir ? track(startControlPlane({ dir: runDir, detached })) : none,
      needs.databases ? track(startPostgres({ detached })) : none,
      needs.databases ? track(startMariaDB({ detached })) : none,
    ]);
    const env: TestEnvironment = {};
    if (kube) env.kube = { kubeconfig: kube.kubeconfig, local: localInfo(kube) };
    if (postgres) env.postgres = postgres.info;
    if (mariadb) env.mariadb = mariadb.info;
    const state: StackState = {
      env,
      processes: [...(kube?.processes ?? []), ...[postgres, mariadb].flatMap((d) => (d ? [d.process] : []))].map((p) => ({
        pid: p.pid,
        stopSignal: p.stopSignal,
      })),
      dirs: [...(runDir ? [runDir] : []), ...[postgres, mariadb].flatMap((d) => (d ? [d.info.dataDir.replace(/\/data$/, '')] : []))],
    };
    const stopAll = async () => {
      await stop();
      if (runDir) await rm(runDir, { recursive: true, force: true });
    };
    return { env, state, stop: stopAll };
  } catch (error) {
    await stop();
    throw error;
  }
}

function localInfo(cp: ControlPlane): NonNullable<NonNullable<TestEnvironment['kube']>['local']> {
  return { dir: cp.dir, binDir: cp.binDir, server: cp.server, caFile: cp.caFile, etcdEndpoint: cp.etcdEndpoint, pids: cp.pids };
}

/** saveRunningStack records a detached stack so `down` and later test runs can find it. */
export async function saveRunningStack(state: StackState): Promise<void> {
  await mkdir(join(CACHE_DIR, 'run'), { recursive: true });
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** findRunningStack returns the hand-started stack if all its processes are alive and its API answers. */
export async function findRunningStack(): Promise<StackState | undefined> {
  let state: StackState;
  try {
    state = JSON.parse(await readFile(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
  if (!state.processes.every((p) => isAlive(p.pid))) return undefined;
  const local = state.env.kube?.local;
  if (local) {
    const pki = join(local.dir, 'pki');
    const ok = await apiOk(local.server, '/readyz', { ca: local.caFile, cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') });
    if (!ok) return undefined;
  }
  return state;
}

/** stopRunningStack stops a hand-started stack recorded by saveRunningStack and removes its folders. */
export async function stopRunningStack(): Promise<boolean> {
  let state: StackState;
  try {
    state = JSON.parse(await readFile(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return false;
  }
  // Databases first, then controller-manager, apiserver, etcd: the reverse of start order per part.
  for (const p of [...state.processes].reverse()) await stopPid(p.pid, 15_000, p.stopSignal);
  for (const dir of state.dirs) await rm(dir, { recursive: true, force: true });
  await rm(STATE_FILE, { force: true });
  return true;
}

export type { StartedDatabase };
