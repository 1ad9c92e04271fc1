// When a cron schedule next fires after a given time, in a time zone, for scheduled rotations.
// The next run is computed day by day from the schedule's fields (at most a few thousand cheap day
// checks, for "29 February" schedules), not by testing every minute, and follows the injected clock.
//
// Syntax (Vixie cron): five fields — minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
// jan-dec, day of week 0-7 or sun-sat (0 and 7 are Sunday) — each a list of `*`, `a`, `a-b`,
// optionally `/step`; or @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly. When
// both day fields are restricted, a day matching either fires (as in cron).
// Time zones: wall-clock times of the zone. A time that does not exist (clocks spring forward)
// fires as many minutes after the gap as it was into it (02:30 in a 02:00→03:00 gap fires at
// 03:30); a time that occurs twice (clocks fall back) fires once, at its first occurrence.

const MINUTE = 60_000;
/** A leap day may be 8 years away (2096 → 2104); no valid schedule waits longer. */
const HORIZON_DAYS = 8 * 366 + 1;

interface Field {
  min: number;
  max: number;
  names?: readonly string[];
}
const MINUTES: Field = { min: 0, max: 59 };
const HOURS: Field = { min: 0, max: 23 };
const DAYS: Field = { min: 1, max: 31 };
const MONTHS: Field = { min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] };
const WEEKDAYS: Field = { min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed schedule: the allowed values of each field, sorted. */
export interface Schedule {
  minutes: number[];
  hours: number[];
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Both day fields restricted (neither starts with *): a day matching either one fires. */
  eitherDay: boolean;
}

/** parseSchedule parses a cron expression; it throws an Error saying which field is wrong. */
export function parseSchedule(expression: string): Schedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const fields = text.split(/\s+/);
  if (fields.length !== 5) throw new Error(`a schedule has five fields (minute hour day-of-month month day-of-week), not ${fields.length}`);
  const [minute, hour, day, month, weekday] = fields as [string, string, string, string, string];
  const weekdays = parseField(weekday, WEEKDAYS, 'day of week');
  if (weekdays.has(7)) weekdays.add(0);
  weekdays.delete(7);
  return {
    minutes: [...parseField(minute, MINUTES, 'minute')].sort((a, b) => a - b),
    hours: [...parseField(hour, HOURS, 'hour')].sort((a, b) => a - b),
    days: parseField(day, DAYS, 'day of month'),
    months: parseField(month, MONTHS, 'month'),
    weekdays,
    eitherDay: !day.startsWith('*') && !weekday.startsWith('*'),
  };
}

function parseField(text: string, field: Field, what: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.toLowerCase().split(',')) {
    const m = /^(\*|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new Error(`${what}: "${item}" is not a value, range or step`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (step < 1) throw new Error(`${what}: a step must be at least 1`);
    let from = field.min;
    let to = field.max;
    if (m[1] !== '*') {
      from = valueOf(m[2]!, field, what);
      // "a/step" runs from a to the end of the range, as in cron.
      to = m[3] !== undefined ? valueOf(m[3], field, what) : m[4] !== undefined ? field.max : from;
      if (to < from) throw new Error(`${what}: the range ${item} runs backwards`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

function valueOf(token: string, field: Field, what: string): number {
  const named = field.names?.indexOf(token) ?? -1;
  const value = named >= 0 ? named + (field === MONTHS ? 1 : 0) : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(value) || value < field.min || value > field.max)
    throw new Error(`${what}: "${token}" is outside ${field.min}-${field.max}${field.names ? ' (or a name)' : ''}`);
  return value;
}

/** scheduleProblem says what is wrong with a schedule (a bad field, a zone, or a day that never comes), or undefined. */
export function scheduleProblem(expression: string, timeZone = 'Etc/UTC'): string | undefined {
  if (!isValidTimeZone(timeZone)) return `unknown time zone "${timeZone}"`;
  try {
    parseSchedule(expression);
  } catch (error) {
    return (error as Error).message;
  }
  return nextRunAfter(expression, Date.UTC(2000, 0, 1), timeZone) === undefined ? 'the schedule never fires (no such day)' : undefined;
}

/** isValidTimeZone tells whether the runtime knows the IANA time zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * nextRunAfter returns the first minute strictly after `after` (ms since the epoch) at which the
 * schedule fires in the time zone, or undefined if it never does (a day that does not exist).
 */
export function nextRunAfter(expression: string, after: number, timeZone = 'Etc/UTC'): number | undefined {
  const s = parseSchedule(expression);
  const zone = zoneOf(timeZone);
  const first = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const start = zone.wallOf(first);
  // Walk the zone's calendar days from the one `first` falls on; Date.UTC normalises overflowing days.
  for (let d = 0; d < HORIZON_DAYS; d++) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!s.months.has(month) || !dayMatches(s, day, date.getUTCDay())) continue;
    for (const hour of s.hours) {
      for (const minute of s.minutes) {
        if (d === 0 && hour * 60 + minute < start.hour * 60 + start.minute) continue;
        const at = zone.instantOf(year, month, day, hour, minute);
        if (at >= first) return at;
      }
    }
  }
  return undefined;
}

// As in Vixie cron: a day field written with a leading * ("*", "*/2") does not make the other one an
// alternative; both sets must then hold (the * one is often all days).
function dayMatches(s: Schedule, day: number, weekday: number): boolean {
  return s.eitherDay ? s.days.has(day) || s.weekdays.has(weekday) : s.days.has(day) && s.weekdays.has(weekday);
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

interface Zone {
  /** The wall-clock fields of an instant in the zone. */
  wallOf(at: number): Wall;
  /** The instant of a wall-clock minute: its first occurrence, or shifted past a gap (see the top of this file). */
  instantOf(year: number, month: number, day: number, hour: number, minute: number): number;
}

const zones = new Map<string, Zone>();

function zoneOf(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (zone) return zone;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const wallOf = (at: number): Wall => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return { year: parts['year']!, month: parts['month']!, day: parts['day']!, hour: parts['hour']!, minute: parts['minute']! };
  };
  const asUtc = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  // The zone's offset (wall minus UTC) at an instant, to the minute.
  const offsetAt = (at: number) => asUtc(wallOf(at)) - Math.floor(at / MINUTE) * MINUTE;
  zone = {
    wallOf,
    instantOf(year, month, day, hour, minute) {
      const wall = Date.UTC(year, month - 1, day, hour, minute);
      // Offsets change at most once within a day here: the ones half a day before and after bound it.
      const before = offsetAt(wall - 12 * 60 * MINUTE);
      const after = offsetAt(wall + 12 * 60 * MINUTE);
      const fits = [wall - before, wall - after].filter((at) => asUtc(wallOf(at)) === wall).sort((a, b) => a - b);
      return fits[0] ?? wall - before;
    },
  };
  zones.set(timeZone, zone);
  return zone;
}
