// How the kube adapter reaches and authenticates to the apiserver. The common cases are handled
// here without @kubernetes/client-node: in-cluster (the ServiceAccount's token and CA), and
// kubeconfigs with client certificates, a token or a token file. Loading client-node costs a
// process ~24 MiB of heap and a third of a second at start (it loads every generated API model);
// it is imported only for kubeconfig users that need its plugins (exec, auth-provider, basic auth)
// or a proxy.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';
import { KubeError } from './errors.ts';

/** What a request needs to reach the apiserver as this client. */
export interface Connection {
  readonly server: string;
  /** authenticate returns the headers and connection pool for the next request. */
  authenticate(): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }>;
  /** dropConnections discards pooled connections after a network failure (the next request reconnects). */
  dropConnections(): void;
  /** withToken is the same server and CA with a bearer token instead of this connection's user. */
  withToken(token: string): Connection;
}

interface Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** A token read from a file is re-read this often (projected ServiceAccount tokens rotate). */
const TOKEN_FILE_TTL_MS = 60_000;

/** DirectConnection authenticates with TLS client certificates and/or a bearer token. */
export class DirectConnection implements Connection {
  readonly server: string;
  private readonly tls: Tls;
  private readonly token?: string;
  private readonly tokenFile?: string;
  private fileToken?: { value: string; readAt: number };
  private pool?: Dispatcher;

  constructor(options: { server: string; tls: Tls; token?: string; tokenFile?: string }) {
    this.server = options.server.replace(/\/$/, '');
    this.tls = options.tls;
    this.token = options.token;
    this.tokenFile = options.tokenFile;
  }

  authenticate(): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }> {
    const token = this.currentToken();
    this.pool ??= new Agent({ connect: { ...this.tls, keepAlive: true, keepAliveInitialDelay: 30_000 } });
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    return Promise.resolve({ headers, dispatcher: this.pool });
  }

  dropConnections(): void {
    const previous = this.pool;
    this.pool = undefined;
    void previous?.destroy().catch(() => undefined);
  }

  withToken(token: string): Connection {
    return new DirectConnection({
      server: this.server,
      tls: { ca: this.tls.ca, rejectUnauthorized: this.tls.rejectUnauthorized, servername: this.tls.servername },
      token,
    });
  }

  private currentToken(): string | undefined {
    if (this.token) return this.token;
    if (!this.tokenFile) return undefined;
    const now = Date.now();
    if (!this.fileToken || now - this.fileToken.readAt > TOKEN_FILE_TTL_MS) {
      this.fileToken = { value: readFileSync(this.tokenFile, 'utf8').trim(), readAt: now };
    }
    return this.fileToken.value;
  }
}

/** ClientNodeConnection defers authentication to client-node (imported on first use) for what DirectConnection cannot do. */
class ClientNodeConnection implements Connection {
  readonly server: string;
  private readonly load: () => Promise<Connection>;
  private loaded?: Promise<Connection>;

  constructor(server: string, load: () => Promise<Connection>) {
    this.server = server;
    this.load = load;
  }

  async authenticate(): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }> {
    this.loaded ??= this.load();
    return (await this.loaded).authenticate();
  }

  dropConnections(): void {
    void this.loaded?.then((c) => c.dropConnections());
  }

  withToken(): Connection {
    throw new KubeError(0, 'Unsupported', 'withToken needs a kubeconfig with certificate or token authentication');
  }
}

interface KubeconfigFile {
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  'current-context'?: string;
}

/** The user fields DirectConnection understands; any other (exec, auth-provider, username) needs client-node. */
const DIRECT_USER_FIELDS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
]);
const DIRECT_CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);

/**
 * connectionFromKubeconfig reads kubeconfig files (a KUBECONFIG list merges like kubectl: the first
 * definition of a name wins) and returns a connection for the current context.
 */
export function connectionFromKubeconfig(paths: string[]): Connection {
  const merged: Required<Omit<KubeconfigFile, 'current-context'>> & { current?: string } = { clusters: [], users: [], contexts: [] };
  const dirs = new Map<object, string>();
  for (const path of paths) {
    const file = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
    for (const kind of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of file[kind] ?? []) {
        if ((merged[kind] as { name: string }[]).some((e) => e.name === entry.name)) continue;
        (merged[kind] as object[]).push(entry);
        dirs.set(entry, dirname(path));
      }
    }
    merged.current ??= file['current-context'];
  }
  const context = merged.contexts.find((c) => c.name === merged.current)?.context;
  const clusterEntry = merged.clusters.find((c) => c.name === context?.cluster);
  const userEntry = merged.users.find((u) => u.name === context?.user);
  if (!context || !clusterEntry)
    throw new KubeError(0, 'NoCluster', `the kubeconfig (${paths.join(':')}) has no current context with a cluster`);
  const cluster = clusterEntry.cluster;
  const user = userEntry?.user ?? {};
  const server = typeof cluster['server'] === 'string' ? cluster['server'] : '';
  const needsClientNode =
    Object.keys(user).some((k) => !DIRECT_USER_FIELDS.has(k)) || Object.keys(cluster).some((k) => !DIRECT_CLUSTER_FIELDS.has(k));
  if (needsClientNode) {
    return new ClientNodeConnection(server.replace(/\/$/, ''), async () => {
      const { clientNodeConnection } = await import('./client-node-connection.ts');
      return clientNodeConnection(paths);
    });
  }
  const fileOrData = (entry: object, fileKey: string, dataKey: string, fields: Record<string, unknown>): Buffer | undefined => {
    if (typeof fields[dataKey] === 'string') return Buffer.from(fields[dataKey], 'base64');
    if (typeof fields[fileKey] === 'string') return readFileSync(resolveFrom(dirs.get(entry)!, fields[fileKey]));
    return undefined;
  };
  return new DirectConnection({
    server,
    tls: {
      ca: fileOrData(clusterEntry, 'certificate-authority', 'certificate-authority-data', cluster),
      cert: userEntry && fileOrData(userEntry, 'client-certificate', 'client-certificate-data', user),
      key: userEntry && fileOrData(userEntry, 'client-key', 'client-key-data', user),
      ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
      ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
    },
    token: typeof user['token'] === 'string' ? user['token'] : undefined,
    tokenFile: typeof user['tokenFile'] === 'string' ? resolveFrom(dirs.get(userEntry!)!, user['tokenFile']) : undefined,
  });
}

/** The ServiceAccount files a pod gets (a parameter so tests can point elsewhere). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** inClusterConnection uses the pod's ServiceAccount, or returns undefined outside a pod. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): Connection | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port || !existsSync(join(dir, 'token'))) return undefined;
  return new DirectConnection({
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(join(dir, 'ca.crt')) },
    tokenFile: join(dir, 'token'),
  });
}

/** defaultConnection finds the cluster like kubectl and client-go: $KUBECONFIG, ~/.kube/config, then in-cluster. */
export function defaultConnection(env: NodeJS.ProcessEnv = process.env): Connection {
  const listed = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '' && existsSync(p));
  if (listed.length > 0) return connectionFromKubeconfig(listed);
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return connectionFromKubeconfig([home]);
  const inCluster = inClusterConnection(env);
  if (inCluster) return inCluster;
  throw new KubeError(0, 'NoCluster', 'no cluster: set --kubeconfig or KUBECONFIG, create ~/.kube/config, or run in a pod');
}

function resolveFrom(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}
