/** globalTeardown stops only what the global setups started (never a stack started by hand). */
export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__dbcredRun;
  globalThis.__dbcredRun = undefined;
  await Promise.all((run?.stops ?? []).map((stop) => stop()));
}
