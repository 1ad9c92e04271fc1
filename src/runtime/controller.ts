// A controller: informer events become keys in a work queue; N workers reconcile keys, one
// worker per key at a time. Every requeue rule is in processOne's switch (as in
// controller-runtime's reconcileHandler).
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Informer } from './cache/informer.ts';
import { keyOf, type KubeObject, type ObjectKey } from './kube/types.ts';
import { defaultRateLimiter, type RateLimiter } from './workqueue/rate-limiter.ts';
import { WorkQueue } from './workqueue/work-queue.ts';

/**
 * What a reconcile asks for next: nothing (done until something changes), another look after a
 * delay, or a retry with the key's backoff for a failure it has already shown (a revocation that
 * failed, say), without counting as an error; with both, whichever comes first.
 */
export interface Result {
  requeueAfterMs?: number;
  retry?: boolean;
  /** With retry: the backoff never waits longer than this (default: the rate limiter's own cap). */
  retryCapMs?: number;
}

/** A reconciler converges one object, named by its key, towards its desired state. */
export interface Reconciler {
  reconcile(key: ObjectKey, signal: AbortSignal): Promise<Result | void>;
}

/** Observations a controller reports (wired to metrics by the caller). */
export interface ControllerHooks {
  onReconcile?(controller: string, outcome: 'success' | 'requeue' | 'error', durationMs: number): void;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  clock: Clock;
  logger: Logger;
  workers?: number;
  rateLimiter?: RateLimiter;
  hooks?: ControllerHooks;
  /** Which keys this replica may reconcile now (leadership, later shards). Default: all. */
  mayReconcile?: (key: ObjectKey) => boolean;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private workers: Promise<void>[] = [];
  private readonly inFlight = new Map<ObjectKey, AbortController>();
  private started = false;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.name = options.name;
    this.queue = new WorkQueue(options.clock, options.rateLimiter ?? defaultRateLimiter(options.clock));
  }

  /** watch enqueues the key of every changed object of the informer (the controller's own kind). */
  watch<T extends KubeObject>(informer: Informer<T>): this {
    informer.on((event) => this.queue.add(keyOf(event.object)));
    return this;
  }

  /**
   * watchOwned maps changes of owned objects to their controlling owner of ownerKind (through the
   * controller ownerReference), so that a deleted or edited Secret brings its owner back to reconcile.
   */
  watchOwned<T extends KubeObject>(informer: Informer<T>, ownerKind: string): this {
    informer.on((event) => {
      const ref = event.object.metadata.ownerReferences?.find((r) => r.controller && r.kind === ownerKind);
      if (!ref) return;
      const ns = event.object.metadata.namespace;
      this.queue.add(ns ? `${ns}/${ref.name}` : ref.name);
    });
    return this;
  }

  /** enqueueMatching enqueues the key of every cached object of the informer that matches. */
  enqueueMatching<T extends KubeObject>(informer: Informer<T>, match: (o: Readonly<T>) => boolean = () => true): void {
    for (const o of informer.list()) if (match(o)) this.queue.add(keyOf(o));
  }

  /** enqueue adds a key directly (timers, sweeps). */
  enqueue(key: ObjectKey, afterMs = 0): void {
    this.queue.addAfter(key, afterMs);
  }

  /** start launches the workers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const n = this.options.workers ?? 1;
    this.workers = Array.from({ length: n }, () => this.work());
  }

  /**
   * stop stops taking keys and waits for in-flight reconciles; past graceMs their signals are
   * aborted, which cuts short only a reconcile that reads its signal. Resolves when every worker
   * has exited, however long that takes.
   */
  async stop(graceMs: number): Promise<void> {
    this.queue.shutDown();
    const timer = this.options.clock.setTimer(graceMs, () => {
      for (const ctrl of this.inFlight.values()) ctrl.abort(new Error('shutdown grace period over'));
    });
    await Promise.all(this.workers);
    timer.cancel();
  }

  /** abortInFlight cancels running reconciles at once (e.g. leadership lost). */
  abortInFlight(reason: string): void {
    for (const ctrl of this.inFlight.values()) ctrl.abort(new Error(reason));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processOne(key);
      } catch (error) {
        // processOne handles reconcile errors; reaching here is a bug in the handling itself.
        this.options.logger.error({ controller: this.name, key, err: error }, 'controller: unexpected failure while handling a key');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** processOne reconciles one key and applies the requeue rules, all of them here. */
  private async processOne(key: ObjectKey): Promise<void> {
    const { reconciler, logger, clock, hooks, mayReconcile } = this.options;
    if (mayReconcile && !mayReconcile(key)) return; // another replica owns it; its watch brings it back if that changes
    const ctrl = new AbortController();
    this.inFlight.set(key, ctrl);
    const started = clock.now();
    let result: Result | void = undefined;
    let failure: unknown;
    try {
      result = await reconciler.reconcile(key, ctrl.signal);
    } catch (error) {
      failure = error;
    } finally {
      this.inFlight.delete(key);
    }
    const elapsed = clock.now() - started;
    if (failure === undefined && result?.retry) {
      this.queue.addRateLimited(key, result.retryCapMs);
      if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      hooks?.onReconcile?.(this.name, 'requeue', elapsed);
    } else if (failure === undefined && result?.requeueAfterMs !== undefined) {
      this.queue.forget(key);
      this.queue.addAfter(key, result.requeueAfterMs);
      hooks?.onReconcile?.(this.name, 'requeue', elapsed);
    } else if (failure === undefined) {
      this.queue.forget(key);
      hooks?.onReconcile?.(this.name, 'success', elapsed);
    } else {
      const retries = this.queue.retries(key);
      this.queue.addRateLimited(key);
      logger.warn({ controller: this.name, key, retries, err: failure }, 'reconcile failed; retrying with backoff');
      hooks?.onReconcile?.(this.name, 'error', elapsed);
    }
  }
}
