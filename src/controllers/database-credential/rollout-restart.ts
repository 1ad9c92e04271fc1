// After a rotation, the workloads a credential names restart their pods (as `kubectl rollout
// restart` does: a pod-template annotation), so they read the new Secret.
import type { DatabaseCredential } from '../../api/v1alpha1/index.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { messageOf } from '../condition-error.ts';
import type { CredentialContext } from './credential-context.ts';

/** Pod-template annotation that restarts a workload's pods after a rotation. */
export const RESTARTED_AT_ANNOTATION = 'dbcred.io/restartedAt';

/**
 * restartTargets stamps each rolloutRestartTarget; a failure is a Warning Event, not a failed
 * rotation. With rollout restarts disabled (--rollout-restarts=false) it patches nothing and says
 * so in one Warning Event.
 */
export async function restartTargets(c: CredentialContext, cred: DatabaseCredential, at: number): Promise<void> {
  const targets = cred.spec.rolloutRestartTargets ?? [];
  if (!c.ctx.rolloutRestarts) {
    if (targets.length > 0)
      c.event(
        cred,
        'Warning',
        'RolloutRestartsDisabled',
        'RolloutRestart',
        `not restarting ${targets.map((t) => `${t.kind} ${t.name}`).join(', ')}: rollout restarts are disabled on this operator (--rollout-restarts=false); restart them yourself for them to read the new Secret`,
      );
    return;
  }
  for (const target of targets) {
    try {
      await c.ctx.client.mergePatch(Resources[target.kind], target.name, cred.metadata.namespace, {
        spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date(at).toISOString() } } } },
      });
    } catch (error) {
      c.event(cred, 'Warning', 'IssueFailed', 'RolloutRestart', `could not restart ${target.kind} ${target.name}: ${messageOf(error)}`);
    }
  }
}
