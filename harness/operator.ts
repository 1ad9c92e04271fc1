import { loadSettings, type Settings } from '../src/config/settings.ts';
import { buildOperator, type Operator } from '../src/controllers/operator.ts';
import { KubeClient } from '../src/runtime/kube/client.ts';
import { createLogger } from '../src/observability/logger.ts';
import { systemClock, type Clock } from '../src/util/clock.ts';
import { requireKube } from './environment.ts';
import { TEST_REQUESTER_POLICY } from './crds.ts';

/** An operator running inside the test process, watching one namespace. */
export interface InProcessOperator {
  operator: Operator;
  /** Audit lines written so far. */
  audit: string[];
  stop(): Promise<void>;
}

/**
 * startOperator builds and starts the real operator in-process (no leader election), scoped to a
 * namespace; `clock` runs it at another time, `client` lets a test put faults between it and the apiserver.
 */
export async function startOperator(
  namespace: string,
  overrides: Record<string, string> = {},
  options: { env?: NodeJS.ProcessEnv; clock?: Clock; client?: KubeClient } = {},
): Promise<InProcessOperator> {
  const { env = {}, clock = systemClock, client } = options;
  const flags = Object.entries({
    // Each test operator is its own installation: its orphan sweep leaves other operators' users alone.
    'watch-namespace': namespace,
    instance: namespace,
    'leader-elect': 'false',
    'health-addr': '127.0.0.1:0',
    'sweep-schedule': '*/2 * * * * *',
    'requester-policy': TEST_REQUESTER_POLICY,
    'log-level': process.env['DBCRED_TEST_LOG_LEVEL'] ?? 'silent',
    ...overrides,
  }).map(([k, v]) => `--${k}=${v}`);
  const settings: Settings = loadSettings(flags, {});
  const audit: string[] = [];
  const operator = buildOperator(settings, {
    client: client ?? KubeClient.fromKubeconfigFile(requireKube().kubeconfig),
    clock,
    logger: createLogger({ level: settings.logLevel }),
    writeAudit: (line) => audit.push(line),
    env,
  });
  await operator.start();
  return { operator, audit, stop: () => operator.stop() };
}
