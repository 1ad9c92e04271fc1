// Failpoints: make the process die abruptly (or freeze, DBCRED_FAILPOINT_ACTION=pause) at a named
// step, to prove crash safety and fencing. Off unless BOTH variables are set — DBCRED_FAILPOINT
// names the step, and DBCRED_ENABLE_FAILPOINTS must be the exact phrase below — so a stray variable
// in a deployment cannot arm one.

export const FAILPOINTS = [
  'after-intent-recorded',
  'after-user-created',
  'after-user-verified',
  'after-secret-written',
  'after-old-user-revoked',
  'before-finalizer-removed',
  'after-admin-password-recorded',
  'after-admin-password-set',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export const FAILPOINT_ENABLE_PHRASE = 'i-want-the-operator-to-crash';

/** Failpoints armed from the environment (none unless both variables are set correctly). */
export class Failpoints {
  private readonly armed: ReadonlySet<string>;
  private readonly signal: 'SIGKILL' | 'SIGSTOP';

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const names = (env['DBCRED_FAILPOINT'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const enabled = env['DBCRED_ENABLE_FAILPOINTS'] === FAILPOINT_ENABLE_PHRASE;
    for (const n of names)
      if (!(FAILPOINTS as readonly string[]).includes(n)) throw new Error(`unknown failpoint "${n}" (known: ${FAILPOINTS.join(', ')})`);
    this.armed = new Set(enabled ? names : []);
    const action = env['DBCRED_FAILPOINT_ACTION'] ?? 'crash';
    if (action !== 'crash' && action !== 'pause') throw new Error(`unknown failpoint action "${action}" (known: crash, pause)`);
    this.signal = action === 'crash' ? 'SIGKILL' : 'SIGSTOP';
  }

  /** active lists the armed failpoints. */
  active(): string[] {
    return [...this.armed];
  }

  /**
   * hit, if the failpoint is armed, kills the process with SIGKILL (no cleanup, no flush) or, with
   * the pause action, stops it with SIGSTOP until someone sends SIGCONT (a frozen leader).
   */
  hit(name: Failpoint): void {
    if (this.armed.has(name)) process.kill(process.pid, this.signal);
  }
}
