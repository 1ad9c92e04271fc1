import { describe, expect, it } from '@jest/globals';
import { untrustworthy } from '../../../bench/machine.ts';
import { figure, table } from '../../../bench/stats.ts';

describe('whether a bench run is judged against its targets', () => {
  it('is judged when no other run left database servers and little CPU went elsewhere', () => {
    expect(untrustworthy({ strayServersAtStart: 0, otherCpuShare: 0.03 })).toBeUndefined();
  });

  it('is not judged, saying why, when another run left database servers or something else took a tenth of the CPU', () => {
    expect(untrustworthy({ strayServersAtStart: 7, otherCpuShare: 0.03 })).toBe(
      '7 database server process(es) of another run were running',
    );
    expect(untrustworthy({ strayServersAtStart: 0, otherCpuShare: 0.25 })).toBe('25% of the CPU used by processes outside the stack');
  });

  it('shows a miss as MISS in a judged run and as "miss?" in one that is not', () => {
    const slow = figure('issuance p50', 60, 'ms', { op: '<=', value: 25 });
    const fast = figure('revocation lag p99', 80, 'ms', { op: '<=', value: 500 });
    expect(table([slow, fast])).toMatch(/issuance p50 +60 ms +<= 25 ms +MISS\n.*pass$/);
    expect(table([slow, fast], false)).toMatch(/issuance p50 +60 ms +<= 25 ms +miss\?\n.*pass$/);
  });
});
