import { ensureEnvironment } from '../global-setup.ts';

/** Global setup of the databases jest project. */
export default async function setup(): Promise<void> {
  await ensureEnvironment({ kube: false, databases: true });
}
