// DatabaseServer and ClusterDatabaseServer: connect with the admin Secret, check the admin's
// privileges, and say so in Ready (with the reason when not). Re-checked every minute, which also
// picks up a changed admin Secret (the engine is rebuilt when its login or CA changes).
import { ClusterDatabaseServer, DatabaseServer, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { splitKey, type KubeObject } from '../../runtime/kube/types.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { API_VERSION } from '../../api/v1alpha1/kind.ts';
import { isApiServerHiccup, messageOf, reasonFor } from '../condition-error.ts';
import { sameStatus, withCondition } from '../status-conditions.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import type { ServerRef } from '../engine-pool.ts';
import type { Engine, ExpiryEnforcement } from '../../engines/engine.ts';
import type { ConditionType } from '../../api/v1alpha1/conditions.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { isForbidden, isNotFound } from '../../runtime/kube/errors.ts';
import { SERVER_SECRET_LABEL } from '../../secrets/secret-metadata.ts';
import { secretsOfServer } from './server-protection.ts';

const RECHECK_READY_MS = 60_000;
const RECHECK_NOT_READY_MS = 10_000;

export class DatabaseServerReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly kind: 'DatabaseServer' | 'ClusterDatabaseServer';
  private readonly informer: Informer<KubeObject>;
  private readonly labelled: (namespace: string, name: string) => boolean;

  /** labelled tells whether a Secret already carries SERVER_SECRET_LABEL (the watched Secrets' cache). */
  constructor(
    ctx: OperatorContext,
    kind: 'DatabaseServer' | 'ClusterDatabaseServer',
    informer: Informer<KubeObject>,
    labelled: (namespace: string, name: string) => boolean,
  ) {
    this.ctx = ctx;
    this.kind = kind;
    this.informer = informer;
    this.labelled = labelled;
  }

  async reconcile(key: string): Promise<Result | void> {
    const { ctx, kind } = this;
    const res = DbcredResources[kind];
    const raw = ctx.status.freshest(res, this.informer.get(key), key);
    const { namespace, name } = splitKey(key);
    const ref: ServerRef = { kind, name, namespace };
    if (!raw) {
      ctx.status.forget(res, key);
      ctx.metrics.serverTransportUnverified.remove({ kind, namespace: namespace ?? '', name });
      ctx.metrics.serverExpiryNotEnforced.remove({ kind, namespace: namespace ?? '', name });
      ctx.metrics.serverFailedLoginsUnseen.remove({ kind, namespace: namespace ?? '', name });
      return;
    }
    // A server being deleted is kept only for revoking its users (server-protection-reconciler.ts).
    if (raw.metadata.deletionTimestamp) return;
    const parsed = kind === 'DatabaseServer' ? validate(DatabaseServer, raw) : validate(ClusterDatabaseServer, raw);
    if (parsed.ok) await this.labelSecrets(raw, ref);
    const now = ctx.clock.now();
    const previous = (raw as { status?: Record<string, unknown> & { conditions?: [] } }).status ?? {};
    let next: Record<string, unknown>;
    let ready = false;
    if (!parsed.ok) {
      next = {
        ...previous,
        conditions: withCondition(previous.conditions, 'Ready', 'False', 'InvalidSpec', parsed.message, now, raw.metadata.generation),
      };
    } else {
      let reason: Reason = 'Connected';
      let message: string;
      const facts: Record<string, unknown> = {};
      let logins: Awaited<ReturnType<typeof failedLoginsCondition>>;
      try {
        const server = await ctx.engines.resolve(ref, { fresh: true });
        const pinged = await server.engine.ping();
        const report = await server.engine.checkPrivileges();
        facts['serverVersion'] = pinged.version;
        facts['expiryEnforcement'] = pinged.expiryEnforcement;
        logins = await failedLoginsCondition(server.engine);
        if (report.missing.length > 0) {
          reason = 'MissingPrivileges';
          message = `the admin user lacks: ${report.missing.join('; ')}`;
        } else {
          ready = true;
          message = `connected to ${server.engineName} ${pinged.version}${pinged.tls ? ' over TLS' : ''}; expiry enforced by ${pinged.expiryEnforcement}`;
        }
      } catch (error) {
        if (isApiServerHiccup(error)) throw error; // the apiserver, not the database, failed
        reason = reasonFor(error, 'Unreachable');
        message = messageOf(error);
      }
      const transport = transportCondition(parsed.value.spec.tls.mode);
      ctx.metrics.serverTransportUnverified.set({ kind, namespace: namespace ?? '', name }, transport.status === 'True' ? 0 : 1);
      // Known only once the server answered; until then the last answer stands.
      const expiry =
        facts['expiryEnforcement'] === undefined ? undefined : expiryCondition(facts['expiryEnforcement'] as ExpiryEnforcement);
      if (expiry) ctx.metrics.serverExpiryNotEnforced.set({ kind, namespace: namespace ?? '', name }, expiry.status === 'True' ? 0 : 1);
      if (logins) ctx.metrics.serverFailedLoginsUnseen.set({ kind, namespace: namespace ?? '', name }, logins.status === 'True' ? 0 : 1);
      const conditions = withCondition(
        previous.conditions,
        'Ready',
        ready ? 'True' : 'False',
        reason,
        message,
        now,
        raw.metadata.generation,
      );
      const withTransport = withCondition(
        conditions,
        'TransportVerified',
        transport.status,
        transport.reason,
        transport.message,
        now,
        raw.metadata.generation,
      );
      let all = withTransport;
      for (const [type, c] of [
        ['ExpiryEnforced', expiry],
        ['FailedLoginsVisible', logins],
      ] as const) {
        if (c) all = withCondition(all, type, c.status, c.reason, c.message, now, raw.metadata.generation);
      }
      next = { ...previous, ...facts, conditions: all };
    }
    if (!sameStatus(previous, next)) {
      const was = (previous.conditions as { type: string; status: string; reason: string }[] | undefined)?.find((c) => c.type === 'Ready');
      await ctx.status.write(res, raw, next);
      const target = EventRecorder.targetOf(raw, API_VERSION, kind);
      // Each new answer of the check is an Event: the first one too (a server never Ready has its
      // Warning next to the condition), and a failure whose cause changed.
      const cond = (next.conditions as { type: string; status: string; reason: Reason; message: string }[]).find(
        (c) => c.type === 'Ready',
      )!;
      if (was?.status !== cond.status || was.reason !== cond.reason)
        ctx.events.record(target, ready ? 'Normal' : 'Warning', cond.reason, 'Check', cond.message);
      // A fact about the server that turned bad is said once, as a Warning Event.
      for (const type of ['TransportVerified', 'ExpiryEnforced', 'FailedLoginsVisible'] satisfies ConditionType[]) {
        const after = (next.conditions as { type: string; status: string; reason: Reason; message: string }[]).find((c) => c.type === type);
        const before = (previous.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === type);
        if (after?.status === 'False' && before?.status !== 'False')
          ctx.events.record(target, 'Warning', after.reason, 'Check', after.message);
      }
    }
    return { requeueAfterMs: ready ? RECHECK_READY_MS : RECHECK_NOT_READY_MS };
  }

  /**
   * labelSecrets puts SERVER_SECRET_LABEL on each Secret the server logs in with that lacks it, so
   * their watch sees them. A Secret that does not exist yet, or that the operator may only read
   * (a platform namespace in the chart's namespaced mode), is left to the minute's re-check.
   */
  private async labelSecrets(raw: KubeObject, ref: ServerRef): Promise<void> {
    for (const { namespace, name } of secretsOfServer(raw, ref)) {
      if (this.labelled(namespace, name)) continue;
      try {
        await this.ctx.client.mergePatch(Resources.Secret, name, namespace, { metadata: { labels: { [SERVER_SECRET_LABEL]: 'true' } } });
      } catch (error) {
        if (!isNotFound(error) && !isForbidden(error)) throw error;
      }
    }
  }
}

/**
 * failedLoginsCondition asks the engine whether the admin can read refused logins (a read without
 * a cursor returns none); undefined when asking failed, so the last answer stands.
 */
export async function failedLoginsCondition(
  engine: Engine,
): Promise<{ status: 'True' | 'False'; reason: Reason; message: string } | undefined> {
  const read = await engine.readFailedLogins().catch(() => undefined);
  if (!read) return undefined;
  return read.visible
    ? {
        status: 'True',
        reason: 'FailedLoginsVisible',
        message:
          "refused logins are read from the server's log: a login with a user dbcred revoked or let expire is recorded (audit dead-login)",
      }
    : { status: 'False', reason: 'FailedLoginsNotVisible', message: `a login with a revoked or expired user goes unseen: ${read.why}` };
}

/** transportCondition says whether the operator checks the server's certificate, and what follows if not. */
export function transportCondition(mode: 'disable' | 'require' | 'verify-ca' | 'verify-full'): {
  status: 'True' | 'False';
  reason: Reason;
  message: string;
} {
  switch (mode) {
    case 'verify-full':
      return {
        status: 'True',
        reason: 'CertificateVerified',
        message: "the server's certificate and host name are checked before the admin login is sent",
      };
    case 'verify-ca':
      return {
        status: 'True',
        reason: 'CertificateVerified',
        message: "the server's certificate is checked against the CA (not its host name: use verify-full for that)",
      };
    case 'require':
      return {
        status: 'False',
        reason: 'TLSUnverified',
        message:
          "encrypted, but the server's certificate is not checked: a man in the middle can read the admin login; use verify-full with tls.caSecretRef",
      };
    case 'disable':
      return {
        status: 'False',
        reason: 'TLSDisabled',
        message: 'plain TCP: the admin login and issued passwords cross the network readable; use verify-full with tls.caSecretRef',
      };
  }
}

/** expiryCondition says whether the database itself ends an issued user's logins at expiry, and what to change if not. */
export function expiryCondition(enforcement: ExpiryEnforcement): { status: 'True' | 'False'; reason: Reason; message: string } {
  switch (enforcement) {
    case 'ValidUntil':
      return { status: 'True', reason: 'ExpiryByDatabase', message: "PostgreSQL refuses an issued user's logins after its VALID UNTIL" };
    case 'EventScheduler':
      return { status: 'True', reason: 'ExpiryByDatabase', message: "the server's event scheduler drops each issued user at its expiry" };
    case 'OperatorOnly':
      return {
        status: 'False',
        reason: 'ExpiryByOperatorOnly',
        message:
          'an expired user keeps working until the operator drops it, so expiry holds only while the operator runs: set spec.database and turn the event scheduler on (event_scheduler=ON in the server configuration, or SET GLOBAL event_scheduler=ON)',
      };
  }
}
