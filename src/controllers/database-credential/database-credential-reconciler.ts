// DatabaseCredential: the product. One level-based reconcile converges a request towards "a
// verified, unexpired user is published in the Secret, and every other user it caused is gone":
//   finalize (deleting) → retire due users → resolve role/tenancy/limits → complete a pending
//   intent or issue/rotate → expire → requeue at the next deadline (renewAt, expiresAt, revokeAt).
// Intent is recorded in status before any user is created (I1); the Secret is written only after
// the new user logged in (I5); old users are revoked only after their overlap (I5) and revocation
// is retried until done, visibly (I4).
import { DatabaseCredential, DatabaseCredentialStatus, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import { API_VERSION } from '../../api/v1alpha1/kind.ts';
import type { AuditEntry } from '../../audit/audit-log.ts';
import type { UserPolicy } from '../../engines/engine.ts';
import { generatePassword } from '../../engines/password.ts';
import { usernameFor } from '../../engines/username.ts';
import { nextDeadline, renewAt, requeueDelay, revocationRetryDelay } from '../../lifecycle/horizons.ts';
import { renderSecretData } from '../../secrets/secret-data.ts';
import type { Informer, InformerEvent } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { isNotFound } from '../../runtime/kube/errors.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { mustParseDuration } from '../../util/duration.ts';
import { ConditionError, isApiServerHiccup, messageOf, reasonFor } from '../condition-error.ts';
import { sameStatus, withCondition, withoutCondition } from '../status-conditions.ts';
import type { OperatorContext } from '../context.ts';
import type { ResolvedServer, ServerRef } from '../engine-pool.ts';
import { DbcredResources, RESTARTED_AT_ANNOTATION, REVOKE_FINALIZER } from '../dbcred-resources.ts';
import { resolveRole, type ResolvedRole, type RoleInformers } from '../roles.ts';
import { Freshest } from '../status-writer.ts';
import { deleteSecret, rerenderSecret, secretNameOf, secretValues, writeSecret, type SecretObject } from '../published-secret.ts';
import { digestSecret, layoutHash, secretIsIntact, secretLayoutIsStale, secretUsername } from '../../secrets/secret-digest.ts';

type Status = DatabaseCredentialStatus;
type Retiring = NonNullable<Status['retiring']>[number];
const RES = DbcredResources.DatabaseCredential;
const WAIT_FOR_REFERENCE_MS = 30_000;

export interface CredentialInformers extends RoleInformers {
  credentials: Informer<KubeObject>;
  secrets: Informer<KubeObject>;
}

/** The default policy for revoking users whose role is gone: end sessions, drop owned objects. */
const FALLBACK_POLICY: UserPolicy = { revocation: { terminateSessions: true } };

export class DatabaseCredentialReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly informers: CredentialInformers;
  private readonly secrets = new Freshest();
  private readonly revokeFailures = new Map<string, number>();
  /** Users the sweeper found missing from their database (dropped by hand): re-issued. */
  readonly missingUsers = new Set<string>();
  /** Credentials refused by a full quota, per role key: a user of that role going away takes them up. */
  private readonly quotaWaiters = new Map<string, Set<string>>();

  constructor(ctx: OperatorContext, informers: CredentialInformers) {
    this.ctx = ctx;
    this.informers = informers;
    informers.secrets.on((event) => this.secrets.observe(event));
  }

  /** liveUsers counts users issued from a role that exist or may exist (current, pending, retiring). */
  liveUsers = (roleKind: string, roleName: string, roleNamespace?: string, except?: DatabaseCredential): number => {
    let n = 0;
    for (const raw of this.informers.credentials.list()) {
      if (except && raw.metadata.uid === except.metadata.uid) continue;
      const spec = (raw as { spec?: { roleRef?: { kind?: string; name?: string } } }).spec;
      const kind = spec?.roleRef?.kind ?? 'DatabaseRole';
      if (kind !== roleKind || spec?.roleRef?.name !== roleName) continue;
      if (roleKind === 'DatabaseRole' && raw.metadata.namespace !== roleNamespace) continue;
      n += usersIn((raw as { status?: Status }).status);
    }
    return n;
  };

  /**
   * quotaReleased returns (and forgets) the credentials waiting for a place in the quota of the
   * role whose credential changed, when that change freed a place: deleted, or fewer users.
   */
  quotaReleased(event: InformerEvent<KubeObject>): string[] {
    const object = event.object as Partial<DatabaseCredential>;
    const ref = object.spec?.roleRef;
    if (!ref?.name) return [];
    const freed = event.type === 'delete' || (event.previous !== undefined && usersIn(object.status) < usersIn((event.previous as Partial<DatabaseCredential>).status));
    if (!freed) return [];
    const key = roleKey(ref.kind ?? 'DatabaseRole', ref.name, ref.kind === 'ClusterDatabaseRole' ? undefined : event.object.metadata.namespace);
    const waiting = this.quotaWaiters.get(key);
    if (!waiting || waiting.size === 0) return [];
    this.quotaWaiters.delete(key);
    return [...waiting];
  }

  async reconcile(key: string): Promise<Result | void> {
    const raw = this.ctx.status.freshest(RES, this.informers.credentials.get(key), key);
    if (!raw) {
      this.ctx.status.forget(RES, key);
      for (const waiting of this.quotaWaiters.values()) waiting.delete(key);
      return;
    }
    const parsed = validate(DatabaseCredential, raw);
    if (!parsed.ok) {
      if (raw.metadata.deletionTimestamp) return this.finalizeMalformed(raw);
      await this.setReady(raw as DatabaseCredential, 'False', 'InvalidSpec', parsed.message);
      return;
    }
    let cred = parsed.value;
    if (cred.metadata.deletionTimestamp) return this.finalize(cred);
    if (!hasFinalizer(cred, REVOKE_FINALIZER)) {
      const updated = await addFinalizer(this.ctx.client, RES, cred, REVOKE_FINALIZER);
      this.ctx.status.remember(RES, updated);
      cred = { ...cred, metadata: { ...cred.metadata, ...updated.metadata } };
    }
    return this.converge(cred);
  }

  private async converge(cred: DatabaseCredential): Promise<Result | void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    // 1. Users past their overlap go first, whatever else happens; so does an intent that was not
    //    completed before its user's expiry (the operator was down): that user can no longer log in.
    const retire = await this.retireDue(cred, now);
    cred = retire.cred;
    const settled = await this.settleExpiredIntent(cred, now);
    if (settled.retryAfterMs !== undefined) return { requeueAfterMs: settled.retryAfterMs };
    cred = settled.cred;
    let st: Status = cred.status ?? {};

    // 2. Role, tenancy, server and limits.
    let role: ResolvedRole;
    let server: ResolvedServer;
    let ttlMs: number;
    try {
      role = resolveRole(this.informers, ctx.engines, cred.spec.roleRef, cred.metadata.namespace!);
      ttlMs = mustParseDuration(cred.spec.ttl ?? role.role.spec.defaultTTL);
      const maxMs = mustParseDuration(role.role.spec.maxTTL);
      if (ttlMs > maxMs) {
        throw new ConditionError('LIMIT_EXCEEDED', 'TTLAboveMax', `ttl ${cred.spec.ttl} is above the role's maxTTL ${role.role.spec.maxTTL}; ask for at most ${role.role.spec.maxTTL}`);
      }
      if (st.server && (st.server.kind !== role.server.kind || st.server.name !== role.server.name)) {
        throw new ConditionError('REFERENCE_INVALID', 'InvalidSpec', `the role now points at another server (${role.server.name}); users of this credential live on ${st.server.name}: create a new DatabaseCredential`);
      }
      server = await ctx.engines.resolve(role.server);
    } catch (error) {
      if (isApiServerHiccup(error)) throw error; // not a missing reference: retried with backoff
      return this.cannotIssue(cred, error, now, retire.requeueAfterMs);
    }

    // 3. A user past its expiry: rotation disabled means the credential ends here.
    const expiredCurrent = st.current !== undefined && now >= Date.parse(st.current.expiresAt);
    if (expiredCurrent && !cred.spec.rotation.enabled && !st.pending) {
      return this.expire(cred, now, `user ${st.current!.username} reached its expiry and was revoked; rotation is disabled, so the Secret is deleted`, 'Normal');
    }
    const ready = st.conditions?.find((c) => c.type === 'Ready');
    if (!st.current && !st.pending && !cred.spec.rotation.enabled && ready?.reason === 'Expired' && ready.observedGeneration === cred.metadata.generation) {
      return { requeueAfterMs: this.nextWake(cred, st, now, retire.requeueAfterMs) }; // ended; a spec change issues again
    }

    // 4. Complete a recorded intent, or issue/rotate when needed.
    const secret = this.cachedSecret(cred);
    const current = st.current;
    let why: 'issue' | 'rotate' | 'repair' | undefined;
    if (st.pending) why = current ? 'rotate' : 'issue';
    else if (!current) why = 'issue';
    else if (expiredCurrent) why = 'rotate';
    else if (this.missingUsers.has(current.username)) why = 'repair';
    else if (!secretIsIntact(secret, current.username)) why = 'repair';
    else if (cred.spec.rotation.enabled && current.renewAt && now >= Date.parse(current.renewAt)) why = 'rotate';
    if (why) {
      if (!st.pending) {
        const max = role.role.spec.maxActiveCredentials;
        // Counting walks every credential: only for a role with a quota. This credential's own users
        // are counted from its latest status, not the cache's copy (which may still show a user just revoked).
        const live = max === undefined ? 0 : this.liveUsers(role.kind, role.role.metadata.name, role.role.metadata.namespace, cred) + usersIn(st);
        const waiters = roleKey(role.kind, role.role.metadata.name, role.role.metadata.namespace);
        if (max !== undefined && live + 1 > max) {
          let waiting = this.quotaWaiters.get(waiters);
          if (!waiting) this.quotaWaiters.set(waiters, (waiting = new Set()));
          waiting.add(keyOfCredential(cred));
          return this.cannotIssue(cred, new ConditionError('LIMIT_EXCEEDED', 'QuotaExceeded', `role ${role.role.metadata.name} allows ${max} live users and has ${live}`), now, retire.requeueAfterMs);
        }
        this.quotaWaiters.get(waiters)?.delete(keyOfCredential(cred));
      }
      try {
        cred = await this.issue(cred, role, server, ttlMs, why, now);
      } catch (error) {
        const reason = reasonFor(error, 'IssueFailed');
        await this.setReady(cred, current ? 'True' : 'False', reason, messageOf(error), current ? 'Rotating' : 'Ready');
        throw error; // retried with backoff by the controller
      }
      st = cred.status ?? {};
    } else if (secret && current && secretLayoutIsStale(secret, layoutHash(cred.spec.secret, secretValues(server, current.username, Date.parse(current.expiresAt))))) {
      await this.republish(cred, server, current);
    }
    return { requeueAfterMs: this.nextWake(cred, st, ctx.clock.now(), retire.requeueAfterMs) };
  }

  /** issue records the intent, creates and verifies the user, publishes it, and retires the previous one. */
  private async issue(cred: DatabaseCredential, role: ResolvedRole, server: ResolvedServer, ttlMs: number, why: 'issue' | 'rotate' | 'repair', now: number): Promise<DatabaseCredential> {
    const { ctx } = this;
    const st: Status = cred.status ?? {};
    let pending = st.pending;
    if (!pending) {
      // After an expiry or a dropped intent nothing else remembers the serials used: lastSerial does.
      const serial = Math.max(st.lastSerial ?? 0, st.current?.serial ?? 0, ...(st.retiring ?? []).map((r) => r.serial)) + 1;
      const username = usernameFor({ credentialUid: cred.metadata.uid!, serial, prefix: role.role.spec.usernamePrefix }, server.engine.maxUsernameLength);
      pending = { username, serial, expiresAt: new Date(now + ttlMs).toISOString(), startedAt: new Date(now).toISOString() };
      // I1: the name and expiry are recorded before the user exists.
      cred = await this.writeStatus(cred, { pending, lastSerial: serial, server: serverOf(role.server), secretName: secretNameOf(cred) });
      ctx.failpoints.hit('after-intent-recorded');
    }
    const expiresAt = Date.parse(pending.expiresAt);
    const password = generatePassword(role.role.spec.passwordPolicy);
    await server.engine.createUser({ username: pending.username, password, expiresAt: new Date(expiresAt), policy: role.policy });
    ctx.failpoints.hit('after-user-created');
    await server.engine.verifyLogin({ username: pending.username, password });
    ctx.failpoints.hit('after-user-verified');
    const values = secretValues(server, pending.username, expiresAt);
    const written = await writeSecret(ctx.client, cred, renderSecretData({ ...values, password }, cred.spec.secret.template), layoutHash(cred.spec.secret, values));
    this.secrets.remember(digestSecret(written)); // no password kept, even until the cache has it
    ctx.failpoints.hit('after-secret-written');

    const issuedAt = ctx.clock.now();
    const previous = st.current;
    const retiring: Retiring[] = [...(st.retiring ?? [])];
    if (previous && previous.username !== pending.username) {
      // An expired user is no use to anyone: it goes at once instead of after the overlap.
      const overlapEnd = Math.min(issuedAt + mustParseDuration(cred.spec.rotation.overlap), Math.max(issuedAt, Date.parse(previous.expiresAt)));
      retiring.push({ username: previous.username, serial: previous.serial, revokeAt: new Date(overlapEnd).toISOString(), reason: why === 'repair' ? 'Repaired' : 'Rotated' });
    }
    this.missingUsers.delete(previous?.username ?? '');
    const current = {
      username: pending.username, serial: pending.serial, issuedAt: new Date(issuedAt).toISOString(), expiresAt: pending.expiresAt,
      ...(cred.spec.rotation.enabled ? { renewAt: new Date(renewAt(issuedAt, expiresAt, cred.spec.rotation.renewAtPercent)).toISOString() } : {}),
    };
    const reason: Reason = why === 'issue' ? 'Issued' : 'Rotated';
    const message = `user ${current.username} (serial ${current.serial}) is in Secret ${secretNameOf(cred)} until ${current.expiresAt}`;
    let conditions = withCondition(st.conditions, 'Ready', 'True', reason, message, issuedAt, cred.metadata.generation);
    conditions = withCondition(conditions, 'Issued', 'True', reason, message, issuedAt, cred.metadata.generation);
    conditions = retiring.length > 0
      ? withCondition(conditions, 'Rotating', 'True', 'RotationScheduled', `${retiring.length} previous user(s) revoked after the overlap`, issuedAt, cred.metadata.generation)
      : withoutCondition(conditions, 'Rotating');
    cred = await this.writeStatus(cred, { current, pending: null, retiring, conditions, secretName: secretNameOf(cred), server: serverOf(role.server) });
    ctx.metrics.issued.inc({ engine: server.engineName, why });
    ctx.metrics.issuanceDuration.observe({ engine: server.engineName }, Math.max(0, issuedAt - Date.parse(pending.startedAt)) / 1000);
    this.event(cred, 'Normal', reason, why === 'issue' ? 'Issue' : 'Rotate', message);
    this.audit({ action: why === 'issue' ? 'issue' : 'rotate', outcome: 'success', object: this.objectOf(cred), server: role.server.name, role: role.role.metadata.name, username: current.username, reason, message });
    if (previous && cred.spec.rolloutRestartTargets?.length) await this.restartTargets(cred, issuedAt);
    return cred;
  }

  /**
   * republish renders the Secret again for the same user after its spec (template, labels,
   * annotations) or the server's address changed, keeping the password it holds (rerenderSecret).
   */
  private async republish(cred: DatabaseCredential, server: ResolvedServer, current: NonNullable<Status['current']>): Promise<void> {
    const written = await rerenderSecret(this.ctx.client, cred, secretValues(server, current.username, Date.parse(current.expiresAt)));
    if (!written) return;
    this.secrets.remember(digestSecret(written));
    const message = `Secret ${secretNameOf(cred)} rendered again for user ${current.username} (same password): its spec or the server's address changed`;
    this.event(cred, 'Normal', 'SecretUpdated', 'Publish', message);
    this.audit({ action: 'republish', outcome: 'success', object: this.objectOf(cred), server: server.ref.name, username: current.username, reason: 'SecretUpdated', message });
  }

  /** retireDue revokes retiring users whose revokeAt has passed; failures are retried soon and shown. */
  private async retireDue(cred: DatabaseCredential, now: number): Promise<{ cred: DatabaseCredential; requeueAfterMs?: number }> {
    const st = cred.status ?? {};
    const due = (st.retiring ?? []).filter((r) => Date.parse(r.revokeAt) <= now);
    if (due.length === 0 || !st.server) return { cred };
    const { revoked, failure } = await this.revokeAll(cred, st.server, due.map((r) => r.username), 'retired', {
      dueAt: (u) => {
        const r = due.find((x) => x.username === u);
        return r ? Date.parse(r.revokeAt) : undefined;
      },
    });
    if (revoked.length > 0) {
      const retiring = (st.retiring ?? []).filter((r) => !revoked.includes(r.username));
      let conditions = failure ? st.conditions : withoutCondition(st.conditions, 'RevocationFailing');
      if (retiring.length === 0) conditions = withoutCondition(conditions, 'Rotating');
      cred = await this.writeStatus(cred, { retiring, conditions });
    }
    if (failure) {
      cred = await this.revocationFailing(cred, failure.message);
      return { cred, requeueAfterMs: failure.retryMs };
    }
    return { cred };
  }

  /**
   * settleExpiredIntent resolves an intent whose user's expiry passed before the issue was recorded
   * (the operator was down): completing it would publish a user that can no longer log in. If its
   * Secret was already written, the user was delivered: it is recorded as the (expired) current
   * user, so the usual expiry or rotation follows. If not, the user is dropped and the intent
   * forgotten, so the credential is issued afresh.
   */
  private async settleExpiredIntent(cred: DatabaseCredential, now: number): Promise<{ cred: DatabaseCredential; retryAfterMs?: number }> {
    const st = cred.status ?? {};
    const pending = st.pending;
    if (!pending || Date.parse(pending.expiresAt) > now || !st.server) return { cred };
    const secret = this.cachedSecret(cred);
    if (secret && secretUsername(secret) === pending.username) {
      const current = { username: pending.username, serial: pending.serial, issuedAt: pending.startedAt, expiresAt: pending.expiresAt };
      return { cred: await this.writeStatus(cred, { pending: null, current }) };
    }
    const { failure } = await this.revokeAll(cred, st.server, [pending.username], 'expired', { dueAt: () => Date.parse(pending.expiresAt) });
    if (failure) return { cred: await this.revocationFailing(cred, failure.message), retryAfterMs: failure.retryMs };
    return { cred: await this.writeStatus(cred, { pending: null }) };
  }

  /**
   * revokeAll revokes users on a server one by one (each is idempotent: "does not exist" is
   * success) and reports which went; it stops at the first failure.
   */
  private async revokeAll(cred: DatabaseCredential, ref: ServerRef, usernames: string[], why: 'retired' | 'expired' | 'deleted', options: { dueAt?: (username: string) => number | undefined; event?: boolean } = {}): Promise<{ revoked: string[]; failure?: { message: string; retryMs: number } }> {
    const { ctx } = this;
    const key = `${cred.metadata.namespace}/${cred.metadata.name}`;
    const revoked: string[] = [];
    let policy = FALLBACK_POLICY;
    try {
      policy = resolveRole(this.informers, ctx.engines, cred.spec.roleRef, cred.metadata.namespace!).policy;
    } catch {
      // The role is gone or unusable: revoke with the safe default.
    }
    for (const username of usernames) {
      try {
        const { engine } = await ctx.engines.resolveForRevocation(ref);
        const result = await engine.revokeUser(username, policy);
        revoked.push(username);
        this.revokeFailures.delete(key);
        ctx.metrics.revoked.inc({ why });
        const due = options.dueAt?.(username);
        if (due !== undefined) ctx.metrics.revocationLag.observe({ why }, Math.max(0, ctx.clock.now() - due) / 1000);
        ctx.failpoints.hit('after-old-user-revoked');
        const message = `user ${username} revoked (${result.existed ? `dropped, ${result.terminatedSessions} session(s) ended` : 'already gone'})`;
        this.audit({ action: 'revoke', outcome: 'success', object: this.objectOf(cred), server: ref.name, username, message });
        if (options.event !== false) this.event(cred, 'Normal', 'Revoked', 'Revoke', message);
      } catch (error) {
        ctx.metrics.revocationFailures.inc();
        const failures = (this.revokeFailures.get(key) ?? 0) + 1;
        this.revokeFailures.set(key, failures);
        const message = `could not revoke user ${username}: ${messageOf(error)}`;
        this.audit({ action: 'revoke-failed', outcome: 'failure', object: this.objectOf(cred), server: ref.name, username, reason: reasonFor(error, 'RevocationFailed'), message });
        return { revoked, failure: { message, retryMs: revocationRetryDelay(failures) } };
      }
    }
    return { revoked };
  }

  private async revocationFailing(cred: DatabaseCredential, message: string): Promise<DatabaseCredential> {
    const now = this.ctx.clock.now();
    const conditions = withCondition(cred.status?.conditions, 'RevocationFailing', 'True', 'RevocationFailed', message, now, cred.metadata.generation);
    this.event(cred, 'Warning', 'RevocationFailed', 'Revoke', message);
    if (sameStatus(cred.status, { ...cred.status, conditions })) return cred;
    return this.writeStatus(cred, { conditions });
  }

  /**
   * cannotIssue handles a credential that cannot get a (new) user now: a denial or a missing
   * reference. A current user stays until it expires; at expiry it is revoked and the Secret deleted.
   */
  private async cannotIssue(cred: DatabaseCredential, error: unknown, now: number, retireRequeue?: number): Promise<Result> {
    const st = cred.status ?? {};
    const reason = reasonFor(error, 'IssueFailed');
    const message = messageOf(error);
    const denial = error instanceof ConditionError && (error.code === 'ACCESS_DENIED' || error.code === 'LIMIT_EXCEEDED');
    if (st.current && Date.parse(st.current.expiresAt) <= now) return this.expire(cred, now, `${message}; the user expired and could not be replaced`);
    const previous = st.conditions?.find((c) => c.type === (st.current ? 'Rotating' : 'Ready'));
    if (st.current) {
      cred = await this.writeStatusIfChanged(cred, { conditions: withCondition(st.conditions, 'Rotating', 'False', reason, `cannot rotate: ${message}; the current user stays until ${st.current.expiresAt}`, now, cred.metadata.generation) });
    } else {
      cred = await this.writeStatusIfChanged(cred, { conditions: withCondition(st.conditions, 'Ready', 'False', reason, message, now, cred.metadata.generation) });
    }
    if (previous?.reason !== reason) {
      this.event(cred, 'Warning', reason, st.current ? 'Rotate' : 'Issue', message);
      if (denial) {
        this.ctx.metrics.denials.inc({ reason });
        this.audit({ action: 'deny', outcome: 'denied', object: this.objectOf(cred), role: cred.spec.roleRef.name, reason, message });
      }
    }
    const st2 = cred.status ?? {};
    // Missing references come back on their own (a role or Secret created later), and a full quota
    // frees up as other credentials end: poll for them. Other denials wait for a spec change.
    const wait = denial && !st2.current && reason !== 'QuotaExceeded' ? undefined : WAIT_FOR_REFERENCE_MS;
    // A renewal that was due and could not happen is retried by that poll, not at its past renewAt
    // (which would come back at once, over and over, until the user expires).
    const withoutDueRenewal: Status = st2.current ? { ...st2, current: { ...st2.current, renewAt: undefined } } : st2;
    return { requeueAfterMs: this.nextWake(cred, withoutDueRenewal, now, retireRequeue, wait) };
  }

  /**
   * expire revokes the current user at its expiry, deletes the Secret, and says so in one Event:
   * Normal when the credential simply ran its course (rotation off), Warning when it could not be
   * replaced.
   */
  private async expire(cred: DatabaseCredential, now: number, message: string, type: 'Normal' | 'Warning' = 'Warning'): Promise<Result> {
    const st = cred.status ?? {};
    const current = st.current!;
    const { failure } = await this.revokeAll(cred, st.server!, [current.username], 'expired', { dueAt: () => Date.parse(current.expiresAt), event: false });
    if (failure) {
      await this.revocationFailing(cred, failure.message);
      return { requeueAfterMs: failure.retryMs };
    }
    await deleteSecret(this.ctx.client, cred, this.cachedSecret(cred));
    const conditions = withCondition(withoutCondition(st.conditions, 'RevocationFailing'), 'Ready', 'False', 'Expired', message, now, cred.metadata.generation);
    cred = await this.writeStatus(cred, { current: null, conditions });
    this.event(cred, type, 'Expired', 'Expire', message);
    this.audit({ action: 'expire', outcome: 'success', object: this.objectOf(cred), server: st.server?.name, username: current.username, reason: 'Expired', message });
    return { requeueAfterMs: this.nextWake(cred, cred.status ?? {}, now, undefined, WAIT_FOR_REFERENCE_MS) };
  }

  /** finalize revokes every user the credential issued (or retains them), then releases the object. */
  private async finalize(cred: DatabaseCredential): Promise<Result | void> {
    const { ctx } = this;
    if (!hasFinalizer(cred, REVOKE_FINALIZER)) return;
    const st = cred.status ?? {};
    if (cred.spec.deletionPolicy === 'Retain') {
      const message = `deletionPolicy Retain: user ${st.current?.username ?? '(none)'} and Secret ${secretNameOf(cred)} are left in place and no longer managed`;
      this.event(cred, 'Normal', 'Retained', 'Delete', message);
      this.audit({ action: 'retain', outcome: 'success', object: this.objectOf(cred), username: st.current?.username, reason: 'Retained', message });
      await this.releaseSecret(cred);
    } else {
      const users = [st.pending?.username, st.current?.username, ...(st.retiring ?? []).map((r) => r.username)].filter((u): u is string => u !== undefined);
      if (users.length > 0 && st.server) {
        const { revoked, failure } = await this.revokeAll(cred, st.server, [...new Set(users)], 'deleted');
        if (revoked.length > 0) {
          cred = await this.writeStatus(cred, {
            pending: st.pending && revoked.includes(st.pending.username) ? null : st.pending ?? null,
            current: st.current && revoked.includes(st.current.username) ? null : st.current ?? null,
            retiring: (st.retiring ?? []).filter((r) => !revoked.includes(r.username)),
          });
        }
        if (failure) {
          await this.revocationFailing(cred, failure.message);
          return { requeueAfterMs: failure.retryMs };
        }
      }
      // I5: the Secret must not outlive its user, even for the moment garbage collection takes.
      await deleteSecret(ctx.client, cred, this.cachedSecret(cred));
    }
    ctx.failpoints.hit('before-finalizer-removed');
    try {
      await removeFinalizer(ctx.client, RES, cred, REVOKE_FINALIZER);
    } catch (error) {
      if (!isNotFound(error)) throw error; // already released (a retry after a crash)
    }
    ctx.status.forget(RES, `${cred.metadata.namespace}/${cred.metadata.name}`);
  }

  /** finalizeMalformed revokes what a malformed object's status names, so a bad spec never leaks users. */
  private async finalizeMalformed(raw: KubeObject): Promise<Result | void> {
    const status = validate(DatabaseCredentialStatus, (raw as { status?: unknown }).status ?? {});
    const spec = { roleRef: { kind: 'DatabaseRole' as const, name: '' }, rotation: { enabled: false, renewAtPercent: 67, overlap: '0s' }, secret: {}, deletionPolicy: 'Revoke' as const };
    const cred = { ...(raw as DatabaseCredential), spec, status: status.ok ? status.value : {} };
    return this.finalize(cred);
  }

  /** A retained Secret loses its owner reference, so garbage collection does not take it. */
  private async releaseSecret(cred: DatabaseCredential): Promise<void> {
    try {
      await this.ctx.client.mergePatch(Resources.Secret, secretNameOf(cred), cred.metadata.namespace, { metadata: { ownerReferences: null } });
    } catch {
      // No Secret: nothing to keep.
    }
  }

  private async restartTargets(cred: DatabaseCredential, at: number): Promise<void> {
    for (const target of cred.spec.rolloutRestartTargets ?? []) {
      try {
        await this.ctx.client.mergePatch(Resources[target.kind], target.name, cred.metadata.namespace, {
          spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date(at).toISOString() } } } },
        });
      } catch (error) {
        this.event(cred, 'Warning', 'IssueFailed', 'RolloutRestart', `could not restart ${target.kind} ${target.name}: ${messageOf(error)}`);
      }
    }
  }

  /** nextWake is the delay until the next deadline: renewal, expiry, a retiring user's revokeAt. */
  private nextWake(cred: DatabaseCredential, st: Status, now: number, ...extra: (number | undefined)[]): number | undefined {
    const renew = cred.spec.rotation.enabled && st.current?.renewAt ? Date.parse(st.current.renewAt) : undefined;
    const expires = st.current ? Date.parse(st.current.expiresAt) : undefined;
    const revokes = (st.retiring ?? []).map((r) => Date.parse(r.revokeAt));
    const deadline = nextDeadline(renew, expires, ...revokes, ...extra.map((d) => (d === undefined ? undefined : now + d)));
    return requeueDelay(deadline, now);
  }

  private async setReady(cred: DatabaseCredential, status: 'True' | 'False', reason: Reason, message: string, type: 'Ready' | 'Rotating' = 'Ready'): Promise<void> {
    const conditions = withCondition(cred.status?.conditions, type, status, reason, message, this.ctx.clock.now(), cred.metadata.generation);
    await this.writeStatusIfChanged(cred, { conditions });
  }

  private async writeStatus(cred: DatabaseCredential, patch: Record<string, unknown>): Promise<DatabaseCredential> {
    const updated = await this.ctx.status.write<KubeObject>(RES, cred, patch);
    const parsed = validate(DatabaseCredential, updated);
    return parsed.ok ? parsed.value : { ...cred, metadata: { ...cred.metadata, ...updated.metadata }, status: (updated as { status?: Status }).status };
  }

  private async writeStatusIfChanged(cred: DatabaseCredential, patch: Record<string, unknown>): Promise<DatabaseCredential> {
    if (sameStatus(cred.status, { ...cred.status, ...patch })) return cred;
    return this.writeStatus(cred, patch);
  }

  private event(cred: DatabaseCredential, type: 'Normal' | 'Warning', reason: Reason, action: string, note: string): void {
    this.ctx.events.record(EventRecorder.targetOf(cred, API_VERSION, 'DatabaseCredential'), type, reason, action, note);
  }

  /** cachedSecret is the credential's Secret as last seen (the cache, or this process's newer write). */
  private cachedSecret(cred: DatabaseCredential): SecretObject | undefined {
    const key = `${cred.metadata.namespace}/${secretNameOf(cred)}`;
    return this.secrets.get<SecretObject>(this.informers.secrets.get(key), key);
  }

  private objectOf(cred: DatabaseCredential): AuditEntry['object'] {
    return { kind: 'DatabaseCredential', namespace: cred.metadata.namespace, name: cred.metadata.name, uid: cred.metadata.uid };
  }

  private audit(entry: AuditEntry): void {
    this.ctx.audit.record(entry);
  }
}

function serverOf(ref: ServerRef): NonNullable<Status['server']> {
  return ref.namespace ? { kind: ref.kind, name: ref.name, namespace: ref.namespace } : { kind: ref.kind, name: ref.name };
}

/** usersIn counts the users a status says exist or may exist: current, pending and retiring. */
function usersIn(st: Status | undefined): number {
  return (st?.current ? 1 : 0) + (st?.pending ? 1 : 0) + (st?.retiring?.length ?? 0);
}

const roleKey = (kind: string, name: string, namespace?: string) => `${kind}/${namespace ?? ''}/${name}`;
const keyOfCredential = (cred: DatabaseCredential) => `${cred.metadata.namespace}/${cred.metadata.name}`;
