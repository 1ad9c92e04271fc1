// Pure lifecycle arithmetic: when to renew, when a credential's next deadline is. Table-tested.

/** renewAt returns the time to issue a replacement: issuedAt + renewAtPercent of the lifetime. */
export function renewAt(issuedAt: number, expiresAt: number, renewAtPercent: number): number {
  return issuedAt + Math.floor(((expiresAt - issuedAt) * renewAtPercent) / 100);
}

/** nextDeadline returns the earliest of the given times (undefined entries ignored), or undefined. */
export function nextDeadline(...times: (number | undefined)[]): number | undefined {
  let earliest: number | undefined;
  for (const t of times) if (t !== undefined && (earliest === undefined || t < earliest)) earliest = t;
  return earliest;
}

/** requeueDelay converts a deadline into a non-negative delay from now (undefined: nothing to wait for). */
export function requeueDelay(deadline: number | undefined, now: number): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline - now);
}
