// After a rotation, the workloads a credential names restart their pods (as `kubectl rollout
// restart` does: a pod-template annotation), so they read the new Secret.
import type { DatabaseCredential } from '../../api/v1alpha1/index.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { messageOf } from '../condition-error.ts';
import type { CredentialContext } from './credential-context.ts';

/** Pod-template annotation that restarts a workload's pods after a rotation. */
export const RESTARTED_AT_ANNOTATION = 'dbcred.io/restartedAt';

/** restartTargets stamps each rolloutRestartTarget; a failure is a Warning Event, not a failed rotation. */
export async function restartTargets(c: CredentialContext, cred: DatabaseCredential, at: number): Promise<void> {
  for (const target of cred.spec.rolloutRestartTargets ?? []) {
    try {
      await c.ctx.client.mergePatch(Resources[target.kind], target.name, cred.metadata.namespace, {
        spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date(at).toISOString() } } } },
      });
    } catch (error) {
      c.event(cred, 'Warning', 'IssueFailed', 'RolloutRestart', `could not restart ${target.kind} ${target.name}: ${messageOf(error)}`);
    }
  }
}
