import { describe, expect, it } from '@jest/globals';
import { KeyedLock } from '../../../src/util/keyed-lock.ts';
import { flushPromises } from '../../../harness/fake-clock.ts';

describe('a keyed lock', () => {
  it('lets one holder of a key in at a time, in arrival order, and other keys through at once', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const first = await lock.acquire('role-a');
    const second = lock.acquire('role-a').then((release) => {
      order.push('second');
      return release;
    });
    const third = lock.acquire('role-a').then((release) => {
      order.push('third');
      return release;
    });
    const other = await lock.acquire('role-b');
    order.push('other');
    await flushPromises();
    expect(order).toEqual(['other']);
    first();
    (await second)();
    (await third)();
    other();
    expect(order).toEqual(['other', 'second', 'third']);
  });

  it('forgets keys nobody holds, and a second release changes nothing', async () => {
    const lock = new KeyedLock();
    const release = await lock.acquire('k');
    expect(lock.size()).toBe(1);
    release();
    release();
    expect(lock.size()).toBe(0);
    const again = await lock.acquire('k');
    again();
    expect(lock.size()).toBe(0);
  });
});
