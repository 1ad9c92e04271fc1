// Memory stays bounded: whatever the operator keeps per object beyond its informer caches (copies
// of its own writes, engines and Secret reads per server, missing users, quota locks) returns to
// its size once the objects are gone.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { waitFor } from '../../harness/processes.ts';
import { create, startLab, waitForCondition, type Lab } from '../../harness/lab.ts';

// Servers alternate between the engines; credentials come and go in waves so that a thousand pass
// through without a thousand live at once.
const SERVERS = 20;
const CREDENTIALS = 1000;
const WAVE = 250;

let lab: Lab;
let op: InProcessOperator;

beforeAll(async () => {
  lab = await startLab('memory');
  op = await startOperator(lab.ns.name);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

/** settled: the operator's maps once nothing is in motion (its own status writes cached). */
async function settled(): Promise<Record<string, number>> {
  let now: Record<string, number> = {};
  await waitFor(
    'the operator to have no write the cache has not caught up with',
    () => Promise.resolve((now = op.operator.footprint())['statusWritten'] === 0 && now['credentialSecretsWritten'] === 0),
    { timeoutMs: 60_000, intervalMs: 200, onTimeout: () => JSON.stringify(now) },
  );
  return now;
}

async function listed(kind: 'DatabaseCredential' | 'DatabaseServer' | 'DatabaseRole'): Promise<number> {
  return (await lab.client.list(DbcredResources[kind], { namespace: lab.ns.name })).items.length;
}

describe('after a thousand credentials on twenty servers of both engines come and go', () => {
  it("the operator's per-object maps return to their size", async () => {
    await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'pg-readers', 'Ready', 'True');
    const before = await settled();
    for (let s = 0; s < SERVERS; s++) {
      const db =
        s % 2 === 0
          ? { engine: 'postgres', port: lab.postgres.info.port, secret: 'pg-admin' }
          : { engine: 'mysql', port: lab.mariadb.info.port, secret: 'mysql-admin' };
      await create(lab.client, 'DatabaseServer', lab.ns.name, `srv-${s}`, {
        engine: db.engine,
        host: '127.0.0.1',
        port: db.port,
        database: 'app',
        adminCredentialsSecretRef: { name: db.secret },
        tls: { mode: 'disable' },
        maxConnections: 2,
      });
      await create(lab.client, 'DatabaseRole', lab.ns.name, `role-${s}`, { serverRef: { name: `srv-${s}` }, memberOf: ['app_readers'] });
    }
    let busiest = 0;
    for (let wave = 0; wave < CREDENTIALS / WAVE; wave++) {
      const names = Array.from({ length: WAVE }, (_, i) => `mem-${wave * WAVE + i}`);
      for (const [i, name] of names.entries())
        await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: `role-${i % SERVERS}` } });
      for (const name of names)
        await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True', undefined, 120_000);
      busiest = Math.max(busiest, op.operator.footprint()['engines']!);
      for (const name of names) await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
      await waitFor('every credential of the wave to be revoked and gone', async () => (await listed('DatabaseCredential')) === 0, {
        timeoutMs: 120_000,
      });
    }
    expect(busiest).toBeGreaterThanOrEqual(before['engines']! + SERVERS);

    for (let s = 0; s < SERVERS; s++) {
      await lab.client.delete(DbcredResources.DatabaseRole, `role-${s}`, lab.ns.name);
      await lab.client.delete(DbcredResources.DatabaseServer, `srv-${s}`, lab.ns.name);
    }
    await waitFor('the servers to be gone', async () => (await listed('DatabaseServer')) === 2, { timeoutMs: 60_000 });
    let after: Record<string, number> = {};
    await waitFor(
      'the maps to return to their size',
      async () => {
        after = await settled();
        return after['engines'] === before['engines'] && after['lastKnown'] === before['lastKnown'];
      },
      { timeoutMs: 60_000, intervalMs: 500, onTimeout: () => JSON.stringify({ before, after }) },
    );
    // Admin Secret reads expire on their own (10 s); the rest must be back exactly.
    const { secretReads: _reads, ...rest } = after;
    const { secretReads: _readsBefore, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
  }, 900_000);
});
