import { describe, expect, it } from '@jest/globals';
import { adminRotationPlan } from '../../../src/lifecycle/admin-rotation.ts';

const at = (iso: string) => Date.parse(iso);
const daily = { schedule: '0 3 * * *', timeZone: 'Etc/UTC' };

describe('when the admin password is rotated', () => {
  it('never, when neither a schedule nor a request asks for it', () => {
    expect(adminRotationPlan({ now: at('2026-12-02T10:00:00Z') })).toEqual({});
  });

  it('at once when a schedule is first set, so a server that cannot rotate says so on the day it is configured', () => {
    expect(adminRotationPlan({ schedule: daily, now: at('2026-12-02T10:00:00Z') })).toEqual({ due: 'scheduled' });
  });

  it('not before the next fire time after the last rotation, which status shows', () => {
    const plan = adminRotationPlan({ schedule: daily, last: at('2026-12-02T10:00:00Z'), now: at('2026-12-03T02:59:59Z') });
    expect(plan).toEqual({ next: at('2026-12-03T03:00:00Z') });
  });

  it('once, not once per missed fire time, after the operator was down across several', () => {
    const plan = adminRotationPlan({ schedule: daily, last: at('2026-11-28T03:00:00Z'), now: at('2026-12-02T10:00:00Z') });
    expect(plan).toEqual({ due: 'scheduled' });
    // Once rotated at 10:00, the next is tomorrow's 03:00, not one of the missed ones.
    expect(adminRotationPlan({ schedule: daily, last: at('2026-12-02T10:00:00Z'), now: at('2026-12-02T10:00:01Z') })).toEqual({
      next: at('2026-12-03T03:00:00Z'),
    });
  });

  it("at the schedule's wall-clock time in its time zone", () => {
    const berlin = { schedule: '0 3 * * *', timeZone: 'Europe/Berlin' };
    const plan = adminRotationPlan({ schedule: berlin, last: at('2026-12-02T10:00:00Z'), now: at('2026-12-02T10:00:01Z') });
    expect(plan.next).toBe(at('2026-12-03T02:00:00Z'));
  });

  it('on demand when the annotation holds a value not yet carried out, schedule or not', () => {
    const now = at('2026-12-02T10:00:00Z');
    expect(adminRotationPlan({ requested: 'r1', now })).toEqual({ due: 'requested' });
    expect(adminRotationPlan({ requested: 'r2', handled: 'r1', now })).toEqual({ due: 'requested' });
    expect(adminRotationPlan({ requested: 'r1', handled: 'r1', now })).toEqual({});
    expect(adminRotationPlan({ schedule: daily, requested: 'r1', handled: 'r1', last: now - 1000, now })).toEqual({
      next: at('2026-12-03T03:00:00Z'),
    });
  });

  it('never by a schedule that does not fire within a year', () => {
    const never = { schedule: '0 0 30 2 *', timeZone: 'Etc/UTC' };
    expect(adminRotationPlan({ schedule: never, last: at('2026-12-02T10:00:00Z'), now: at('2026-12-02T11:00:00Z') })).toEqual({});
  });
});
