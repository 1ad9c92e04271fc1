// One engine (admin connection pool) per server object, built from the server spec and its admin
// and CA Secrets. It is rebuilt when a resolve finds one of them changed: the Secrets are read on
// demand (reused for SECRET_TTL_MS), not watched. A replaced engine's pool is closed; the last
// engine of a server stays (for revocation after the server is gone) until closeAll.
import { createHash } from 'node:crypto';
import { ClusterDatabaseServer, DatabaseServer, validate } from '../api/v1alpha1/index.ts';
import type { Engine, EngineOptions } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { Informer } from '../runtime/cache/informer.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isNotFound } from '../runtime/kube/errors.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { ConditionError } from './condition-error.ts';

/** Which server: a namespaced DatabaseServer (namespace set) or a ClusterDatabaseServer. */
export interface ServerRef {
  kind: 'DatabaseServer' | 'ClusterDatabaseServer';
  name: string;
  namespace?: string;
}

export type AnyServer = DatabaseServer | ClusterDatabaseServer;

/** A server as the controllers use it: its spec (validated, with defaults) and its engine. */
export interface ResolvedServer {
  ref: ServerRef;
  object: AnyServer;
  engine: Engine;
  engineName: 'postgres' | 'mysql';
  host: string;
  port: number;
  database?: string;
  tlsMode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** The CA (PEM) the server's certificate is checked against, when the server names one. */
  caPem?: string;
  /** The admin login's user name (never handed out nor rotated through a credential). */
  adminUsername: string;
}

type SecretObject = KubeObject & { data?: Record<string, string> };

/** How long an admin or CA Secret read is reused by credential reconciles. */
const SECRET_TTL_MS = 10_000;

export const serverKey = (ref: ServerRef) =>
  ref.kind === 'DatabaseServer' ? `DatabaseServer/${ref.namespace}/${ref.name}` : `ClusterDatabaseServer/${ref.name}`;

export class EnginePool {
  private readonly engines = new Map<string, { fingerprint: string; engine: Engine }>();
  private readonly lastKnown = new Map<string, Engine>();
  private readonly secrets = new Map<string, { secret: SecretObject; at: number }>();
  private readonly o: {
    client: KubeClient;
    registry: EngineRegistry;
    /** Where server objects are looked up: the operator's informers, or a snapshot (the CLI). */
    servers: Pick<Informer<KubeObject>, 'get'>;
    clusterServers: Pick<Informer<KubeObject>, 'get'>;
    engineOptions: EngineOptions;
    /** Asked before every engine call; throws when this replica may not act (fencing on leader loss). */
    guard?: () => void;
  };

  constructor(options: EnginePool['o']) {
    this.o = options;
  }

  /** serverObject returns the validated server object, or throws a ConditionError saying why not. */
  serverObject(ref: ServerRef): AnyServer {
    const raw = ref.kind === 'DatabaseServer' ? this.o.servers.get(`${ref.namespace}/${ref.name}`) : this.o.clusterServers.get(ref.name);
    if (!raw)
      throw new ConditionError(
        'REFERENCE_MISSING',
        'ServerNotFound',
        `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} does not exist`,
      );
    const parsed = ref.kind === 'DatabaseServer' ? validate(DatabaseServer, raw) : validate(ClusterDatabaseServer, raw);
    if (!parsed.ok)
      throw new ConditionError('REFERENCE_INVALID', 'ServerNotReady', `${ref.kind} ${ref.name} is invalid: ${parsed.message}`);
    return parsed.value;
  }

  /**
   * resolveForRevocation is resolve, falling back to the last engine built for the server when the
   * server object or its admin Secret is gone (a namespace being deleted takes them with it), so
   * users issued on it can still be revoked.
   */
  async resolveForRevocation(ref: ServerRef): Promise<Pick<ResolvedServer, 'engine' | 'ref'>> {
    try {
      return await this.resolve(ref);
    } catch (error) {
      const last = this.lastKnown.get(serverKey(ref));
      if (last && error instanceof ConditionError && error.code === 'REFERENCE_MISSING') return { ref, engine: last };
      throw error;
    }
  }

  /**
   * resolve returns the server and an engine for it, building or rebuilding the engine as needed.
   * The admin and CA Secrets are read at most every SECRET_TTL_MS (a GET per credential reconcile
   * was a sixth of the operator's API calls); `fresh` forces a read (the server's periodic check).
   */
  async resolve(ref: ServerRef, options: { fresh?: boolean } = {}): Promise<ResolvedServer> {
    const object = this.serverObject(ref);
    const spec = object.spec;
    // A cluster server names the Secret's namespace; a namespaced one uses its own.
    const secretNamespace = (r: { namespace?: unknown }) => (typeof r.namespace === 'string' ? r.namespace : ref.namespace!);
    const admin = await this.secret(secretNamespace(spec.adminCredentialsSecretRef), spec.adminCredentialsSecretRef.name, options.fresh);
    const username = this.key(admin, spec.adminCredentialsSecretRef.usernameKey, spec.adminCredentialsSecretRef.name);
    const password = this.key(admin, spec.adminCredentialsSecretRef.passwordKey, spec.adminCredentialsSecretRef.name);
    let caPem: string | undefined;
    if (spec.tls.caSecretRef) {
      const ca = await this.secret(secretNamespace(spec.tls.caSecretRef), spec.tls.caSecretRef.name, options.fresh);
      caPem = this.key(ca, spec.tls.caSecretRef.key, spec.tls.caSecretRef.name);
    }
    const port = spec.port ?? (spec.engine === 'postgres' ? 5432 : 3306);
    const database = spec.database ?? (spec.engine === 'postgres' ? 'postgres' : undefined);
    const key = serverKey(ref);
    // What the engine is built from, not the Secrets' versions: our own in-use finalizer on a Secret
    // must not rebuild the pool under in-flight issuances.
    const fingerprint = [
      object.metadata.uid,
      object.metadata.generation,
      createHash('sha256')
        .update(`${username}\n${password}\n${caPem ?? ''}`)
        .digest('hex'),
    ].join('/');
    let entry = this.engines.get(key);
    if (entry?.fingerprint !== fingerprint) {
      // The old pool is closed when nothing can need it: a rebuilt engine replaces it as lastKnown.
      if (entry) void entry.engine.close().catch(() => undefined);
      const built = this.o.registry.create(
        spec.engine,
        {
          host: spec.host,
          port,
          database,
          admin: { username, password },
          tls: { mode: spec.tls.mode, caPem },
          maxConnections: spec.maxConnections,
        },
        this.o.engineOptions,
      );
      const engine = this.o.guard ? fenced(built, this.o.guard) : built;
      entry = { fingerprint, engine };
      this.engines.set(key, entry);
      this.lastKnown.set(key, engine);
    }
    return {
      ref,
      object,
      engine: entry.engine,
      engineName: spec.engine,
      host: spec.host,
      port,
      database,
      tlsMode: spec.tls.mode,
      ...(caPem === undefined ? {} : { caPem }),
      adminUsername: username,
    };
  }

  /**
   * invalidate makes the next resolve build the server's engine afresh from its Secrets (a failed
   * admin rotation leaves the pool unsure which password it logs in with); the closed engine stays
   * usable for revocation until then.
   */
  invalidate(ref: ServerRef): void {
    const key = serverKey(ref);
    const entry = this.engines.get(key);
    this.engines.delete(key);
    void entry?.engine.close().catch(() => undefined);
  }

  /** forget closes and drops the server's engine once nothing can need it (the server is gone and no user lives on it). */
  forget(ref: ServerRef): void {
    const key = serverKey(ref);
    const engines = new Set([this.engines.get(key)?.engine, this.lastKnown.get(key)]);
    this.engines.delete(key);
    this.lastKnown.delete(key);
    for (const engine of engines) void engine?.close().catch(() => undefined);
  }

  /** sizes: servers with an engine, last-known engines, and cached admin/CA Secret reads. */
  sizes(): { engines: number; lastKnown: number; secretReads: number } {
    return { engines: this.engines.size, lastKnown: this.lastKnown.size, secretReads: this.secrets.size };
  }

  /** closeAll ends every admin pool (shutdown). */
  async closeAll(): Promise<void> {
    const all = new Set([...this.engines.values()].map((e) => e.engine).concat([...this.lastKnown.values()]));
    this.engines.clear();
    this.lastKnown.clear();
    await Promise.all([...all].map((e) => e.close().catch(() => undefined)));
  }

  private async secret(namespace: string, name: string, fresh = false): Promise<SecretObject> {
    const key = `${namespace}/${name}`;
    const cached = this.secrets.get(key);
    const now = Date.now();
    if (!fresh && cached && now - cached.at < SECRET_TTL_MS) return cached.secret;
    // Expired reads go, so Secrets no server uses any more (and their passwords) do not stay in memory.
    for (const [k, v] of this.secrets) if (now - v.at >= SECRET_TTL_MS) this.secrets.delete(k);
    try {
      const secret = await this.o.client.get<SecretObject>(Resources.Secret, name, namespace);
      this.secrets.set(key, { secret, at: now });
      return secret;
    } catch (error) {
      this.secrets.delete(key);
      if (isNotFound(error)) throw new ConditionError('REFERENCE_MISSING', 'SecretNotFound', `Secret ${namespace}/${name} does not exist`);
      throw error;
    }
  }

  private key(secret: SecretObject, key: string, name: string): string {
    const value = secret.data?.[key];
    if (value === undefined)
      throw new ConditionError('REFERENCE_MISSING', 'SecretKeyMissing', `Secret ${secret.metadata.namespace}/${name} has no key "${key}"`);
    return Buffer.from(value, 'base64').toString('utf8');
  }
}

/**
 * fenced wraps an engine so that every call but close() first asks guard: a replica that lost the
 * lease (or was paused past its renew deadline) sends nothing more to any database.
 */
function fenced(engine: Engine, guard: () => void): Engine {
  return new Proxy(engine, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]): unknown => {
        guard();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
