// Admin password rotation of DatabaseServer and ClusterDatabaseServer: on spec.adminRotation's
// schedule and on demand (the dbcred.io/rotate-admin annotation). Crash-safe by writing the new
// password into the admin Secret (a pending key) before the database changes, so at every step one
// of the Secret's two passwords is the one the database accepts (docs/engines.md, "Admin rotation"):
//   1. pending key written (compare-and-swap on the Secret)   — the database still has the old one
//   2. ALTER the admin's password to the pending one           — the Secret's pending key has it
//   3. a new connection logs in with it                        — verify before publish
//   4. password key := pending, pending key removed (CAS)      — the pool is rebuilt from it
//   5. status: last and next rotation, the request carried out
// A reconcile that finds a pending key finishes that rotation first, whatever the schedule says: the
// engine's rotateAdminPassword tells "not yet changed" (the old password logs in) from "changed"
// (the old one is refused, the pending one logs in).
import { ADMIN_ROTATION_ANNOTATION, ClusterDatabaseServer, DatabaseServer, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import { API_VERSION } from '../../api/v1alpha1/kind.ts';
import { generatePassword } from '../../engines/password.ts';
import { adminRotationPlan } from '../../lifecycle/admin-rotation.ts';
import { isValidTimeZone, nextRunAfter, scheduleProblem } from '../../lifecycle/schedule.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { isForbidden, isNotFound } from '../../runtime/kube/errors.ts';
import { splitKey, type KubeObject } from '../../runtime/kube/types.ts';
import { ADMIN_ROTATED_AT_ANNOTATION, PENDING_ADMIN_PASSWORD_KEY } from '../../secrets/secret-metadata.ts';
import { DbcredError } from '../../util/errors.ts';
import { ConditionError, isApiServerHiccup, messageOf } from '../condition-error.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import type { AnyServer, ServerRef } from '../engine-pool.ts';
import { sameStatus, withCondition } from '../status-conditions.ts';

/** A failure a retry cannot fix (refused, locked out) is tried again this often, or when the server changes. */
const RETRY_TERMINAL_MS = 10 * 60_000;
/** setTimeout's limit: a next rotation further away is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type SecretObject = KubeObject & { data?: Record<string, string>; immutable?: boolean };

export class AdminRotationReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly kind: 'DatabaseServer' | 'ClusterDatabaseServer';
  private readonly informer: Informer<KubeObject>;

  constructor(ctx: OperatorContext, kind: 'DatabaseServer' | 'ClusterDatabaseServer', informer: Informer<KubeObject>) {
    this.ctx = ctx;
    this.kind = kind;
    this.informer = informer;
  }

  /** reconcile finishes a rotation left half-done, rotates when one is due, and otherwise keeps status.nextAdminRotationTime current. */
  async reconcile(key: string): Promise<Result | void> {
    const { ctx, kind } = this;
    const res = DbcredResources[kind];
    const raw = ctx.status.freshest(res, this.informer.get(key), key);
    if (!raw || raw.metadata.deletionTimestamp) return;
    const parsed = kind === 'DatabaseServer' ? validate(DatabaseServer, raw) : validate(ClusterDatabaseServer, raw);
    if (!parsed.ok) return; // the health check shows InvalidSpec
    const server = parsed.value;
    const status = server.status ?? {};
    const schedule = server.spec.adminRotation;
    const requested = server.metadata.annotations?.[ADMIN_ROTATION_ANNOTATION];
    const everRotated = status.conditions?.some((c) => c.type === 'AdminPasswordRotated') === true;
    // Nothing asked for, nothing left half-done (a pending key is only ever written with one of these).
    if (!schedule && requested === undefined && !everRotated) return;
    const { namespace, name } = splitKey(key);
    const ref: ServerRef = { kind, name, namespace };
    const now = ctx.clock.now();
    try {
      if (schedule) {
        const problem = !isValidTimeZone(schedule.timeZone)
          ? `spec.adminRotation.timeZone: unknown time zone "${schedule.timeZone}"`
          : scheduleProblem(schedule.schedule, schedule.timeZone);
        if (problem) throw new ConditionError('REFERENCE_INVALID', 'InvalidSpec', `spec.adminRotation: ${problem}`);
      }
      const last = status.lastAdminRotationTime ? Date.parse(status.lastAdminRotationTime) : undefined;
      const plan = adminRotationPlan({ schedule, requested, handled: status.adminRotationRequest, last, now });
      const secret = await this.adminSecret(server, ref);
      const pending = secret.data?.[PENDING_ADMIN_PASSWORD_KEY];
      if (pending !== undefined) return await this.finish(server, ref, secret, Buffer.from(pending, 'base64').toString('utf8'), requested);
      if (!plan.due) return await this.scheduled(server, plan.next);
      // Done but not recorded (stopped between the Secret write and the status write): record it.
      const rotatedAt = Date.parse(secret.metadata.annotations?.[ADMIN_ROTATED_AT_ANNOTATION] ?? '');
      if (Number.isFinite(rotatedAt) && rotatedAt > (last ?? Number.NEGATIVE_INFINITY))
        return await this.recorded(server, ref, rotatedAt, requested, 'recorded after a restart');
      return await this.start(server, ref, secret, requested);
    } catch (error) {
      if (isApiServerHiccup(error)) throw error; // the apiserver failed, or the Secret changed under us: try again
      await this.failed(server, ref, error);
      if (error instanceof DbcredError && !error.retryable) return { requeueAfterMs: RETRY_TERMINAL_MS };
      throw error;
    }
  }

  /** start records a new password in the admin Secret (the database is untouched until that is durable), then finishes. */
  private async start(server: AnyServer, ref: ServerRef, secret: SecretObject, requested: string | undefined): Promise<Result | void> {
    const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
    if (secret.immutable)
      throw new ConditionError(
        'REFERENCE_INVALID',
        'AdminRotationRefused',
        `${where} is immutable, so it cannot take a new admin password`,
      );
    const password = generatePassword();
    let recorded: SecretObject;
    try {
      recorded = await this.ctx.client.mergePatch<SecretObject>(Resources.Secret, secret.metadata.name, secret.metadata.namespace, {
        metadata: { resourceVersion: secret.metadata.resourceVersion },
        data: { [PENDING_ADMIN_PASSWORD_KEY]: Buffer.from(password).toString('base64') },
      });
    } catch (error) {
      if (isForbidden(error))
        throw new ConditionError(
          'KUBE_FORBIDDEN',
          'AdminRotationRefused',
          `the operator may not update ${where}, so it could not keep a new admin password: grant it update on that Secret, or remove spec.adminRotation`,
        );
      throw error;
    }
    this.ctx.failpoints.hit('after-admin-password-recorded');
    return this.finish(server, ref, recorded, password, requested);
  }

  /** finish moves the database to the pending password, proves it with a new login, and only then makes it the Secret's password. */
  private async finish(
    server: AnyServer,
    ref: ServerRef,
    secret: SecretObject,
    password: string,
    requested: string | undefined,
  ): Promise<Result | void> {
    const { ctx } = this;
    const resolved = await ctx.engines.resolve(ref, { fresh: true });
    try {
      await resolved.engine.rotateAdminPassword(password);
    } catch (error) {
      // Refused before anything changed: the pending password is withdrawn, the old one stays.
      if (error instanceof DbcredError && error.code === 'DB_MISSING_PRIVILEGES') {
        await this.withdraw(secret);
        throw new ConditionError(
          'DB_MISSING_PRIVILEGES',
          'AdminRotationRefused',
          `the admin user may not change its own password: ${error.message}`,
        );
      }
      // Which password the pool now logs in with is unsure: the next use builds it from the Secret.
      ctx.engines.invalidate(ref);
      if (error instanceof DbcredError && error.code === 'DB_AUTH_FAILED')
        throw new ConditionError(
          'DB_AUTH_FAILED',
          'AdminRotationFailed',
          `neither the admin Secret's password nor its pending one (key ${PENDING_ADMIN_PASSWORD_KEY}) is accepted: the password was changed outside dbcred; put the one the database accepts under the password key and delete the pending key`,
        );
      throw error;
    }
    ctx.failpoints.hit('after-admin-password-set');
    await resolved.engine.verifyLogin({ username: resolved.adminUsername, password });
    const rotatedAt = ctx.clock.now();
    const passwordKey = server.spec.adminCredentialsSecretRef.passwordKey;
    await ctx.client.mergePatch<SecretObject>(Resources.Secret, secret.metadata.name, secret.metadata.namespace, {
      metadata: {
        resourceVersion: secret.metadata.resourceVersion,
        annotations: { [ADMIN_ROTATED_AT_ANNOTATION]: new Date(rotatedAt).toISOString() },
      },
      data: { [passwordKey]: Buffer.from(password).toString('base64'), [PENDING_ADMIN_PASSWORD_KEY]: null },
    });
    await ctx.engines.resolve(ref, { fresh: true }); // the pool is rebuilt from the Secret's new password
    return this.recorded(server, ref, rotatedAt, requested, 'verified with a new login and written to the admin Secret');
  }

  /** recorded writes a finished rotation into status, the Event and the audit trail. */
  private async recorded(
    server: AnyServer,
    ref: ServerRef,
    rotatedAt: number,
    requested: string | undefined,
    how: string,
  ): Promise<Result | void> {
    const { ctx } = this;
    const schedule = server.spec.adminRotation;
    const next = schedule && nextRunAfter(schedule.schedule, rotatedAt, schedule.timeZone);
    const message = `admin password rotated, ${how}; ${next === undefined ? 'no scheduled rotation' : `next rotation ${new Date(next).toISOString()}`}`;
    const status = server.status ?? {};
    await ctx.status.write(DbcredResources[this.kind], server, {
      lastAdminRotationTime: new Date(rotatedAt).toISOString(),
      nextAdminRotationTime: next === undefined ? null : new Date(next).toISOString(),
      adminRotationRequest: requested ?? null,
      conditions: withCondition(
        status.conditions,
        'AdminPasswordRotated',
        'True',
        'AdminPasswordRotated',
        message,
        rotatedAt,
        server.metadata.generation,
      ),
    });
    ctx.events.record(EventRecorder.targetOf(server, API_VERSION, this.kind), 'Normal', 'AdminPasswordRotated', 'RotateAdmin', message);
    ctx.audit.record({
      action: 'rotate-admin',
      outcome: 'success',
      object: { kind: this.kind, namespace: ref.namespace, name: ref.name, uid: server.metadata.uid },
      server: ref.name,
      reason: 'AdminPasswordRotated',
      message,
    });
    return next === undefined ? undefined : { requeueAfterMs: Math.min(Math.max(0, next - ctx.clock.now()), MAX_TIMER_MS) };
  }

  /** scheduled keeps status.nextAdminRotationTime current while nothing is due, and wakes up when something is. */
  private async scheduled(server: AnyServer, next: number | undefined): Promise<Result | void> {
    const status = server.status ?? {};
    const nextText = next === undefined ? undefined : new Date(next).toISOString();
    if (status.nextAdminRotationTime !== nextText)
      await this.ctx.status.write(DbcredResources[this.kind], server, { nextAdminRotationTime: nextText ?? null });
    return next === undefined ? undefined : { requeueAfterMs: Math.min(Math.max(0, next - this.ctx.clock.now()), MAX_TIMER_MS) };
  }

  /** failed sets AdminPasswordRotated=False with why; a new reason also brings a Warning Event and an audit record. */
  private async failed(server: AnyServer, ref: ServerRef, error: unknown): Promise<void> {
    const { ctx } = this;
    const reason: Reason = error instanceof ConditionError ? error.reason : 'AdminRotationFailed';
    const message = `cannot rotate the admin password: ${messageOf(error)}`;
    const status = server.status ?? {};
    const now = ctx.clock.now();
    const conditions = withCondition(status.conditions, 'AdminPasswordRotated', 'False', reason, message, now, server.metadata.generation);
    if (sameStatus(status, { ...status, conditions })) return;
    await ctx.status.write(DbcredResources[this.kind], server, { conditions });
    ctx.events.record(EventRecorder.targetOf(server, API_VERSION, this.kind), 'Warning', reason, 'RotateAdmin', message);
    ctx.audit.record({
      action: 'rotate-admin',
      outcome: 'failure',
      object: { kind: this.kind, namespace: ref.namespace, name: ref.name, uid: server.metadata.uid },
      server: ref.name,
      reason,
      message,
    });
  }

  /** adminSecret reads the admin Secret afresh (a rotation compares-and-swaps on its resourceVersion). */
  private async adminSecret(server: AnyServer, ref: ServerRef): Promise<SecretObject> {
    const secretRef = server.spec.adminCredentialsSecretRef as { name: string; namespace?: string };
    const namespace = ref.kind === 'DatabaseServer' ? ref.namespace! : secretRef.namespace!;
    try {
      return await this.ctx.client.get<SecretObject>(Resources.Secret, secretRef.name, namespace);
    } catch (error) {
      if (isNotFound(error))
        throw new ConditionError('REFERENCE_MISSING', 'SecretNotFound', `Secret ${namespace}/${secretRef.name} does not exist`);
      throw error;
    }
  }

  /** withdraw removes a pending password the database refused to take (compare-and-swap: a newer Secret is left alone). */
  private async withdraw(secret: SecretObject): Promise<void> {
    await this.ctx.client
      .mergePatch(Resources.Secret, secret.metadata.name, secret.metadata.namespace, {
        metadata: { resourceVersion: secret.metadata.resourceVersion },
        data: { [PENDING_ADMIN_PASSWORD_KEY]: null },
      })
      .catch(() => undefined); // left behind, it is tried (and refused) again: nothing is lost
  }
}
