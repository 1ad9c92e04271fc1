import { publishEnvironment } from '../environment.ts';
import { ensureEnvironment } from '../global-setup.ts';
import { startNode } from '../node.ts';

/**
 * Global setup of the node jest project: the stack (control plane and databases), then one node for
 * the whole run with a scheduler, kube-proxy and the test image (the operator image is built by its own test, so a
 * compile error in src/ fails that test, not the whole project). globalTeardown stops it.
 */
export default async function setup(): Promise<void> {
  await ensureEnvironment({ kube: true, databases: true });
  const run = globalThis.__dbcredRun;
  if (!run || run.env.node) return;
  const kube = run.env.kube;
  if (!kube?.local)
    throw new Error(
      'the node project needs the harness-run control plane (its CA signs the node certificates), not an external KUBECONFIG',
    );
  const started = Date.now();
  const node = await startNode({
    controlPlane: { ...kube.local, kubeconfig: kube.kubeconfig },
    scheduler: true,
    serviceProxy: true,
    images: ['app'],
  });
  console.log(`[harness] node ${node.info.name} Ready ${node.info.readyMs} ms after kubelet start; started in ${Date.now() - started} ms`);
  // Registered after the stack, so globalTeardown (last in, first out) stops it before the control plane.
  run.stops.push(() => node.stop());
  run.env.node = node.info;
  publishEnvironment(run.env);
}
