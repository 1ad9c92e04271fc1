import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startControlPlane } from './control-plane.ts';
import { installCrds } from './crds.ts';
import { publishEnvironment } from './environment.ts';
import { CACHE_DIR, findRunningStack, startStack } from './stack.ts';

/**
 * useControlPlane gives a command-line tool (bench, chaos, measurements) a control plane with the
 * CRDs installed: the stack started by hand if one runs, else its own; stop() stops only its own.
 */
export async function useControlPlane(): Promise<{ stop(): Promise<void> }> {
  let env = (await findRunningStack())?.env;
  let stop = () => Promise.resolve();
  if (!env?.kube) {
    const stack = await startStack({ kube: true, databases: false });
    stop = () => stack.stop();
    env = stack.env;
  }
  publishEnvironment(env);
  await installCrds(env.kube!.kubeconfig);
  return { stop };
}

/**
 * privateControlPlane starts a control plane of the tool's own (never the shared stack), with the
 * CRDs installed, so the tool may restart its kube-apiserver.
 */
export async function privateControlPlane(): Promise<{ stop(): Promise<void>; restartApiserver(): Promise<void> }> {
  await mkdir(join(CACHE_DIR, 'run'), { recursive: true });
  const dir = await mkdtemp(join(CACHE_DIR, 'run', 'private-'));
  const cp = await startControlPlane({ dir });
  publishEnvironment({ kube: { kubeconfig: cp.kubeconfig } });
  await installCrds(cp.kubeconfig);
  return {
    restartApiserver: () => cp.restartApiserver(),
    stop: async () => {
      await cp.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
