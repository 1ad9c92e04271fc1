import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { RateLimiter } from './rate-limiter.ts';

/**
 * A deduplicating work queue with client-go's semantics: an item is queued at most once; an item
 * added while it is being processed is processed again after done(), never concurrently; delayed
 * adds (addAfter) keep only the earliest due time per item.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly getters: ((item: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;

  constructor(clock: Clock, limiter: RateLimiter) {
    this.clock = clock;
    this.limiter = limiter;
  }

  /** add queues an item now unless it is already queued (a processing item is requeued after done). */
  add(item: string): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(item);
      this.processing.add(item);
      getter(item);
    } else {
      this.queue.push(item);
    }
  }

  /** addAfter queues an item after delayMs; an earlier pending addAfter for the same item wins. */
  addAfter(item: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(item);
    const at = this.clock.now() + delayMs;
    const pending = this.waiting.get(item);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(delayMs, () => {
      this.waiting.delete(item);
      this.add(item);
    });
    this.waiting.set(item, { at, timer });
  }

  /** addRateLimited queues an item after its rate limiter's delay (a failed attempt), at most capMs. */
  addRateLimited(item: string, capMs = Infinity): void {
    this.addAfter(item, Math.min(capMs, this.limiter.when(item)));
  }

  /** forget clears an item's failure history (a success). */
  forget(item: string): void {
    this.limiter.forget(item);
  }

  /** retries tells how often the item has failed in a row. */
  retries(item: string): number {
    return this.limiter.retries(item);
  }

  /** get resolves with the next item (marking it processing), or undefined once shut down and drained. */
  get(): Promise<string | undefined> {
    if (this.head < this.queue.length) {
      const item = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(item);
      this.processing.add(item);
      return Promise.resolve(item);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** done ends processing of an item; if it was added meanwhile, it is queued again. */
  done(item: string): void {
    this.processing.delete(item);
    if (this.dirty.has(item)) {
      this.dirty.delete(item);
      this.add(item);
    }
  }

  /** len is the number of items ready to be processed. */
  len(): number {
    return this.queue.length - this.head;
  }

  /** isProcessing tells whether a worker holds the item now. */
  isProcessing(item: string): boolean {
    return this.processing.has(item);
  }

  /** shutDown stops accepting items, cancels delayed ones, and releases idle getters. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) timer.cancel();
    this.waiting.clear();
    for (const getter of this.getters.splice(0)) getter(undefined);
  }
}
