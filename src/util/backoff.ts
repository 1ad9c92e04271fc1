// Exponential backoff with jitter, for reconnect loops (informers, leader election, DB pools).

/** Backoff settings: the first delay, the cap, and the jitter fraction added on top (0.2 = up to +20%). */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  jitter?: number;
}

/** A backoff sequence: next() returns growing, jittered delays; reset() starts over after a success. */
export class Backoff {
  private attempt = 0;
  private readonly options: Required<BackoffOptions>;
  private readonly random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.options = { factor: 2, jitter: 0.2, ...options };
    this.random = random;
  }

  /** next returns the delay before the next attempt: initial × factor^n, capped, plus jitter. */
  next(): number {
    const { initialMs, maxMs, factor, jitter } = this.options;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 + jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
