// The end of a credential's user when no replacement comes: at its expiry the user is revoked and
// the Secret deleted (I5: a Secret never names a dropped user). Also what a credential shows while
// it cannot get a (new) user: a denial or a missing reference.
import type { DatabaseCredential } from '../../api/v1alpha1/index.ts';
import type { Result } from '../../runtime/controller.ts';
import { ConditionError, messageOf, reasonFor } from '../condition-error.ts';
import { recordDenial } from '../denial.ts';
import { deleteSecret } from '../published-secret.ts';
import { withCondition, withoutCondition } from '../status-conditions.ts';
import type { CredentialContext, Status } from './credential-context.ts';
import { nextWake } from './next-action.ts';
import { REVOCATION_RETRY, revokeUsers, showRevocationFailing } from './revocation.ts';

/** How often a credential waiting for a reference (a role, a server, a place in a quota) looks again. */
export const WAIT_FOR_REFERENCE_MS = 30_000;

/**
 * expireCurrent revokes the current user at its expiry, deletes the Secret, and says so in one
 * Event: Normal when the credential simply ran its course (rotation off), Warning when it could not
 * be replaced. A failed revocation is shown and retried.
 */
export async function expireCurrent(
  c: CredentialContext,
  cred: DatabaseCredential,
  now: number,
  message: string,
  type: 'Normal' | 'Warning' = 'Warning',
): Promise<Result> {
  const st = cred.status ?? {};
  const current = st.current!;
  const { failure } = await revokeUsers(c, cred, st.server!, [current.username], 'expired', {
    dueAt: () => Date.parse(current.expiresAt),
    event: false,
  });
  if (failure) {
    await showRevocationFailing(c, cred, failure);
    return REVOCATION_RETRY;
  }
  await deleteSecret(c.ctx.client, cred, c.cachedSecret(cred));
  // Issued said which user the Secret holds until when: no longer true either.
  const notReady = withCondition(
    withoutCondition(st.conditions, 'RevocationFailing'),
    'Ready',
    'False',
    'Expired',
    message,
    now,
    cred.metadata.generation,
  );
  const conditions = withCondition(notReady, 'Issued', 'False', 'Expired', message, now, cred.metadata.generation);
  cred = await c.writeStatus(cred, { current: null, conditions });
  c.event(cred, type, 'Expired', 'Expire', message);
  c.audit(cred, { action: 'expire', outcome: 'success', server: st.server?.name, username: current.username, reason: 'Expired', message });
  return { requeueAfterMs: nextWake(cred, cred.status ?? {}, now, WAIT_FOR_REFERENCE_MS) };
}

/**
 * cannotIssue handles a credential that cannot get a (new) user now: a denial or a missing
 * reference. A current user stays until it expires; at expiry it is revoked and the Secret deleted.
 */
export async function cannotIssue(c: CredentialContext, cred: DatabaseCredential, error: unknown, now: number): Promise<Result> {
  const st = cred.status ?? {};
  const reason = reasonFor(error, 'IssueFailed');
  const message = messageOf(error);
  const denial = error instanceof ConditionError && (error.code === 'ACCESS_DENIED' || error.code === 'LIMIT_EXCEEDED');
  if (st.current && Date.parse(st.current.expiresAt) <= now)
    return expireCurrent(c, cred, now, `${message}; the user expired and could not be replaced`);
  const previous = st.conditions?.find((x) => x.type === (st.current ? 'Rotating' : 'Ready'));
  if (st.current) {
    cred = await c.setCondition(
      cred,
      'False',
      reason,
      `cannot rotate: ${message}; the current user stays until ${st.current.expiresAt}`,
      'Rotating',
    );
  } else {
    cred = await c.setCondition(cred, 'False', reason, message);
  }
  // A wait that ends by itself (a role not checked yet) shows in the condition only.
  const passing = error instanceof ConditionError && error.passing;
  if (previous?.reason !== reason && !passing) {
    const action = st.current ? 'Rotate' : 'Issue';
    if (denial) recordDenial(c.ctx, cred, 'DatabaseCredential', action, reason, message, { role: cred.spec.roleRef.name });
    else c.event(cred, 'Warning', reason, action, message);
  }
  const st2 = cred.status ?? {};
  // Missing references come back on their own (a role or Secret created later), and a full quota
  // frees up as other credentials end: poll for them. Other denials wait for a spec change.
  const wait = denial && !st2.current && reason !== 'QuotaExceeded' ? undefined : WAIT_FOR_REFERENCE_MS;
  // A renewal that was due and could not happen is retried by that poll, not at its past renewAt
  // (which would come back at once, over and over, until the user expires).
  const withoutDueRenewal: Status = st2.current ? { ...st2, current: { ...st2.current, renewAt: undefined } } : st2;
  return { requeueAfterMs: nextWake(cred, withoutDueRenewal, now, wait) };
}
