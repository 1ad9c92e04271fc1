import { describe, expect, it } from '@jest/globals';
import { setCondition } from '../../../src/runtime/condition-list.ts';
import { Backoff } from '../../../src/util/backoff.ts';

describe('conditions', () => {
  const t0 = new Date('2026-11-29T10:00:00Z');
  const t1 = new Date('2026-11-29T10:05:00Z');

  it('keep lastTransitionTime while the status stays the same, and always record observedGeneration', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'ServerNotReady', message: 'waiting' }, t0, 1);
    const again = setCondition(first, { type: 'Ready', status: 'False', reason: 'Unreachable', message: 'connection refused' }, t1, 2);
    expect(again).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'Unreachable',
        message: 'connection refused',
        lastTransitionTime: t0.toISOString(),
        observedGeneration: 2,
      },
    ]);
  });

  it('move lastTransitionTime when the status flips', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0, 1);
    const flipped = setCondition(first, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t1, 1);
    expect(flipped[0]?.lastTransitionTime).toBe(t1.toISOString());
  });

  it('keep one condition per type and leave the input untouched', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t0, 1);
    const both = setCondition(first, { type: 'Issued', status: 'True', reason: 'Issued', message: '' }, t0, 1);
    expect(both.map((c) => c.type)).toEqual(['Ready', 'Issued']);
    expect(first).toHaveLength(1);
  });
});

describe('backoff', () => {
  it('grows by the factor up to the cap, with jitter only upwards, and restarts after reset()', () => {
    const noJitter = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    expect([1, 2, 3, 4, 5].map(() => noJitter.next())).toEqual([100, 200, 400, 800, 1000]);
    noJitter.reset();
    expect(noJitter.next()).toBe(100);
    const fullJitter = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 1);
    expect(fullJitter.next()).toBe(150);
  });
});
