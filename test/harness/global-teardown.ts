/** globalTeardown stops only what globalSetup started (never a stack started by hand). */
export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.__dbcredStack;
  globalThis.__dbcredStack = undefined;
  await stack?.stop();
}
