// DatabaseStaticCredential: the password of an existing, long-lived user is rotated on a cron
// schedule (UTC) and published in a Secret. A static user has one password, so there is no
// overlap: the new password is set, verified by a login, then written to the Secret (I5), and the
// rotation counts as done only once the Secret is written — a crash in between rotates again on
// restart. A Secret deleted or edited by hand is repaired by rotating at once (the operator never
// keeps a password, so it cannot re-write the old one).
import { DatabaseStaticCredential, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import { API_VERSION } from '../../api/v1alpha1/kind.ts';
import { generatePassword } from '../../engines/password.ts';
import { isValidTimeZone, nextRunAfter, scheduleProblem } from '../../lifecycle/schedule.ts';
import { renderSecretData } from '../../secrets/secret-data.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { isDbcredError } from '../../util/errors.ts';
import { privilegedRefusal, staticUserRefusal } from '../account-policy.ts';
import { recordDenial } from '../denial.ts';
import { ConditionError, isApiServerHiccup, messageOf, reasonFor } from '../condition-error.ts';
import { sameStatus, withCondition } from '../status-conditions.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import { serverFor, type RoleInformers } from '../roles.ts';
import { Freshest } from '../status-writer.ts';
import { rerenderSecret, secretNameOf, secretValues, writeSecret, type SecretObject } from '../published-secret.ts';
import { restartTargets } from '../rollout-restart.ts';
import { decodeData, digestSecret, layoutHash, secretIsIntact, secretLayoutIsStale } from '../../secrets/secret-digest.ts';
import type { ResolvedServer } from '../engine-pool.ts';

const RES = DbcredResources.DatabaseStaticCredential;
const RETRY_MS = 30_000;

export class DatabaseStaticCredentialReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly informer: Informer<KubeObject>;
  private readonly informers: RoleInformers & { secrets: Informer<KubeObject> };
  private readonly secrets: Freshest;
  /** How often the published password is tried against the database (0: never). */
  private readonly loginCheckMs: number;
  /** When each credential's published password last logged in (this process's memory). */
  private readonly checkedAt = new Map<string, number>();

  constructor(
    ctx: OperatorContext,
    informer: Informer<KubeObject>,
    informers: RoleInformers & { secrets: Informer<KubeObject> },
    loginCheckMs = 0,
  ) {
    this.ctx = ctx;
    this.informer = informer;
    this.informers = informers;
    this.loginCheckMs = loginCheckMs;
    this.secrets = new Freshest(() => ctx.clock.now());
    informers.secrets.on((event) => this.secrets.observe(event));
  }

  /** footprint: entries of this reconciler's own maps (Secrets it wrote, login checks). */
  footprint(): Record<string, number> {
    return { staticSecretsWritten: this.secrets.size(), staticLoginChecks: this.checkedAt.size };
  }

  async reconcile(key: string): Promise<Result | void> {
    const { ctx } = this;
    const raw = ctx.status.freshest(RES, this.informer.get(key), key);
    if (!raw) {
      ctx.status.forget(RES, key);
      this.checkedAt.delete(key);
      return;
    }
    const now = ctx.clock.now();
    const parsed = validate(DatabaseStaticCredential, raw);
    if (!parsed.ok) {
      await this.setReady(raw as DatabaseStaticCredential, 'False', 'InvalidSpec', parsed.message, now);
      return;
    }
    const cred = parsed.value;
    const { rotationSchedule, rotationTimeZone } = cred.spec;
    const scheduleWrong = scheduleProblem(rotationSchedule, rotationTimeZone);
    const problem = !isValidTimeZone(rotationTimeZone)
      ? `spec.rotationTimeZone: unknown time zone "${rotationTimeZone}"`
      : scheduleWrong && `spec.rotationSchedule: ${scheduleWrong}`;
    if (problem) {
      await this.setReady(cred, 'False', 'InvalidSpec', problem, now);
      return;
    }
    const st = cred.status ?? {};
    const next = (from: number) => nextRunAfter(rotationSchedule, from, rotationTimeZone);
    const lastRotation = st.lastRotationTime ? Date.parse(st.lastRotationTime) : undefined;
    const due = lastRotation === undefined ? now : (next(lastRotation) ?? Number.POSITIVE_INFINITY);
    const secretKey = `${cred.metadata.namespace}/${secretNameOf(cred)}`;
    const secret = this.secrets.get<SecretObject>(this.informers.secrets.get(secretKey), secretKey);
    const intact = secretIsIntact(secret, cred.spec.username);
    // Between rotations, the published password is tried now and then: one the database refuses
    // (changed or the user re-created outside dbcred) is rotated at once, so Ready stays true.
    const checkDue = this.loginCheckMs > 0 && now - (this.checkedAt.get(key) ?? lastRotation ?? 0) >= this.loginCheckMs;
    const refused = now < due && intact && checkDue && (await this.publishedLoginRefused(cred, key, now));
    if (now < due && intact && !refused) {
      if (secret && st.nextRotationTime) await this.republishIfStale(cred, secret, Date.parse(st.nextRotationTime));
      const nextCheck = this.loginCheckMs > 0 ? (this.checkedAt.get(key) ?? now) + this.loginCheckMs - now : Number.POSITIVE_INFINITY;
      return { requeueAfterMs: Math.max(0, Math.min(due - now, nextCheck, 2 ** 31 - 1)) };
    }
    try {
      const ref = serverFor(this.informers, ctx.engines, cred.spec.serverRef, cred.metadata.namespace);
      const server = await ctx.engines.resolve(ref);
      const password = generatePassword(cred.spec.passwordPolicy);
      // Refused before anything changes: users the server does not list, the admin login, users
      // dbcred issues, and accounts the database says are privileged.
      const refusal =
        staticUserRefusal(cred.spec.username, server.object, server.adminUsername) ??
        privilegedRefusal(await server.engine.privilegedAccounts([cred.spec.username]), server.object, 'user');
      if (refusal) throw refusal;
      await server.engine.rotatePassword({ username: cred.spec.username, password });
      await server.engine.verifyLogin({ username: cred.spec.username, password });
      // The Secret's expiresAt is the next rotation, which status records: the layout check above reads it there.
      const nextRotation = next(now);
      const values = secretValues(server, cred.spec.username, nextRotation ?? now);
      const written = await writeSecret(
        ctx.client,
        cred,
        renderSecretData({ ...values, password }, cred.spec.secret.template),
        layoutHash(cred.spec.secret, values),
        secret,
      );
      this.secrets.remember(digestSecret(written)); // no password kept
      const rotatedAt = ctx.clock.now();
      const why = refused
        ? ' (the database refused the published password: it was changed outside dbcred)'
        : intact
          ? ''
          : ' (the Secret was missing or edited)';
      const message = `password of ${cred.spec.username} rotated${why}; next rotation ${nextRotation ? new Date(nextRotation).toISOString() : 'not within a year'}`;
      await ctx.status.write(RES, cred, {
        lastRotationTime: new Date(rotatedAt).toISOString(),
        ...(nextRotation ? { nextRotationTime: new Date(nextRotation).toISOString() } : {}),
        secretName: secretNameOf(cred),
        conditions: withCondition(st.conditions, 'Ready', 'True', 'PasswordRotated', message, rotatedAt, cred.metadata.generation),
      });
      ctx.events.record(
        EventRecorder.targetOf(cred, API_VERSION, 'DatabaseStaticCredential'),
        'Normal',
        'PasswordRotated',
        'Rotate',
        message,
      );
      ctx.audit.record({
        action: 'rotate',
        outcome: 'success',
        object: { kind: 'DatabaseStaticCredential', namespace: cred.metadata.namespace, name: cred.metadata.name, uid: cred.metadata.uid },
        server: server.ref.name,
        username: cred.spec.username,
        reason: 'PasswordRotated',
        message,
      });
      // The old password stopped working: the workloads that read the Secret at start restart now.
      await restartTargets(ctx, cred.metadata.namespace!, cred.spec.rolloutRestartTargets ?? [], rotatedAt, (reason, note) =>
        ctx.events.record(EventRecorder.targetOf(cred, API_VERSION, 'DatabaseStaticCredential'), 'Warning', reason, 'RolloutRestart', note),
      );
      return nextRotation ? { requeueAfterMs: Math.min(nextRotation - rotatedAt, 2 ** 31 - 1) } : undefined;
    } catch (error) {
      if (isApiServerHiccup(error)) throw error; // not the credential's fault: retried with backoff
      const reason = reasonFor(error, 'IssueFailed');
      const denied = error instanceof ConditionError && error.code === 'ACCESS_DENIED';
      const message = `cannot rotate the password: ${messageOf(error)}`;
      const previous = cred.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
      // The Secret still logs in unless it was damaged or the database refused it: only then is Ready false.
      await this.setReady(cred, intact && !denied && !refused ? 'True' : 'False', reason, message, now);
      if (denied && previous !== reason)
        recordDenial(ctx, cred, 'DatabaseStaticCredential', 'Rotate', reason, message, { username: cred.spec.username });
      if (error instanceof ConditionError && !error.retryable) return { requeueAfterMs: RETRY_MS };
      throw error;
    }
  }

  /**
   * publishedLoginRefused logs in with the password the Secret holds (read, not kept) and tells
   * whether the database refused it. A server that cannot be reached or resolved says nothing
   * about the password: not refused (its own condition shows the outage).
   */
  private async publishedLoginRefused(cred: DatabaseStaticCredential, key: string, now: number): Promise<boolean> {
    try {
      const server = await this.ctx.engines.resolve(
        serverFor(this.informers, this.ctx.engines, cred.spec.serverRef, cred.metadata.namespace),
      );
      const live = await this.ctx.client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace);
      const password = decodeData(live)['password'];
      if (!password) return false; // not intact after all: its watch event brings the repair
      await server.engine.verifyLogin({ username: cred.spec.username, password });
      this.checkedAt.set(key, now);
      return false;
    } catch (error) {
      if (isDbcredError(error, 'DB_VERIFY_FAILED')) return true;
      if (isApiServerHiccup(error)) throw error;
      this.checkedAt.set(key, now); // tried: the next check comes after the interval
      return false;
    }
  }

  /**
   * republishIfStale renders the Secret again, same password, when it was rendered from an older
   * spec or server address. A server that cannot be resolved leaves it as it is (there is nothing
   * new to render from); an apiserver hiccup is retried.
   */
  private async republishIfStale(cred: DatabaseStaticCredential, secret: SecretObject, nextRotation: number): Promise<void> {
    let server: ResolvedServer;
    try {
      server = await this.ctx.engines.resolve(serverFor(this.informers, this.ctx.engines, cred.spec.serverRef, cred.metadata.namespace));
    } catch (error) {
      if (isApiServerHiccup(error)) throw error;
      return;
    }
    const values = secretValues(server, cred.spec.username, nextRotation);
    if (!secretLayoutIsStale(secret, layoutHash(cred.spec.secret, values))) return;
    const written = await rerenderSecret(this.ctx.client, cred, values);
    if (!written) return; // missing or edited: its watch event brings the rotation that repairs it
    this.secrets.remember(digestSecret(written));
    const message = `Secret ${secretNameOf(cred)} rendered again for ${cred.spec.username} (same password): its spec or the server's address changed`;
    this.ctx.events.record(
      EventRecorder.targetOf(cred, API_VERSION, 'DatabaseStaticCredential'),
      'Normal',
      'SecretUpdated',
      'Publish',
      message,
    );
    this.ctx.audit.record({
      action: 'republish',
      outcome: 'success',
      object: { kind: 'DatabaseStaticCredential', namespace: cred.metadata.namespace, name: cred.metadata.name, uid: cred.metadata.uid },
      server: server.ref.name,
      username: cred.spec.username,
      reason: 'SecretUpdated',
      message,
    });
  }

  private async setReady(
    cred: DatabaseStaticCredential,
    status: 'True' | 'False',
    reason: Reason,
    message: string,
    now: number,
  ): Promise<void> {
    const conditions = withCondition(cred.status?.conditions, 'Ready', status, reason, message, now, cred.metadata.generation);
    const next = { ...cred.status, conditions };
    if (!sameStatus(cred.status, next)) await this.ctx.status.write(RES, cred, { conditions });
  }
}
