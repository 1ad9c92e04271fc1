// Composition root and the `dbcred` command line. The only caller of process.exit.
//   dbcred [run] [--flag=value ...]     run the operator (flags and DBCRED_* variables: README)
//   dbcred audit verify FILE...         check an audit trail (files, or logs collected from the pods)
//   dbcred list|revoke [flags]          break-glass: list live users, revoke them now (src/cli/)
//   kubectl dbcred …                    the same, as a kubectl plugin (bin/kubectl-dbcred.js)
import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { trailFileEnd, verifyTrail } from './audit/audit-log.ts';
import { loadSettings, settingsHelp } from './config/settings.ts';
import { takeKubeconfig, type CommandIO } from './cli/command-io.ts';
import { LIST_HELP, listCommand } from './cli/list-command.ts';
import { REVOKE_HELP, revokeCommand } from './cli/revoke-command.ts';
import { buildOperator } from './controllers/operator.ts';
import { builtinEngines } from './engines/registry.ts';
import { KubeClient } from './runtime/kube/client.ts';
import { createLogger } from './observability/logger.ts';
import { systemClock } from './util/clock.ts';
import { DbcredError, isDbcredError } from './util/errors.ts';

async function run(args: string[]): Promise<number> {
  const settings = loadSettings(args, process.env);
  const logger = createLogger({ level: settings.logLevel });
  const client = settings.kubeconfig ? KubeClient.fromKubeconfigFile(settings.kubeconfig) : KubeClient.fromDefault();
  const toFile = settings.auditLog !== '-';
  const { last: lastAudit, torn } = toFile ? trailFileEnd(settings.auditLog) : { last: undefined, torn: false };
  const audit = toFile ? createWriteStream(settings.auditLog, { flags: 'a' }) : process.stderr;
  // A write torn by a crash left a partial line: the next record starts on a line of its own.
  if (torn) audit.write('\n');
  const auditKey = settings.auditKeyFile ? readAuditKey(settings.auditKeyFile) : undefined;
  const operator = buildOperator(settings, {
    client,
    clock: systemClock,
    logger,
    writeAudit: (line) => audit.write(line),
    lastAudit,
    ...(auditKey ? { auditKey } : {}),
  });
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

/** readAuditKey reads an HMAC key file (trailing whitespace, such as a newline, is not part of the key). */
function readAuditKey(file: string): Buffer {
  const key = Buffer.from(readFileSync(file, 'utf8').trimEnd(), 'utf8');
  if (key.length < 16) throw new DbcredError('CONFIG_INVALID', `the audit key in ${file} is shorter than 16 bytes`);
  return key;
}

const AUDIT_VERIFY_USAGE = `usage: dbcred audit verify FILE... [--key-file FILE]

Checks the audit records in the files — an --audit-log file, or the logs collected from every
operator pod (kubectl logs, in any order, other output mixed in) — as one trail: every record's
hash (an HMAC with --key-file) and that its predecessor is there.`;

function auditVerify(args: string[]): number {
  const { values, positionals } = parseArgs({ args, options: { 'key-file': { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length === 0) {
    console.error(AUDIT_VERIFY_USAGE);
    return 2;
  }
  const key = values['key-file'] ? readAuditKey(values['key-file']) : undefined;
  const result = verifyTrail(
    positionals.map((name) => ({ name, lines: readFileSync(name, 'utf8').split('\n') })),
    key,
  );
  if (!result.ok) {
    console.error(`audit trail broken at ${result.at.source}:${result.at.line}: ${result.problem}`);
    return 1;
  }
  const notes = [
    result.chains > 1
      ? `${result.chains} chains (started afresh ${result.chains - 1} time(s): a process without a file or Lease head)`
      : '',
    ...result.forks.map((f) => `${f.records} branches after seq ${f.after} (a leader's records after the head it left on the Lease)`),
    result.torn ? `${result.torn} line(s) torn by a crash, skipped` : '',
  ].filter(Boolean);
  process.stdout.write(`audit trail intact: ${result.records} records${notes.length ? `; ${notes.join('; ')}` : ''}\n`);
  return 0;
}

/**
 * breakGlass runs a `list` or `revoke` command against the cluster of --kubeconfig (default: as
 * kubectl finds it), printing to stdout and stderr.
 */
async function breakGlass(command: (args: string[], io: CommandIO) => Promise<number>, args: string[]): Promise<number> {
  const { kubeconfig, rest } = takeKubeconfig(args);
  const client = kubeconfig ? KubeClient.fromKubeconfigFile(kubeconfig, 'dbcred-cli') : KubeClient.fromDefault('dbcred-cli');
  return command(rest, {
    client,
    registry: builtinEngines(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    now: () => new Date(),
  });
}

const USAGE = `usage:
  dbcred [run] [flags]         run the operator
  dbcred audit verify FILE...  check an audit trail (files or collected pod logs)
  dbcred list [flags]          list the database users dbcred keeps alive (dbcred list --help)
  dbcred revoke [flags]        break-glass: revoke users now (dbcred revoke --help)
  (kubectl dbcred list|revoke  the same, as a kubectl plugin)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (command === 'audit' && rest[0] === 'verify') {
    if (wantsHelp) process.stdout.write(`${AUDIT_VERIFY_USAGE}\n`);
    return wantsHelp ? 0 : auditVerify(rest.slice(1));
  }
  for (const [name, help, fn] of [
    ['list', LIST_HELP, listCommand],
    ['revoke', REVOKE_HELP, revokeCommand],
  ] as const) {
    if (command !== name) continue;
    if (wantsHelp) process.stdout.write(`${help}\n`);
    return wantsHelp ? 0 : breakGlass(fn, rest);
  }
  if (command === 'help' || wantsHelp) {
    process.stdout.write(`${USAGE}\n\nflags of run (--flag=value or --flag value; each also read from its variable):\n${settingsHelp()}\n`);
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
