import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nextDeadline, renewAt, requeueDelay } from '../../../src/lifecycle/horizons.ts';

const HOUR = 3_600_000;
const t0 = Date.UTC(2026, 10, 29, 12, 0, 0);

describe('renewAt: when the replacement user is issued', () => {
  it.each([
    [67, t0 + 24_120_000],
    [10, t0 + HOUR],
    [50, t0 + 5 * HOUR],
    [90, t0 + 9 * HOUR],
  ])('at %d%% of a 10 h lifetime', (percent, expected) => {
    expect(renewAt(t0, t0 + 10 * HOUR, percent)).toBe(expected);
  });

  it('rounds down to a whole millisecond, so the replacement is never late', () => {
    expect(renewAt(0, 999, 67)).toBe(669);
    expect(renewAt(0, 1000, 67)).toBe(670);
  });

  it('always falls inside the lifetime, never before issue nor after expiry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 365 * 24 * HOUR }),
        fc.integer({ min: 10, max: 90 }),
        (issuedAt, lifetime, percent) => {
          const at = renewAt(issuedAt, issuedAt + lifetime, percent);
          return Number.isInteger(at) && at >= issuedAt && at < issuedAt + lifetime;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('renews later for a higher percentage of the same lifetime', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 365 * 24 * HOUR }),
        fc.integer({ min: 10, max: 89 }),
        (lifetime, percent) => renewAt(t0, t0 + lifetime, percent) <= renewAt(t0, t0 + lifetime, percent + 1),
      ),
    );
  });
});

describe('nextDeadline: the earliest thing to wake up for', () => {
  it('is undefined when there is nothing to wait for', () => {
    expect(nextDeadline()).toBeUndefined();
    expect(nextDeadline(undefined, undefined)).toBeUndefined();
  });

  it('ignores the missing deadlines and picks the earliest of the rest', () => {
    expect(nextDeadline(undefined, t0 + 5_000, undefined, t0 + 1_000, t0 + 3_000)).toBe(t0 + 1_000);
    expect(nextDeadline(t0 + 7, undefined)).toBe(t0 + 7);
  });

  it('treats a deadline at time 0 as a real deadline, not as missing', () => {
    expect(nextDeadline(5, 0, undefined)).toBe(0);
  });

  it('equals the minimum of the defined deadlines, whatever their order', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: undefined })), (times) => {
        const defined = times.filter((t): t is number => t !== undefined);
        const expected = defined.length === 0 ? undefined : Math.min(...defined);
        return nextDeadline(...times) === expected && nextDeadline(...[...times].reverse()) === expected;
      }),
    );
  });
});

describe('requeueDelay: how long to wait for a deadline', () => {
  it('is the time left until a future deadline', () => {
    expect(requeueDelay(t0 + 90_000, t0)).toBe(90_000);
  });

  it('is zero for a deadline that is now or already past (act immediately)', () => {
    expect(requeueDelay(t0, t0)).toBe(0);
    expect(requeueDelay(t0 - 60_000, t0)).toBe(0);
  });

  it('is undefined when there is no deadline', () => {
    expect(requeueDelay(undefined, t0)).toBeUndefined();
  });

  it('is never negative', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: 4_000_000_000_000 }), (deadline, now) => {
        const delay = requeueDelay(deadline, now);
        return delay !== undefined && delay >= 0 && (deadline > now ? now + delay === deadline : delay === 0);
      }),
      { numRuns: 2000 },
    );
  });
});
