// CPU time per process group, read from /proc: what each part of the stack spends on a workload.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The process names accounted for; everything else is summed as "other". */
const GROUPS = ['kube-apiserver', 'etcd', 'kube-controller', 'postgres', 'mariadbd', 'node'] as const;

/**
 * cpuSnapshot returns CPU seconds (user + system, including reaped children) per process group, so
 * the difference of two snapshots is what each group spent in between (exited children included).
 */
export function cpuSnapshot(): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the comm.
    const ticks = [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i]), 0);
    const group = GROUPS.find((g) => comm.startsWith(g)) ?? 'other';
    totals[group] = (totals[group] ?? 0) + ticks / TICKS_PER_SECOND;
  }
  return totals;
}

/** cpuPerItem divides the CPU spent between two snapshots by a count, in milliseconds per item. */
export function cpuPerItem(before: Record<string, number>, after: Record<string, number>, count: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const group of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const ms = (((after[group] ?? 0) - (before[group] ?? 0)) * 1000) / count;
    if (ms > 0.05) out[group] = Math.round(ms * 100) / 100;
    total += Math.max(0, ms);
  }
  out['total'] = Math.round(total * 100) / 100;
  return out;
}
