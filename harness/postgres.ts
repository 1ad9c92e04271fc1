import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { appendFile, chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { CertFiles } from './certs.ts';
import type { DatabaseServerInfo } from './database-info.ts';
import { NODE_IP, POD_CIDR } from './node-network.ts';
import { freePort } from './ports.ts';
import { startProcess, tailLog, waitFor, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

export interface StartedDatabase {
  info: DatabaseServerInfo;
  process: ManagedProcess;
  /** stop shuts the server down and removes its data folder. */
  stop(): Promise<void>;
  /** interrupt shuts the server down but keeps its data; resume() starts it again on the same port. */
  interrupt?(): Promise<{ resume(): Promise<void> }>;
}

/** postgresBinDir finds the newest installed PostgreSQL server binaries (Debian layout). */
export async function postgresBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${root}: run scripts/setup-system.sh`);
  return join(root, versions[0]!, 'bin');
}

// PostgreSQL refuses to run as root; when we are root the server runs as the `postgres` account.
async function runAsAccount(): Promise<{ prefix: string[]; uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return {
    prefix: ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'],
    uid: Number(uid.trim()),
    gid: Number(gid.trim()),
  };
}

const secret = () => randomBytes(18).toString('base64url');

export interface StartPostgresOptions {
  detached?: boolean;
  /** Server settings (-c name=value), applied after the harness defaults (e.g. log_statement: 'all'). */
  extraConfig?: Record<string, string>;
  /** Serve TLS with this certificate and key (clients may still connect without TLS). */
  tls?: CertFiles;
  /** Also listen on the node's address and accept password logins from pods (a node must be running). */
  podReachable?: boolean;
}

/**
 * startPostgres initialises a fresh cluster in a temporary folder and serves it on a free loopback
 * port, with SCRAM authentication, a superuser, an application database and a CREATEROLE admin.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<StartedDatabase> {
  const bin = await postgresBinDir();
  const account = await runAsAccount();
  const dir = await mkdtemp(join(tmpdir(), 'dbcred-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const superuser = { user: 'postgres', password: secret() };
  const admin = { user: 'dbcred_admin', password: secret() };
  const pwFile = join(dir, 'pwfile');
  await writeFile(pwFile, superuser.password + '\n', { mode: 0o600 });
  await mkdir(dataDir, { mode: 0o700 });
  if (account) {
    await chmod(dir, 0o755);
    await chown(dataDir, account.uid, account.gid);
    await chown(pwFile, account.uid, account.gid);
  }
  const asAccount = (cmd: string, args: string[]) =>
    account ? run(account.prefix[0]!, [...account.prefix.slice(1), cmd, ...args]) : run(cmd, args);
  await asAccount(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    superuser.user,
    `--pwfile=${pwFile}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--auth-host=scram-sha-256',
    '--auth-local=scram-sha-256',
    '--no-instructions',
  ]);
  await rm(pwFile);
  // Pods, and this machine connecting to the node's address (its source address is then that one).
  if (options.podReachable)
    await appendFile(join(dataDir, 'pg_hba.conf'), `host all all ${POD_CIDR} scram-sha-256\nhost all all ${NODE_IP}/32 scram-sha-256\n`);
  const tlsSettings: Record<string, string> = {};
  if (options.tls) {
    // PostgreSQL refuses a key readable by others or owned by someone else than the server account.
    const cert = join(dataDir, 'server.crt');
    const key = join(dataDir, 'server.key');
    await copyFile(options.tls.cert, cert);
    await copyFile(options.tls.key, key);
    await chmod(key, 0o600);
    if (account) {
      await chown(cert, account.uid, account.gid);
      await chown(key, account.uid, account.gid);
    }
    Object.assign(tlsSettings, { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key });
  }

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: options.podReachable ? `127.0.0.1,${NODE_IP}` : '127.0.0.1',
    port: String(port),
    unix_socket_directories: dataDir,
    max_connections: '300',
    // Durability is irrelevant for throw-away test data; speed is not.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    password_encryption: 'scram-sha-256',
    ...tlsSettings,
    ...options.extraConfig,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const command = account ? account.prefix[0]! : join(bin, 'postgres');
  const fullArgs = account ? [...account.prefix.slice(1), join(bin, 'postgres'), ...args] : args;
  // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
  const launch = () =>
    startProcess({ name: 'postgres', command, args: fullArgs, logFile, detached: options.detached, stopSignal: 'SIGINT' });
  let server = await launch();
  const stop = async () => {
    await server.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  };
  const connect = { host: '127.0.0.1', port, database: 'postgres', ...superuser };
  const acceptingLogins = () =>
    waitFor(
      'PostgreSQL to accept logins',
      async () => {
        const client = new pg.Client(connect);
        try {
          await client.connect();
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeoutMs: 30_000, onTimeout: () => tailLog(logFile) },
    );
  try {
    await acceptingLogins();

    const client = new pg.Client(connect);
    await client.connect();
    let version: string;
    try {
      // Fixture setup: the password is ours and generated from a URL-safe alphabet, so it needs no escaping.
      await client.query(`CREATE ROLE ${admin.user} LOGIN CREATEROLE PASSWORD '${admin.password}'`);
      await client.query(`GRANT pg_signal_backend TO ${admin.user} WITH ADMIN OPTION`);
      await client.query(`CREATE DATABASE app OWNER ${admin.user}`);
      version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
    } finally {
      await client.end();
    }
    return {
      info: { engine: 'postgres', host: '127.0.0.1', port, database: 'app', admin, superuser, dataDir, logFile, pid: server.pid, version },
      process: server,
      stop,
      interrupt: async () => {
        await server.stop(10_000);
        return {
          resume: async () => {
            server = await launch();
            await acceptingLogins();
          },
        };
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
