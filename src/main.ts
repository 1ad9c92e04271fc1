// Composition root and the `dbcred` command line. The only caller of process.exit.
//   dbcred [run] [--flag=value ...]     run the operator (flags and DBCRED_* variables: README)
//   dbcred audit verify FILE            check an audit log's hash chain
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { lastRecord, verifyChain } from './audit/audit-log.ts';
import { loadSettings, settingsHelp } from './config/settings.ts';
import { buildOperator } from './controllers/operator.ts';
import { KubeClient } from './runtime/kube/client.ts';
import { createLogger } from './observability/logger.ts';
import { systemClock } from './util/clock.ts';
import { isDbcredError } from './util/errors.ts';

async function run(args: string[]): Promise<number> {
  const settings = loadSettings(args, process.env);
  const logger = createLogger({ level: settings.logLevel });
  const client = settings.kubeconfig ? KubeClient.fromKubeconfigFile(settings.kubeconfig) : KubeClient.fromDefault();
  const toFile = settings.auditLog !== '-';
  const existing = toFile && existsSync(settings.auditLog) ? readFileSync(settings.auditLog, 'utf8') : '';
  const lastAudit = lastRecord(existing);
  const audit = toFile ? createWriteStream(settings.auditLog, { flags: 'a' }) : process.stderr;
  // A write torn by a crash left a partial line: the next record starts on a line of its own.
  if (existing && !existing.endsWith('\n')) audit.write('\n');
  const operator = buildOperator(settings, { client, clock: systemClock, logger, writeAudit: (line) => audit.write(line), lastAudit });
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping');
    void operator.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await operator.start();
  logger.info(
    { identity: settings.identity, health: operator.manager.healthPort, leaderElect: settings.leaderElect },
    'dbcred operator started',
  );
  const exit = await operator.manager.exited;
  if (exit === 'lease-namespace-missing') {
    console.error(`CONFIG_INVALID: ${operator.manager.gaveUp ?? 'the leader election namespace does not exist'}`);
    return 1;
  }
  if (exit === 'leadership-lost') {
    logger.error('leadership lost: exiting so a fresh process can campaign again');
    await operator.stop();
    return 1;
  }
  return 0;
}

function auditVerify(file: string | undefined): number {
  if (!file) {
    console.error('usage: dbcred audit verify FILE');
    return 2;
  }
  const result = verifyChain(readFileSync(file, 'utf8').split('\n'));
  if (result.ok) {
    const torn = result.torn ? ` (${result.torn} line(s) torn by a crash, skipped)` : '';
    process.stdout.write(`audit chain intact: ${result.records} records${torn}\n`);
    return 0;
  }
  console.error(`audit chain broken at line ${result.line}: ${result.problem}`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'audit' && rest[0] === 'verify') return auditVerify(rest[1]);
  if (command === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `usage:\n  dbcred [run] [flags]      run the operator\n  dbcred audit verify FILE  check an audit log's hash chain\n\nflags (--flag=value or --flag value; each also read from its variable):\n${settingsHelp()}\n`,
    );
    return 0;
  }
  return run(command === 'run' ? rest : argv);
}

process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection:', reason instanceof Error ? reason.message : 'non-error value');
  process.exit(70);
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(isDbcredError(error) ? `${error.code}: ${error.message}` : `fatal: ${(error as Error).message}`);
  process.exitCode = 1;
}
// Open pools and servers must not keep a stopped operator alive.
process.exit(process.exitCode);
