import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import cron from 'node-cron';
import { nextRunAfter, parseSchedule, scheduleProblem } from '../../../src/lifecycle/schedule.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('a schedule fires', () => {
  it.each([
    ['0 3 * * *', '2026-01-01T03:00:00Z', '2026-01-02T03:00:00.000Z'],
    ['0 3 * * *', '2026-01-01T02:59:59Z', '2026-01-01T03:00:00.000Z'],
    ['*/15 * * * *', '2026-01-01T10:07:30Z', '2026-01-01T10:15:00.000Z'],
    ['5-10/5 * * * *', '2026-01-01T10:05:00Z', '2026-01-01T10:10:00.000Z'],
    ['0 0 1 jan,jul *', '2026-02-01T00:00:00Z', '2026-07-01T00:00:00.000Z'],
    ['0 12 * * sat,sun', '2026-12-02T00:00:00Z', '2026-12-05T12:00:00.000Z'],
    ['0 12 * * 7', '2026-12-02T00:00:00Z', '2026-12-06T12:00:00.000Z'],
    ['@weekly', '2026-12-02T00:00:00Z', '2026-12-06T00:00:00.000Z'],
    ['@monthly', '2026-12-02T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['@hourly', '2026-12-31T23:30:00Z', '2027-01-01T00:00:00.000Z'],
  ])('%s after %s: at %s (UTC)', (expression, after, next) => {
    expect(iso(nextRunAfter(expression, at(after)))).toBe(next);
  });

  it('on a day of month or a day of week when both are restricted, as cron does', () => {
    // Friday or the 13th: 2026-12-04 is a Friday, before the 13th.
    expect(iso(nextRunAfter('0 0 13 * 5', at('2026-12-02T00:00:00Z')))).toBe('2026-12-04T00:00:00.000Z');
    expect(iso(nextRunAfter('0 0 13 * 5', at('2026-12-11T00:00:00Z')))).toBe('2026-12-13T00:00:00.000Z');
  });

  it('on leap days only, skipping 2100, which is not one', () => {
    expect(iso(nextRunAfter('0 0 29 2 *', at('2026-03-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(nextRunAfter('0 0 29 2 *', at('2096-03-01T00:00:00Z')))).toBe('2104-02-29T00:00:00.000Z');
  });

  it('without scanning minute by minute: a leap-day schedule eight years out takes milliseconds', () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) nextRunAfter('0 0 29 2 *', at('2096-03-01T00:00:00Z'));
    expect((performance.now() - started) / 20).toBeLessThan(25);
  });

  describe('at wall-clock times of its time zone', () => {
    it('following daylight saving time (New York: 09:00 is 13:00 UTC in summer, 14:00 in winter)', () => {
      expect(iso(nextRunAfter('0 9 * * 1-5', at('2026-07-01T00:00:00Z'), 'America/New_York'))).toBe('2026-07-01T13:00:00.000Z');
      expect(iso(nextRunAfter('0 9 * * 1-5', at('2026-12-01T00:00:00Z'), 'America/New_York'))).toBe('2026-12-01T14:00:00.000Z');
    });

    it('moving a time that does not exist (clocks spring forward) past the gap', () => {
      // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist and fires at 03:30 CEST.
      expect(iso(nextRunAfter('30 2 * * *', at('2026-03-28T12:00:00Z'), 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
      expect(iso(nextRunAfter('30 2 * * *', at('2026-03-29T01:30:00Z'), 'Europe/Berlin'))).toBe('2026-03-30T00:30:00.000Z');
    });

    it('once at a time that occurs twice (clocks fall back), at its first occurrence', () => {
      // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens at 00:30 and again at 01:30 UTC.
      expect(iso(nextRunAfter('30 2 * * *', at('2026-10-24T12:00:00Z'), 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
      expect(iso(nextRunAfter('30 2 * * *', at('2026-10-25T00:30:00Z'), 'Europe/Berlin'))).toBe('2026-10-26T01:30:00.000Z');
    });

    it('on the zone’s calendar day, not UTC’s', () => {
      // 23:30 on Mondays in Tokyo is 14:30 UTC on Mondays; in Honolulu it is 09:30 UTC on Tuesdays.
      expect(iso(nextRunAfter('30 23 * * mon', at('2026-11-30T00:00:00Z'), 'Asia/Tokyo'))).toBe('2026-11-30T14:30:00.000Z');
      expect(iso(nextRunAfter('30 23 * * mon', at('2026-11-30T00:00:00Z'), 'Pacific/Honolulu'))).toBe('2026-12-01T09:30:00.000Z');
    });
  });

  it('as node-cron matches it, minute by minute, for any schedule with one day field restricted (UTC)', () => {
    const part = (min: number, max: number) =>
      fc.oneof(
        fc.constant('*'),
        fc.integer({ min, max }).map(String),
        fc.integer({ min: 1, max: Math.max(1, max - min) }).map((s) => `*/${s}`),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
          .map(([a, b]) => [Math.min(a, b), Math.max(a, b)])
          .map(([a, b]) => `${a}-${b}`),
      );
    const list = (min: number, max: number) => fc.array(part(min, max), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
    const expression = fc
      .tuple(list(0, 59), list(0, 23), fc.boolean(), list(1, 28), list(0, 6))
      .map(([m, h, byDay, dom, dow]) => `${m} ${h} ${byDay ? dom : '*'} * ${byDay ? '*' : dow}`);
    fc.assert(
      fc.property(expression, fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2030-12-31T00:00:00Z') }), (expr, after) => {
        const task = cron.createTask(expr, () => undefined, { timezone: 'Etc/UTC' });
        let expected: number | undefined;
        for (let t = Math.floor(after / 60_000) * 60_000 + 60_000, i = 0; i < 40 * 24 * 60; i++, t += 60_000) {
          if (task.match(new Date(t))) {
            expected = t;
            break;
          }
        }
        void task.destroy();
        expect(iso(nextRunAfter(expr, after))).toBe(iso(expected));
      }),
      { numRuns: 60 },
    );
  });
});

describe('a schedule is refused, saying why,', () => {
  it.each([
    ['60 * * * *', 'minute: "60" is outside 0-59'],
    ['* * * *', 'five fields'],
    ['0 0 31 2 *', 'never fires'],
    ['0 0 * * fri-mon', 'runs backwards'],
    ['0 0 * foo *', 'month: "foo"'],
    ['*/0 * * * *', 'step must be at least 1'],
  ])('%s', (expression, why) => {
    expect(scheduleProblem(expression)).toContain(why);
  });

  it('in a time zone that does not exist', () => {
    expect(scheduleProblem('0 3 * * *', 'Mars/Olympus_Mons')).toContain('unknown time zone');
  });

  it('but not for a good one', () => {
    expect(scheduleProblem('0 3 * * *', 'Europe/Berlin')).toBeUndefined();
    expect(parseSchedule('@daily').hours).toEqual([0]);
  });
});
