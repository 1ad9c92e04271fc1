import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { waitFor } from '../../harness/processes.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { create, mysqlSql, secretData, sql, startLab, waitForCondition, type Lab, waitForRestartStamp } from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator;

beforeAll(async () => {
  lab = await startLab('static');
  await sql(lab.postgres, [
    "CREATE ROLE legacy_batch LOGIN PASSWORD 'initial-password-1'",
    'GRANT app_readers TO legacy_batch',
    // matches the lab servers' static_* pattern
    "CREATE ROLE static_report LOGIN PASSWORD 'initial-password-2'",
  ]);
  await mysqlSql(lab.mariadb, ["CREATE USER 'legacy_batch'@'%' IDENTIFIED BY 'initial-password-1'"]);
  // Published passwords are tried every second, so a change made outside dbcred shows within the test.
  op = await startOperator(lab.ns.name, { 'static-login-check-interval': '1s' });
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

async function pgLogin(data: Record<string, string>): Promise<string> {
  const c = new pg.Client({
    host: data['host'],
    port: Number(data['port']),
    database: data['database'],
    user: data['username'],
    password: data['password'],
  });
  await c.connect();
  try {
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end();
  }
}

describe('a DatabaseStaticCredential', () => {
  it("rotates the existing user's password at once and publishes it; the old password stops working", async () => {
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'batch', {
      serverRef: { name: 'pg' },
      username: 'legacy_batch',
      rotationSchedule: '0 3 * * *',
    });
    const ready = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'batch', 'Ready', 'True', 'PasswordRotated');
    const data = (await secretData(lab.client, lab.ns.name, 'batch'))!;
    expect(data['username']).toBe('legacy_batch');
    expect(await pgLogin(data)).toBe('legacy_batch');
    await expect(pgLogin({ ...data, password: 'initial-password-1' })).rejects.toThrow('password authentication failed');
    const next = Date.parse((ready.status as { nextRotationTime: string }).nextRotationTime);
    expect(new Date(next).toISOString()).toMatch(/T03:00:00\.000Z$/);
    expect(next).toBeGreaterThan(Date.now());
  });

  it('restarts its rolloutRestartTargets after a rotation, since the old password stopped working', async () => {
    await lab.client.create(Resources.Deployment, {
      metadata: { name: 'nightly', namespace: lab.ns.name },
      spec: {
        selector: { matchLabels: { app: 'nightly' } },
        template: { metadata: { labels: { app: 'nightly' } }, spec: { containers: [{ name: 'job', image: 'app' }] } },
      },
    });
    await sql(lab.postgres, ["CREATE ROLE static_nightly LOGIN PASSWORD 'initial-password-2'"]);
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'nightly', {
      serverRef: { name: 'pg' },
      username: 'static_nightly',
      rotationSchedule: '0 3 * * *',
      rolloutRestartTargets: [{ kind: 'Deployment', name: 'nightly' }],
    });
    const ready = await waitForCondition(
      lab.client,
      'DatabaseStaticCredential',
      lab.ns.name,
      'nightly',
      'Ready',
      'True',
      'PasswordRotated',
    );
    const stamp = await waitForRestartStamp(lab.client, lab.ns.name, 'nightly', 10_000);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(Date.parse((ready.status as { lastRotationTime: string }).lastRotationTime) - 1000);
  });

  it('repairs a Secret deleted by hand with a freshly rotated password', async () => {
    const before = (await secretData(lab.client, lab.ns.name, 'batch'))!;
    await lab.client.delete(Resources.Secret, 'batch', lab.ns.name);
    await waitFor(
      'a new Secret',
      async () => {
        const data = await secretData(lab.client, lab.ns.name, 'batch');
        return data !== undefined && data['password'] !== before['password'];
      },
      { timeoutMs: 15_000 },
    );
    expect(await pgLogin((await secretData(lab.client, lab.ns.name, 'batch'))!)).toBe('legacy_batch');
  });

  it('renders its Secret again, same password, when the template or labels change', async () => {
    const before = (await secretData(lab.client, lab.ns.name, 'batch'))!;
    await lab.client.mergePatch(DbcredResources.DatabaseStaticCredential, 'batch', lab.ns.name, {
      spec: {
        secret: { labels: { team: 'batch' }, template: { PGPASSFILE_LINE: '{{host}}:{{port}}:{{database}}:{{username}}:{{password}}' } },
      },
    });
    await waitFor(
      'the new key in the Secret',
      async () => (await secretData(lab.client, lab.ns.name, 'batch'))?.['PGPASSFILE_LINE'] !== undefined,
      { timeoutMs: 10_000 },
    );
    const after = (await secretData(lab.client, lab.ns.name, 'batch'))!;
    expect(after['password']).toBe(before['password']);
    expect(after['PGPASSFILE_LINE']).toBe(`${before['host']}:${before['port']}:${before['database']}:legacy_batch:${before['password']}`);
    expect((await lab.client.get<KubeObject>(Resources.Secret, 'batch', lab.ns.name)).metadata.labels?.['team']).toBe('batch');
    expect(await pgLogin(after)).toBe('legacy_batch');
  });

  it('works on MariaDB too', async () => {
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'batch-mysql', {
      serverRef: { name: 'mysql' },
      username: 'legacy_batch',
      rotationSchedule: '@daily',
    });
    await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'batch-mysql', 'Ready', 'True', 'PasswordRotated');
    const data = (await secretData(lab.client, lab.ns.name, 'batch-mysql'))!;
    const c = await mysql.createConnection({
      host: data['host'],
      port: Number(data['port']),
      user: data['username'],
      password: data['password'],
    });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    await c.end();
    expect(rows[0]?.['u']).toBe('legacy_batch@%');
  });

  it('says why when the user does not exist', async () => {
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'ghost', {
      serverRef: { name: 'pg' },
      username: 'no_such_user',
      rotationSchedule: '@daily',
    });
    const failed = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'ghost', 'Ready', 'False');
    expect(JSON.stringify(failed.status)).toContain('no_such_user does not exist');
    expect(await secretData(lab.client, lab.ns.name, 'ghost')).toBeUndefined();
  });

  it('rotates again at once when the database refuses the published password (changed outside dbcred), and turns Ready False when the user is dropped', async () => {
    await sql(lab.postgres, ["CREATE ROLE static_drift LOGIN PASSWORD 'initial-password-3'"]);
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'drift', {
      serverRef: { name: 'pg' },
      username: 'static_drift',
      rotationSchedule: '@yearly',
    });
    const first = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'drift', 'Ready', 'True', 'PasswordRotated');
    const firstRotation = (first.status as { lastRotationTime: string }).lastRotationTime;
    const published = (await secretData(lab.client, lab.ns.name, 'drift'))!;
    expect(await pgLogin(published)).toBe('static_drift');

    // Someone resets the password by hand: the Secret no longer logs in until the operator notices.
    await sql(lab.postgres, ["ALTER ROLE static_drift PASSWORD 'changed-outside-dbcred'"]);
    let repaired: Record<string, string> | undefined;
    await waitFor(
      'the operator to rotate the refused password and publish one that logs in',
      async () => {
        repaired = await secretData(lab.client, lab.ns.name, 'drift');
        return repaired?.['password'] !== published['password'];
      },
      { timeoutMs: 15_000 },
    );
    expect(await pgLogin(repaired!)).toBe('static_drift');
    const again = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'drift', 'Ready', 'True', 'PasswordRotated');
    expect((again.status as { lastRotationTime: string }).lastRotationTime).not.toBe(firstRotation);
    expect(JSON.stringify(again.status)).toContain('the database refused the published password');

    // The user dropped by hand: nothing can log in with the Secret, and Ready says so.
    await sql(lab.postgres, ['DROP ROLE static_drift']);
    const gone = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'drift', 'Ready', 'False');
    expect(JSON.stringify(gone.status)).toContain('static_drift does not exist');
  });

  it('refuses a schedule that parses as five fields but means nothing, before touching the user', async () => {
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'never', {
      serverRef: { name: 'pg' },
      username: 'legacy_batch',
      rotationSchedule: '0 0 31 2 *',
    });
    const failed = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'never', 'Ready', 'False', 'InvalidSpec');
    expect(JSON.stringify(failed.status)).toContain('spec.rotationSchedule: the schedule never fires');
    expect(await secretData(lab.client, lab.ns.name, 'never')).toBeUndefined();
  });

  it('rotates on wall-clock times of its time zone, and refuses a zone that does not exist', async () => {
    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'berlin', {
      serverRef: { name: 'pg' },
      username: 'static_report',
      rotationSchedule: '0 3 * * *',
      rotationTimeZone: 'Europe/Berlin',
    });
    const ready = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'berlin', 'Ready', 'True', 'PasswordRotated');
    const next = new Date(String((ready.status as { nextRotationTime?: string }).nextRotationTime));
    const wall = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(next);
    expect(wall).toBe('03:00');

    await create(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'mars', {
      serverRef: { name: 'pg' },
      username: 'static_report',
      rotationSchedule: '0 3 * * *',
      rotationTimeZone: 'Mars/Olympus_Mons',
    });
    const refused = await waitForCondition(lab.client, 'DatabaseStaticCredential', lab.ns.name, 'mars', 'Ready', 'False', 'InvalidSpec');
    expect(JSON.stringify(refused.status)).toContain('spec.rotationTimeZone: unknown time zone');
  });
});
