// What a credential's conditions may still claim, given the users its status records. Each path of
// the reconciler sets the conditions it learns about (an issuance, a refusal, a failed revocation);
// conditionCorrections then withdraws every claim the recorded state no longer supports, so no
// condition outlives the fact it reports. It runs on every status write and at the end of every
// reconcile. It only ever withdraws: a claim is made by the path that proved it. Table-tested.
import { usernamesIn, type DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import type { ConditionType, Reason } from '../../api/v1alpha1/conditions.ts';
import type { Condition } from '../../runtime/condition-list.ts';
import { withCondition, withoutCondition } from '../status-conditions.ts';

export interface RecordedState {
  /** The status as it is (or will be, once the pending write lands). */
  status: DatabaseCredentialStatus;
  now: number;
  generation: number | undefined;
  /** The credential has a deletionTimestamp. */
  deleting: boolean;
}

/**
 * conditionCorrections returns the status fields to write so the conditions claim nothing the
 * state contradicts, or {} when they already tell the truth:
 * - Ready=True needs a current user that has not expired, on a credential not being deleted;
 * - Issued=True needs a current user that has not expired;
 * - Rotating/RotationScheduled needs a retiring user; Rotating for any other reason needs a current user;
 * - Stalled needs the Ready or Rotating condition that reports the same failure (and no deletion);
 * - RevocationFailing needs a user the status still names.
 */
export function conditionCorrections(state: RecordedState): { conditions?: Condition[]; stalledOn?: null } {
  const { status: st, now, generation } = state;
  const before = st.conditions ?? [];
  let conditions: Condition[] = [...before];
  const find = (type: ConditionType) => conditions.find((c) => c.type === type);
  const set = (type: 'Ready' | 'Issued', reason: Reason, message: string) => {
    conditions = withCondition(conditions, type, 'False', reason, message, now, generation);
  };
  const drop = (type: ConditionType) => {
    conditions = withoutCondition(conditions, type);
  };

  const current = st.current;
  const expired = current !== undefined && Date.parse(current.expiresAt) <= now;
  // Why no live user is published, when a condition still says one is.
  const gone: [Reason, string] | undefined = !current
    ? ['IssueFailed', 'no user is published: the status records no current user, so a new one is issued']
    : expired
      ? ['Expired', `user ${current.username} expired at ${current.expiresAt} and is not replaced yet`]
      : undefined;

  if (find('Issued')?.status === 'True' && gone) set('Issued', ...gone);
  if (find('Ready')?.status === 'True') {
    if (state.deleting) set('Ready', 'Revoked', 'being deleted: its users are revoked and its Secret removed');
    else if (gone) set('Ready', ...gone);
  }

  const rotating = find('Rotating');
  if (rotating?.reason === 'RotationScheduled' ? (st.retiring ?? []).length === 0 : rotating && !current) drop('Rotating');

  const stalled = find('Stalled');
  const reported = (type: 'Ready' | 'Rotating') => {
    const c = find(type);
    return c !== undefined && c.reason === stalled?.reason && !(type === 'Ready' && c.status === 'True');
  };
  const unstalled = stalled !== undefined && (state.deleting || !(reported('Ready') || reported('Rotating')));
  if (unstalled) drop('Stalled');

  if (find('RevocationFailing') && usernamesIn(st).length === 0) drop('RevocationFailing');

  if (JSON.stringify(conditions) === JSON.stringify(before)) return {};
  return { conditions, ...(unstalled && st.stalledOn !== undefined ? { stalledOn: null } : {}) };
}
