import { describe, expect, it } from '@jest/globals';
import { AdminPool } from '../../src/engines/admin-pool.ts';

/** A stand-in for a driver pool: remembers the password it logs in with and whether it was ended. */
class FakePool {
  readonly password: string;
  readonly #failEnd: boolean;
  ended = 0;

  constructor(password: string, failEnd: boolean) {
    this.password = password;
    this.#failEnd = failEnd;
  }

  end(): Promise<void> {
    this.ended++;
    return this.#failEnd ? Promise.reject(new Error('end failed')) : Promise.resolve();
  }
}

/** An AdminPool over fake pools, with the list of every pool it opened. */
function adminPool(password: string, failEnd = false) {
  const opened: FakePool[] = [];
  const pool = new AdminPool(password, (p) => {
    const fake = new FakePool(p, failEnd);
    opened.push(fake);
    return fake;
  });
  return { pool, opened };
}

describe('AdminPool', () => {
  it('opens no pool until first used, then opens one and reuses it', () => {
    const { pool, opened } = adminPool('first');
    expect(opened).toHaveLength(0);
    const a = pool.get();
    const b = pool.get();
    expect(a).toBe(b);
    expect(opened).toHaveLength(1);
    expect(a.password).toBe('first');
  });

  it('ends the old pool on a password switch and opens the next one with the new password', async () => {
    const { pool, opened } = adminPool('first');
    const old = pool.get();
    await pool.switchPassword('second');
    expect(old.ended).toBe(1);
    expect(pool.password).toBe('second');
    expect(opened).toHaveLength(1);
    const next = pool.get();
    expect(next).not.toBe(old);
    expect(next.password).toBe('second');
    expect(opened).toHaveLength(2);
  });

  it('switches the password without opening a pool when none is open', async () => {
    const { pool, opened } = adminPool('first');
    await pool.switchPassword('second');
    expect(opened).toHaveLength(0);
    expect(pool.get().password).toBe('second');
  });

  it('ignores a failure to end the old pool during a password switch', async () => {
    const { pool } = adminPool('first', true);
    const old = pool.get();
    await expect(pool.switchPassword('second')).resolves.toBeUndefined();
    expect(old.ended).toBe(1);
    expect(pool.get().password).toBe('second');
  });

  it('ends the pool on close, and a later use opens a new one with the same password', async () => {
    const { pool, opened } = adminPool('first');
    const old = pool.get();
    await pool.close();
    expect(old.ended).toBe(1);
    const next = pool.get();
    expect(next).not.toBe(old);
    expect(next.password).toBe('first');
    expect(opened).toHaveLength(2);
  });

  it('does nothing on close when no pool is open', async () => {
    const { pool, opened } = adminPool('first');
    await pool.close();
    expect(opened).toHaveLength(0);
  });

  it('reports a failure to end the pool on close', async () => {
    const { pool } = adminPool('first', true);
    pool.get();
    await expect(pool.close()).rejects.toThrow('end failed');
  });
});
