// The one funnel for status writes: a merge patch of the status subresource, conditioned on the
// resourceVersion the reconcile read, always with observedGeneration. It remembers each object as
// written, because the informer's copy can lag behind our own write for a moment and a reconcile
// must never act on state older than what it already recorded (e.g. issue a user twice).
import type { KubeClient } from '../runtime/kube/client.ts';
import type { InformerEvent } from '../runtime/cache/informer.ts';
import type { ResourceType } from '../runtime/kube/builtin-resources.ts';
import { keyOf, type KubeObject } from '../runtime/kube/types.ts';

function rv(obj: KubeObject | undefined): bigint {
  try {
    return BigInt(obj?.metadata.resourceVersion ?? '0');
  } catch {
    return 0n;
  }
}

/** How long a copy of an object this process wrote is trusted while the cache has not delivered it. */
export const ABSENT_GRACE_MS = 30_000;

/**
 * Objects this process wrote, newer than the informer's copy until the watch catches up. One per
 * resource type (keys are namespace/name); an entry goes as soon as the cache holds that version
 * or a newer one, so it never holds a second copy of the cache.
 */
export class Freshest {
  private readonly written = new Map<string, { object: KubeObject; at: number }>();
  /**
   * Deletions seen lately, with the deleted object's version: a write whose answer arrives after
   * the watch delivered the deletion must not be remembered (nothing would ever drop it).
   */
  private readonly deleted = new Map<string, { rv: bigint; at: number }>();
  private readonly now: () => number;

  /** now tells the time, to let a copy the cache never delivered go after ABSENT_GRACE_MS. */
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** size is the number of objects remembered (bounded: each goes once the cache has it, or after the grace). */
  size(): number {
    return this.written.size;
  }

  /**
   * get returns whichever is newer: the cached object or the one this process last wrote. cached
   * must be the cache's copy: one as new as ours means the cache caught up, and ours is forgotten.
   */
  get<T extends KubeObject>(cached: T | undefined, key: string): T | undefined {
    const entry = this.written.get(key);
    if (!entry) return cached;
    const mine = entry.object as T;
    if (!cached) {
      // Absent from the cache: just created and not yet delivered by the watch (a slow or
      // reconnecting watch), or deleted. A deletion the cache saw comes as a delete event, which
      // drops the copy; one it never saw (created and deleted in between) goes after the grace.
      if (this.now() - entry.at < ABSENT_GRACE_MS) return mine;
      this.written.delete(key);
      return undefined;
    }
    if (rv(mine) > rv(cached)) return mine;
    this.written.delete(key); // the cache caught up
    return cached;
  }

  /**
   * newer returns obj, or the copy this process wrote when that one is newer. Unlike get it forgets
   * nothing: obj may be a copy of our own write, which says nothing about what the cache holds.
   */
  newer<T extends KubeObject>(obj: T): T {
    const mine = this.written.get(keyOf(obj))?.object as T | undefined;
    return mine && rv(mine) > rv(obj) ? mine : obj;
  }

  /** remember records an object this process wrote, unless its deletion was already seen. */
  remember(obj: KubeObject): void {
    const key = keyOf(obj);
    const gone = this.deleted.get(key);
    if (gone && gone.rv >= rv(obj)) return;
    this.written.set(key, { object: obj, at: this.now() });
  }

  /** observe is fed the informer's events: a cached version at least as new as ours replaces it. */
  observe(event: InformerEvent<KubeObject>): void {
    const key = keyOf(event.object);
    const mine = this.written.get(key)?.object;
    if (mine && (event.type === 'delete' || rv(event.object) >= rv(mine))) this.written.delete(key);
    if (event.type === 'delete') {
      const now = this.now();
      this.deleted.delete(key); // re-inserted at the end, keeping the map in time order
      this.deleted.set(key, { rv: rv(event.object), at: now });
      // Only answers still in flight can arrive late: forget deletions older than the grace.
      for (const [k, d] of this.deleted) {
        if (now - d.at < ABSENT_GRACE_MS) break; // insertion order is time order
        this.deleted.delete(k);
      }
    }
  }

  /** forget drops what is remembered about a deleted object. */
  forget(key: string): void {
    this.written.delete(key);
  }
}

export class StatusWriter {
  private readonly fresh = new Map<string, Freshest>();
  private readonly client: KubeClient;
  private readonly now: () => number;

  constructor(client: KubeClient, now: () => number = Date.now) {
    this.client = client;
    this.now = now;
  }

  /** size is the number of objects remembered across every kind. */
  size(): number {
    let n = 0;
    for (const f of this.fresh.values()) n += f.size();
    return n;
  }

  private of(res: ResourceType): Freshest {
    let f = this.fresh.get(res.plural);
    if (!f) this.fresh.set(res.plural, (f = new Freshest(this.now)));
    return f;
  }

  /** freshest returns whichever is newer: the cache's copy (only that) or the one this process last wrote. */
  freshest<T extends KubeObject>(res: ResourceType, cached: T | undefined, key: string): T | undefined {
    return this.of(res).get(cached, key);
  }

  /** newer returns obj, or this process's newer write of it; it forgets nothing (obj need not come from the cache). */
  newer<T extends KubeObject>(res: ResourceType, obj: T): T {
    return this.of(res).newer(obj);
  }

  /** remember records an object this process wrote (e.g. a metadata patch that returned it). */
  remember(res: ResourceType, obj: KubeObject): void {
    this.of(res).remember(obj);
  }

  /** forget drops what is remembered about a deleted object. */
  forget(res: ResourceType, key: string): void {
    this.of(res).forget(key);
  }

  /** follow lets the informer of res tell when it has caught up with what this process wrote. */
  follow(res: ResourceType, informer: { on(handler: (event: InformerEvent<KubeObject>) => void): void }): void {
    informer.on((event) => this.of(res).observe(event));
  }

  /**
   * write patches .status (null deletes a field), conditioned on obj's resourceVersion; it returns
   * the object as written. A conflict means someone changed the object: the reconcile retries.
   */
  async write<T extends KubeObject>(res: ResourceType, obj: T, status: Record<string, unknown>): Promise<T> {
    const updated = await this.client.mergePatch<T>(
      res,
      obj.metadata.name,
      obj.metadata.namespace,
      {
        metadata: { resourceVersion: obj.metadata.resourceVersion },
        status: { ...status, observedGeneration: obj.metadata.generation },
      },
      { subresource: 'status' },
    );
    // A write that changed nothing keeps the resourceVersion and brings no watch event: there is
    // nothing newer than the cache to remember (and nothing would ever drop that copy).
    if (rv(updated) !== rv(obj)) this.of(res).remember(updated);
    return updated;
  }
}
