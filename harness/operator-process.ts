import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAILPOINT_ENABLE_PHRASE } from '../src/util/failpoints.ts';
import { REPO_ROOT } from './binaries.ts';
import { TEST_REQUESTER_POLICY } from './crds.ts';
import { requireKube } from './environment.ts';
import { waitFor } from './processes.ts';

/** The operator running as its own process (node src/main.ts), for tests about processes. */
export interface OperatorProcess {
  child: ChildProcess;
  logFile: string;
  /** Resolves with the signal or exit code once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * startOperatorProcess runs the operator on one namespace (src/main.ts, or a compiled entry such as
 * the image's dist/main.js), optionally with a failpoint armed, and waits until it has started.
 */
export async function startOperatorProcess(options: {
  namespace: string;
  dir: string;
  name: string;
  failpoint?: string;
  flags?: string[];
  entry?: string;
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<OperatorProcess> {
  const logFile = join(options.dir, `${options.name}.log`);
  const out = openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, DBCRED_LOG_LEVEL: 'info', ...options.env };
  delete env['DBCRED_FAILPOINT'];
  delete env['DBCRED_ENABLE_FAILPOINTS'];
  if (options.failpoint) {
    env['DBCRED_FAILPOINT'] = options.failpoint;
    env['DBCRED_ENABLE_FAILPOINTS'] = FAILPOINT_ENABLE_PHRASE;
  }
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      options.entry ?? join(REPO_ROOT, 'src', 'main.ts'),
      'run',
      `--kubeconfig=${requireKube().kubeconfig}`,
      `--watch-namespace=${options.namespace}`,
      `--instance=${options.namespace}`,
      '--leader-elect=false',
      '--health-addr=127.0.0.1:0',
      '--sweep-schedule=*/1 * * * * *',
      `--requester-policy=${TEST_REQUESTER_POLICY}`,
      `--audit-log=${join(options.dir, 'audit.log')}`,
      ...(options.flags ?? []),
    ],
    { stdio: ['ignore', out, out], env },
  );
  closeSync(out);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const log = () => readFileSync(logFile, 'utf8');
  await waitFor(
    'the operator to start',
    () => Promise.resolve(log().includes('dbcred operator started') || child.exitCode !== null || child.signalCode !== null),
    { timeoutMs: 30_000, onTimeout: log },
  );
  return {
    child,
    logFile,
    exited,
    log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
