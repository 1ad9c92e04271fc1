import { describe, expect, it } from '@jest/globals';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter } from '../../../src/runtime/workqueue/rate-limiter.ts';
import { WorkQueue } from '../../../src/runtime/workqueue/work-queue.ts';
import { FakeClock } from '../../../harness/fake-clock.ts';

const newQueue = (clock = new FakeClock()) => ({ clock, queue: new WorkQueue(clock, new ItemExponentialRateLimiter(5, 1000)) });

describe('the work queue', () => {
  it('hands out each queued key once, however often it was added', async () => {
    const { queue } = newQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.len()).toBe(0);
  });

  it('never hands out a key that is being processed; a key added meanwhile comes back after done()', async () => {
    const { queue } = newQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a'); // changed while processing
    expect(queue.len()).toBe(0);
    queue.add('b');
    expect(await queue.get()).toBe('b');
    queue.done(first!);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = newQueue();
    const waiting = queue.get();
    queue.add('x');
    expect(await waiting).toBe('x');
    expect(queue.isProcessing('x')).toBe(true);
  });

  it('delays addAfter keys, keeping the earliest due time per key', async () => {
    const { queue, clock } = newQueue();
    queue.addAfter('k', 1000);
    queue.addAfter('k', 300);
    queue.addAfter('k', 2000);
    await clock.advance(299);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(queue.len()).toBe(1);
    await clock.advance(5000);
    expect(queue.len()).toBe(1); // the later timers were replaced, not added
  });

  it('backs a failing key off exponentially until forget()', async () => {
    const { queue, clock } = newQueue();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.now();
      queue.addRateLimited('k');
      while (queue.len() === 0) await clock.advance(1);
      delays.push(clock.now() - before);
      const k = await queue.get();
      queue.done(k!);
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(queue.retries('k')).toBe(4);
    queue.forget('k');
    expect(queue.retries('k')).toBe(0);
  });

  it('drains what is queued after shutDown, then returns undefined, and drops delayed keys', async () => {
    const { queue, clock } = newQueue();
    queue.add('a');
    queue.addAfter('later', 10);
    const idle = newQueue().queue;
    const idleGet = idle.get();
    idle.shutDown();
    expect(await idleGet).toBeUndefined();
    queue.shutDown();
    queue.add('refused');
    await clock.advance(100);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBeUndefined();
  });
});

describe('rate limiters', () => {
  it('cap the per-key exponential backoff', () => {
    const limiter = new ItemExponentialRateLimiter(5, 30);
    expect([1, 2, 3, 4, 5].map(() => limiter.when('k'))).toEqual([5, 10, 20, 30, 30]);
    expect(limiter.when('other')).toBe(5);
  });

  it('let a burst through the token bucket, then space retries at the rate', async () => {
    const clock = new FakeClock();
    const bucket = new BucketRateLimiter(10, 3, clock);
    expect([bucket.when(), bucket.when(), bucket.when()]).toEqual([0, 0, 0]);
    expect(bucket.when()).toBe(100);
    expect(bucket.when()).toBe(200);
    await clock.advance(1000);
    expect(bucket.when()).toBe(0);
  });

  it('combine by taking the slowest', () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1000), new BucketRateLimiter(10, 1, clock));
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('b')).toBe(100);
  });
});
