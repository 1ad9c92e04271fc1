// A refusal (tenancy, limits, privileged accounts, an edited status) is visible three ways besides
// its condition: a Warning Event, dbcred_denials_total and a deny audit record. One function, so
// every controller says it the same way.
import type { Reason } from '../api/v1alpha1/conditions.ts';
import { API_VERSION } from '../api/v1alpha1/kind.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import { EventRecorder } from '../runtime/events.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import type { OperatorContext } from './context.ts';

/** recordDenial raises the Warning Event, counts the denial and audits it, for an object of kind. */
export function recordDenial(
  ctx: OperatorContext,
  obj: KubeObject,
  kind: string,
  action: string,
  reason: Reason,
  message: string,
  about: Pick<AuditEntry, 'role' | 'username'> = {},
): void {
  ctx.events.record(EventRecorder.targetOf(obj, API_VERSION, kind), 'Warning', reason, action, message);
  ctx.metrics.denials.inc({ reason });
  const { namespace, name, uid } = obj.metadata;
  ctx.audit.record({ action: 'deny', outcome: 'denied', object: { kind, namespace, name, uid }, ...about, reason, message });
}
