// What a DatabaseCredential needs next, and when to look at it again: pure functions of its spec,
// its status, what is known of its Secret (the cached digest) and the time. Table-tested.
import type { DatabaseCredential, DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import { nextDeadline, requeueDelay } from '../../lifecycle/horizons.ts';
import { secretIsIntact, secretLayoutIsStale, type DigestibleSecret } from '../../secrets/secret-digest.ts';

type Status = DatabaseCredentialStatus;

/**
 * - expire: the current user reached its expiry and rotation is off: revoke it, delete the Secret.
 * - ended: it expired earlier with rotation off; nothing happens until the spec changes.
 * - issue: no user yet (or an intent to complete that has no current user).
 * - rotate: replace the current user (renewal due, past expiry, asked for by annotation, or an intent to complete).
 * - repair: replace the current user because it or its Secret was damaged (dropped by hand, edited).
 * - republish: the Secret is intact but rendered from an older spec or server address.
 * - none: all is as it should be; wait for the next deadline.
 */
export type NextAction = 'expire' | 'ended' | 'issue' | 'rotate' | 'repair' | 'republish' | 'none';

export interface CredentialState {
  generation?: number;
  rotationEnabled: boolean;
  status: Status;
  /** The credential's Secret as cached (a digest), if there is one. */
  secret?: DigestibleSecret;
  /**
   * The layout hash the Secret would have if rendered now (spec and server address); asked only
   * when nothing else is due, as it renders the Secret and hashes it on every reconcile otherwise.
   */
  layout: () => string | undefined;
  /** The sweeper found the current user missing from its database. */
  currentUserMissing: boolean;
  /** The dbcred.io/rotate annotation holds a value not yet carried out. */
  rotationRequested?: boolean;
  now: number;
}

/** nextAction decides what a credential needs now; every branch is a row of its table test. */
export function nextAction(s: CredentialState): NextAction {
  const { status: st, now } = s;
  const current = st.current;
  const expiredCurrent = current !== undefined && now >= Date.parse(current.expiresAt);
  if (expiredCurrent && !s.rotationEnabled && !st.pending) return 'expire';
  if (!current && !st.pending && !s.rotationEnabled && hasEnded(st, s.generation)) return 'ended';
  if (st.pending) return current ? 'rotate' : 'issue';
  if (!current) return 'issue';
  if (expiredCurrent) return 'rotate';
  if (s.currentUserMissing) return 'repair';
  if (!secretIsIntact(s.secret, current.username)) return 'repair';
  if (s.rotationRequested) return 'rotate';
  if (s.rotationEnabled && current.renewAt && now >= Date.parse(current.renewAt)) return 'rotate';
  if (s.secret) {
    const layout = s.layout();
    if (layout !== undefined && secretLayoutIsStale(s.secret, layout)) return 'republish';
  }
  return 'none';
}

/** hasEnded: the credential expired with rotation off, for this generation of its spec. */
function hasEnded(st: Status, generation: number | undefined): boolean {
  const ready = st.conditions?.find((c) => c.type === 'Ready');
  return ready?.reason === 'Expired' && ready.observedGeneration === generation;
}

/**
 * nextWake is the delay until the credential's next deadline (renewal, expiry, a retiring user's
 * revokeAt) or one of the extra delays; undefined when nothing is due.
 */
export function nextWake(
  cred: Pick<DatabaseCredential, 'spec'>,
  st: Status,
  now: number,
  ...extra: (number | undefined)[]
): number | undefined {
  const renew = cred.spec.rotation.enabled && st.current?.renewAt ? Date.parse(st.current.renewAt) : undefined;
  const expires = st.current ? Date.parse(st.current.expiresAt) : undefined;
  const revokes = (st.retiring ?? []).map((r) => Date.parse(r.revokeAt));
  const deadline = nextDeadline(renew, expires, ...revokes, ...extra.map((d) => (d === undefined ? undefined : now + d)));
  return requeueDelay(deadline, now);
}
