import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ADMIN_ROTATION_ANNOTATION } from '../../src/api/v1alpha1/database-server.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { ADMIN_ROTATED_AT_ANNOTATION, PENDING_ADMIN_PASSWORD_KEY } from '../../src/secrets/secret-metadata.ts';
import { systemClock } from '../../src/util/clock.ts';
import { waitFor } from '../../harness/processes.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import {
  adminLogsIn,
  create,
  get,
  secretData,
  sql,
  startLab,
  userLogsIn,
  waitForCondition,
  waitForEvent,
  type Lab,
  type Obj,
  createPostgresServer,
} from '../../harness/lab.ts';

// Admin rotation against the real apiserver and both databases: the new password is set, proven
// with a new login, written back to the admin Secret, and the operator goes on issuing with it.

let lab: Lab;
let op: InProcessOperator | undefined;

beforeAll(async () => {
  lab = await startLab('admin-rotation');
}, 120_000);
afterEach(async () => {
  await op?.stop();
  op = undefined;
});
afterAll(async () => {
  await lab?.cleanup();
});

type ServerStatus = { lastAdminRotationTime?: string; nextAdminRotationTime?: string; adminRotationRequest?: string };
const statusOf = (server: Obj) => (server.status ?? {}) as ServerStatus;
const databaseOf = (server: 'pg' | 'mysql') => (server === 'pg' ? lab.postgres : lab.mariadb);
const secretOf = (server: 'pg' | 'mysql') => (server === 'pg' ? 'pg-admin' : 'mysql-admin');

async function annotate(server: string, value: string): Promise<void> {
  await lab.client.mergePatch(DbcredResources.DatabaseServer, server, lab.ns.name, {
    metadata: { annotations: { [ADMIN_ROTATION_ANNOTATION]: value } },
  });
}

/** rotationsAudited: the operator's rotate-admin audit records about server. */
const rotationsAudited = (server: string) =>
  op!.audit
    .map((l) => JSON.parse(l) as { action: string; object: { name: string }; outcome: string })
    .filter((r) => r.action === 'rotate-admin' && r.object.name === server);

async function waitForRequestCarriedOut(server: string, value: string): Promise<Obj> {
  let last: Obj | undefined;
  await waitFor(
    `${server}'s admin rotation "${value}"`,
    async () => statusOf((last = await get(lab.client, 'DatabaseServer', lab.ns.name, server))).adminRotationRequest === value,
    { timeoutMs: 20_000, intervalMs: 100, onTimeout: () => JSON.stringify(last?.status ?? {}) },
  );
  return last!;
}

describe('admin rotation on demand', () => {
  it.each(['pg', 'mysql'] as const)(
    '%s: the annotation rotates the admin password; the Secret holds the new one, the old one is refused, issuing goes on',
    async (server) => {
      op = await startOperator(lab.ns.name);
      await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, server, 'Ready', 'True');
      const before = (await secretData(lab.client, lab.ns.name, secretOf(server)))!;
      await annotate(server, `first-${server}`);
      const rotated = await waitForRequestCarriedOut(server, `first-${server}`);
      const after = (await secretData(lab.client, lab.ns.name, secretOf(server)))!;

      expect(after['password']).not.toBe(before['password']);
      expect(after[PENDING_ADMIN_PASSWORD_KEY]).toBeUndefined();
      expect(await adminLogsIn(databaseOf(server), after['password']!)).toBe(true);
      expect(await adminLogsIn(databaseOf(server), before['password']!)).toBe(false);
      expect(rotated.status?.conditions?.find((c) => c.type === 'AdminPasswordRotated')).toMatchObject({
        status: 'True',
        reason: 'AdminPasswordRotated',
      });
      expect(statusOf(rotated).lastAdminRotationTime).toBeDefined();
      // The password is in the Secret and nowhere else the operator writes.
      expect(JSON.stringify(rotated)).not.toContain(after['password']);
      expect(op.audit.join('\n')).not.toContain(after['password']);
      expect(rotationsAudited(server)).toMatchObject([{ outcome: 'success' }]);

      // The pool logs in with the new password: a credential is issued and the server stays Ready.
      const name = `after-rotation-${server}`;
      await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: `${server}-readers` } });
      await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
      await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
    },
  );

  it('an immutable admin Secret: refused with AdminRotationRefused, and nothing changes', async () => {
    const password = (await secretData(lab.client, lab.ns.name, 'pg-admin'))!;
    await lab.client.create(Resources.Secret, {
      metadata: { name: 'pg-admin-frozen', namespace: lab.ns.name },
      immutable: true,
      stringData: password,
    });
    await create(lab.client, 'DatabaseServer', lab.ns.name, 'pg-frozen', {
      engine: 'postgres',
      host: '127.0.0.1',
      port: lab.postgres.info.port,
      database: 'app',
      adminCredentialsSecretRef: { name: 'pg-admin-frozen' },
      tls: { mode: 'disable' },
    });
    op = await startOperator(lab.ns.name);
    await annotate('pg-frozen', 'now');
    const refused = await waitForCondition(
      lab.client,
      'DatabaseServer',
      lab.ns.name,
      'pg-frozen',
      'AdminPasswordRotated',
      'False',
      'AdminRotationRefused',
    );
    expect(refused.status?.conditions?.find((c) => c.type === 'AdminPasswordRotated')?.message).toContain('is immutable');
    expect(await adminLogsIn(lab.postgres, password['password']!)).toBe(true);
    expect(await secretData(lab.client, lab.ns.name, 'pg-admin-frozen')).toEqual(password);
    await lab.client.delete(DbcredResources.DatabaseServer, 'pg-frozen', lab.ns.name);
  });
});

describe('admin rotation on a schedule', () => {
  it('rotates at once when set, then fires at the next scheduled minute', async () => {
    // The operator's clock runs 10 s before a minute boundary: the first rotation happens at once,
    // and "* * * * *" fires again at the boundary, seconds later.
    const offset = 2 * 60_000 - (Date.now() % 60_000) - 10_000;
    op = await startOperator(lab.ns.name, {}, { clock: { ...systemClock, now: () => Date.now() + offset } });
    const earlier = statusOf(await get(lab.client, 'DatabaseServer', lab.ns.name, 'pg')).lastAdminRotationTime;
    await lab.client.mergePatch(DbcredResources.DatabaseServer, 'pg', lab.ns.name, {
      spec: { adminRotation: { schedule: '* * * * *' } },
    });
    const times: string[] = [];
    let secret: Record<string, string> | undefined;
    await waitFor(
      'two scheduled rotations',
      async () => {
        const last = statusOf(await get(lab.client, 'DatabaseServer', lab.ns.name, 'pg')).lastAdminRotationTime;
        if (last && last !== earlier && !times.includes(last)) times.push(last);
        secret = await secretData(lab.client, lab.ns.name, 'pg-admin');
        return times.length >= 2;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // The second is the scheduled one: just after the minute of the operator's clock.
    const minute = (t: string) => Math.floor(Date.parse(t) / 60_000) * 60_000;
    expect(Date.parse(times[1]!) - minute(times[1]!)).toBeLessThan(5_000);
    expect(minute(times[1]!)).toBe(minute(times[0]!) + 60_000);
    expect(await adminLogsIn(lab.postgres, secret!['password']!)).toBe(true);
    const server = await get(lab.client, 'DatabaseServer', lab.ns.name, 'pg');
    expect(Date.parse(statusOf(server).nextAdminRotationTime!)).toBe(minute(times[1]!) + 60_000);
    await lab.client.mergePatch(DbcredResources.DatabaseServer, 'pg', lab.ns.name, { spec: { adminRotation: null } });
  });

  it('a schedule missed while the operator was down runs once when it starts', async () => {
    await lab.client.mergePatch(DbcredResources.DatabaseServer, 'mysql', lab.ns.name, {
      spec: { adminRotation: { schedule: '0 3 * * *', timeZone: 'Europe/Berlin' } },
    });
    // As if the last rotation were three days ago, with the operator down since.
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const stale = await get(lab.client, 'DatabaseServer', lab.ns.name, 'mysql');
    await lab.client.mergePatch(
      DbcredResources.DatabaseServer,
      'mysql',
      lab.ns.name,
      { status: { lastAdminRotationTime: threeDaysAgo } },
      { subresource: 'status' },
    );
    await lab.client.mergePatch(Resources.Secret, 'mysql-admin', lab.ns.name, {
      metadata: { annotations: { [ADMIN_ROTATED_AT_ANNOTATION]: threeDaysAgo } },
    });
    const startedAt = Date.now();
    op = await startOperator(lab.ns.name);
    let server: Obj | undefined;
    await waitFor(
      'the missed rotation',
      async () =>
        Date.parse(statusOf((server = await get(lab.client, 'DatabaseServer', lab.ns.name, 'mysql'))).lastAdminRotationTime ?? '') >=
        startedAt,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(rotationsAudited('mysql')).toHaveLength(1);
    const next = Date.parse(statusOf(server!).nextAdminRotationTime!);
    expect(next).toBeGreaterThan(Date.now());
    expect(next - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(new Date(next).toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin' })).toBe('03:00:00');
    expect(stale.metadata.uid).toBe(server!.metadata.uid);
  });
});

describe('an admin password changed outside dbcred', () => {
  it('AdminRotationFailed says which password to put where, with a Warning Event; the fixed Secret rotates again', async () => {
    // A server of its own, with an admin of its own, so no schedule of the other tests interferes.
    const first = `p${randomBytes(12).toString('hex')}`;
    const outside = `o${randomBytes(12).toString('hex')}`;
    await sql(lab.postgres, [`CREATE ROLE outside_admin LOGIN CREATEROLE PASSWORD '${first}'`, 'GRANT pg_signal_backend TO outside_admin']);
    await lab.client.create(Resources.Secret, {
      metadata: { name: 'outside-admin', namespace: lab.ns.name },
      stringData: { username: 'outside_admin', password: first },
    });
    await createPostgresServer(lab, 'pg-outside', 'outside-admin');
    op = await startOperator(lab.ns.name);
    await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg-outside', 'Ready', 'True');
    // Changed by hand; a new operator process has no session opened with the old password.
    await sql(lab.postgres, [`ALTER ROLE outside_admin PASSWORD '${outside}'`]);
    await op.stop();
    op = await startOperator(lab.ns.name);
    await annotate('pg-outside', 'after-outside-change');
    const failed = await waitForCondition(
      lab.client,
      'DatabaseServer',
      lab.ns.name,
      'pg-outside',
      'AdminPasswordRotated',
      'False',
      'AdminRotationFailed',
    );
    expect(failed.status?.conditions?.find((c) => c.type === 'AdminPasswordRotated')?.message).toContain('changed outside dbcred');
    expect(JSON.stringify(failed)).not.toContain(outside);
    await waitForEvent(lab.client, lab.ns.name, 'pg-outside', 'Warning', 'AdminRotationFailed');
    expect(rotationsAudited('pg-outside')).toMatchObject([{ outcome: 'failure' }]);

    // The fix the message names: the password the database accepts, under the password key.
    await lab.client.mergePatch(Resources.Secret, 'outside-admin', lab.ns.name, { stringData: { password: outside } });
    await annotate('pg-outside', 'after-fix');
    const rotated = await waitForRequestCarriedOut('pg-outside', 'after-fix');
    expect(rotated.status?.conditions?.find((c) => c.type === 'AdminPasswordRotated')).toMatchObject({ status: 'True' });
    const now = (await secretData(lab.client, lab.ns.name, 'outside-admin'))!['password']!;
    expect(now).not.toBe(outside);
    expect(await userLogsIn(lab.postgres, 'outside_admin', now)).toBe(true);
  });
});
