// The object shapes the runtime relies on; everything else about an object is opaque to it.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A list response. */
export interface KubeList<T extends KubeObject> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

/** One watch event. BOOKMARK carries only metadata.resourceVersion. */
export interface WatchEvent<T extends KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** The key of an object in caches and queues: "namespace/name", or "name" for cluster-scoped objects. */
export type ObjectKey = string;

/** keyOf returns the cache/queue key of an object. */
export function keyOf(obj: { metadata: { name: string; namespace?: string } }): ObjectKey {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** splitKey returns the namespace (undefined for cluster-scoped) and name of a key. */
export function splitKey(key: ObjectKey): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
