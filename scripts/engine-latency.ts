// Measures engine latency on private PostgreSQL and MariaDB servers (sequential, one operation at
// a time): create, verify and revoke of a bare user, and the SCRAM cost split between hashing here
// and CREATE ROLE on the server.
//   node scripts/engine-latency.ts [runs=200]
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Engine, ServerConnection } from '../src/engines/engine.ts';
import { MysqlEngine } from '../src/engines/mysql/mysql-engine.ts';
import { generatePassword } from '../src/engines/password.ts';
import { PostgresEngine } from '../src/engines/postgres/postgres-engine.ts';
import { postgresPasswordHash } from '../src/engines/postgres/postgres-password-hash.ts';
import { usernameFor } from '../src/engines/username.ts';
import type { DatabaseServerInfo } from '../harness/database-info.ts';
import { startMariaDB } from '../harness/mariadb.ts';
import { startPostgres } from '../harness/postgres.ts';

const runs = Number(process.argv[2] ?? 200);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
};
const fmt = (values: number[]) => `p50 ${percentile(values, 0.5).toFixed(2)} ms, p90 ${percentile(values, 0.9).toFixed(2)} ms`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function connection(info: DatabaseServerInfo): ServerConnection {
  return {
    host: info.host,
    port: info.port,
    database: info.database,
    admin: { username: info.admin.user, password: info.admin.password },
    tls: { mode: 'disable' },
    maxConnections: 4,
  };
}

async function lifecycle(label: string, engine: Engine): Promise<void> {
  const create: number[] = [];
  const verify: number[] = [];
  const revoke: number[] = [];
  await engine.ping();
  for (let i = 0; i < runs + 10; i++) {
    const user = {
      username: usernameFor({ credentialUid: randomUUID(), serial: 1, marker: engine.marker }, engine.maxUsernameLength),
      password: generatePassword(),
      expiresAt: new Date(Date.now() + 3_600_000),
      policy: {},
    };
    const c = await timed(() => engine.createUser(user));
    const v = await timed(() => engine.verifyLogin(user));
    const r = await timed(() => engine.revokeUser(user.username, {}));
    if (i >= 10) {
      // the first ten warm the pool and the JIT
      create.push(c);
      verify.push(v);
      revoke.push(r);
    }
  }
  console.log(`${label}: create ${fmt(create)} | verify ${fmt(verify)} | revoke ${fmt(revoke)}`);
}

async function scramSplit(info: DatabaseServerInfo): Promise<void> {
  for (const iterations of [1, 4096, 100_000]) {
    const n = iterations === 100_000 ? Math.min(runs, 30) : runs;
    const hashing: number[] = [];
    for (let i = 0; i < n; i++) hashing.push(await timed(() => postgresPasswordHash(generatePassword(), iterations)));
    const engine = new PostgresEngine(connection(info), { scramIterations: iterations });
    const create: number[] = [];
    const verify: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const user = {
        username: usernameFor({ credentialUid: randomUUID(), serial: 1, marker: engine.marker }, 63),
        password: generatePassword(),
        expiresAt: new Date(Date.now() + 3_600_000),
        policy: {},
      };
      const c = await timed(() => engine.createUser(user));
      const v = await timed(() => engine.verifyLogin(user));
      await engine.revokeUser(user.username, {});
      if (i >= 5) {
        create.push(c);
        verify.push(v);
      }
    }
    await engine.close();
    const h = percentile(hashing, 0.5);
    const c = percentile(create, 0.5);
    console.log(
      `SCRAM ${iterations} iterations (n=${n}): hash in Node ${h.toFixed(2)} ms | createUser ${c.toFixed(2)} ms (server side ≈ ${(c - h).toFixed(2)} ms) | verify (client PBKDF2 + login) ${percentile(verify, 0.5).toFixed(2)} ms`,
    );
  }
}

const [pg, maria] = await Promise.all([startPostgres(), startMariaDB()]);
try {
  const postgres = new PostgresEngine(connection(pg.info));
  await lifecycle(`PostgreSQL ${pg.info.version} (n=${runs})`, postgres);
  await postgres.close();
  const mariadb = new MysqlEngine(connection(maria.info));
  await lifecycle(`MariaDB ${maria.info.version} (n=${runs})`, mariadb);
  await mariadb.close();
  await scramSplit(pg.info);
} finally {
  await Promise.all([pg.stop(), maria.stop()]);
}
