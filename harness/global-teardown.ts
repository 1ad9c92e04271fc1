/**
 * globalTeardown stops only what the global setups started (never a stack started by hand), in
 * reverse order: a node drains its pods through the apiserver, so it stops before the control plane.
 */
export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__dbcredRun;
  globalThis.__dbcredRun = undefined;
  const errors: unknown[] = [];
  for (const stop of (run?.stops ?? []).reverse()) {
    await stop().catch((error: unknown) => errors.push(error));
  }
  if (errors.length > 0) throw new AggregateError(errors, 'teardown failed');
}
