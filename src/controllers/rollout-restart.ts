// After a rotation, the workloads a credential names restart their pods (as `kubectl rollout
// restart` does: a pod-template annotation), so they read the new Secret. Both credential kinds
// use it: a DatabaseCredential after a replacement user, a DatabaseStaticCredential after each new
// password (its old password stops working at once, so this matters even more there).
import type { Reason } from '../api/v1alpha1/index.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import { messageOf } from './condition-error.ts';
import type { OperatorContext } from './context.ts';

/** Pod-template annotation that restarts a workload's pods after a rotation. */
export const RESTARTED_AT_ANNOTATION = 'dbcred.io/restartedAt';

/** A workload a credential restarts, in the credential's namespace. */
export interface RestartTarget {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
}

/**
 * restartTargets stamps each target; a failure is a Warning (through warn), not a failed rotation.
 * With rollout restarts disabled (--rollout-restarts=false) it patches nothing and says so once.
 */
export async function restartTargets(
  ctx: Pick<OperatorContext, 'client' | 'rolloutRestarts'>,
  namespace: string,
  targets: readonly RestartTarget[],
  at: number,
  warn: (reason: Reason, note: string) => void,
): Promise<void> {
  if (targets.length === 0) return;
  if (!ctx.rolloutRestarts) {
    warn(
      'RolloutRestartsDisabled',
      `not restarting ${targets.map((t) => `${t.kind} ${t.name}`).join(', ')}: rollout restarts are disabled on this operator (--rollout-restarts=false); restart them yourself for them to read the new Secret`,
    );
    return;
  }
  for (const target of targets) {
    try {
      await ctx.client.mergePatch(Resources[target.kind], target.name, namespace, {
        spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date(at).toISOString() } } } },
      });
    } catch (error) {
      warn('IssueFailed', `could not restart ${target.kind} ${target.name}: ${messageOf(error)}`);
    }
  }
}
