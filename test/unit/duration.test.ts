import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DURATION_PATTERN, formatDuration, mustParseDuration, parseDuration } from '../../src/util/duration.ts';

describe('Go-style durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1m0.5s', 60_500],
    ['0s', 0],
    ['8760h', 31_536_000_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'h', '10 minutes', '1h 30m', '-1s', '1d', '1µs', '1.h', 'PT5M'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('explains a bad duration with an example of a good one', () => {
    expect(() => mustParseDuration('soon')).toThrow('invalid duration "soon": use a number and a unit, e.g. 90s, 15m, 24h');
  });

  it.each([
    [0, '0s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [1_500, '1.5s'],
    [250, '250ms'],
    [86_400_001, '24h1ms'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('reads back exactly what it writes, and writes only what the CRD pattern accepts', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        const text = formatDuration(ms);
        return pattern.test(text) && parseDuration(text) === ms;
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses to format a negative duration', () => {
    expect(() => formatDuration(-1)).toThrow(RangeError);
  });
});
