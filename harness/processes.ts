import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** A server process started by the harness, with its output in a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** The signal that asks this server to shut down quickly. */
  readonly stopSignal: NodeJS.Signals;
  /** stop sends SIGTERM, then SIGKILL after the grace period, and resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Detached processes outlive the starting process (for `npm run cluster -- up`). */
  detached?: boolean;
  /** Signal for a quick shutdown (default SIGTERM; PostgreSQL's fast shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
}

/** startProcess spawns a server with stdout and stderr appended to logFile; it fails fast if the binary cannot start. */
export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  const fd = openSync(options.logFile, 'a');
  const spawnOptions: SpawnOptions = {
    stdio: ['ignore', fd, fd],
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: options.detached ?? false,
  };
  const child: ChildProcess = spawn(options.command, options.args, spawnOptions);
  closeSync(fd);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  if (options.detached) child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: no pid after spawn`);
  let exited = false;
  child.once('exit', () => (exited = true));
  const stopSignal = options.stopSignal ?? 'SIGTERM';
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    stopSignal,
    stop: async (graceMs = 10_000) => {
      if (exited) return;
      await stopPid(pid, graceMs, stopSignal);
    },
  };
}

/** isAlive tells whether a process with this pid exists (and is not a zombie we could reap). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

/** stopPid terminates a process by pid: the stop signal, then SIGKILL after graceMs; resolves when it is gone. */
export async function stopPid(pid: number, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await delay(20);
  }
}

/** tailLog returns the last lines of a log file, to put in an error when a server does not come up. */
export function tailLog(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** waitFor polls check until it returns true, or throws with the reason after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; onTimeout?: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = options.onTimeout?.() ?? '';
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}\n${detail}`);
    }
    await delay(options.intervalMs ?? 50);
  }
}
