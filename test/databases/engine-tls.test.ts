// TLS between the engine and each server: private servers started with a throw-away CA.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, ServerConnection, TlsMode } from '../../src/engines/engine.ts';
import { MysqlEngine } from '../../src/engines/mysql/mysql-engine.ts';
import { generatePassword } from '../../src/engines/password.ts';
import { PostgresEngine } from '../../src/engines/postgres/postgres-engine.ts';
import { usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';
import { createCA } from '../../harness/certs.ts';
import type { DatabaseServerInfo } from '../../harness/database-info.ts';
import { requireDatabase } from '../../harness/environment.ts';
import { startMariaDB } from '../../harness/mariadb.ts';
import { startPostgres, type StartedDatabase } from '../../harness/postgres.ts';

let dir: string;
let caPem: string;
let otherCaPem: string;
const servers: Partial<Record<'postgres' | 'mysql', StartedDatabase>> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbcred-tls-'));
  const ca = await createCA(dir, 'dbcred-test-ca');
  // The certificate names localhost only, so 127.0.0.1 is a wrong host name for verify-full.
  const server = await ca.issue({ name: 'server', commonName: 'localhost', usage: 'server', dnsNames: ['localhost'] });
  await mkdtemp(join(dir, 'other-')).then(async (otherDir) => {
    otherCaPem = await readFile((await createCA(otherDir, 'someone-else')).cert, 'utf8');
  });
  caPem = await readFile(ca.cert, 'utf8');
  const [pg, maria] = await Promise.all([startPostgres({ tls: server }), startMariaDB({ tls: server })]);
  servers.postgres = pg;
  servers.mysql = maria;
}, 120_000);

afterAll(async () => {
  await Promise.all([servers.postgres?.stop(), servers.mysql?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function engineFor(kind: 'postgres' | 'mysql', info: DatabaseServerInfo, host: string, mode: TlsMode, ca?: string): Engine {
  const connection: ServerConnection = {
    host,
    port: info.port,
    database: info.database,
    maxConnections: 2,
    admin: { username: info.admin.user, password: info.admin.password },
    tls: { mode, ...(ca === undefined ? {} : { caPem: ca }) },
  };
  return kind === 'postgres' ? new PostgresEngine(connection) : new MysqlEngine(connection);
}

async function pingWith(kind: 'postgres' | 'mysql', host: string, mode: TlsMode, ca?: string) {
  const engine = engineFor(kind, servers[kind]!.info, host, mode, ca);
  try {
    return await engine.ping();
  } finally {
    await engine.close();
  }
}

async function tlsFailure(work: Promise<unknown>): Promise<boolean> {
  return work.then(
    () => false,
    (error: unknown) => isDbcredError(error, 'DB_TLS_FAILED'),
  );
}

describe.each(['postgres', 'mysql'] as const)('TLS to %s', (kind) => {
  it('verify-full succeeds with the CA and the host name in the certificate, and the session is encrypted', async () => {
    expect((await pingWith(kind, 'localhost', 'verify-full', caPem)).tls).toBe(true);
  });

  it('verify-full fails with DB_TLS_FAILED for a host name the certificate does not name', async () => {
    expect(await tlsFailure(pingWith(kind, '127.0.0.1', 'verify-full', caPem))).toBe(true);
  });

  it('verify-full and verify-ca fail with DB_TLS_FAILED when the CA is not the one that signed the server', async () => {
    expect(await tlsFailure(pingWith(kind, 'localhost', 'verify-full', otherCaPem))).toBe(true);
    expect(await tlsFailure(pingWith(kind, '127.0.0.1', 'verify-ca', otherCaPem))).toBe(true);
  });

  it('verify-ca checks the chain but not the host name', async () => {
    expect((await pingWith(kind, '127.0.0.1', 'verify-ca', caPem)).tls).toBe(true);
  });

  it('require encrypts without checking the certificate; disable does not encrypt', async () => {
    expect((await pingWith(kind, '127.0.0.1', 'require')).tls).toBe(true);
    expect((await pingWith(kind, '127.0.0.1', 'disable')).tls).toBe(false);
  });

  it('verifies an issued user over the same verified TLS', async () => {
    const engine = engineFor(kind, servers[kind]!.info, 'localhost', 'verify-full', caPem);
    try {
      const user = {
        username: usernameFor({ credentialUid: randomUUID(), serial: 1, marker: engine.marker }, engine.maxUsernameLength),
        password: generatePassword(),
        expiresAt: new Date(Date.now() + 60_000),
        policy: {},
      };
      await engine.createUser(user);
      await engine.verifyLogin(user);
      await engine.revokeUser(user.username, {});
    } finally {
      await engine.close();
    }
  });
});

describe.each(['postgres', 'mysql'] as const)('verify-full on %s checks the host before any credential is sent', (kind) => {
  it('a wrong host name fails the TLS handshake, not the login: a user that does not exist is never looked up', async () => {
    const info = servers[kind]!.info;
    const stranger = { ...info, admin: { user: `nobody_${randomUUID().slice(0, 8)}`, password: 'never-sent' } };
    const engine = engineFor(kind, stranger, '127.0.0.1', 'verify-full', caPem);
    try {
      // Had the login gone first, this would be an access-denied error for the unknown user.
      expect(await tlsFailure(engine.ping())).toBe(true);
    } finally {
      await engine.close();
    }
  });
});

describe('a certificate that names an IP address', () => {
  const byIp: Partial<Record<'postgres' | 'mysql', StartedDatabase>> = {};
  beforeAll(async () => {
    const ca = await createCA(await mkdtemp(join(dir, 'ip-')), 'dbcred-ip-ca');
    const server = await ca.issue({ name: 'server', commonName: '127.0.0.1', usage: 'server', ips: ['127.0.0.1'] });
    caByIp = await readFile(ca.cert, 'utf8');
    const [pg, maria] = await Promise.all([startPostgres({ tls: server }), startMariaDB({ tls: server })]);
    byIp.postgres = pg;
    byIp.mysql = maria;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([byIp.postgres?.stop(), byIp.mysql?.stop()]);
  });
  let caByIp: string;

  it.each(['postgres', 'mysql'] as const)('%s: verify-full to that address succeeds, to a name it does not list fails', async (kind) => {
    for (const [host, ok] of [
      ['127.0.0.1', true],
      ['localhost', false],
    ] as const) {
      const engine = engineFor(kind, byIp[kind]!.info, host, 'verify-full', caByIp);
      try {
        if (ok) expect((await engine.ping()).tls).toBe(true);
        else expect(await tlsFailure(engine.ping())).toBe(true);
      } finally {
        await engine.close();
      }
    }
  });
});

describe('require against a server without TLS', () => {
  it.each([
    ['postgres', 'postgres'],
    ['mysql', 'mariadb'],
  ] as const)('fails with DB_TLS_FAILED (%s)', async (kind, name) => {
    const engine = engineFor(kind, requireDatabase(name), '127.0.0.1', 'require');
    try {
      expect(await tlsFailure(engine.ping())).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
