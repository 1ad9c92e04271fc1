// What brings a role back to its controller: its own changes, and its credentials' changes (its
// status counts their live users). Handlers only enqueue keys.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { roleRefOf } from '../database-credential/quota.ts';

/** A role's live-user count follows its credentials at most this often (the queue keeps one pending add per key). */
const ROLE_COUNT_DELAY_MS = 5_000;

/** watchRoleSources wires the event sources of both role controllers onto them. */
export function watchRoleSources(
  roleController: Controller,
  clusterRoleController: Controller,
  s: { roles: Informer<KubeObject>; clusterRoles: Informer<KubeObject>; credentials: Informer<KubeObject> },
): void {
  roleController.watch(s.roles);
  clusterRoleController.watch(s.clusterRoles);
  s.credentials.on((e) => {
    const ref = roleRefOf(e.object);
    if (!ref?.name) return;
    if (ref.kind === 'ClusterDatabaseRole') clusterRoleController.enqueue(ref.name, ROLE_COUNT_DELAY_MS);
    else roleController.enqueue(`${e.object.metadata.namespace}/${ref.name}`, ROLE_COUNT_DELAY_MS);
  });
}
