import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { requireKube } from '../../harness/environment.ts';
import { apiError, createTestNamespace, kubeConfig, waitForGone, type TestNamespace } from '../../harness/kube-client.ts';

const run = promisify(execFile);

// These tests prove the control plane is a real one: garbage collection, namespace deletion,
// PodSecurity admission, service-account tokens and RBAC all behave as in a cluster.
describe('the local control plane', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('cp');
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it('garbage-collects an object whose owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!, controller: true }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'owner', propagationPolicy: 'Background' });
    await waitForGone('the dependent ConfigMap', () => core.readNamespacedConfigMap({ namespace: ns.name, name: 'dependent' }));
  });

  it('completes a namespace deletion, removing what it held', async () => {
    const doomed = await createTestNamespace('doomed');
    await core.createNamespacedConfigMap({ namespace: doomed.name, body: { metadata: { name: 'content' } } });
    await doomed.cleanup();
    await waitForGone('the namespace', () => core.readNamespace({ name: doomed.name }), 60_000);
  });

  it('refuses a privileged pod in a namespace enforcing the restricted Pod Security Standard', async () => {
    const restricted = await createTestNamespace('restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    try {
      const pod = (name: string, privileged: boolean): V1Pod => ({
        metadata: { name },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: 'busybox',
              command: ['sleep', '3600'],
              securityContext: privileged ? { privileged: true } : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      });
      const refused = await apiError(() => core.createNamespacedPod({ namespace: restricted.name, body: pod('privileged', true) }));
      expect(refused.status).toBe(403);
      expect(refused.message).toContain('violates PodSecurity "restricted:latest"');
      expect(refused.message).toContain('privileged');
      // The same pod without the privilege is admitted: the refusal came from the policy.
      const admitted = await core.createNamespacedPod({ namespace: restricted.name, body: pod('compliant', false) });
      expect(admitted.metadata?.name).toBe('compliant');
    } finally {
      await restricted.cleanup();
    }
  });

  it('authenticates a ServiceAccount token and lets RBAC deny what its Role does not allow', async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'reader' } } });
    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns.name }],
      },
    });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      namespace: ns.name,
      name: 'reader',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status!.token;

    const asReader = new KubeConfig();
    const cluster = kc.getCurrentCluster()!;
    asReader.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'reader', token }],
      contexts: [{ name: 'reader', cluster: cluster.name, user: 'reader' }],
      currentContext: 'reader',
    });
    const whoami = await asReader.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(whoami.status?.userInfo?.username).toBe(`system:serviceaccount:${ns.name}:reader`);

    const readerCore = asReader.makeApiClient(CoreV1Api);
    const list = await readerCore.listNamespacedConfigMap({ namespace: ns.name });
    expect(Array.isArray(list.items)).toBe(true);
    const denied = await apiError(() => readerCore.listNamespacedSecret({ namespace: ns.name }));
    expect(denied.status).toBe(403);
    expect(denied.message).toContain(`User "system:serviceaccount:${ns.name}:reader" cannot list resource "secrets"`);
  });

  it('serves kubectl built from the same release', async () => {
    const kube = requireKube();
    const bin = kube.local ? join(kube.local.binDir, 'kubectl') : 'kubectl';
    const { stdout } = await run(bin, ['version', '-o', 'json'], { env: { ...process.env, KUBECONFIG: kube.kubeconfig } });
    const version = JSON.parse(stdout) as { serverVersion: { gitVersion: string; major: string } };
    expect(version.serverVersion.major).toBe('1');
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });
});
