import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, KINDS, VERSION } from '../src/api/v1alpha1/index.ts';
import { kubeConfig } from './kube-client.ts';
import type { Manifest } from './samples.ts';

function definition(kind: string) {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown dbcred kind ${kind}`);
  return def;
}

/** Options of a write: server-side dry run, and how unknown fields are treated. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

/** dbcredObjects gives tests generic create/get/replace/delete on the dbcred kinds. */
export function dbcredObjects() {
  const api = kubeConfig().makeApiClient(CustomObjectsApi);
  const target = (m: { kind: string; metadata: { namespace?: string } }) => {
    const def = definition(m.kind);
    return { group: GROUP, version: VERSION, plural: def.plural, cluster: def.scope === 'Cluster', namespace: m.metadata.namespace ?? '' };
  };
  return {
    async create(m: Manifest, options: WriteOptions = {}): Promise<Manifest> {
      const t = target(m);
      const common = {
        group: t.group,
        version: t.version,
        plural: t.plural,
        body: m,
        dryRun: options.dryRun ? 'All' : undefined,
        fieldValidation: options.fieldValidation ?? 'Strict',
      };
      return (
        t.cluster ? api.createClusterCustomObject(common) : api.createNamespacedCustomObject({ ...common, namespace: t.namespace })
      ) as Promise<Manifest>;
    },
    async get(kind: string, name: string, namespace?: string): Promise<Manifest> {
      const t = target({ kind, metadata: { namespace } });
      const common = { group: t.group, version: t.version, plural: t.plural, name };
      return (
        t.cluster ? api.getClusterCustomObject(common) : api.getNamespacedCustomObject({ ...common, namespace: t.namespace })
      ) as Promise<Manifest>;
    },
    async replace(m: Manifest): Promise<Manifest> {
      const t = target(m);
      const common = { group: t.group, version: t.version, plural: t.plural, name: m.metadata.name, body: m, fieldValidation: 'Strict' };
      return (
        t.cluster ? api.replaceClusterCustomObject(common) : api.replaceNamespacedCustomObject({ ...common, namespace: t.namespace })
      ) as Promise<Manifest>;
    },
    async delete(kind: string, name: string, namespace?: string): Promise<void> {
      const t = target({ kind, metadata: { namespace } });
      const common = { group: t.group, version: t.version, plural: t.plural, name };
      await (t.cluster ? api.deleteClusterCustomObject(common) : api.deleteNamespacedCustomObject({ ...common, namespace: t.namespace }));
    },
  };
}
