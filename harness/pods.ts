import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { requireKube, requireLocalKube, testEnvironment } from './environment.ts';
import { kubeConfig } from './kube-client.ts';
import type { NodeInfo } from './node.ts';
import { waitFor } from './processes.ts';

const run = promisify(execFile);

/** requireNode returns the run's node, or throws if this run has none (the suite is not in the node project). */
export function requireNode(): NodeInfo {
  const node = testEnvironment().node;
  if (!node) throw new Error('this suite needs a node: put it under test/node (the node project starts one)');
  return node;
}

/** imageOf returns the reference of an image imported into the run's node. */
export function imageOf(name: 'app' | 'operator'): string {
  const ref = requireNode().images[name];
  if (!ref) throw new Error(`the node has no ${name} image`);
  return ref;
}

/** kubectl runs the cached kubectl with the run's admin kubeconfig and returns its stdout. */
export async function kubectl(args: string[]): Promise<string> {
  const { stdout } = await run(join(requireLocalKube().binDir, 'kubectl'), ['--kubeconfig', requireKube().kubeconfig, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** execIn runs a command in a pod's container (through the apiserver and the kubelet) and returns its stdout. */
export async function execIn(namespace: string, pod: string, command: string[]): Promise<string> {
  return kubectl(['exec', '-n', namespace, pod, '--', ...command]);
}

/** waitForPod polls a pod until accept(pod) holds; the error names its phase and container states. */
export async function waitForPod(
  namespace: string,
  name: string,
  what: string,
  accept: (pod: V1Pod) => boolean,
  timeoutMs = 90_000,
): Promise<V1Pod> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let last: V1Pod | undefined;
  await waitFor(
    `pod ${namespace}/${name} ${what}`,
    async () => {
      last = await core.readNamespacedPod({ namespace, name });
      return accept(last);
    },
    {
      timeoutMs,
      intervalMs: 200,
      onTimeout: () =>
        JSON.stringify({
          phase: last?.status?.phase,
          conditions: last?.status?.conditions,
          containers: last?.status?.containerStatuses?.map((c) => c.state),
        }),
    },
  );
  return last!;
}

/** isRunning tells whether all of a pod's containers run and are ready. */
export function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.ready);
}

/** A container that idles until stopped, for pods that tests exec into (busybox sh as PID 1 needs the trap to stop promptly). */
export const IDLE = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

/** The securityContext fields the restricted Pod Security Standard requires of a container. */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
};

/** The pod-level securityContext of the restricted Pod Security Standard, running as the images' app user. */
export const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  seccompProfile: { type: 'RuntimeDefault' },
};
