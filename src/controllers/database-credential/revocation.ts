// Revoking a credential's users: those past their overlap, an intent whose user expired before it
// was completed, and (from expiry and finalize) the rest. Each revocation is idempotent ("does not
// exist" is success); a failure is shown (condition, Event, audit, metric) and the reconcile asks
// the work queue to retry with its backoff (I4).
import type { DatabaseCredential } from '../../api/v1alpha1/index.ts';
import type { UserPolicy } from '../../engines/engine.ts';
import { messageOf, reasonFor } from '../condition-error.ts';
import type { ServerRef } from '../engine-pool.ts';
import { resolveRole } from '../roles.ts';
import { secretUsername } from '../../secrets/secret-digest.ts';
import { withCondition, withoutCondition } from '../status-conditions.ts';
import type { CredentialContext } from './credential-context.ts';

/** The default policy for revoking users whose role is gone: end sessions, drop owned objects. */
export const FALLBACK_POLICY: UserPolicy = { revocation: { terminateSessions: true } };

export type RevokeWhy = 'retired' | 'expired' | 'deleted' | 'break-glass' | 'abandoned';

/**
 * A failed revocation is retried with the work queue's backoff, capped low so that a user dies soon
 * after its database returns.
 */
export const REVOCATION_RETRY = { retry: true, retryCapMs: 5_000 } as const;

/** What a revocation pass did: the users that went, and the first failure (it stops there). */
export interface Revocation {
  revoked: string[];
  failure?: string;
}

/**
 * revokeUsers revokes users on a server one by one and reports which went; it stops at the first
 * failure, which it audits and counts.
 */
export async function revokeUsers(
  c: CredentialContext,
  cred: DatabaseCredential,
  ref: ServerRef,
  usernames: string[],
  why: RevokeWhy,
  options: { dueAt?: (username: string) => number | undefined; event?: boolean; note?: string } = {},
): Promise<Revocation> {
  const { ctx } = c;
  const revoked: string[] = [];
  let policy = FALLBACK_POLICY;
  try {
    policy = resolveRole(c.informers, ctx.engines, cred.spec.roleRef, cred.metadata.namespace!).policy;
  } catch {
    // The role is gone or unusable: revoke with the safe default.
  }
  for (const username of usernames) {
    try {
      const { engine } = await ctx.engines.resolveForRevocation(ref);
      const result = await engine.revokeUser(username, policy);
      revoked.push(username);
      ctx.metrics.revoked.inc({ why });
      const due = options.dueAt?.(username);
      if (due !== undefined) ctx.metrics.revocationLag.observe({ why }, Math.max(0, ctx.clock.now() - due) / 1000);
      ctx.failpoints.hit('after-old-user-revoked');
      const message =
        `user ${username} revoked (${result.existed ? `dropped, ${result.terminatedSessions} session(s) ended` : 'already gone'})` +
        (options.note ? `: ${options.note}` : '');
      c.audit(cred, { action: 'revoke', outcome: 'success', server: ref.name, username, reason: why, message });
      if (options.event !== false) c.event(cred, 'Normal', 'Revoked', 'Revoke', message);
    } catch (error) {
      ctx.metrics.revocationFailures.inc();
      const message = `could not revoke user ${username}: ${messageOf(error)}`;
      c.audit(cred, {
        action: 'revoke-failed',
        outcome: 'failure',
        server: ref.name,
        username,
        reason: reasonFor(error, 'RevocationFailed'),
        message,
      });
      return { revoked, failure: message };
    }
  }
  return { revoked };
}

/**
 * showRevocationFailing sets RevocationFailing and raises a Warning Event. For a credential being
 * deleted Ready goes False too: whatever it said before is no longer what matters.
 */
export async function showRevocationFailing(
  c: CredentialContext,
  cred: DatabaseCredential,
  message: string,
  options: { deleting?: boolean } = {},
): Promise<DatabaseCredential> {
  const now = c.ctx.clock.now();
  const generation = cred.metadata.generation;
  let conditions = withCondition(cred.status?.conditions, 'RevocationFailing', 'True', 'RevocationFailed', message, now, generation);
  if (options.deleting)
    conditions = withCondition(conditions, 'Ready', 'False', 'RevocationFailed', `being deleted, but ${message}`, now, generation);
  c.event(cred, 'Warning', 'RevocationFailed', 'Revoke', message);
  return c.writeStatusIfChanged(cred, { conditions });
}

/** A step that may revoke: the credential as it now is, and whether a revocation failed (retry). */
export interface RevokeStep {
  cred: DatabaseCredential;
  failed: boolean;
}

/** retireDueUsers revokes retiring users whose revokeAt has passed; a failure is shown and retried. */
export async function retireDueUsers(c: CredentialContext, cred: DatabaseCredential, now: number): Promise<RevokeStep> {
  const st = cred.status ?? {};
  const due = (st.retiring ?? []).filter((r) => Date.parse(r.revokeAt) <= now);
  if (due.length === 0 || !st.server) return { cred, failed: false };
  const dueAt = (u: string) => {
    const r = due.find((x) => x.username === u);
    return r ? Date.parse(r.revokeAt) : undefined;
  };
  const { revoked, failure } = await revokeUsers(
    c,
    cred,
    st.server,
    due.map((r) => r.username),
    'retired',
    { dueAt },
  );
  if (revoked.length > 0) {
    const retiring = (st.retiring ?? []).filter((r) => !revoked.includes(r.username));
    let conditions = failure ? st.conditions : withoutCondition(st.conditions, 'RevocationFailing');
    if (retiring.length === 0) conditions = withoutCondition(conditions, 'Rotating');
    cred = await c.writeStatus(cred, { retiring, conditions });
  }
  if (failure) return { cred: await showRevocationFailing(c, cred, failure), failed: true };
  return { cred, failed: false };
}

/**
 * settleExpiredIntent resolves an intent whose user's expiry passed before the issue was recorded
 * (the operator was down): completing it would publish a user that can no longer log in. If its
 * Secret was already written, the user was delivered: it is recorded as the (expired) current
 * user, so the usual expiry or rotation follows. If not, the user is dropped and the intent
 * forgotten, so the credential is issued afresh.
 */
export async function settleExpiredIntent(c: CredentialContext, cred: DatabaseCredential, now: number): Promise<RevokeStep> {
  const st = cred.status ?? {};
  const pending = st.pending;
  if (!pending || Date.parse(pending.expiresAt) > now || !st.server) return { cred, failed: false };
  const secret = c.cachedSecret(cred);
  if (secret && secretUsername(secret) === pending.username) {
    const current = { username: pending.username, serial: pending.serial, issuedAt: pending.startedAt, expiresAt: pending.expiresAt };
    // The user it replaced in the Secret is retired (due now: the Secret no longer names it), so it
    // is revoked and audited as such, never left for the sweep to find as an orphan.
    const previous = st.current;
    const retiring =
      previous && previous.username !== pending.username
        ? [
            ...(st.retiring ?? []),
            { username: previous.username, serial: previous.serial, revokeAt: new Date(now).toISOString(), reason: 'Rotated' as const },
          ]
        : st.retiring;
    return { cred: await c.writeStatus(cred, { pending: null, current, ...(retiring ? { retiring } : {}) }), failed: false };
  }
  const { failure } = await revokeUsers(c, cred, st.server, [pending.username], 'expired', { dueAt: () => Date.parse(pending.expiresAt) });
  if (failure) return { cred: await showRevocationFailing(c, cred, failure), failed: true };
  return { cred: await c.writeStatus(cred, { pending: null }), failed: false };
}
