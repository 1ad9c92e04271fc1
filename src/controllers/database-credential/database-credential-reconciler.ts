// DatabaseCredential: the product. One level-based reconcile converges a request towards "a
// verified, unexpired user is published in the Secret, and every other user it caused is gone".
// reconcile() and converge() read as the table of contents; each step lives in its own file:
//   finalize.ts (deleting) → revocation.ts (users past their overlap, an expired intent) →
//   resolve role, tenancy, server, limits → next-action.ts (what now: pure) → issuance.ts /
//   expiry.ts / quota.ts → requeue at the next deadline (renewAt, expiresAt, revokeAt).
// Intent is recorded in status before any user is created (I1); the Secret is written only after
// the new user logged in (I5); old users are revoked only after their overlap (I5) and revocation
// is retried until done, visibly (I4).
import type { KubeObject } from '../../runtime/kube/types.ts';
import { createHash } from 'node:crypto';
import { DatabaseCredential, validate, type DatabaseCredentialStatus, type Reason } from '../../api/v1alpha1/index.ts';
import { mustParseDuration } from '../../util/duration.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { addFinalizer, hasFinalizer } from '../../runtime/finalizers.ts';
import { layoutHash } from '../../secrets/secret-digest.ts';
import { ConditionError, isApiServerHiccup, messageOf, reasonFor } from '../condition-error.ts';
import { isDbcredError } from '../../util/errors.ts';
import type { OperatorContext } from '../context.ts';
import { REVOKE_FINALIZER } from '../dbcred-resources.ts';
import type { ResolvedServer } from '../engine-pool.ts';
import { secretValues } from '../published-secret.ts';
import { resolveRole, type ResolvedRole } from '../roles.ts';
import { rolePolicyRefusal } from '../account-policy.ts';
import { CredentialContext, RES, type CredentialInformers } from './credential-context.ts';
import { cannotIssue, expireCurrent } from './expiry.ts';
import { finalizeCredential, finalizeMalformed } from './finalize.ts';
import { dropForeignUsers } from './foreign-users.ts';
import { issueUser, republishSecret, rotationRequestOf } from './issuance.ts';
import { nextAction, nextWake } from './next-action.ts';
import { quotaRefusal, roleKey } from './quota.ts';
import { REVOCATION_RETRY, retireDueUsers, settleExpiredIntent } from './revocation.ts';
import { withCondition, withoutCondition } from '../status-conditions.ts';

export type { CredentialInformers } from './credential-context.ts';

/** What issuing needs once the references resolved: the role, its server, the ttl asked for. */
interface Resolved {
  role: ResolvedRole;
  server: ResolvedServer;
  ttlMs: number;
}

export class DatabaseCredentialReconciler implements Reconciler {
  private readonly c: CredentialContext;
  /**
   * Credentials whose issuance failed for good, with what it depended on then: until one of those
   * changes (or the recheck time comes) they are not tried again, even though their own status
   * writes bring them back to the queue.
   */
  private readonly stalled = new Map<string, { dependsOn: string; until: number }>();

  constructor(ctx: OperatorContext, informers: CredentialInformers, missingUsers: Map<string, string>) {
    this.c = new CredentialContext(ctx, informers, missingUsers);
  }

  /** footprint: entries of this reconciler's own maps (Secrets it wrote, missing users, quota locks). */
  footprint(): Record<string, number> {
    return {
      credentialSecretsWritten: this.c.secrets.size(),
      missingUsers: this.c.missingUsers.size,
      quotaLocks: this.c.quotaLock.size(),
      stalledCredentials: this.stalled.size,
    };
  }

  /** reconcile converges one credential: finalize if deleting, otherwise converge its users and Secret. */
  async reconcile(key: string): Promise<Result | void> {
    const { ctx } = this.c;
    const raw = ctx.status.freshest(RES, this.c.informers.credentials.get(key), key);
    if (!raw) {
      ctx.status.forget(RES, key);
      this.c.missingUsers.delete(key);
      this.stalled.delete(key);
      return;
    }
    const parsed = validate(DatabaseCredential, raw);
    if (!parsed.ok) {
      if (raw.metadata.deletionTimestamp) return finalizeMalformed(this.c, raw);
      await this.c.setCondition(raw as DatabaseCredential, 'False', 'InvalidSpec', parsed.message);
      return;
    }
    // Users its status names that it did not issue are never touched (an edited status).
    const cred = await dropForeignUsers(this.c, parsed.value);
    if (cred.metadata.deletionTimestamp) return finalizeCredential(this.c, cred);
    return this.converge(await this.withFinalizer(cred));
  }

  private async converge(cred: DatabaseCredential): Promise<Result | void> {
    const { c } = this;
    const now = c.ctx.clock.now();
    // 1. Users past their overlap go first, whatever else happens; so does an intent that was not
    //    completed before its user's expiry (the operator was down): that user can no longer log in.
    const retired = await retireDueUsers(c, cred, now);
    const settled = await settleExpiredIntent(c, retired.cred, now);
    if (settled.failed) return REVOCATION_RETRY;
    cred = settled.cred;
    const retry = retired.failed;

    // 2. Role, tenancy, server and limits.
    let resolved: Resolved;
    try {
      resolved = await this.resolve(cred);
    } catch (error) {
      if (isApiServerHiccup(error)) throw error; // not a missing reference: retried with backoff
      return withRetry(await cannotIssue(c, cred, error, now), retry);
    }

    // 3. What now.
    const st = cred.status ?? {};
    const { server } = resolved;
    const facts = {
      generation: cred.metadata.generation,
      rotationEnabled: cred.spec.rotation.enabled,
      status: st,
      now,
      layout: () => st.current && layoutHash(cred.spec.secret, secretValues(server, st.current.username, Date.parse(st.current.expiresAt))),
      currentUserMissing:
        st.current !== undefined && c.missingUsers.get(`${cred.metadata.namespace}/${cred.metadata.name}`) === st.current.username,
      rotationRequested: rotationRequestOf(cred) !== undefined && rotationRequestOf(cred) !== st.rotationRequest,
    };
    let action = nextAction({ ...facts, secret: c.cachedSecret(cred) });
    // A repair is judged from the cache, which can lag behind the Secret's last write (a slow or
    // reconnecting watch): it is confirmed against the apiserver first, one read on a rare path,
    // so cache lag never issues a second user.
    if (action === 'repair') action = nextAction({ ...facts, secret: await c.liveSecret(cred) });
    // A rotation blocked by its role or server (Rotating=False, from cannotIssue), or an issuance
    // stalled on an error (Stalled), is blocked no longer once both resolve and nothing needs
    // issuing: the conditions must not outlive their cause.
    const blocked = st.conditions?.some((x) => (x.type === 'Rotating' && x.status === 'False') || x.type === 'Stalled');
    if (blocked && (action === 'none' || action === 'republish'))
      cred = await c.writeStatus(cred, {
        conditions: withoutCondition(withoutCondition(st.conditions, 'Rotating'), 'Stalled'),
        stalledOn: null,
      });
    switch (action) {
      case 'expire':
        return expireCurrent(
          c,
          cred,
          now,
          `user ${st.current!.username} reached its expiry and was revoked; rotation is disabled, so the Secret is deleted`,
          'Normal',
        );
      case 'ended': // a spec change issues again
        return withRetry({ requeueAfterMs: nextWake(cred, st, now) }, retry);
      case 'issue':
      case 'rotate':
      case 'repair': {
        const key = `${cred.metadata.namespace}/${cred.metadata.name}`;
        const dependsOn = dependencies(cred, resolved);
        // This process's memory, or after a restart or a leader change what status recorded: a
        // stalled issuance is not tried again before its recheck unless something it depends on changed.
        const stalled = this.stalled.get(key) ?? stalledFromStatus(st, dependsOn);
        if (stalled && stalled.dependsOn === dependsOn && now < stalled.until)
          return withRetry({ requeueAfterMs: stalled.until - now }, retry);
        this.stalled.delete(key);
        // With a quota, the check and the intent write of one role's credentials do not interleave
        // (16 workers): each intent counts before the next check, so the quota is exact.
        const limited = !st.pending && resolved.role.role.spec.maxActiveCredentials !== undefined;
        const release = limited ? await c.quotaLock.acquire(roleKey(resolved.role)) : () => undefined;
        try {
          const refusal = limited ? quotaRefusal(c.informers.credentials, resolved.role, cred, c.latestCredential) : undefined;
          if (refusal) {
            release();
            return withRetry(await cannotIssue(c, cred, refusal, now), retry);
          }
          cred = await issueUser(c, cred, resolved.role, server, resolved.ttlMs, action, now, release);
        } catch (error) {
          const reason = reasonFor(error, 'IssueFailed');
          const type = st.current ? 'Rotating' : 'Ready';
          const previous = st.conditions?.find((x) => x.type === type);
          // An error no retry can fix (a template that does not parse, a Secret the apiserver or
          // someone else refuses, missing privileges) waits for a change instead of backing off.
          const terminal = isDbcredError(error) && !error.retryable;
          const message = terminal ? `${messageOf(error)} (${TERMINAL_WAIT})` : messageOf(error);
          // The issuance may have written status already (its intent): the conditions go on that copy.
          const latest = c.latestCredential(cred) as DatabaseCredential;
          let conditions = withCondition(
            latest.status?.conditions,
            type,
            st.current ? 'True' : 'False',
            reason,
            message,
            now,
            cred.metadata.generation,
          );
          // Stalled says since when (its lastTransitionTime, kept while the cause stays) and what would unblock it.
          if (terminal)
            conditions = withCondition(
              conditions,
              'Stalled',
              'True',
              reason,
              `${messageOf(error)}; ${STALLED_UNTIL}`,
              now,
              cred.metadata.generation,
            );
          await c.writeStatusIfChanged(latest, { conditions, ...(terminal ? { stalledOn: digestOf(dependsOn) } : {}) });
          // A Warning Event once per new reason (kubectl describe shows it next to the condition);
          // an apiserver hiccup or a lost lease is not the credential's problem.
          if (previous?.reason !== reason && !isApiServerHiccup(error) && !isDbcredError(error, 'NOT_LEADER'))
            c.event(cred, 'Warning', reason, st.current ? 'Rotate' : 'Issue', message);
          // The watches bring it back on a change of the credential, its role or its server; the
          // slow recheck catches a fix made in the database itself (a group role created, a grant).
          if (terminal) {
            this.stalled.set(key, { dependsOn, until: now + TERMINAL_RECHECK_MS });
            return withRetry({ requeueAfterMs: TERMINAL_RECHECK_MS }, retry);
          }
          throw error; // retried with backoff by the controller
        } finally {
          release();
        }
        break;
      }
      case 'republish':
        await republishSecret(c, cred, server, st.current!);
        break;
      case 'none':
        break;
    }
    // Whatever this reconcile wrote or not, no condition outlives its fact (a user that expired while
    // nothing else changed, say); this writes only when one would.
    cred = await c.writeStatusIfChanged(c.latestCredential(cred) as DatabaseCredential, {});
    return withRetry({ requeueAfterMs: nextWake(cred, cred.status ?? {}, c.ctx.clock.now()) }, retry);
  }

  /**
   * resolve finds the role (tenancy applied), the ttl within its maxTTL, and the server; it throws a
   * ConditionError saying why a credential cannot be issued now.
   */
  private async resolve(cred: DatabaseCredential): Promise<Resolved> {
    const { ctx, informers } = this.c;
    const st = cred.status ?? {};
    const role = resolveRole(informers, ctx.engines, cred.spec.roleRef, cred.metadata.namespace!);
    const ttlMs = mustParseDuration(cred.spec.ttl ?? role.role.spec.defaultTTL);
    const maxMs = mustParseDuration(role.role.spec.maxTTL);
    if (ttlMs > maxMs) {
      throw new ConditionError(
        'LIMIT_EXCEEDED',
        'TTLAboveMax',
        `ttl ${cred.spec.ttl} is above the role's maxTTL ${role.role.spec.maxTTL}; ask for at most ${role.role.spec.maxTTL}`,
      );
    }
    if (st.server && (st.server.kind !== role.server.kind || st.server.name !== role.server.name)) {
      throw new ConditionError(
        'REFERENCE_INVALID',
        'InvalidSpec',
        `the role now points at another server (${role.server.name}); users of this credential live on ${st.server.name}: create a new DatabaseCredential`,
      );
    }
    const server = await ctx.engines.resolve(role.server);
    // The spec checks are cheap and always hold; what only the database can tell (privileged group
    // roles) comes from the role's own check, which must have judged its current spec.
    const refusal =
      rolePolicyRefusal(role.role, server.object) ??
      roleCheckRefusal(role) ??
      serverCheckRefusal(server) ??
      (st.current ? undefined : serverDeletingRefusal(server));
    if (refusal) throw refusal;
    return { role, server, ttlMs };
  }

  /** withFinalizer adds the revoke finalizer when the chart's admission policy did not (I6). */
  private async withFinalizer(cred: DatabaseCredential): Promise<DatabaseCredential> {
    if (hasFinalizer(cred, REVOKE_FINALIZER)) return cred;
    const updated = await addFinalizer(this.c.ctx.client, RES, cred, REVOKE_FINALIZER);
    this.c.ctx.status.remember(RES, updated);
    return { ...cred, metadata: { ...cred.metadata, ...updated.metadata } };
  }
}

/** withRetry adds the revocation retry to a result when a revocation failed earlier in the reconcile. */
/** dependencies names what a failed issuance depended on: the credential's spec and annotations, its role's and its server's spec and readiness. */
function dependencies(cred: DatabaseCredential, resolved: Resolved): string {
  const ready = (o: KubeObject) =>
    (o as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.find((x) => x.type === 'Ready')?.status;
  const role = resolved.role.role;
  const server = resolved.server.object;
  // The credential's annotations too: touching one is how a user asks for a retry after a fix made in the database.
  return JSON.stringify([
    cred.metadata.generation,
    cred.metadata.annotations ?? {},
    role.metadata.uid,
    role.metadata.generation,
    server.metadata.uid,
    server.metadata.generation,
    ready(server),
  ]);
}

/** digestOf shortens what a stalled issuance depended on for status (the inputs are names, uids and generations: nothing secret). */
function digestOf(dependsOn: string): string {
  return createHash('sha256').update(dependsOn).digest('hex').slice(0, 32);
}

/**
 * stalledFromStatus rebuilds a stall this process does not remember (a restart, a new leader) from
 * status: the Stalled condition and the digest of what it depended on. Its recheck comes 10 min
 * after the condition was last set.
 */
function stalledFromStatus(st: DatabaseCredentialStatus, dependsOn: string): { dependsOn: string; until: number } | undefined {
  const stalled = st.conditions?.find((x) => x.type === 'Stalled' && x.status === 'True');
  if (!stalled || st.stalledOn !== digestOf(dependsOn)) return undefined;
  return { dependsOn, until: Date.parse(stalled.lastTransitionTime) + TERMINAL_RECHECK_MS };
}

/** How often an issuance that failed for good is tried again without any change (a fix made in the database). */
const TERMINAL_RECHECK_MS = 10 * 60_000;
const TERMINAL_WAIT = 'not retried until the credential, its role or its server changes, or in 10 min';
const STALLED_UNTIL =
  'issuing waits for a change of the credential (its spec, or any annotation to retry after a fix in the database), its role or its server, or the recheck every 10 min';

function withRetry(result: Result, retry: boolean): Result {
  return retry ? { ...result, ...REVOCATION_RETRY } : result;
}

/**
 * serverCheckRefusal: a server whose own check of its current spec failed (its certificate or host
 * refused, the admin login wrong, the database unreachable) issues no user: nothing is recorded or
 * created for a login that cannot be made. The server turning Ready brings its credentials back.
 */
function serverCheckRefusal(server: ResolvedServer): ConditionError | undefined {
  const { metadata, status } = server.object;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'False' || ready.observedGeneration !== metadata.generation) return undefined;
  const name = displayName(server.ref.kind, metadata);
  return new ConditionError('REFERENCE_INVALID', 'ServerNotReady', `${name} is not ready (${ready.reason}): ${ready.message}`);
}

/**
 * serverDeletingRefusal: a server being deleted stays (its finalizer) only until the users issued on
 * it are revoked, so a credential with no user yet gets none there: a first user would hold the
 * server for as long as the credential lives. Credentials already issued keep working and rotating
 * until they are deleted, as a PVC in use outlives its deletion.
 */
function serverDeletingRefusal(server: ResolvedServer): ConditionError | undefined {
  const { metadata } = server.object;
  if (!metadata.deletionTimestamp) return undefined;
  const name = displayName(server.ref.kind, metadata);
  return new ConditionError(
    'REFERENCE_INVALID',
    'ServerNotReady',
    `${name} is being deleted (it stays until the users already issued on it are revoked): it issues no new user; point the role at another server`,
  );
}

/**
 * roleCheckRefusal: a role is used only once its controller has checked its current spec against
 * the database, and never while that check refuses it (a privileged group role, say) or found what
 * any issuance would fail on (a group role missing, a privilege the admin lacks): no user is created
 * only to be dropped. The role turning Ready brings its credentials back.
 */
function roleCheckRefusal(role: ResolvedRole): ConditionError | undefined {
  const { metadata, status } = role.role;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  const name = displayName(role.kind, metadata);
  if (!ready || ready.observedGeneration !== metadata.generation) {
    return new ConditionError('REFERENCE_INVALID', 'RoleNotReady', `${name} has not been checked yet (generation ${metadata.generation})`, {
      passing: true,
    });
  }
  if (ready.reason === 'NotAllowedByServer' || ready.reason === 'PrivilegedAccount') {
    return new ConditionError('ACCESS_DENIED', ready.reason, `${name} is refused: ${ready.message}`);
  }
  const failure = ROLE_CHECK_FAILURES.find((r) => r === ready.reason);
  if (ready.status === 'False' && failure) {
    return new ConditionError('DB_MISSING_PRIVILEGES', failure, `${name} cannot issue users: ${ready.message}`);
  }
  return undefined;
}

/** displayName is how refusals name an object: its kind and namespace/name (name alone when cluster-scoped). */
function displayName(kind: string, metadata: { namespace?: string; name: string }): string {
  return `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
}

/** What a role's own check finds that every issuance on it would fail on (server problems are the server's check's). */
const ROLE_CHECK_FAILURES: readonly Reason[] = ['GroupRoleMissing', 'MissingPrivileges', 'EngineMismatch'];
