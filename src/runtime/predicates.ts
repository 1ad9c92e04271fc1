// Which informer events matter to a watch (as controller-runtime's predicates): pure tests of one
// event, so that a watch's handler only decides which keys to enqueue.
import type { InformerEvent } from './cache/informer.ts';
import type { KubeObject } from './kube/types.ts';

/** generationChanged: the object is new, deleted, or its spec changed (a status write or a relist is not). */
export function generationChanged(e: InformerEvent<KubeObject>): boolean {
  return e.type === 'delete' || (!e.sync && e.previous?.metadata.generation !== e.object.metadata.generation);
}

/** labelsChanged: an existing object's labels changed (a relist is not a change). */
export function labelsChanged(e: InformerEvent<KubeObject>): boolean {
  if (e.type !== 'upsert' || e.sync || e.previous === undefined) return false;
  const x = e.previous.metadata.labels ?? {};
  const y = e.object.metadata.labels ?? {};
  return Object.keys(x).length !== Object.keys(y).length || Object.entries(x).some(([k, v]) => y[k] !== v);
}

/**
 * conditionBecameTrue: an existing object's condition of this type turned True in this event, or
 * was True already and now speaks for a newer generation (the spec change was checked and passed).
 */
export function conditionBecameTrue(e: InformerEvent<KubeObject>, type: string): boolean {
  if (e.type !== 'upsert' || e.previous === undefined) return false;
  const now = conditionOf(e.object, type);
  const before = conditionOf(e.previous, type);
  return now?.status === 'True' && (before?.status !== 'True' || before.observedGeneration !== now.observedGeneration);
}

/** conditionBecameFalse: an existing object's condition of this type turned False in this event (from True, Unknown or absent). */
export function conditionBecameFalse(e: InformerEvent<KubeObject>, type: string): boolean {
  if (e.type !== 'upsert' || e.previous === undefined) return false;
  return conditionOf(e.object, type)?.status === 'False' && conditionOf(e.previous, type)?.status !== 'False';
}

function conditionOf(o: KubeObject, type: string): { status: string; observedGeneration?: number } | undefined {
  const conditions = (o as { status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] } }).status
    ?.conditions;
  return conditions?.find((c) => c.type === type);
}
