import { describe, expect, it } from '@jest/globals';
import { usernamesIn } from '../../src/api/v1alpha1/index.ts';

const at = '2026-12-03T00:00:00Z';

describe('the users a credential status names (what deletion revokes, what the sweep spares, what the quota counts)', () => {
  it('are the pending, current and retiring users, in that order, and none for an empty status', () => {
    expect(usernamesIn(undefined)).toEqual([]);
    expect(usernamesIn({})).toEqual([]);
    expect(
      usernamesIn({
        pending: { username: 'dbcaaaa_p', serial: 3, expiresAt: at },
        current: { username: 'dbcaaaa_c', serial: 2, issuedAt: at, expiresAt: at },
        retiring: [
          { username: 'dbcaaaa_r1', serial: 1, revokeAt: at },
          { username: 'dbcaaaa_r0', serial: 0, revokeAt: at },
        ],
      } as Parameters<typeof usernamesIn>[0]),
    ).toEqual(['dbcaaaa_p', 'dbcaaaa_c', 'dbcaaaa_r1', 'dbcaaaa_r0']);
  });

  it('include a pending user even without a current one: its CREATE may have run before a crash', () => {
    expect(usernamesIn({ pending: { username: 'dbcaaaa_p', serial: 1, expiresAt: at } } as Parameters<typeof usernamesIn>[0])).toEqual([
      'dbcaaaa_p',
    ]);
  });
});
