import { describe, expect, it } from '@jest/globals';
import { waitFor } from '../../harness/processes.ts';

describe('waitFor (harness)', () => {
  it('resolves as soon as the condition holds', async () => {
    let calls = 0;
    await waitFor('third call', () => Promise.resolve(++calls === 3), { timeoutMs: 5_000, intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('names what it waited for and the last error when it times out', async () => {
    await expect(
      waitFor('the moon', () => Promise.reject(new Error('too far')), { timeoutMs: 30, intervalMs: 5, onTimeout: () => 'log tail' }),
    ).rejects.toThrow(/timed out after 30 ms waiting for the moon \(last error: too far\)\nlog tail/);
  });
});
