// What the machine itself costs, measured before the bench, so figures from two machines can be
// compared; and whether a run can be trusted (something else used the CPU meanwhile).
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';

/** processCreationMs is the mean cost of one fork+exec of /bin/true, in milliseconds (PostgreSQL forks a backend per connection). */
export function processCreationMs(count = 200): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) spawnSync('/bin/true');
  return round((performance.now() - t0) / count);
}

/** connectionMs is the mean cost of opening and closing one connection with connect, in milliseconds. */
export async function connectionMs(connect: () => Promise<() => Promise<void>>, count = 50): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await (await connect())();
  return round((performance.now() - t0) / count);
}

/** What else ran: database servers left from another run at the start, and the CPU share of processes outside the stack. */
export interface Disturbance {
  /** Database server processes running before this run started its own (left by another run). */
  strayServersAtStart: number;
  /** CPU seconds of "other" processes (cpu.ts groups) over wall seconds × cores, during the run. */
  otherCpuShare: number;
}

/** loadPerCore is the 1-minute load average divided by the cores (reported: a test run just before raises it). */
export function loadPerCore(): number {
  return round(loadavg()[0]! / availableParallelism());
}

/** strayServers counts PostgreSQL and MariaDB server processes (their postmasters and mariadbd) running now. */
export function strayServers(): number {
  const out = spawnSync('pgrep', ['-c', '-x', 'postgres|mariadbd'], { encoding: 'utf8' });
  return Number(out.stdout.trim() || 0);
}

/** otherCpuShare turns the "other" group's CPU seconds over a wall time into a share of the machine. */
export function otherCpuShare(otherSeconds: number, wallSeconds: number): number {
  return round(otherSeconds / Math.max(0.001, wallSeconds * availableParallelism()));
}

/**
 * untrustworthy says why a run's figures are not to be judged against their targets: database
 * servers of another run were running, or something outside the measured stack took a tenth of the
 * CPU while it ran. Undefined: the figures stand.
 */
export function untrustworthy(d: Disturbance): string | undefined {
  const why: string[] = [];
  if (d.strayServersAtStart > 0) why.push(`${d.strayServersAtStart} database server process(es) of another run were running`);
  if (d.otherCpuShare > 0.1) why.push(`${Math.round(d.otherCpuShare * 100)}% of the CPU used by processes outside the stack`);
  return why.length > 0 ? why.join('; ') : undefined;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
