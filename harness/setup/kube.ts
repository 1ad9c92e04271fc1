import { ensureEnvironment } from '../global-setup.ts';

/** Global setup of the kube jest project. */
export default async function setup(): Promise<void> {
  await ensureEnvironment({ kube: true, databases: false });
}
