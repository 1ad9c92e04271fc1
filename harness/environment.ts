import type { DatabaseServerInfo } from './database-info.ts';
import type { NodeInfo } from './node.ts';

/** What the global setup started (or found) for the test run, passed to test files through one env var. */
export interface TestEnvironment {
  kube?: {
    kubeconfig: string;
    /** Set when the harness runs this control plane itself (so its binaries and logs are at hand). */
    local?: { dir: string; binDir: string; server: string; caFile: string; etcdEndpoint: string; pids: Record<string, number> };
  };
  postgres?: DatabaseServerInfo;
  mariadb?: DatabaseServerInfo;
  /** The run's node (kubelet + containerd + scheduler), when a project opted in (harness/setup/node.ts). */
  node?: NodeInfo;
}

const VAR = 'DBCRED_TEST_ENV';

/** publishEnvironment makes the environment visible to test workers (they inherit process.env). */
export function publishEnvironment(env: TestEnvironment): void {
  process.env[VAR] = JSON.stringify(env);
  if (env.kube) process.env['KUBECONFIG'] = env.kube.kubeconfig;
}

/** testEnvironment returns what the global setup published; it throws when a suite runs without it. */
export function testEnvironment(): TestEnvironment {
  const raw = process.env[VAR];
  if (!raw)
    throw new Error(`${VAR} is not set: run the tests with \`npm test\` or \`npm run jest\` so the global setup starts the harness`);
  return JSON.parse(raw) as TestEnvironment;
}

/** requireKube returns the kubeconfig path, or throws if this run has no control plane. */
export function requireKube(): NonNullable<TestEnvironment['kube']> {
  const kube = testEnvironment().kube;
  if (!kube) throw new Error('this suite needs a Kubernetes API and the run has none');
  return kube;
}

/** requireLocalKube returns the harness-run control plane, for suites that restart or inspect it. */
export function requireLocalKube(): NonNullable<NonNullable<TestEnvironment['kube']>['local']> {
  const local = requireKube().local;
  if (!local) throw new Error('this suite needs the harness-run control plane (not an external KUBECONFIG)');
  return local;
}

/** requireDatabase returns the named test database server, or throws if this run has none. */
export function requireDatabase(engine: 'postgres' | 'mariadb'): DatabaseServerInfo {
  const db = testEnvironment()[engine];
  if (!db) throw new Error(`this suite needs the ${engine} test server and the run has none`);
  return db;
}
