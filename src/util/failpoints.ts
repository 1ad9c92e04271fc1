// Failpoints: make the process die abruptly at a named step, to prove crash safety. Off unless
// BOTH variables are set — DBCRED_FAILPOINT names the step, and DBCRED_ENABLE_FAILPOINTS must be
// the exact phrase below — so a stray variable in a deployment cannot arm one.

export const FAILPOINTS = [
  'after-intent-recorded',
  'after-user-created',
  'after-user-verified',
  'after-secret-written',
  'after-old-user-revoked',
  'before-finalizer-removed',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export const FAILPOINT_ENABLE_PHRASE = 'i-want-the-operator-to-crash';

/** Failpoints armed from the environment (none unless both variables are set correctly). */
export class Failpoints {
  private readonly armed: ReadonlySet<string>;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const names = (env['DBCRED_FAILPOINT'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const enabled = env['DBCRED_ENABLE_FAILPOINTS'] === FAILPOINT_ENABLE_PHRASE;
    for (const n of names)
      if (!(FAILPOINTS as readonly string[]).includes(n)) throw new Error(`unknown failpoint "${n}" (known: ${FAILPOINTS.join(', ')})`);
    this.armed = new Set(enabled ? names : []);
  }

  /** active lists the armed failpoints. */
  active(): string[] {
    return [...this.armed];
  }

  /** hit kills the process with SIGKILL (no cleanup, no flush) if the failpoint is armed. */
  hit(name: Failpoint): void {
    if (this.armed.has(name)) process.kill(process.pid, 'SIGKILL');
  }
}
