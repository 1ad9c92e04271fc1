import { describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { remainingCgroups } from '../../harness/cgroups.ts';
import { requireKube, requireLocalKube } from '../../harness/environment.ts';
import { bridgePorts, linkExists, mountsUnder } from '../../harness/host.ts';
import { createTestNamespace, kubeConfig, statusOf } from '../../harness/kube-client.ts';
import { kubectlFor, nodeLeftovers, startNode } from '../../harness/node.ts';
import { IDLE, isRunning, waitForPod } from '../../harness/pods.ts';

// Stopping a node must leave the machine as the node found it. The run's shared node is stopped
// only at the end of the run, so this test starts a second, short-lived node next to it (own name,
// node IP, bridge, cgroup root and folders; tainted so the scheduler leaves it alone), gives it a pod
// with a network namespace and a Secret volume, stops it, and looks for every trace it made.
describe('stopping a node', () => {
  it('leaves no process, mount, cgroup, network interface, Node object or sysctl change behind', async () => {
    const kube = requireKube();
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const taint = { key: 'dbcred.io/teardown-check', effect: 'NoSchedule' as const };
    const node = await startNode({
      controlPlane: { ...requireLocalKube(), kubeconfig: kube.kubeconfig },
      name: `${hostname()}-teardown-check`,
      nodeIP: '198.51.100.11',
      taints: [taint],
    });
    const { info } = node;
    const ns = await createTestNamespace('teardown');
    let stopped = false;
    try {
      await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 's' }, stringData: { key: 'value' } } });
      await core.createNamespacedPod({
        namespace: ns.name,
        body: {
          metadata: { name: 'tenant' },
          spec: {
            nodeName: info.name,
            tolerations: [{ operator: 'Exists' }],
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'app',
                image: info.images.pause!,
                imagePullPolicy: 'Never',
                command: IDLE,
                volumeMounts: [{ name: 's', mountPath: '/s' }],
              },
            ],
            volumes: [{ name: 's', secret: { secretName: 's' } }],
          },
        },
      });
      await waitForPod(ns.name, 'tenant', 'Running', isRunning);

      // What a running node has made, so the checks after stop are not vacuous.
      const mounts = await mountsUnder(info.dir);
      expect(mounts.some((m) => m.includes('kubernetes.io~secret'))).toBe(true);
      expect(mounts.some((m) => m.endsWith('/rootfs'))).toBe(true);
      expect(mounts.some((m) => m.includes('/netns/'))).toBe(true);
      const veths = await bridgePorts(info.bridge);
      expect(veths.length).toBeGreaterThan(0);
      expect((await remainingCgroups(info.cgroupRoot)).length).toBeGreaterThan(0);

      stopped = true;
      await node.stop();

      const kubectl = await kubectlFor(kube.kubeconfig);
      expect(await nodeLeftovers(info, kubectl)).toEqual([]);
      for (const veth of veths) expect(await linkExists(veth)).toBe(false);
      expect(await mountsUnder(info.dir)).toEqual([]);
      // The drain removed the pod through the kubelet, not by deleting the namespace.
      const gone = await core.readNamespacedPod({ namespace: ns.name, name: 'tenant' }).then(() => 200, statusOf);
      expect(gone).toBe(404);
    } finally {
      if (!stopped) await node.stop();
      await ns.cleanup();
    }
  });
});
