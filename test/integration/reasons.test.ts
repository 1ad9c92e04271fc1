import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  condition,
  create,
  get,
  secretData,
  sql,
  startLab,
  waitForCondition,
  waitForCredentialGone,
  waitForEvent,
  userLogsIn,
  type EventObject,
  type Lab,
  createPostgresServer,
} from '../../harness/lab.ts';
import { violations } from '../../harness/invariants.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { waitFor } from '../../harness/processes.ts';
import { ROTATE_ANNOTATION } from '../../src/api/v1alpha1/index.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { isNotFound } from '../../src/runtime/kube/errors.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';

// What `kubectl describe` shows, reason by reason (README, Troubleshooting): the condition, the Event
// next to it, and — for a Warning — the recovery once the cause is fixed. Reasons proven elsewhere
// are not repeated here (ExpiryByOperatorOnly, SecretConflict, TemplateInvalid: credential-edges).

let lab: Lab;
let op: InProcessOperator;

beforeAll(async () => {
  lab = await startLab('reasons');
  op = await startOperator(lab.ns.name);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

describe('Warning reasons, and the recovery once the cause is fixed', () => {
  it('RoleNotFound: a credential naming a role that does not exist says so, and is issued once the role exists', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'early', { roleRef: { name: 'late-role' } });
    const waiting = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'early', 'Ready', 'False', 'RoleNotFound');
    expect(condition(waiting, 'Ready')?.message).toContain('late-role');
    await waitForEvent(lab.client, lab.ns.name, 'early', 'Warning', 'RoleNotFound');
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'late-role', { serverRef: { name: 'pg' }, memberOf: ['app_readers'] });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'early', 'Ready', 'True', 'Issued');
  });

  it('GroupRoleMissing: a role whose group role does not exist says so, its credentials wait without creating users, and all recover once the group exists and the role is touched', async () => {
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'needs-group', { serverRef: { name: 'pg' }, memberOf: ['reporting'] });
    const refused = await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'needs-group', 'Ready', 'False', 'GroupRoleMissing');
    expect(condition(refused, 'Ready')?.message).toContain('reporting');
    await waitForEvent(lab.client, lab.ns.name, 'needs-group', 'Warning', 'GroupRoleMissing');
    // A credential on it is refused before any user exists: it would only be created to be dropped.
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'on-needs-group', { roleRef: { name: 'needs-group' } });
    const waiting = await waitForCondition(
      lab.client,
      'DatabaseCredential',
      lab.ns.name,
      'on-needs-group',
      'Ready',
      'False',
      'GroupRoleMissing',
    );
    expect(waiting.status?.lastSerial).toBeUndefined();
    expect(waiting.status?.pending).toBeUndefined();
    await waitForEvent(lab.client, lab.ns.name, 'on-needs-group', 'Warning', 'GroupRoleMissing');
    // The fix is made in the database; touching the role re-checks it at once (else within 60 s).
    await sql(lab.postgres, ['CREATE ROLE reporting NOLOGIN', `GRANT reporting TO ${lab.postgres.info.admin.user} WITH ADMIN OPTION`]);
    await lab.client.mergePatch(DbcredResources.DatabaseRole, 'needs-group', lab.ns.name, {
      metadata: { annotations: { 'example.com/recheck': '1' } },
    });
    await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'needs-group', 'Ready', 'True', 'Validated', 10_000);
    await waitForEvent(lab.client, lab.ns.name, 'needs-group', 'Normal', 'Validated');
    // The role turning Ready brings its credentials back.
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'on-needs-group', 'Ready', 'True', 'Issued', 10_000);
  });

  it("SecretKeyMissing: a server whose admin Secret lacks the key it names says so, and is Ready within seconds of the key's arrival", async () => {
    await lab.client.create(Resources.Secret, {
      metadata: { name: 'keyless-admin', namespace: lab.ns.name },
      stringData: { username: lab.postgres.info.admin.user, pass: lab.postgres.info.admin.password },
    });
    await createPostgresServer(lab, 'pg-keyless', 'keyless-admin');
    const refused = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg-keyless', 'Ready', 'False', 'SecretKeyMissing');
    expect(condition(refused, 'Ready')?.message).toContain('password');
    expect(condition(refused, 'Ready')?.message).not.toContain(lab.postgres.info.admin.password);
    await waitForEvent(lab.client, lab.ns.name, 'pg-keyless', 'Warning', 'SecretKeyMissing');
    await lab.client.mergePatch(Resources.Secret, 'keyless-admin', lab.ns.name, {
      stringData: { password: lab.postgres.info.admin.password },
    });
    await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg-keyless', 'Ready', 'True', undefined, 10_000);
  });

  it('MissingPrivileges: a server whose admin lacks CREATEROLE and pg_signal_backend lists both, and is Ready once they are granted', async () => {
    // Generated here; the alphabet needs no quoting.
    const password = `p${randomBytes(12).toString('hex')}`;
    await sql(lab.postgres, [`CREATE ROLE weak_admin LOGIN PASSWORD '${password}'`]);
    await lab.client.create(Resources.Secret, {
      metadata: { name: 'weak-admin', namespace: lab.ns.name },
      stringData: { username: 'weak_admin', password },
    });
    await createPostgresServer(lab, 'pg-weak', 'weak-admin');
    const refused = await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg-weak', 'Ready', 'False', 'MissingPrivileges');
    expect(condition(refused, 'Ready')?.message).toContain('CREATEROLE');
    expect(condition(refused, 'Ready')?.message).toContain('pg_signal_backend');
    await waitForEvent(lab.client, lab.ns.name, 'pg-weak', 'Warning', 'MissingPrivileges');
    await sql(lab.postgres, ['ALTER ROLE weak_admin CREATEROLE', 'GRANT pg_signal_backend TO weak_admin']);
    // A server that is not Ready is checked again every 10 s.
    await waitForCondition(lab.client, 'DatabaseServer', lab.ns.name, 'pg-weak', 'Ready', 'True', 'Connected', 20_000);
  });

  it('ServerNotReady for a server being deleted: credentials issued on it keep working, a new one gets no user, and the server goes with the last user', async () => {
    await createPostgresServer(lab, 'pg-leaving', 'pg-admin');
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'leaving-readers', {
      serverRef: { name: 'pg-leaving' },
      memberOf: ['app_readers'],
    });
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'stays', { roleRef: { name: 'leaving-readers' } });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'stays', 'Ready', 'True');
    await waitFor(
      'the server to be held by its issued user',
      async () =>
        ((await get(lab.client, 'DatabaseServer', lab.ns.name, 'pg-leaving')).metadata.finalizers ?? []).includes('dbcred.io/issued-users'),
      { timeoutMs: 20_000 },
    );
    await lab.client.delete(DbcredResources.DatabaseServer, 'pg-leaving', lab.ns.name);

    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'too-late', { roleRef: { name: 'leaving-readers' } });
    const refused = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'too-late', 'Ready', 'False', 'ServerNotReady');
    expect(condition(refused, 'Ready')?.message).toContain('is being deleted');
    expect(refused.status?.lastSerial).toBeUndefined();
    await waitForEvent(lab.client, lab.ns.name, 'too-late', 'Warning', 'ServerNotReady');
    const stays = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'stays');
    expect(condition(stays, 'Ready')?.status).toBe('True');
    expect(
      await userLogsIn(lab.postgres, stays.status!.current!.username, (await secretData(lab.client, lab.ns.name, 'stays'))!['password']!),
    ).toBe(true);

    await lab.client.delete(DbcredResources.DatabaseCredential, 'stays', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'stays');
    await waitFor(
      'the server to go with its last user',
      () =>
        get(lab.client, 'DatabaseServer', lab.ns.name, 'pg-leaving').then(
          () => false,
          (error: unknown) => {
            if (isNotFound(error)) return true;
            throw error;
          },
        ),
      { timeoutMs: 20_000 },
    );
    await lab.client.delete(DbcredResources.DatabaseCredential, 'too-late', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'too-late');
  });

  it('a new user that may not connect is never published: MissingPrivileges, Stalled, and issued after the fix and a touch', async () => {
    // New users may not connect to the database (the admin still may): their login check fails.
    await sql(lab.postgres, [
      'REVOKE CONNECT ON DATABASE app FROM PUBLIC',
      `GRANT CONNECT ON DATABASE app TO ${lab.postgres.info.admin.user}`,
    ]);
    try {
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'unverified', { roleRef: { name: 'pg-readers' } });
      const refused = await waitForCondition(
        lab.client,
        'DatabaseCredential',
        lab.ns.name,
        'unverified',
        'Stalled',
        'True',
        'MissingPrivileges',
      );
      expect(condition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'MissingPrivileges' });
      expect(condition(refused, 'Ready')?.message).toContain('permission denied for database');
      await waitForEvent(lab.client, lab.ns.name, 'unverified', 'Warning', 'MissingPrivileges');
      expect(await secretData(lab.client, lab.ns.name, 'unverified')).toBeUndefined();
    } finally {
      await sql(lab.postgres, ['GRANT CONNECT ON DATABASE app TO PUBLIC']);
    }
    await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'unverified', lab.ns.name, {
      metadata: { annotations: { 'example.com/retry': '1' } },
    });
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'unverified', 'Ready', 'True', 'Issued');
    // The user that failed its login was dropped: no orphan, every Secret logs in.
    expect(await violations(lab)).toEqual([]);
  });

  it('RoleNotReady: a credential on a role whose check has not finished waits without a user and without a Warning Event, and is issued once the check passes', async () => {
    // The role's check reads the catalog of roles; a superuser holding it locked keeps the check from finishing.
    const { host, port, superuser } = lab.postgres.info;
    const holder = new pg.Client({ host, port, database: 'app', user: superuser.user, password: superuser.password });
    holder.on('error', () => undefined);
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE pg_catalog.pg_authid IN ACCESS EXCLUSIVE MODE');
      await create(lab.client, 'DatabaseRole', lab.ns.name, 'unchecked', { serverRef: { name: 'pg' }, memberOf: ['app_readers'] });
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'on-unchecked', { roleRef: { name: 'unchecked' } });
      const waiting = await waitForCondition(
        lab.client,
        'DatabaseCredential',
        lab.ns.name,
        'on-unchecked',
        'Ready',
        'False',
        'RoleNotReady',
      );
      expect(condition(waiting, 'Ready')?.message).toContain('has not been checked yet');
      expect(waiting.status?.pending).toBeUndefined();
      expect(condition(await get(lab.client, 'DatabaseRole', lab.ns.name, 'unchecked'), 'Ready')).toBeUndefined();
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'on-unchecked', 'Ready', 'True', 'Issued');
    // The Issued Event is recorded after any the wait would have raised: the wait raised none.
    await waitForEvent(lab.client, lab.ns.name, 'on-unchecked', 'Normal', 'Issued');
    const { items } = await lab.client.list<EventObject>(Resources.Event, { namespace: lab.ns.name });
    expect(items.filter((e) => e.regarding?.name === 'on-unchecked').map((e) => `${e.type}/${e.reason}`)).toEqual(['Normal/Issued']);
  });

  it('VerificationFailed: a user that cannot log in from the operator (its account host) is dropped, never published, and issued once the role is fixed', async () => {
    // 'user'@'192.0.2.1' exists, but the operator connects from 127.0.0.1: MariaDB refuses the login.
    await create(lab.client, 'DatabaseRole', lab.ns.name, 'far-host', {
      serverRef: { name: 'mysql' },
      memberOf: ['app_readers'],
      mysql: { userHost: '192.0.2.1' },
    });
    await waitForCondition(lab.client, 'DatabaseRole', lab.ns.name, 'far-host', 'Ready', 'True');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'far', { roleRef: { name: 'far-host' } });
    const refused = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'far', 'Ready', 'False', 'VerificationFailed');
    expect(condition(refused, 'Ready')?.message).toMatch(/access denied/i);
    await waitForEvent(lab.client, lab.ns.name, 'far', 'Warning', 'VerificationFailed');
    expect(await secretData(lab.client, lab.ns.name, 'far')).toBeUndefined();
    expect(await violations(lab)).toEqual([]);

    await lab.client.mergePatch(DbcredResources.DatabaseRole, 'far-host', lab.ns.name, { spec: { mysql: { userHost: '%' } } });
    const issued = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'far', 'Ready', 'True', 'Issued');
    const data = (await secretData(lab.client, lab.ns.name, 'far'))!;
    expect(data['username']).toBe(issued.status!.current!.username);
    expect(await userLogsIn(lab.mariadb, data['username']!, data['password']!)).toBe(true);
    expect(await violations(lab)).toEqual([]);
  });
});

describe('Normal reasons along a credential life', () => {
  it('RotationScheduled while the previous user is in its overlap, Revoked once it is dropped, and SecretUpdated on a layout change', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'short', {
      roleRef: { name: 'pg-readers' },
      ttl: '8s',
      rotation: { renewAtPercent: 50, overlap: '2s' },
    });
    const first = (await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'short', 'Ready', 'True')).status!.current!
      .username;
    const rotating = await waitForCondition(
      lab.client,
      'DatabaseCredential',
      lab.ns.name,
      'short',
      'Rotating',
      'True',
      'RotationScheduled',
    );
    expect(condition(rotating, 'Ready')).toMatchObject({ status: 'True', reason: 'Rotated' });
    const revoked = await waitForEvent(lab.client, lab.ns.name, 'short', 'Normal', 'Revoked');
    expect(revoked.note).toContain(first);
    expect(await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${first}'`])).toEqual([]);

    await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'short', lab.ns.name, {
      spec: { secret: { labels: { team: 'orders' } } },
    });
    await waitForEvent(lab.client, lab.ns.name, 'short', 'Normal', 'SecretUpdated');
    await lab.client.delete(DbcredResources.DatabaseCredential, 'short', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'short');
  });

  it('Rotated on demand: a new value of the dbcred.io/rotate annotation replaces the user once, the previous one revoked after the overlap', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'on-demand', {
      roleRef: { name: 'pg-readers' },
      rotation: { overlap: '2s' },
    });
    const first = (await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'on-demand', 'Ready', 'True')).status!.current!
      .username;
    await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'on-demand', lab.ns.name, {
      metadata: { annotations: { [ROTATE_ANNOTATION]: 'now-1' } },
    });
    const rotated = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'on-demand', 'Ready', 'True', 'Rotated');
    const second = rotated.status!.current!.username;
    expect(second).not.toBe(first);
    expect(rotated.status?.rotationRequest).toBe('now-1');
    expect((await secretData(lab.client, lab.ns.name, 'on-demand'))?.['username']).toBe(second);
    await waitForEvent(lab.client, lab.ns.name, 'on-demand', 'Normal', 'Revoked');
    // Carried out once: after the overlap, the same user, and no further serial.
    const settled = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'on-demand');
    expect(settled.status?.current?.username).toBe(second);
    expect(settled.status?.lastSerial).toBe(2);
    expect(await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${first}'`])).toEqual([]);
  });

  it('Retained: deleting a credential with deletionPolicy Retain leaves its user and Secret in place, unowned, and the user lives while that Secret does', async () => {
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'kept', { roleRef: { name: 'pg-readers' }, deletionPolicy: 'Retain' });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'kept', 'Ready', 'True');
    const user = ready.status!.current!.username;
    await lab.client.delete(DbcredResources.DatabaseCredential, 'kept', lab.ns.name);
    await waitForCredentialGone(lab.client, lab.ns.name, 'kept');
    const event = await waitForEvent(lab.client, lab.ns.name, 'kept', 'Normal', 'Retained');
    expect(event.note).toContain(user);
    const exists = async () => (await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${user}'`])).length === 1;
    const secret = await lab.client.get<KubeObject>(Resources.Secret, 'kept', lab.ns.name);
    expect(secret.metadata.ownerReferences ?? []).toEqual([]);
    expect(secret.metadata.labels?.['dbcred.io/retained']).toBe('true');
    expect((await secretData(lab.client, lab.ns.name, 'kept'))?.['username']).toBe(user);

    // The orphan sweep spares it, pass after pass, and the invariant counts it as sheltered.
    for (let i = 0; i < 2; i++) expect((await op.operator.sweeper.sweep()).orphansDropped).not.toContain(user);
    expect(await exists()).toBe(true);
    expect(await userLogsIn(lab.postgres, user, (await secretData(lab.client, lab.ns.name, 'kept'))!['password']!)).toBe(true);
    expect(await violations(lab)).toEqual([]);

    // A Secret labelled by hand whose mark does not derive the name shelters nothing: once the
    // retained Secret is deleted, the next sweep drops the user.
    await lab.client.create(Resources.Secret, {
      metadata: {
        name: 'forged-retained',
        namespace: lab.ns.name,
        labels: { 'dbcred.io/retained': 'true' },
        annotations: { 'dbcred.io/retained-from': `${randomUUID()}/1` },
      },
      stringData: { username: user },
    });
    await lab.client.delete(Resources.Secret, 'kept', lab.ns.name);
    await waitFor(
      'the sweep to drop the user once its Secret is gone',
      async () => {
        await op.operator.sweeper.sweep();
        return !(await exists());
      },
      { timeoutMs: 15_000 },
    );
    expect(op.audit.join('')).toContain(`"action":"orphan-drop"`);
  });
});
