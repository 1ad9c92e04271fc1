// When a server's admin password is to be rotated: on demand (an annotation value not yet handled)
// or on its schedule. Pure: the reconciler passes what status and spec say and the time.
import { nextRunAfter } from './schedule.ts';

export interface AdminRotationInputs {
  /** spec.adminRotation, when set. */
  schedule?: { schedule: string; timeZone: string };
  /** The on-demand annotation's value, when set. */
  requested?: string;
  /** status.adminRotationRequest: the last request already carried out. */
  handled?: string;
  /** status.lastAdminRotationTime, in ms. */
  last?: number;
  now: number;
}

export interface AdminRotationPlan {
  /** Rotate now, and why. */
  due?: 'requested' | 'scheduled';
  /** When the schedule rotates next after the last rotation (after now when there was none), if ever within a year. */
  next?: number;
}

/**
 * adminRotationPlan says whether to rotate now and when the schedule fires next. The first
 * scheduled rotation is due at once (it proves the operator can rotate before anyone relies on it);
 * after that, a fire time missed while the operator was down is due once, not once per missed time.
 */
export function adminRotationPlan(i: AdminRotationInputs): AdminRotationPlan {
  const next = i.schedule && nextRunAfter(i.schedule.schedule, i.last ?? i.now, i.schedule.timeZone);
  const scheduledNow = i.schedule !== undefined && (i.last === undefined || (next !== undefined && next <= i.now));
  const due = i.requested !== undefined && i.requested !== i.handled ? 'requested' : scheduledNow ? 'scheduled' : undefined;
  return { ...(due ? { due } : {}), ...(next !== undefined && !scheduledNow ? { next } : {}) };
}
