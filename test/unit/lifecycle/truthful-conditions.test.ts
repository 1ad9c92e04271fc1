import { describe, expect, it } from '@jest/globals';
import type { DatabaseCredentialStatus } from '../../../src/api/v1alpha1/index.ts';
import { conditionCorrections, type RecordedState } from '../../../src/controllers/database-credential/truthful-conditions.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();
const USER = 'dbcabcd_app_aaaaaaaaaaaaaaaa';
const OLD = 'dbcabcd_app_bbbbbbbbbbbbbbbb';

type Cond = NonNullable<DatabaseCredentialStatus['conditions']>[number];
const cond = (type: string, status: 'True' | 'False', reason: string): Cond => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: at(-5),
  observedGeneration: 1,
});
const ready = cond('Ready', 'True', 'Issued');
const issued = cond('Issued', 'True', 'Issued');
const live = { username: USER, serial: 2, issuedAt: at(-10), expiresAt: at(50) };
const expired = { ...live, expiresAt: at(-1) };
const retiring = [{ username: OLD, serial: 1, revokeAt: at(3), reason: 'Rotated' as const }];

function state(status: DatabaseCredentialStatus, deleting = false): RecordedState {
  return { status, now: NOW, generation: 1, deleting };
}

/** What each condition type says after the corrections: [type, status, reason], in list order. */
function after(s: RecordedState): string[][] {
  const fix = conditionCorrections(s);
  return (fix.conditions ?? s.status.conditions ?? []).map((c) => [c.type, c.status, c.reason]);
}

// Every row: the recorded state, and what the conditions may still say about it.
const table: [string, RecordedState, string[][]][] = [
  [
    'a live user in the Secret: Ready and Issued stand',
    state({ current: live, conditions: [ready, issued] }),
    [
      ['Ready', 'True', 'Issued'],
      ['Issued', 'True', 'Issued'],
    ],
  ],
  [
    'a user past its expiry, not replaced yet: neither Ready nor Issued',
    state({ current: expired, conditions: [ready, issued] }),
    [
      ['Ready', 'False', 'Expired'],
      ['Issued', 'False', 'Expired'],
    ],
  ],
  [
    'no current user at all (its status was edited): neither Ready nor Issued',
    state({ conditions: [ready, issued] }),
    [
      ['Ready', 'False', 'IssueFailed'],
      ['Issued', 'False', 'IssueFailed'],
    ],
  ],
  [
    'being deleted: not Ready, though its user is still issued until revoked',
    state({ current: live, conditions: [ready, issued] }, true),
    [
      ['Ready', 'False', 'Revoked'],
      ['Issued', 'True', 'Issued'],
    ],
  ],
  [
    'a rotation whose previous user is still in its overlap: Rotating stands',
    state({ current: live, retiring, conditions: [ready, cond('Rotating', 'True', 'RotationScheduled')] }),
    [
      ['Ready', 'True', 'Issued'],
      ['Rotating', 'True', 'RotationScheduled'],
    ],
  ],
  [
    'the previous user is gone: no more Rotating',
    state({ current: live, conditions: [ready, cond('Rotating', 'True', 'RotationScheduled')] }),
    [['Ready', 'True', 'Issued']],
  ],
  [
    'a rotation blocked by its server while the current user lives: Rotating=False and Stalled stand',
    state({
      current: live,
      conditions: [ready, cond('Rotating', 'False', 'MissingPrivileges'), cond('Stalled', 'True', 'MissingPrivileges')],
    }),
    [
      ['Ready', 'True', 'Issued'],
      ['Rotating', 'False', 'MissingPrivileges'],
      ['Stalled', 'True', 'MissingPrivileges'],
    ],
  ],
  [
    'a blocked rotation whose user is gone: the block shows on Ready, not on Rotating',
    state({ conditions: [cond('Ready', 'False', 'ServerNotReady'), cond('Rotating', 'False', 'ServerNotReady')] }),
    [['Ready', 'False', 'ServerNotReady']],
  ],
  [
    'a first issuance stalled on a template: Ready=False and Stalled stand',
    state({ conditions: [cond('Ready', 'False', 'TemplateInvalid'), cond('Stalled', 'True', 'TemplateInvalid')] }),
    [
      ['Ready', 'False', 'TemplateInvalid'],
      ['Stalled', 'True', 'TemplateInvalid'],
    ],
  ],
  [
    'issued after the fix: Stalled goes with the failure it reported',
    state({ current: live, conditions: [ready, issued, cond('Stalled', 'True', 'TemplateInvalid')] }),
    [
      ['Ready', 'True', 'Issued'],
      ['Issued', 'True', 'Issued'],
    ],
  ],
  [
    'a stalled credential being deleted is no longer stalled',
    state({ conditions: [cond('Ready', 'False', 'TemplateInvalid'), cond('Stalled', 'True', 'TemplateInvalid')] }, true),
    [['Ready', 'False', 'TemplateInvalid']],
  ],
  [
    'a revocation failing while a retiring user remains: RevocationFailing stands',
    state({ current: live, retiring, conditions: [ready, cond('RevocationFailing', 'True', 'RevocationFailed')] }),
    [
      ['Ready', 'True', 'Issued'],
      ['RevocationFailing', 'True', 'RevocationFailed'],
    ],
  ],
  [
    'every user it named is gone: no more RevocationFailing',
    state({ conditions: [cond('Ready', 'False', 'Expired'), cond('RevocationFailing', 'True', 'RevocationFailed')] }),
    [['Ready', 'False', 'Expired']],
  ],
];

describe("what a credential's conditions may still claim", () => {
  it.each(table)('%s', (_name, s, expected) => {
    expect(after(s)).toEqual(expected);
  });

  it('changes nothing, and asks for no write, when every condition tells the truth', () => {
    expect(conditionCorrections(state({ current: live, retiring, conditions: [ready, issued] }))).toEqual({});
  });

  it('clears the stall digest with the Stalled condition, so a later failure is not skipped', () => {
    const fix = conditionCorrections(
      state({ current: live, stalledOn: 'digest', conditions: [ready, issued, cond('Stalled', 'True', 'TemplateInvalid')] }),
    );
    expect(fix.stalledOn).toBeNull();
  });

  it('says why in words a user can act on, and moves lastTransitionTime only for a flipped condition', () => {
    const fix = conditionCorrections(state({ current: expired, conditions: [ready, issued] }));
    const readyAfter = fix.conditions!.find((c) => c.type === 'Ready')!;
    expect(readyAfter.message).toBe(`user ${USER} expired at ${expired.expiresAt} and is not replaced yet`);
    expect(readyAfter.lastTransitionTime).toBe(new Date(NOW).toISOString());
    const kept = conditionCorrections(state({ current: live, conditions: [ready, cond('Rotating', 'True', 'RotationScheduled')] }));
    expect(kept.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime).toBe(at(-5));
  });
});
