// The admin connection pool both engines keep: opened on first use (an engine opens no connection
// until its first call), replaced when the admin password changes (a pool cannot change the
// password its connections log in with), and ended by close. Driver-agnostic: the engine passes
// a factory that builds its driver's pool for a given password.

/** The current admin password and the pool that logs in with it, opened lazily. */
export class AdminPool<P extends { end(): Promise<void> }> {
  readonly #open: (password: string) => P;
  #password: string;
  #pool: P | undefined;

  /** Remembers the password and the factory; no pool is opened until the first get(). */
  constructor(password: string, open: (password: string) => P) {
    this.#password = password;
    this.#open = open;
  }

  /** The admin password of the current pool, or of the next one to open. */
  get password(): string {
    return this.#password;
  }

  /** get returns the current pool, opening it (once) with the current password when there is none. */
  get(): P {
    this.#pool ??= this.#open(this.#password);
    return this.#pool;
  }

  /**
   * switchPassword makes every later get() use a new pool that logs in with password; the old pool
   * is ended best-effort, since a failure to end it must not fail the rotation that already happened.
   */
  async switchPassword(password: string): Promise<void> {
    const old = this.#pool;
    // Switch before awaiting, so no caller gets the old pool while it is ending.
    this.#password = password;
    this.#pool = undefined;
    await old?.end().catch(() => undefined);
  }

  /** close ends the current pool (its failure is the caller's to see); a later get() opens a new one. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }
}
