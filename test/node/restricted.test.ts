import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../../harness/kube-client.ts';
import { IDLE, imageOf, isRunning, requireNode, RESTRICTED_CONTAINER, RESTRICTED_POD, waitForPod } from '../../harness/pods.ts';
import { waitFor } from '../../harness/processes.ts';

// The operator and its users' workloads run in namespaces enforcing the restricted Pod Security
// Standard: a compliant Deployment must get through admission, the scheduler and the kubelet.
describe('a Deployment in a namespace enforcing the restricted Pod Security Standard', () => {
  const kc = kubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  it('is admitted, scheduled onto the node and Running with a restricted securityContext', async () => {
    const labels = { app: 'restricted-app' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'restricted-app' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              securityContext: RESTRICTED_POD,
              containers: [
                { name: 'app', image: imageOf('app'), imagePullPolicy: 'Never', command: IDLE, securityContext: RESTRICTED_CONTAINER },
              ],
            },
          },
        },
      },
    });
    await waitFor(
      'the Deployment to be available',
      async () => {
        const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'restricted-app' });
        return deployment.status?.availableReplicas === 1;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=restricted-app' });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    // Placed by the scheduler (the Deployment names no node), and running as the unprivileged user.
    expect(pod.spec?.nodeName).toBe(requireNode().name);
    expect(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    const running = await waitForPod(ns.name, pod.metadata!.name!, 'Running', isRunning);
    expect(running.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });
});
