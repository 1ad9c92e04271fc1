import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { CertFiles } from './certs.ts';
import { NODE_IP } from './node-network.ts';
import { freePort } from './ports.ts';
import { startProcess, tailLog, waitFor } from './processes.ts';
import type { StartedDatabase } from './postgres.ts';

const run = promisify(execFile);
const secret = () => randomBytes(18).toString('base64url');

/**
 * startMariaDB initialises a fresh MariaDB data folder in a temporary folder and serves it on a free
 * loopback port with the event scheduler on, an application database and an admin user; the
 * anonymous accounts that mariadb-install-db creates (they shadow 'name'@'%' logins) are removed.
 */
export async function startMariaDB(
  /** podReachable: also listen on the node's address, where pods connect (a node must be running). */
  options: { detached?: boolean; eventScheduler?: boolean; tls?: CertFiles; podReachable?: boolean } = {},
): Promise<StartedDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'dbcred-mariadb-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'mariadb.log');
  const admin = { user: 'dbcred_admin', password: secret() };
  const superuser = { user: 'dbcred_root', password: secret() };
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${dataDir}`,
    '--user=root',
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    '--skip-name-resolve',
  ]);
  // Fixture passwords are generated from a URL-safe alphabet, so they need no escaping.
  const initFile = join(dir, 'init.sql');
  await writeFile(
    initFile,
    [
      "DELETE FROM mysql.global_priv WHERE User = '';",
      'FLUSH PRIVILEGES;',
      `CREATE USER IF NOT EXISTS '${superuser.user}'@'%' IDENTIFIED BY '${superuser.password}';`,
      `GRANT ALL PRIVILEGES ON *.* TO '${superuser.user}'@'%' WITH GRANT OPTION;`,
      'CREATE DATABASE IF NOT EXISTS app;',
      `CREATE USER IF NOT EXISTS '${admin.user}'@'%' IDENTIFIED BY '${admin.password}';`,
      `GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION;`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const port = await freePort();
  const server = await startProcess({
    name: 'mariadb',
    command: 'mariadbd',
    logFile,
    detached: options.detached,
    args: [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--user=root',
      `--port=${port}`,
      `--bind-address=${options.podReachable ? `127.0.0.1,${NODE_IP}` : '127.0.0.1'}`,
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--skip-name-resolve',
      `--init-file=${initFile}`,
      `--event-scheduler=${options.eventScheduler === false ? 'OFF' : 'ON'}`,
      '--max-connections=500',
      '--innodb-buffer-pool-size=64M',
      '--innodb-flush-log-at-trx-commit=0',
      '--skip-log-bin',
      // TLS is offered, not required: clients choose (the engine's tls.mode).
      ...(options.tls ? [`--ssl-cert=${options.tls.cert}`, `--ssl-key=${options.tls.key}`] : []),
    ],
  });
  const stop = async () => {
    await server.stop(15_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const connect = { host: '127.0.0.1', port, user: admin.user, password: admin.password, database: 'app' };
    let version = 'unknown';
    await waitFor(
      'MariaDB to accept logins',
      async () => {
        const conn = await mysql.createConnection(connect);
        try {
          const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
          version = String(rows[0]?.['v']);
          return true;
        } finally {
          await conn.end();
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, onTimeout: () => tailLog(logFile) },
    );
    return {
      info: { engine: 'mysql', host: '127.0.0.1', port, database: 'app', admin, superuser, dataDir, logFile, pid: server.pid, version },
      process: server,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
