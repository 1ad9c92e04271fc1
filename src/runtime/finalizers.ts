// Finalizer helpers. Both writes carry the resourceVersion the caller read, so a finalizer list
// changed meanwhile by someone else is never overwritten (the write fails with a conflict and the
// reconcile retries on fresh state). A finalizer is removed only after its cleanup succeeded.
import type { KubeClient } from './kube/client.ts';
import type { ResourceType } from './kube/builtin-resources.ts';
import type { KubeObject } from './kube/types.ts';

/** hasFinalizer tells whether the object carries the finalizer. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** addFinalizer adds the finalizer if missing and returns the object as written (or as given). */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceType, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata.finalizers ?? []), finalizer];
  return client.mergePatch<T>(res, obj.metadata.name, obj.metadata.namespace, {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
}

/** removeFinalizer removes the finalizer if present and returns the object as written (or as given). */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceType, obj: T, finalizer: string): Promise<T> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  return client.mergePatch<T>(res, obj.metadata.name, obj.metadata.namespace, {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
}
