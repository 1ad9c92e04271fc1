import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../../src/audit/audit-log.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { FAILPOINTS } from '../../src/util/failpoints.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { adminLogsIn, create, get, secretData, startLab, waitForCondition, waitForCredentialGone, type Lab } from '../../harness/lab.ts';
import { ADMIN_ROTATION_ANNOTATION } from '../../src/api/v1alpha1/database-server.ts';
import { PENDING_ADMIN_PASSWORD_KEY } from '../../src/secrets/secret-metadata.ts';
import { violations } from '../../harness/invariants.ts';

// The operator is killed (SIGKILL, by a failpoint) at each named step, then started again without
// it. Whatever the step, once it has recovered, the invariant holds.

let lab: Lab;
let dir: string;
let running: OperatorProcess[] = [];

beforeAll(async () => {
  lab = await startLab('crash');
  dir = await mkdtemp(join(tmpdir(), 'dbcred-crash-'));
}, 120_000);
afterEach(async () => {
  await Promise.all(running.map((p) => p.stop()));
  running = [];
});
afterAll(async () => {
  await lab?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function operator(name: string, failpoint?: string): Promise<OperatorProcess> {
  const p = await startOperatorProcess({ namespace: lab.ns.name, dir, name, failpoint });
  running.push(p);
  return p;
}

async function crashed(p: OperatorProcess): Promise<void> {
  const exit = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref())]);
  expect({ exit, log: exit === 'timeout' ? p.log().slice(-2000) : '' }).toEqual({ exit: { code: null, signal: 'SIGKILL' }, log: '' });
}

async function invariantHolds(): Promise<void> {
  let last: string[] = [];
  await waitFor('the invariant to hold', async () => (last = await violations(lab)).length === 0, {
    timeoutMs: 30_000,
    intervalMs: 200,
    onTimeout: () => last.join('\n'),
  });
}

const ISSUE_STEPS = ['after-intent-recorded', 'after-user-created', 'after-user-verified', 'after-secret-written'] as const;

describe('a crash while issuing', () => {
  it.each(ISSUE_STEPS)('%s: after a restart the credential is issued once and nothing leaks', async (failpoint) => {
    const name = `issue-${failpoint}`.slice(0, 60);
    const first = await operator(`${name}-1`, failpoint);
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'pg-readers' } });
    await crashed(first);
    await operator(`${name}-2`);
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    await invariantHolds();
  });
});

describe("a crash while issuing, restarted only after the new user's expiry", () => {
  it('after-secret-written: the delivered user is treated as expired: revoked, and rotated to a new one', async () => {
    const name = 'stale-intent';
    const first = await operator('stale-1', 'after-secret-written');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: 'pg-readers' },
      ttl: '2s',
      rotation: { overlap: '1s' },
    });
    await crashed(first);
    const stale = (await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status!.pending!;
    await waitFor('the intended user to expire', () => Promise.resolve(Date.now() > Date.parse(stale.expiresAt)), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    await operator('stale-2');
    await waitFor(
      'a new user to replace the expired one',
      async () => {
        const current = (await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status?.current;
        return current !== undefined && current.username !== stale.username;
      },
      { timeoutMs: 15_000 },
    );
    await invariantHolds(); // the stale user is gone; the Secret logs in with the new one
  });

  it('after-user-verified, rotation off: the undelivered user is dropped and the credential issued afresh', async () => {
    const name = 'stale-undelivered';
    const first = await operator('undelivered-1', 'after-user-verified');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: 'pg-readers' },
      ttl: '2s',
      rotation: { enabled: false, overlap: '0s' },
    });
    await crashed(first);
    const stale = (await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status!.pending!;
    await waitFor('the intended user to expire', () => Promise.resolve(Date.now() > Date.parse(stale.expiresAt)), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    await operator('undelivered-2');
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    // The other process appends to the trail on its own schedule: read until both records are there.
    const actions = async () =>
      (await readFile(join(dir, 'audit.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { action: string; object?: { name?: string } })
        .filter((r) => r.object?.name === name)
        .map((r) => r.action);
    await waitFor('two audit records of the credential', async () => (await actions()).length >= 2, { timeoutMs: 10_000 });
    expect((await actions()).slice(0, 2)).toEqual(['revoke', 'issue']);
    await invariantHolds();
  });
});

describe('a crash while rotating', () => {
  it('after-old-user-revoked: the rotation completes and the old user stays gone', async () => {
    const name = 'rotate-crash';
    const setup = await operator('rotate-setup');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, {
      roleRef: { name: 'pg-readers' },
      ttl: '4s',
      rotation: { renewAtPercent: 50, overlap: '1s' },
    });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    await setup.stop();
    running = running.filter((p) => p !== setup);
    const first = await operator('rotate-1', 'after-old-user-revoked');
    await crashed(first);
    await operator('rotate-2');
    await waitFor(
      'the retiring list to be empty',
      async () => ((await get(lab.client, 'DatabaseCredential', lab.ns.name, name)).status?.retiring ?? []).length === 0,
      { timeoutMs: 20_000 },
    );
    await invariantHolds();
  });
});

describe('a crash while rotating the admin password', () => {
  const cases = [
    ['after-admin-password-recorded', 'pg'],
    ['after-admin-password-set', 'pg'],
    ['after-admin-password-recorded', 'mysql'],
    ['after-admin-password-set', 'mysql'],
  ] as const;
  it.each(cases)(
    '%s (%s): after a restart the rotation finishes and the Secret logs in; nobody is locked out',
    async (failpoint, server) => {
      const db = server === 'pg' ? lab.postgres : lab.mariadb;
      const secretName = `${server}-admin`;
      const before = (await secretData(lab.client, lab.ns.name, secretName))!;
      const first = await operator(`${failpoint}-${server}-1`.slice(0, 60), failpoint);
      const request = `${failpoint}-${server}`;
      await lab.client.mergePatch(DbcredResources.DatabaseServer, server, lab.ns.name, {
        metadata: { annotations: { [ADMIN_ROTATION_ANNOTATION]: request } },
      });
      await crashed(first);
      // Stopped half-way: the new password is already in the Secret, under the pending key.
      const halfway = (await secretData(lab.client, lab.ns.name, secretName))!;
      expect(halfway['password']).toBe(before['password']);
      expect(await adminLogsIn(db, halfway[PENDING_ADMIN_PASSWORD_KEY]!)).toBe(failpoint === 'after-admin-password-set');

      await operator(`${failpoint}-${server}-2`.slice(0, 60));
      await waitFor(
        'the rotation to be recorded',
        async () => {
          const status = (await get(lab.client, 'DatabaseServer', lab.ns.name, server)).status as
            { adminRotationRequest?: string } | undefined;
          return status?.adminRotationRequest === request;
        },
        { timeoutMs: 20_000 },
      );
      const after = (await secretData(lab.client, lab.ns.name, secretName))!;
      expect(after[PENDING_ADMIN_PASSWORD_KEY]).toBeUndefined();
      expect(after['password']).toBe(halfway[PENDING_ADMIN_PASSWORD_KEY]);
      expect(await adminLogsIn(db, after['password']!)).toBe(true);
      expect(await adminLogsIn(db, before['password']!)).toBe(false);
      // The operator goes on issuing with the rotated password.
      const name = `after-admin-${failpoint}-${server}`.slice(0, 60);
      await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: `${server}-readers` } });
      await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
      await invariantHolds();
    },
  );
});

describe('a crash while deleting', () => {
  it('before-finalizer-removed: the deletion completes and every user is gone', async () => {
    const name = 'delete-crash';
    const setup = await operator('delete-setup');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'mysql-readers' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
    await setup.stop();
    running = running.filter((p) => p !== setup);
    const first = await operator('delete-1', 'before-finalizer-removed');
    await lab.client.delete(DbcredResources.DatabaseCredential, name, lab.ns.name);
    await crashed(first);
    await operator('delete-2');
    await waitForCredentialGone(lab.client, lab.ns.name, name, 20_000);
    await invariantHolds();
  });

  it('keeps one audit chain across every crash and restart', async () => {
    const lines = (await readFile(join(dir, 'audit.log'), 'utf8')).split('\n');
    const result = verifyChain(lines);
    expect(result).toEqual({ ok: true, records: expect.any(Number) });
    expect(result.ok && result.records).toBeGreaterThan(10);
  });

  it('covers every failpoint the operator defines', () => {
    const adminSteps = ['after-admin-password-recorded', 'after-admin-password-set'];
    expect([...ISSUE_STEPS, 'after-old-user-revoked', 'before-finalizer-removed', ...adminSteps].sort()).toEqual([...FAILPOINTS].sort());
  });
});
