// Admin access to the database servers for the break-glass commands: the same EnginePool the
// operator uses, fed from objects read once instead of informers, with this installation's
// ownership marker (the engines refuse to drop a user that does not carry it).
import { ClusterDatabaseRole, DatabaseRole, validate, type DatabaseCredential } from '../api/v1alpha1/index.ts';
import { FALLBACK_POLICY } from '../controllers/database-credential/revocation.ts';
import { DbcredResources } from '../controllers/dbcred-resources.ts';
import { EnginePool, serverKey, type ServerRef } from '../controllers/engine-pool.ts';
import { readClusterId } from '../controllers/operator.ts';
import { policyOf } from '../controllers/roles.ts';
import type { UserPolicy } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import { installationMarker } from '../engines/username.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isNotFound } from '../runtime/kube/errors.ts';
import type { KubeObject } from '../runtime/kube/types.ts';

/** Which installation's users the commands may touch (the operator's --instance and --cluster-id). */
export interface Installation {
  instance: string;
  clusterId?: string;
}

export const INSTALLATION_OPTIONS = {
  instance: { type: 'string', default: 'dbcred' },
  'cluster-id': { type: 'string' },
} as const;

export const INSTALLATION_HELP = `installation (as the operator was started):
  --instance NAME               the operator's --instance (default dbcred)
  --cluster-id ID               the operator's --cluster-id (default: uid of kube-system)`;

/** ServerAccess opens admin connections to the servers credentials name; close() ends them all. */
export class ServerAccess {
  readonly marker: string;
  private readonly pool: EnginePool;
  private readonly client: KubeClient;
  private readonly objects = new Map<string, KubeObject>();

  private constructor(client: KubeClient, registry: EngineRegistry, marker: string) {
    this.client = client;
    this.marker = marker;
    const lookup = (key: (name: string) => string) => ({ get: (name: string) => this.objects.get(key(name)) });
    this.pool = new EnginePool({
      client,
      registry,
      servers: lookup((k) => `DatabaseServer/${k}`),
      clusterServers: lookup((k) => `ClusterDatabaseServer/${k}`),
      engineOptions: { marker },
    });
  }

  /** open resolves this installation's marker (reading kube-system's uid unless --cluster-id is given). */
  static async open(client: KubeClient, registry: EngineRegistry, installation: Installation): Promise<ServerAccess> {
    const clusterId = installation.clusterId ?? (await readClusterId(client));
    return new ServerAccess(client, registry, installationMarker(installation.instance, clusterId));
  }

  /** engine returns an admin engine for the server, reading the server object and its Secrets now. */
  async engine(ref: ServerRef) {
    const key = serverKey(ref);
    if (!this.objects.has(key)) {
      try {
        const res = ref.kind === 'DatabaseServer' ? DbcredResources.DatabaseServer : DbcredResources.ClusterDatabaseServer;
        this.objects.set(key, await this.client.get<KubeObject>(res, ref.name, ref.namespace));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return (await this.pool.resolve(ref)).engine;
  }

  /** policyFor is the revocation policy of the credential's role, or the operator's default when the role is gone. */
  async policyFor(cred: DatabaseCredential): Promise<UserPolicy> {
    const ref = cred.spec?.roleRef;
    if (!ref) return FALLBACK_POLICY;
    try {
      if (ref.kind === 'ClusterDatabaseRole') {
        const parsed = validate(ClusterDatabaseRole, await this.client.get(DbcredResources.ClusterDatabaseRole, ref.name));
        return parsed.ok ? policyOf(parsed.value) : FALLBACK_POLICY;
      }
      const parsed = validate(DatabaseRole, await this.client.get(DbcredResources.DatabaseRole, ref.name, cred.metadata.namespace));
      return parsed.ok ? policyOf(parsed.value) : FALLBACK_POLICY;
    } catch (error) {
      if (isNotFound(error)) return FALLBACK_POLICY;
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
