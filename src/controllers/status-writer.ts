// The one funnel for status writes: a merge patch of the status subresource, conditioned on the
// resourceVersion the reconcile read, always with observedGeneration. It remembers each object as
// written, because the informer's copy can lag behind our own write for a moment and a reconcile
// must never act on state older than what it already recorded (e.g. issue a user twice).
import type { KubeClient } from '../runtime/kube/client.ts';
import type { ResourceType } from '../runtime/kube/resources.ts';
import { keyOf, type KubeObject } from '../runtime/kube/types.ts';

function rv(obj: KubeObject | undefined): bigint {
  try {
    return BigInt(obj?.metadata.resourceVersion ?? '0');
  } catch {
    return 0n;
  }
}

/** Objects this process wrote, newer than the informer's copy until the watch catches up. */
export class Freshest {
  private readonly written = new Map<string, KubeObject>();

  /** freshest returns whichever is newer: the cached object or the one this process last wrote. */
  get<T extends KubeObject>(cached: T | undefined, key: string): T | undefined {
    const mine = this.written.get(key) as T | undefined;
    if (!mine) return cached;
    // Only objects the cache already held are remembered, so an absent one has been deleted.
    if (!cached) {
      this.written.delete(key);
      return undefined;
    }
    if (rv(mine) > rv(cached)) return mine;
    this.written.delete(key); // the cache caught up
    return cached;
  }

  /** remember records an object this process wrote. */
  remember(obj: KubeObject): void {
    this.written.set(keyOf(obj), obj);
  }

  /** forget drops what is remembered about a deleted object. */
  forget(key: string): void {
    this.written.delete(key);
  }
}

export class StatusWriter {
  private readonly fresh = new Freshest();
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** freshest returns whichever is newer: the cached object or the one this process last wrote. */
  freshest<T extends KubeObject>(cached: T | undefined, key: string): T | undefined {
    return this.fresh.get(cached, key);
  }

  /** remember records an object this process wrote (e.g. a metadata patch that returned it). */
  remember(obj: KubeObject): void {
    this.fresh.remember(obj);
  }

  /** forget drops what is remembered about a deleted object. */
  forget(key: string): void {
    this.fresh.forget(key);
  }

  /**
   * write patches .status (null deletes a field), conditioned on obj's resourceVersion; it returns
   * the object as written. A conflict means someone changed the object: the reconcile retries.
   */
  async write<T extends KubeObject>(res: ResourceType, obj: T, status: Record<string, unknown>): Promise<T> {
    const updated = await this.client.mergePatch<T>(res, obj.metadata.name, obj.metadata.namespace, {
      metadata: { resourceVersion: obj.metadata.resourceVersion },
      status: { ...status, observedGeneration: obj.metadata.generation },
    }, { subresource: 'status' });
    this.fresh.remember(updated);
    return updated;
  }
}
