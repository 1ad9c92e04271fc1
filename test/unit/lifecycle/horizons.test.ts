import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nextDeadline, renewAt, requeueDelay, revocationRetryDelay } from '../../../src/lifecycle/horizons.ts';

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
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 1, max: 365 * 24 * HOUR }), fc.integer({ min: 10, max: 90 }),
      (issuedAt, lifetime, percent) => {
        const at = renewAt(issuedAt, issuedAt + lifetime, percent);
        return Number.isInteger(at) && at >= issuedAt && at < issuedAt + lifetime;
      },
    ), { numRuns: 2000 });
  });

  it('renews later for a higher percentage of the same lifetime', () => {
    fc.assert(fc.property(fc.integer({ min: 1_000, max: 365 * 24 * HOUR }), fc.integer({ min: 10, max: 89 }), (lifetime, percent) =>
      renewAt(t0, t0 + lifetime, percent) <= renewAt(t0, t0 + lifetime, percent + 1)));
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
    fc.assert(fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: undefined })), (times) => {
      const defined = times.filter((t): t is number => t !== undefined);
      const expected = defined.length === 0 ? undefined : Math.min(...defined);
      return nextDeadline(...times) === expected && nextDeadline(...[...times].reverse()) === expected;
    }));
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
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: 4_000_000_000_000 }), (deadline, now) => {
      const delay = requeueDelay(deadline, now);
      return delay !== undefined && delay >= 0 && (deadline > now ? now + delay === deadline : delay === 0);
    }), { numRuns: 2000 });
  });
});

describe('revocationRetryDelay: backing off a failing revocation', () => {
  it('starts at 250 ms and doubles with each failure until the 5 s cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => revocationRetryDelay(n))).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('stays at the cap after very many failures (the user dies soon after the database returns)', () => {
    expect(revocationRetryDelay(1_000)).toBe(5_000);
    expect(revocationRetryDelay(1_000_000)).toBe(5_000);
  });

  it('treats a negative failure count like no failure', () => {
    expect(revocationRetryDelay(-3)).toBe(250);
  });

  it('honours a custom cap', () => {
    expect(revocationRetryDelay(10, 60_000)).toBe(60_000);
    expect(revocationRetryDelay(2, 60_000)).toBe(1_000);
    expect(revocationRetryDelay(3, 300)).toBe(300);
  });

  it('never shrinks as failures accumulate, and never exceeds the cap', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 600_000 }), (failures, cap) => {
      const now = revocationRetryDelay(failures, cap);
      const next = revocationRetryDelay(failures + 1, cap);
      return now <= next && next <= cap && now > 0;
    }), { numRuns: 2000 });
  });
});
