// One holder per key at a time, in arrival order, for work that must not interleave (e.g. the quota
// check and intent write of one role's credentials across the controller's workers).

/** KeyedLock: acquire(key) waits for the earlier holders of key; keys nobody holds take no memory. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** acquire resolves once every earlier holder of key has released, with a release function (safe to call twice). */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let open!: () => void;
    const mine = new Promise<void>((resolve) => (open = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** size is the number of keys held or waited for. */
  size(): number {
    return this.tails.size;
  }
}
