import type { Clock, TimerHandle } from '../src/util/clock.ts';

/** A clock that moves only when a test advances it; timers fire in due order. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 10, 29, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = this.setTimer(ms, resolve);
      signal?.addEventListener(
        'abort',
        () => {
          t.cancel();
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  /** pendingTimers is the number of timers not yet fired. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** advance moves time forward by ms, firing due timers in order (and letting promises settle between). */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    // Work already due (resolved promises) runs at the current time, before the clock moves.
    await flushPromises();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
      await flushPromises();
    }
    this.time = target;
    await flushPromises();
  }
}

/** flushPromises lets pending promise callbacks run. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
