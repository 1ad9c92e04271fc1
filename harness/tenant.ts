// A tenant as the platform team sets one up: a ServiceAccount holding the built-in `edit` role in
// its own namespace (into which the chart aggregates the namespaced dbcred kinds), and nothing else.
import type { KubeClient } from '../src/runtime/kube/client.ts';
import type { KubeObject } from '../src/runtime/kube/types.ts';
import { kubectl } from './crds.ts';
import { requireKube } from './environment.ts';
import { waitFor } from './processes.ts';

/** tenantClient returns a client that acts as ServiceAccount `name` with only `edit` in namespace. */
export async function tenantClient(admin: KubeClient, namespace: string, name = 'tenant'): Promise<KubeClient> {
  const kubeconfig = requireKube().kubeconfig;
  await kubectl(kubeconfig, ['create', 'serviceaccount', name, '-n', namespace]);
  await kubectl(kubeconfig, [
    'create',
    'rolebinding',
    `${name}-edit`,
    '--clusterrole=edit',
    `--serviceaccount=${namespace}:${name}`,
    '-n',
    namespace,
  ]);
  const token = (await kubectl(kubeconfig, ['create', 'token', name, '-n', namespace, '--duration=2h'])).trim();
  const tenant = admin.withToken(token);
  // The edit role gets the dbcred kinds from the aggregation controller, a moment after the chart's
  // ClusterRoles exist.
  await waitFor(
    `ServiceAccount ${namespace}/${name} to be allowed to create DatabaseCredentials`,
    async () => (await canI(tenant, 'create', 'databasecredentials', namespace)) === true,
    { timeoutMs: 30_000 },
  );
  return tenant;
}

/** canI asks the apiserver whether the client may do verb on a dbcred resource (or its subresource) in namespace. */
export async function canI(client: KubeClient, verb: string, resource: string, namespace?: string, subresource?: string): Promise<boolean> {
  const review = await client.create<KubeObject & { spec: unknown; status?: { allowed?: boolean } }>(SELF_SUBJECT_ACCESS_REVIEW, {
    // An access review takes no metadata at all (the apiserver refuses even a name).
    metadata: {} as KubeObject['metadata'],
    spec: {
      resourceAttributes: {
        group: resource.includes('.') ? resource.slice(resource.indexOf('.') + 1) : 'dbcred.io',
        resource: resource.split('.')[0],
        verb,
        ...(namespace ? { namespace } : {}),
        ...(subresource ? { subresource } : {}),
      },
    },
  });
  return review.status?.allowed === true;
}

const SELF_SUBJECT_ACCESS_REVIEW = {
  group: 'authorization.k8s.io',
  version: 'v1',
  plural: 'selfsubjectaccessreviews',
  kind: 'SelfSubjectAccessReview',
  namespaced: false,
} as const;
