// The kube adapter: requests go out with undici over one reused connection pool per client
// (connection.ts finds the cluster and the credentials), patches carry the right content type,
// and every failure becomes a KubeError.
import { request, type Dispatcher } from 'undici';
import { connectionFromKubeconfig, defaultConnection, type Connection } from './connection.ts';
import { fromStatus, KubeError, type ApiStatus } from './errors.ts';
import { apiVersionOf, collectionPath, objectPath, type ResourceType } from './builtin-resources.ts';
import type { KubeList, KubeObject, WatchEvent } from './types.ts';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  timeoutSeconds?: number;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  /** Write the status subresource (e.g. "status") instead of the object. */
  subresource?: string;
}

export interface ClientOptions {
  /** Called before every write (any verb but GET); it throws to refuse it (fencing: only the leader writes). */
  guard?: () => void;
  /** Bound on a request other than a watch, so a write cannot land long after it was sent. Default 10 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const JSON_TYPE = 'application/json';
const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml'; // JSON is valid YAML

/** Client for the Kubernetes API with typed errors and a reused connection pool. */
export class KubeClient {
  private readonly conn: Connection;
  readonly server: string;
  /** Default field manager for writes (server-side apply and managedFields). */
  readonly fieldManager: string;
  private readonly options: ClientOptions;

  constructor(conn: Connection, fieldManager = 'dbcred', options: ClientOptions = {}) {
    if (!conn.server) throw new KubeError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    this.conn = conn;
    this.server = conn.server;
    this.fieldManager = fieldManager;
    this.options = options;
  }

  /** guarded is this client (same connections) with every write first asking guard, which throws to refuse it. */
  guarded(guard: () => void): KubeClient {
    return new KubeClient(this.conn, this.fieldManager, { ...this.options, guard });
  }

  /** fromKubeconfigFile loads a kubeconfig file (the current context). */
  static fromKubeconfigFile(path: string, fieldManager = 'dbcred'): KubeClient {
    return new KubeClient(connectionFromKubeconfig([path]), fieldManager);
  }

  /** fromDefault loads $KUBECONFIG, ~/.kube/config, or the in-cluster service account, like kubectl. */
  static fromDefault(fieldManager = 'dbcred'): KubeClient {
    return new KubeClient(defaultConnection(), fieldManager);
  }

  /** withToken connects to the same server as this client with a bearer token (e.g. a ServiceAccount's). */
  withToken(token: string): KubeClient {
    return new KubeClient(this.conn.withToken(token), this.fieldManager, this.options);
  }

  /** get reads one object; a missing object is a KubeError with status 404. */
  async get<T extends KubeObject>(res: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.send<T>('GET', objectPath(res, name, namespace), `get ${res.kind} ${name}`);
  }

  /** list reads one page of a collection. */
  async list<T extends KubeObject>(res: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const query: Record<string, string> = {};
    if (options.labelSelector) query['labelSelector'] = options.labelSelector;
    if (options.fieldSelector) query['fieldSelector'] = options.fieldSelector;
    if (options.limit) query['limit'] = String(options.limit);
    if (options.continueToken) query['continue'] = options.continueToken;
    if (options.resourceVersion !== undefined) query['resourceVersion'] = options.resourceVersion;
    return this.send<KubeList<T>>('GET', collectionPath(res, options.namespace), `list ${res.plural}`, { query });
  }

  /** listAll reads every page and returns the items with the list's resourceVersion (for a following watch). */
  async listAll<T extends KubeObject>(
    res: ResourceType,
    options: Omit<ListOptions, 'limit' | 'continueToken'> = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list<T>(res, { ...options, limit: 500, continueToken });
      items.push(...page.items);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
    } while (continueToken);
    return { items, resourceVersion };
  }

  /** create writes a new object; an existing one is a KubeError with status 409 (AlreadyExists). */
  async create<T extends KubeObject>(res: ResourceType, obj: T, options: WriteOptions = {}): Promise<T> {
    return this.send<T>('POST', collectionPath(res, obj.metadata.namespace), `create ${res.kind} ${obj.metadata.name}`, {
      body: withTypeMeta(res, obj),
      query: this.writeQuery(options),
    });
  }

  /** replace writes a whole object (or its status) with optimistic concurrency on metadata.resourceVersion. */
  async replace<T extends KubeObject>(res: ResourceType, obj: T, options: WriteOptions = {}): Promise<T> {
    return this.send<T>(
      'PUT',
      objectPath(res, obj.metadata.name, obj.metadata.namespace, options.subresource),
      `replace ${res.kind} ${obj.metadata.name}`,
      {
        body: withTypeMeta(res, obj),
        query: this.writeQuery(options),
      },
    );
  }

  /** mergePatch applies a JSON merge patch; include metadata.resourceVersion in it for optimistic concurrency. */
  async mergePatch<T extends KubeObject>(
    res: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: object,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.send<T>('PATCH', objectPath(res, name, namespace, options.subresource), `patch ${res.kind} ${name}`, {
      body: patch,
      contentType: MERGE_PATCH,
      query: this.writeQuery(options),
    });
  }

  /** apply is server-side apply with this client's field manager (force takes over conflicting fields). */
  async apply<T extends KubeObject>(res: ResourceType, obj: T, options: WriteOptions & { force?: boolean } = {}): Promise<T> {
    const query = this.writeQuery(options);
    query['fieldManager'] = options.fieldManager ?? this.fieldManager;
    if (options.force) query['force'] = 'true';
    return this.send<T>(
      'PATCH',
      objectPath(res, obj.metadata.name, obj.metadata.namespace, options.subresource),
      `apply ${res.kind} ${obj.metadata.name}`,
      {
        body: withTypeMeta(res, obj),
        contentType: APPLY_PATCH,
        query,
      },
    );
  }

  /** delete removes an object; it resolves when the apiserver accepted the deletion (404 is an error). */
  async delete(
    res: ResourceType,
    name: string,
    namespace?: string,
    options: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string } = {},
  ): Promise<void> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.propagationPolicy) body['propagationPolicy'] = options.propagationPolicy;
    if (options.uid) body['preconditions'] = { uid: options.uid };
    await this.send('DELETE', objectPath(res, name, namespace), `delete ${res.kind} ${name}`, { body });
  }

  /**
   * watch streams events from resourceVersion until the server ends the watch, the signal aborts,
   * or the server reports an error (thrown as a KubeError; 410 means relist). onOpen is called
   * once the apiserver has accepted the watch.
   */
  async *watch<T extends KubeObject>(
    res: ResourceType,
    options: WatchOptions,
    signal: AbortSignal,
    onOpen?: () => void,
  ): AsyncGenerator<WatchEvent<T>> {
    const query: Record<string, string> = {
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(options.timeoutSeconds ?? 300),
    };
    if (options.labelSelector) query['labelSelector'] = options.labelSelector;
    if (options.fieldSelector) query['fieldSelector'] = options.fieldSelector;
    const what = `watch ${res.plural}`;
    const { statusCode, body } = await this.raw('GET', collectionPath(res, options.namespace), what, { query, signal });
    if (statusCode >= 400) throw fromStatus(statusCode, await readStatus(body), what);
    onOpen?.();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as { type: string; object: KubeObject & ApiStatus };
          if (event.type === 'ERROR') throw fromStatus(event.object.code ?? 500, event.object, what);
          yield event as WatchEvent<T>;
        }
      }
    } catch (error) {
      if (error instanceof KubeError) throw error;
      if (signal.aborted) return;
      this.conn.dropConnections();
      throw new KubeError(0, 'WatchBroken', `${what}: the stream broke`, error);
    }
  }

  private writeQuery(options: WriteOptions): Record<string, string> {
    const query: Record<string, string> = { fieldManager: options.fieldManager ?? this.fieldManager };
    if (options.dryRun) query['dryRun'] = 'All';
    return query;
  }

  private async send<T>(
    method: string,
    path: string,
    what: string,
    options: { query?: Record<string, string>; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    if (method !== 'GET') this.options.guard?.();
    const signal = AbortSignal.timeout(this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const { statusCode, body } = await this.raw(method, path, what, { ...options, signal, timeoutSignal: true });
    if (statusCode >= 400) throw fromStatus(statusCode, await readStatus(body), what);
    return (await body.json()) as T;
  }

  private async raw(
    method: string,
    path: string,
    what: string,
    options: { query?: Record<string, string>; body?: unknown; contentType?: string; signal?: AbortSignal; timeoutSignal?: boolean },
  ) {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    let auth: { headers: Record<string, string>; dispatcher?: Dispatcher };
    try {
      auth = await this.conn.authenticate();
    } catch (error) {
      throw new KubeError(401, 'CredentialsUnavailable', `${what}: could not load credentials from the kubeconfig`, error);
    }
    const headers: Record<string, string> = { ...auth.headers, accept: JSON_TYPE };
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? JSON_TYPE;
    try {
      return await request(url, {
        method: method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        dispatcher: auth.dispatcher,
        signal: options.signal,
      });
    } catch (error) {
      // A watch's own signal ends it on purpose; a timed-out request is a failure like any other.
      if (options.signal?.aborted && !options.timeoutSignal) throw error;
      this.conn.dropConnections();
      const why = options.signal?.aborted ? 'no answer in time' : (error as Error).message;
      throw new KubeError(0, 'Unreachable', `${what}: the apiserver could not be reached (${why})`, error);
    }
  }
}

function withTypeMeta<T extends KubeObject>(res: ResourceType, obj: T): T {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(res), kind: obj.kind ?? res.kind };
}

async function readStatus(body: Dispatcher.ResponseData['body']): Promise<ApiStatus | undefined> {
  const text = await body.text();
  try {
    return JSON.parse(text) as ApiStatus;
  } catch {
    return { message: text.slice(0, 500) };
  }
}
