// Condition and status helpers shared by the dbcred controllers.
import type { ConditionType, Reason } from '../api/v1alpha1/conditions.ts';
import { setCondition, type Condition } from '../runtime/condition-list.ts';

/** withCondition sets one condition on a status's list (lastTransitionTime kept when the status is unchanged). */
export function withCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
  status: 'True' | 'False' | 'Unknown',
  reason: Reason,
  message: string,
  now: number,
  generation: number | undefined,
): Condition[] {
  return setCondition(conditions, { type, status, reason, message }, new Date(now), generation);
}

/** withoutCondition removes a condition type from the list. */
export function withoutCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** sameStatus tells whether writing next would change nothing a user can see (so no write, no event loop). */
export function sameStatus(current: unknown, next: Record<string, unknown>): boolean {
  const strip = (s: unknown) => JSON.stringify(s ?? {}, (k, v: unknown) => (k === 'observedGeneration' ? undefined : v));
  return strip(current) === strip(next);
}
