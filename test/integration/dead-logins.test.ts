// Reuse of dead credentials: a login with a user dbcred revoked is seen in PostgreSQL's own log and
// reported (audit record with the client address, Warning Event, metric) within the scan interval;
// servers whose refused logins the operator cannot read say so and what to change.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { failedLoginGrants } from '../../src/engines/postgres/postgres-failed-logins.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { waitFor } from '../../harness/processes.ts';
import {
  condition,
  issueCredential,
  sql,
  startLab,
  userLogsIn,
  waitForCondition,
  waitForCredentialGone,
  type Lab,
} from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator | undefined;
let ns: string;

/** The stated bound: a scan interval (1 s here, 10 s by default) and a scan, with room for a loaded machine. */
const DETECTED_WITHIN_MS = 10_000;

beforeAll(async () => {
  // What the operator needs to see refused logins: a jsonlog, and the admin allowed to read it.
  lab = await startLab('dead-logins', { postgresConfig: { logging_collector: 'on', log_destination: 'stderr,jsonlog' } });
  ns = lab.ns.name;
  await sql(lab.postgres, [failedLoginGrants(lab.postgres.info.admin.user)]);
}, 120_000);
afterEach(async () => {
  await op?.stop();
  op = undefined;
});
afterAll(async () => {
  await lab?.cleanup();
});

type AuditLine = { action: string; username?: string; clientAddress?: string; reason?: string; object: { kind: string; name: string } };
const deadLogins = () => op!.audit.map((l) => JSON.parse(l) as AuditLine).filter((r) => r.action === 'dead-login');

const issued = (name: string) => issueCredential(lab.client, ns, name, 'pg-readers');

describe('logins with dead credentials', () => {
  it('each server says whether the operator sees its refused logins, and what to change when it does not', async () => {
    op = await startOperator(ns);
    const pg = await waitForCondition(lab.client, 'DatabaseServer', ns, 'pg', 'FailedLoginsVisible', 'True', 'FailedLoginsVisible');
    expect(condition(pg, 'FailedLoginsVisible')?.message).toContain('audit dead-login');
    const mysql = await waitForCondition(
      lab.client,
      'DatabaseServer',
      ns,
      'mysql',
      'FailedLoginsVisible',
      'False',
      'FailedLoginsNotVisible',
    );
    expect(condition(mysql, 'FailedLoginsVisible')?.message).toContain('error log');
  });

  it('are recorded with the client address within seconds; a wrong password for a live user is not', async () => {
    op = await startOperator(ns, { 'dead-login-scan-interval': '1s' });
    const live = await issued('live');
    const dead = await issued('revoked');
    await lab.client.delete(DbcredResources.DatabaseCredential, 'revoked', ns);
    await waitForCredentialGone(lab.client, ns, 'revoked');

    // The operator reads each log from where it ended at its first scan.
    await waitFor('the first scan of the PostgreSQL log', () => Promise.resolve(op!.operator.footprint()['deadLoginCursors'] === 1), {
      timeoutMs: 10_000,
    });
    expect(await userLogsIn(lab.postgres, live.user, 'not-the-password')).toBe(false);
    expect(await userLogsIn(lab.postgres, dead.user, dead.password)).toBe(false);
    const triedAt = Date.now();
    await waitFor('the dead-login record', () => Promise.resolve(deadLogins().some((r) => r.username === dead.user)), {
      timeoutMs: DETECTED_WITHIN_MS,
      intervalMs: 20,
    });
    console.log(`login with a revoked user recorded ${Date.now() - triedAt} ms after the attempt (scan interval 1 s)`);
    expect(deadLogins().find((r) => r.username === dead.user)).toMatchObject({
      reason: 'DeadCredentialUsed',
      clientAddress: '127.0.0.1',
      object: { kind: 'DatabaseServer', name: 'pg' },
    });
    // The live user's refused login came first in the log, so the scan that found the dead one saw it.
    expect(deadLogins().filter((r) => r.username === live.user)).toEqual([]);

    const metrics = await (await fetch(`http://127.0.0.1:${op.operator.manager.healthPort}/metrics`)).text();
    expect(metrics).toContain(`dbcred_dead_credential_logins_total{kind="DatabaseServer",namespace="${ns}",name="pg"} 1`);
    await op.operator.stop(); // flushes the Events
    op = undefined;
    const events = await lab.client.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(Resources.Event, {
      namespace: ns,
    });
    expect(events.items.filter((e) => e.reason === 'DeadCredentialUsed' && e.regarding?.name === 'pg').map((e) => e.note)).toContainEqual(
      expect.stringContaining(`${dead.user}, a user dbcred revoked or let expire, from 127.0.0.1`),
    );
  });

  it('without the grants, the server names the GRANT to run', async () => {
    const admin = lab.postgres.info.admin.user;
    await sql(lab.postgres, [
      failedLoginGrants(admin)
        .replace(/^GRANT/, 'REVOKE')
        .replace(/ TO /, ' FROM '),
    ]);
    op = await startOperator(ns);
    const pg = await waitForCondition(lab.client, 'DatabaseServer', ns, 'pg', 'FailedLoginsVisible', 'False', 'FailedLoginsNotVisible');
    expect(condition(pg, 'FailedLoginsVisible')?.message).toContain(failedLoginGrants(admin));
  });
});
