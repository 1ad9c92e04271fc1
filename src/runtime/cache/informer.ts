// A supervised list+watch cache. client-node's informer stops on most errors; this one never
// stops until told to: failures are retried with a jittered backoff, a watchdog restarts a watch
// that went silent (the apiserver sends bookmarks about once a minute), 410 Gone relists, and a
// periodic relist repairs anything a watch could have missed. Handlers only enqueue keys.
import { Backoff } from '../../util/backoff.ts';
import type { Clock } from '../../util/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { isGone } from '../kube/errors.ts';
import type { ResourceType } from '../kube/builtin-resources.ts';
import { keyOf, type KubeObject, type ObjectKey } from '../kube/types.ts';
import type { Logger } from '../../observability/logger.ts';

/** What changed: an object appeared or changed (sync = seen again on a relist), or was deleted. */
export type InformerEvent<T> = { type: 'upsert'; object: T; previous?: T; sync: boolean } | { type: 'delete'; object: T };

export type InformerHandler<T> = (event: InformerEvent<T>) => void;

/** A read-only view of the cache. Objects must not be modified: copy before changing. */
export interface Store<T> {
  get(key: ObjectKey): Readonly<T> | undefined;
  list(): Readonly<T>[];
  keys(): ObjectKey[];
  size(): number;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock: Clock;
  logger: Logger;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. Default 3 min. */
  watchdogMs?: number;
  /** Relist everything this often, re-delivering every object. Default 10 min. */
  relistMs?: number;
  /** Server-side watch timeout; default a random 4–6 min per watch. */
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Applied to each object before it is cached (e.g. to drop fields nothing reads, saving memory). */
  transform?: (obj: T) => T;
}

/** Counters for metrics and tests. */
export interface InformerStats {
  lists: number;
  watches: number;
  failures: number;
  gone: number;
  watchdogRestarts: number;
  resyncs: number;
}

export class Informer<T extends KubeObject> implements Store<T> {
  private readonly items = new Map<ObjectKey, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly options: Required<
    Omit<InformerOptions<T>, 'namespace' | 'labelSelector' | 'fieldSelector' | 'watchTimeoutSeconds' | 'transform'>
  > &
    InformerOptions<T>;
  private readonly backoff: Backoff;
  private stopController = new AbortController();
  private running: Promise<void> | undefined;
  private resolveSynced!: () => void;
  private hasSynced = false;
  private connected = false;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  readonly stats: InformerStats = { lists: 0, watches: 0, failures: 0, gone: 0, watchdogRestarts: 0, resyncs: 0 };

  constructor(options: InformerOptions<T>) {
    this.options = { watchdogMs: 180_000, relistMs: 600_000, backoff: { initialMs: 200, maxMs: 30_000 }, ...options };
    this.backoff = new Backoff(this.options.backoff);
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
  }

  get resource(): ResourceType {
    return this.options.resource;
  }

  /** on registers a handler; it is called synchronously for every change and must only enqueue. */
  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /** start begins list+watch in the background; it runs until stop(). */
  start(): void {
    if (this.running) return;
    this.stopController = new AbortController();
    this.running = this.run(this.stopController.signal);
  }

  /** stop ends the watch and resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error('informer stopped'));
    await this.running;
    this.running = undefined;
  }

  /** isSynced: the first list completed. */
  isSynced(): boolean {
    return this.hasSynced;
  }

  /** isConnected: synced and a watch is open or being resumed without error. */
  isConnected(): boolean {
    return this.hasSynced && this.connected;
  }

  get(key: ObjectKey): Readonly<T> | undefined {
    return this.items.get(key);
  }

  list(): Readonly<T>[] {
    return [...this.items.values()];
  }

  keys(): ObjectKey[] {
    return [...this.items.keys()];
  }

  size(): number {
    return this.items.size;
  }

  /**
   * run: list, then follow the watch from the list's resourceVersion. A broken or silent watch is
   * resumed from the last resourceVersion after a backoff, and once it is open again every cached
   * key is re-delivered (level-based: whatever happened in between is reconciled). 410 Gone (the
   * resourceVersion was compacted away) and the periodic timer lead to a full relist.
   */
  private async run(stop: AbortSignal): Promise<void> {
    const { logger, clock, resource, relistMs } = this.options;
    while (!stop.aborted) {
      let rv: string;
      try {
        rv = await this.relist();
        this.backoff.reset();
      } catch (error) {
        if (stop.aborted) break;
        await this.failed(error, 'list', stop);
        continue;
      }
      const relistAt = clock.now() + relistMs;
      let reconnecting = false;
      while (!stop.aborted && clock.now() < relistAt) {
        try {
          rv = await this.watchFrom(rv, relistAt, stop, () => {
            this.connected = true;
            if (reconnecting) this.resync();
            reconnecting = false;
          });
          this.backoff.reset();
        } catch (error) {
          if (stop.aborted) break;
          if (isGone(error)) {
            this.stats.gone++;
            logger.info({ resource: resource.plural }, 'informer: resourceVersion expired (410); relisting');
            break;
          }
          reconnecting = true;
          await this.failed(error, 'watch', stop);
        }
      }
    }
    this.connected = false;
  }

  private async failed(error: unknown, phase: 'list' | 'watch', stop: AbortSignal): Promise<void> {
    this.connected = false;
    this.stats.failures++;
    const delay = this.backoff.next();
    this.options.logger.warn(
      { resource: this.options.resource.plural, phase, err: error, retryInMs: delay },
      `informer: ${phase} failed; retrying`,
    );
    await this.options.clock.sleep(delay, stop).catch(() => undefined);
  }

  /** relist replaces the cache with a fresh list and re-delivers every object (level-based). */
  private async relist(): Promise<string> {
    const { client, resource, namespace, labelSelector, fieldSelector } = this.options;
    const { items, resourceVersion } = await client.listAll<T>(resource, { namespace, labelSelector, fieldSelector });
    this.stats.lists++;
    const seen = new Set<ObjectKey>();
    for (const listed of items) {
      const object = this.options.transform ? this.options.transform(listed) : listed;
      const key = keyOf(object);
      seen.add(key);
      const previous = this.items.get(key);
      this.items.set(key, object);
      this.emit({ type: 'upsert', object, previous, sync: true });
    }
    for (const [key, object] of this.items) {
      if (!seen.has(key)) {
        this.items.delete(key);
        this.emit({ type: 'delete', object });
      }
    }
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
    this.connected = true;
    return resourceVersion;
  }

  /** resync re-delivers every cached object as a sync event. */
  private resync(): void {
    this.stats.resyncs++;
    for (const object of this.items.values()) this.emit({ type: 'upsert', object, previous: object, sync: true });
  }

  /**
   * watchFrom follows one watch from rv and returns the last resourceVersion seen when the server
   * ends it normally (or the relist is due); it throws when the watch fails or goes silent.
   */
  private async watchFrom(rv: string, relistAt: number, stop: AbortSignal, onOpen: () => void): Promise<string> {
    const { client, resource, namespace, labelSelector, fieldSelector, clock, watchdogMs, watchTimeoutSeconds } = this.options;
    const watch = new AbortController();
    const onStop = () => watch.abort();
    stop.addEventListener('abort', onStop, { once: true });
    let silent = false;
    const arm = () =>
      clock.setTimer(watchdogMs, () => {
        silent = true;
        watch.abort();
      });
    let watchdog = arm();
    const relistTimer = clock.setTimer(relistAt - clock.now(), () => watch.abort());
    this.stats.watches++;
    try {
      // Random timeouts spread the reconnects of many informers, as client-go does.
      const timeoutSeconds = watchTimeoutSeconds ?? Math.floor(240 + Math.random() * 120);
      const events = client.watch<T>(
        resource,
        { namespace, labelSelector, fieldSelector, resourceVersion: rv, timeoutSeconds },
        watch.signal,
        onOpen,
      );
      for await (const event of events) {
        watchdog.cancel();
        watchdog = arm();
        rv = event.object.metadata.resourceVersion ?? rv;
        this.apply(event.type, event.object);
      }
    } catch (error) {
      if (!silent) throw error; // the watchdog's abort is reported below, as a silent watch
    } finally {
      watchdog.cancel();
      relistTimer.cancel();
      stop.removeEventListener('abort', onStop);
    }
    if (silent) {
      this.stats.watchdogRestarts++;
      throw new Error(`no watch event or bookmark for ${watchdogMs} ms`);
    }
    return rv;
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK', received: T): void {
    if (type === 'BOOKMARK') return;
    const object = this.options.transform ? this.options.transform(received) : received;
    const key = keyOf(object);
    if (type === 'DELETED') {
      const previous = this.items.get(key);
      this.items.delete(key);
      this.emit({ type: 'delete', object: previous ?? object });
      return;
    }
    const previous = this.items.get(key);
    this.items.set(key, object);
    this.emit({ type: 'upsert', object, previous, sync: false });
  }

  private emit(event: InformerEvent<T>): void {
    for (const handler of this.handlers) handler(event);
  }
}
