import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { buildImage, type BuiltImage } from '../../harness/images.ts';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../../harness/kube-client.ts';
import { importIntoNode } from '../../harness/node.ts';
import { kubectl, requireNode, RESTRICTED_CONTAINER, RESTRICTED_POD, waitForPod } from '../../harness/pods.ts';

// The operator's own image, built from the repository's Containerfile with buildah as a user would
// build it (Node 24, the compiled app, production node_modules), runs as its non-root user under
// the restricted Pod Security Standard with a read-only root filesystem.
describe('the operator image', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let ns: TestNamespace;
  let image: BuiltImage;

  beforeAll(async () => {
    image = await buildImage('operator');
    await importIntoNode(requireNode(), image);
    ns = await createTestNamespace('operator-image', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    // Cold, the build makes the base image (debootstrap) and runs npm ci and tsc in the container.
  }, 900_000);
  afterAll(async () => {
    await ns?.cleanup();
  });

  /** runOnce runs the image once as a restricted pod (command or args overridden) and returns its phase and output. */
  async function runOnce(name: string, run: { command?: string[]; args?: string[] }): Promise<{ phase?: string; logs: string }> {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          securityContext: RESTRICTED_POD,
          containers: [{ name: 'operator', image: image.ref, imagePullPolicy: 'Never', securityContext: RESTRICTED_CONTAINER, ...run }],
        },
      },
    });
    const pod = await waitForPod(ns.name, name, 'to finish', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    return { phase: pod.status?.phase, logs: await kubectl(['logs', '-n', ns.name, name]) };
  }

  it('runs Node 24 as the app user and loads the compiled API with its production dependencies', async () => {
    // Loads a compiled module that imports zod from the image's node_modules.
    const script = [
      "const kind = await import('/app/dist/api/v1alpha1/database-credential.js');",
      'console.log(JSON.stringify({ node: process.version, uid: process.getuid(), exports: Object.keys(kind).length }));',
    ].join(' ');
    const { phase, logs } = await runOnce('operator', { command: ['node', '--input-type=module', '-e', script] });
    expect({ phase, logs }).toMatchObject({ phase: 'Succeeded' });
    const report = JSON.parse(logs.trim()) as { node: string; uid: number; exports: number };
    expect(report.node).toMatch(/^v24\./);
    expect(report.uid).toBe(10001);
    expect(report.exports).toBeGreaterThan(0);
  });

  it("starts the operator through the image's entrypoint (here: --help, listing the flags)", async () => {
    const { phase, logs } = await runOnce('entrypoint', { args: ['--help'] });
    expect({ phase }).toEqual({ phase: 'Succeeded' });
    expect(logs).toContain('--metrics-bind-address');
    expect(logs).toContain('--health-probe-bind-address');
  });
});
