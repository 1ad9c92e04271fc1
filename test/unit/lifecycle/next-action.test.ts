import { describe, expect, it } from '@jest/globals';
import { nextAction, nextWake, type CredentialState, type NextAction } from '../../../src/controllers/database-credential/next-action.ts';
import type { DatabaseCredentialStatus } from '../../../src/api/v1alpha1/index.ts';
import type { DigestibleSecret } from '../../../src/secrets/secret-digest.ts';
import { DATA_HASH_ANNOTATION, LAYOUT_HASH_ANNOTATION } from '../../../src/secrets/secret-metadata.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();
const USER = 'dbc_app_aaaaaaaaaaaaaaaa01';
const NEXT = 'dbc_app_aaaaaaaaaaaaaaaa02';
const LAYOUT = 'layout-now';

/** A cached Secret (its digest): whose user, whether its data is as written, from which layout. */
function secret(o: { username?: string; edited?: boolean; layout?: string } = {}): DigestibleSecret {
  return {
    metadata: { annotations: { [DATA_HASH_ANNOTATION]: 'h', ...(o.layout === undefined ? {} : { [LAYOUT_HASH_ANNOTATION]: o.layout }) } },
    digest: { username: o.username ?? USER, dataHash: o.edited ? 'other' : 'h' },
  };
}

const current = (o: { expires?: number; renew?: number } = {}) => ({
  username: USER,
  serial: 1,
  issuedAt: at(-10),
  expiresAt: at(o.expires ?? 50),
  renewAt: at(o.renew ?? 30),
});
const pending = { username: NEXT, serial: 2, expiresAt: at(60), startedAt: at(0) };
const expiredReady = (generation: number) => ({
  type: 'Ready',
  status: 'False' as const,
  reason: 'Expired',
  message: '',
  lastTransitionTime: at(-1),
  observedGeneration: generation,
});

function state(o: Partial<CredentialState> & { status?: DatabaseCredentialStatus } = {}): CredentialState {
  return {
    generation: 1,
    rotationEnabled: true,
    status: {},
    secret: secret({ layout: LAYOUT }),
    layout: () => LAYOUT,
    currentUserMissing: false,
    now: NOW,
    ...o,
  };
}

// Every row is one situation a user can be in, and what the operator does next.
const table: [string, CredentialState, NextAction][] = [
  ['a new credential gets its first user', state({ secret: undefined, layout: () => undefined }), 'issue'],
  ['an intent recorded before a crash, with no user yet, is completed', state({ status: { pending }, secret: undefined }), 'issue'],
  ['an intent recorded during a rotation is completed as a rotation', state({ status: { current: current(), pending } }), 'rotate'],
  ['a healthy user before its renewal time needs nothing', state({ status: { current: current() } }), 'none'],
  ['a user at its renewal time is rotated', state({ status: { current: current({ renew: 0 }) } }), 'rotate'],
  [
    'a user past its renewal time, rotation off, is left alone',
    state({ rotationEnabled: false, status: { current: current({ renew: -5 }) } }),
    'none',
  ],
  ['a user past its expiry is rotated when rotation is on', state({ status: { current: current({ expires: -1, renew: -20 }) } }), 'rotate'],
  [
    'a user past its expiry is expired when rotation is off',
    state({ rotationEnabled: false, status: { current: current({ expires: -1 }) } }),
    'expire',
  ],
  [
    'an expired user with a pending replacement is rotated, even with rotation off',
    state({ rotationEnabled: false, status: { current: current({ expires: -1 }), pending } }),
    'rotate',
  ],
  [
    'a credential that ran its course stays ended for the same generation',
    state({ rotationEnabled: false, generation: 3, status: { conditions: [expiredReady(3)] }, secret: undefined }),
    'ended',
  ],
  [
    'a spec change after the end issues again',
    state({ rotationEnabled: false, generation: 4, status: { conditions: [expiredReady(3)] }, secret: undefined }),
    'issue',
  ],
  [
    'an expired-then-ended credential with rotation on issues again',
    state({ rotationEnabled: true, generation: 3, status: { conditions: [expiredReady(3)] }, secret: undefined }),
    'issue',
  ],
  ['a user the sweeper found dropped by hand is repaired', state({ status: { current: current() }, currentUserMissing: true }), 'repair'],
  [
    'a rotation asked for by annotation replaces a healthy user now',
    state({ status: { current: current() }, rotationRequested: true }),
    'rotate',
  ],
  [
    'a rotation asked for by annotation is honoured with scheduled rotation off',
    state({ rotationEnabled: false, status: { current: current() }, rotationRequested: true }),
    'rotate',
  ],
  ['a deleted Secret is repaired with a new user', state({ status: { current: current() }, secret: undefined }), 'repair'],
  [
    'a Secret edited by hand is repaired',
    state({ status: { current: current() }, secret: secret({ edited: true, layout: LAYOUT }) }),
    'repair',
  ],
  [
    'a Secret naming another user is repaired',
    state({ status: { current: current() }, secret: secret({ username: NEXT, layout: LAYOUT }) }),
    'repair',
  ],
  [
    'a damaged Secret is repaired before a due renewal',
    state({ status: { current: current({ renew: -1 }) }, secret: undefined }),
    'repair',
  ],
  [
    'an intact Secret rendered from an older spec or address is republished',
    state({ status: { current: current() }, secret: secret({ layout: 'older' }) }),
    'republish',
  ],
  ['a Secret written before layouts were recorded is left alone', state({ status: { current: current() }, secret: secret() }), 'none'],
  [
    'a due renewal wins over a stale layout (the new Secret has the new layout)',
    state({ status: { current: current({ renew: -1 }) }, secret: secret({ layout: 'older' }) }),
    'rotate',
  ],
];

describe('nextAction: what a DatabaseCredential needs now', () => {
  it.each(table)('%s', (_name, input, expected) => {
    expect(nextAction(input)).toBe(expected);
  });
});

describe('nextWake: when a credential is looked at again', () => {
  const spec = (enabled: boolean) => ({ spec: { rotation: { enabled } } }) as Parameters<typeof nextWake>[0];

  it('is the renewal time while rotation is on', () => {
    expect(nextWake(spec(true), { current: current({ renew: 30, expires: 50 }) }, NOW)).toBe(30 * 60_000);
  });

  it('is the expiry when rotation is off', () => {
    expect(nextWake(spec(false), { current: current({ renew: 30, expires: 50 }) }, NOW)).toBe(50 * 60_000);
  });

  it("is a retiring user's revocation time when that comes first", () => {
    expect(
      nextWake(spec(true), { current: current(), retiring: [{ username: NEXT, serial: 0, revokeAt: at(5), reason: 'Rotated' }] }, NOW),
    ).toBe(5 * 60_000);
  });

  it('takes an extra delay into account, and is never negative', () => {
    expect(nextWake(spec(true), { current: current() }, NOW, 1_000)).toBe(1_000);
    expect(nextWake(spec(true), { current: current({ renew: -3 }) }, NOW)).toBe(0);
  });

  it('is undefined when nothing is due', () => {
    expect(nextWake(spec(true), {}, NOW)).toBeUndefined();
  });
});
