// Certificate-checked TLS end to end: the operator issues over verify-full, hands clients what they
// need to check the server too, and refuses a server with the wrong CA or host name before any user
// exists or any credential leaves.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { createCA } from '../../harness/certs.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { startMariaDB } from '../../harness/mariadb.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { startPostgres, type StartedDatabase } from '../../harness/postgres.ts';
import { requireKube } from '../../harness/environment.ts';
import { condition, create, mysqlSql, secretData, sql, waitForCondition, waitForEvent } from '../../harness/lab.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';

let dir: string;
let caPem: string;
let ns: TestNamespace;
let client: KubeClient;
let op: InProcessOperator;
const servers: Partial<Record<'postgres' | 'mysql', StartedDatabase>> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbcred-tls-op-'));
  const ca = await createCA(await mkdtemp(join(dir, 'ca-')), 'dbcred-tls-ca');
  const other = await createCA(await mkdtemp(join(dir, 'other-')), 'someone-else');
  // The certificate names localhost only: 127.0.0.1 is the wrong host for verify-full.
  const cert = await ca.issue({ name: 'server', commonName: 'localhost', usage: 'server', dnsNames: ['localhost'] });
  caPem = await readFile(ca.cert, 'utf8');
  const [postgres, mariadb] = await Promise.all([startPostgres({ tls: cert }), startMariaDB({ tls: cert })]);
  servers.postgres = postgres;
  servers.mysql = mariadb;
  ns = await createTestNamespace('tls');
  client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
  await client.create(Resources.Secret, { metadata: { name: 'ca', namespace: ns.name }, stringData: { 'ca.crt': caPem } });
  await client.create(Resources.Secret, {
    metadata: { name: 'other-ca', namespace: ns.name },
    stringData: { 'ca.crt': await readFile(other.cert, 'utf8') },
  });
  await sql(postgres, ['CREATE ROLE app_readers NOLOGIN', `GRANT app_readers TO ${postgres.info.admin.user} WITH ADMIN OPTION`]);
  for (const engine of ['postgres', 'mysql'] as const) {
    const db = servers[engine]!;
    await client.create(Resources.Secret, {
      metadata: { name: `${engine}-admin`, namespace: ns.name },
      stringData: { username: db.info.admin.user, password: db.info.admin.password },
    });
    // One good server and two that must be refused: a CA that did not sign the certificate, and a
    // host the certificate does not name.
    for (const [name, host, caSecret] of [
      [`${engine}-good`, 'localhost', 'ca'],
      [`${engine}-wrong-ca`, 'localhost', 'other-ca'],
      [`${engine}-wrong-host`, '127.0.0.1', 'ca'],
    ] as const) {
      await create(client, 'DatabaseServer', ns.name, name, {
        engine,
        host,
        port: db.info.port,
        database: 'app',
        adminCredentialsSecretRef: { name: `${engine}-admin` },
        tls: { mode: 'verify-full', caSecretRef: { name: caSecret } },
      });
      await create(client, 'DatabaseRole', ns.name, name, { serverRef: { name }, defaultTTL: '1h' });
    }
    // Encrypted, but nothing checked.
    await create(client, 'DatabaseServer', ns.name, `${engine}-unverified`, {
      engine,
      host: 'localhost',
      port: db.info.port,
      database: 'app',
      adminCredentialsSecretRef: { name: `${engine}-admin` },
      tls: { mode: 'require' },
    });
  }
  op = await startOperator(ns.name);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await ns?.cleanup();
  await Promise.all([servers.postgres?.stop(), servers.mysql?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** Users dbcred issued on a server. */
async function issuedUsers(engine: 'postgres' | 'mysql'): Promise<number> {
  const db = servers[engine]!;
  if (engine === 'postgres') {
    const rows = await sql(db, ["SELECT count(*)::int AS n FROM pg_roles WHERE rolname ~ '^dbc([a-z2-7]{4})?_'"]);
    return Number(rows[0]?.['n']);
  }
  const rows = (await mysqlSql(db, ["SELECT COUNT(*) AS n FROM mysql.user WHERE User REGEXP '^dbc([a-z2-7]{4})?_'"])) as {
    n: number | string;
  }[];
  return Number(rows[0]?.n);
}

describe.each(['postgres', 'mysql'] as const)('%s behind verify-full', (engine) => {
  it('under tls.mode require (encrypted, certificate unchecked): Ready, but TransportVerified=False (TLSUnverified) with a Warning Event saying what to change', async () => {
    const server = await waitForCondition(
      client,
      'DatabaseServer',
      ns.name,
      `${engine}-unverified`,
      'TransportVerified',
      'False',
      'TLSUnverified',
    );
    expect(condition(server, 'Ready')?.status).toBe('True');
    expect(condition(server, 'TransportVerified')?.message).toContain('verify-full');
    const event = await waitForEvent(client, ns.name, `${engine}-unverified`, 'Warning', 'TLSUnverified');
    expect(event.note).toContain('verify-full');
  });

  it('issues over checked TLS, says so on the server, and gives clients the CA and the TLS mode', async () => {
    const server = await waitForCondition(client, 'DatabaseServer', ns.name, `${engine}-good`, 'TransportVerified', 'True');
    expect(condition(server, 'TransportVerified')?.reason).toBe('CertificateVerified');
    await create(client, 'DatabaseCredential', ns.name, `${engine}-app`, { roleRef: { name: `${engine}-good` } });
    await waitForCondition(client, 'DatabaseCredential', ns.name, `${engine}-app`, 'Ready', 'True');
    const data = (await secretData(client, ns.name, `${engine}-app`))!;
    expect(data['ca.crt']).toBe(caPem);
    if (engine === 'postgres') {
      expect(new URL(data['uri']!).searchParams.get('sslmode')).toBe('verify-full');
      // A client that checks the server with only what the Secret holds logs in.
      const c = new pg.Client({
        connectionString: data['uri']!.replace(/\?.*$/, ''),
        ssl: { ca: data['ca.crt'], rejectUnauthorized: true },
      });
      await c.connect();
      const row = (await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0];
      await c.end();
      expect(row?.ssl).toBe(true);
    } else {
      expect(new URL(data['uri']!).searchParams.get('ssl-mode')).toBe('VERIFY_IDENTITY');
      expect(data['jdbc-url']).toMatch(/sslMode=VERIFY_IDENTITY$/);
      const c = await mysql.createConnection({
        host: data['host'],
        port: Number(data['port']),
        user: data['username'],
        password: data['password'],
        ssl: { ca: data['ca.crt'], rejectUnauthorized: true, verifyIdentity: true },
      });
      const [rows] = await c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      await c.end();
      expect((rows as { Value: string }[])[0]?.Value).not.toBe('');
    }
  });

  it.each([
    ['a CA that did not sign the certificate', 'wrong-ca'],
    ['a host the certificate does not name', 'wrong-host'],
  ])('a server with %s is refused, and no user is created for its credentials', async (_what, variant) => {
    const name = `${engine}-${variant}`;
    const before = await issuedUsers(engine);
    const server = await waitForCondition(client, 'DatabaseServer', ns.name, name, 'Ready', 'False', 'TLSFailed');
    expect(condition(server, 'Ready')?.message).not.toContain(servers[engine]!.info.admin.password);
    await create(client, 'DatabaseCredential', ns.name, `${name}-cred`, { roleRef: { name } });
    const refused = await waitForCondition(client, 'DatabaseCredential', ns.name, `${name}-cred`, 'Ready', 'False', 'ServerNotReady');
    expect(condition(refused, 'Ready')?.message).toContain('TLSFailed');
    expect(refused.status?.pending).toBeUndefined();
    expect(refused.status?.current).toBeUndefined();
    expect(await secretData(client, ns.name, `${name}-cred`)).toBeUndefined();
    expect(await issuedUsers(engine)).toBe(before);
  });
});
