// Percentiles and the printed table of a bench run.

/** percentile returns the p-th percentile (nearest rank) of the values, or NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
}

/** distribution summarises latencies in milliseconds (rounded to 0.1 ms). */
export function distribution(values: number[]): Distribution {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: values.length, p50: r(percentile(values, 50)), p95: r(percentile(values, 95)), p99: r(percentile(values, 99)) };
}

/** A figure with its target and whether it was met. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  target?: { op: '<=' | '>='; value: number };
  pass?: boolean;
}

/** figure builds a figure and judges it against its target. */
export function figure(name: string, value: number, unit: string, target?: Figure['target']): Figure {
  const pass = target ? (target.op === '<=' ? value <= target.value : value >= target.value) : undefined;
  return { name, value: Math.round(value * 100) / 100, unit, ...(target ? { target, pass } : {}) };
}

/** table renders figures as a fixed-width text table; a run not judged shows its misses as "miss?" (the figures may not stand). */
export function table(figures: Figure[], judged = true): string {
  const rows = figures.map((f) => [
    f.name,
    `${f.value} ${f.unit}`,
    f.target ? `${f.target.op} ${f.target.value} ${f.unit}` : '',
    f.pass === undefined ? '' : f.pass ? 'pass' : judged ? 'MISS' : 'miss?',
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[['figure', 'measured', 'target', ''], ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(['figure', 'measured', 'target', '']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
