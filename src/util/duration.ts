// Go-style durations ("90s", "15m", "1h30m", "1.5h", "250ms"): what Kubernetes users write, and
// what CEL's duration() accepts, so the CRD rules and the operator agree on every value.

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** The pattern the CRDs enforce: one or more number+unit pairs, units h, m, s or ms. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(h|ms|m|s))+$';
const WHOLE = new RegExp(DURATION_PATTERN);
const PART = /([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)/g;

/** parseDuration returns the duration in milliseconds, or undefined when the text is not a valid duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as Unit];
  // Not rounded: '999.9ms' must stay below a 1s bound, as it does for CEL's duration().
  return Number.isFinite(total) ? total : undefined;
}

/** mustParseDuration parses a duration that a schema has already validated; it throws on bad input. */
export function mustParseDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`invalid duration "${text}": use a number and a unit, e.g. 90s, 15m, 24h`);
  return ms;
}

/** formatDuration renders milliseconds in the shortest Go-style form that parseDuration reads back exactly. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of ['h', 'm'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  if (rest > 0) out += rest >= 1000 ? `${rest / 1000}s` : `${rest}ms`;
  return out;
}
