// DatabaseRole and ClusterDatabaseRole: validated against their server (it exists and may be
// used, the engine block matches its engine, the admin can grant the group roles), reported in
// Ready with the reason, plus the number of live users issued from the role.
import { API_VERSION, ClusterDatabaseRole, DatabaseRole, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { privilegedRefusal, rolePolicyRefusal } from '../account-policy.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { recordDenial } from '../denial.ts';
import { ConditionError, isApiServerHiccup, messageOf, reasonFor } from '../condition-error.ts';
import { sameStatus, withCondition } from '../status-conditions.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import { policyOf, roleServer, type RoleInformers } from '../roles.ts';

const RECHECK_MS = 60_000;

/** Reasons that refuse a role on its server (tenancy, privileged accounts): each also raises an Event and an audit record. */
const DENIALS = new Set<Reason>(['NotAllowedByServer', 'PrivilegedAccount', 'NamespaceNotAllowed']);

export class DatabaseRoleReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly kind: 'DatabaseRole' | 'ClusterDatabaseRole';
  private readonly informer: Informer<KubeObject>;
  private readonly informers: RoleInformers;
  private readonly liveUsers: (kind: string, name: string, namespace?: string) => number;

  constructor(
    ctx: OperatorContext,
    kind: 'DatabaseRole' | 'ClusterDatabaseRole',
    informer: Informer<KubeObject>,
    informers: RoleInformers,
    liveUsers: DatabaseRoleReconciler['liveUsers'],
  ) {
    this.ctx = ctx;
    this.kind = kind;
    this.informer = informer;
    this.informers = informers;
    this.liveUsers = liveUsers;
  }

  async reconcile(key: string): Promise<Result | void> {
    const { ctx, kind } = this;
    const raw = ctx.status.freshest(DbcredResources[kind], this.informer.get(key), key);
    if (!raw) {
      ctx.status.forget(DbcredResources[kind], key);
      return;
    }
    const previous = (raw as { status?: Record<string, unknown> & { conditions?: [] } }).status ?? {};
    const now = ctx.clock.now();
    const parsed = kind === 'DatabaseRole' ? validate(DatabaseRole, raw) : validate(ClusterDatabaseRole, raw);
    let ready = false;
    let reason: Reason = 'Validated';
    let message: string;
    const facts: Record<string, unknown> = { activeCredentials: this.liveUsers(kind, raw.metadata.name, raw.metadata.namespace) };
    if (!parsed.ok) {
      reason = 'InvalidSpec';
      message = parsed.message;
    } else {
      try {
        const server = await ctx.engines.resolve(roleServer(this.informers, ctx.engines, parsed.value));
        facts['engine'] = server.engineName;
        const spec = parsed.value.spec;
        if ((spec.postgres && server.engineName !== 'postgres') || (spec.mysql && server.engineName !== 'mysql')) {
          throw new ConditionError(
            'REFERENCE_INVALID',
            'EngineMismatch',
            `the role has a ${spec.postgres ? 'postgres' : 'mysql'} block but server ${server.ref.name} runs ${server.engineName}`,
          );
        }
        const refusal = rolePolicyRefusal(parsed.value, server.object);
        if (refusal) throw refusal;
        const groups = [
          ...(spec.memberOf ?? []),
          ...(spec.postgres?.ownedObjects.reassignTo ? [spec.postgres.ownedObjects.reassignTo] : []),
        ];
        const privileged = privilegedRefusal(await server.engine.privilegedAccounts(groups), server.object, 'group role');
        if (privileged) throw privileged;
        const report = await server.engine.checkPrivileges(policyOf(parsed.value));
        if (report.missing.length > 0) {
          const groupProblem = report.missing.some((m) => /role|group/i.test(m));
          throw new ConditionError(
            'DB_MISSING_PRIVILEGES',
            groupProblem ? 'GroupRoleMissing' : 'MissingPrivileges',
            `cannot issue users for this role: ${report.missing.join('; ')}`,
          );
        }
        ready = true;
        message = `issues users on ${server.ref.kind} ${server.ref.name} (${server.engineName})`;
      } catch (error) {
        if (isApiServerHiccup(error)) throw error; // the role is fine; the admin Secret read failed
        reason = reasonFor(error, 'ServerNotReady');
        message = messageOf(error);
      }
    }
    const next = {
      ...previous,
      ...facts,
      conditions: withCondition(previous.conditions, 'Ready', ready ? 'True' : 'False', reason, message, now, raw.metadata.generation),
    };
    if (!sameStatus(previous, next)) await ctx.status.write(DbcredResources[kind], raw, next);
    // Each new answer of the check is an Event next to the condition: a denial is also audited and
    // counted; any other failure (GroupRoleMissing, ServerNotReady, ...) is a plain Warning.
    const previousReason = previous.conditions?.find((c: { type: string }) => c.type === 'Ready') as { reason?: string } | undefined;
    if (previousReason?.reason !== reason) {
      if (DENIALS.has(reason)) recordDenial(ctx, raw, kind, 'Check', reason, message, { role: raw.metadata.name });
      else ctx.events.record(EventRecorder.targetOf(raw, API_VERSION, kind), ready ? 'Normal' : 'Warning', reason, 'Check', message);
    }
    return { requeueAfterMs: RECHECK_MS };
  }
}
