import { installCrds } from './crds.ts';
import { publishEnvironment } from './environment.ts';
import { findRunningStack, startStack } from './stack.ts';

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
