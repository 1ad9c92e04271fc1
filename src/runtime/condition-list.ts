// metav1.Condition bookkeeping: one condition per type; lastTransitionTime moves only when the
// status flips; observedGeneration is always the generation the caller reconciled.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** setCondition returns the list with the condition set; the input list is not modified. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString();
  const condition: Condition = { ...next, lastTransitionTime, ...(observedGeneration === undefined ? {} : { observedGeneration }) };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}
