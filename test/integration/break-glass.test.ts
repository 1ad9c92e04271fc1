// Break-glass: `dbcred revoke` and `dbcred list`, run as a platform engineer would, against the real
// apiserver and both databases — with the operator running, and with it down.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BREAK_GLASS_ANNOTATION } from '../../src/api/v1alpha1/annotations.ts';
import { whoAmI, type CommandIO } from '../../src/cli/command-io.ts';
import { listCommand, type ListedUser } from '../../src/cli/list-command.ts';
import { revokeCommand } from '../../src/cli/revoke-command.ts';
import { ServerAccess } from '../../src/cli/server-access.ts';
import { builtinEngines } from '../../src/engines/registry.ts';
import { generatePassword } from '../../src/engines/password.ts';
import { usernameFor } from '../../src/engines/username.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { tenantClient } from '../../harness/tenant.ts';
import { binDir, REPO_ROOT } from '../../harness/binaries.ts';
import { requireKube } from '../../harness/environment.ts';
import { waitFor } from '../../harness/processes.ts';
import {
  create,
  get,
  issueCredential,
  openSession,
  secretData,
  startLab,
  userLogsIn,
  waitForCondition,
  waitForCredentialGone,
  type Lab,
} from '../../harness/lab.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import type { StartedDatabase } from '../../harness/postgres.ts';

const execFileAsync = promisify(execFile);

let lab: Lab;
let op: InProcessOperator | undefined;
let ns: string;
/** The application team: it asks for the credentials; the platform team (lab.client) breaks the glass. */
let tenant: KubeClient;

beforeAll(async () => {
  lab = await startLab('break-glass');
  ns = lab.ns.name;
  tenant = await tenantClient(lab.client, ns);
}, 120_000);
afterEach(async () => {
  await op?.stop();
  op = undefined;
});
afterAll(async () => {
  await lab?.cleanup();
});

/** Runs a break-glass command as the platform team's kubeconfig does; the operator under test is installation `ns`. */
async function run(command: typeof revokeCommand, ...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = {
    client: lab.client,
    registry: builtinEngines(),
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    now: () => new Date(),
  };
  const code = await command([...args, `--instance=${ns}`], io);
  return { code, out, err };
}

/** The tenant asks for a credential; its login, and the database it is on. */
async function issued(name: string, role: string): Promise<{ user: string; password: string; db: StartedDatabase }> {
  return { ...(await issueCredential(tenant, ns, name, role)), db: role.startsWith('pg') ? lab.postgres : lab.mariadb };
}

type AuditLine = {
  action: string;
  reason?: string;
  username?: string;
  message: string;
  object: { name: string };
  requester?: { username: string };
};
const auditOf = (name: string) => op!.audit.map((l) => JSON.parse(l) as AuditLine).filter((r) => r.object.name === name);

describe('dbcred revoke', () => {
  it('is a dry run unless confirmed: it shows the credentials and users it would revoke and changes nothing', async () => {
    op = await startOperator(ns);
    const a = await issued('dry-a', 'pg-readers');
    const b = await issued('dry-b', 'mysql-readers');
    const result = await run(revokeCommand, `--namespace=${ns}`);
    expect(result.code).toBe(0);
    expect(result.out[0]).toBe(`acting as ${await whoAmI(lab.client)}`);
    expect(result.out.join('\n')).toContain(a.user);
    expect(result.out.join('\n')).toContain(b.user);
    expect(result.out.at(-1)).toBe('dry run: 2 credential(s) and 2 user(s) would be revoked; run again with --confirm to revoke');
    expect(await userLogsIn(a.db, a.user, a.password)).toBe(true);
    expect(await userLogsIn(b.db, b.user, b.password)).toBe(true);
    expect((await get(lab.client, 'DatabaseCredential', ns, 'dry-a')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('refuses to select the whole cluster unless told --all', async () => {
    await expect(run(revokeCommand, '--confirm')).rejects.toThrow('name what to revoke');
  });

  it.each([
    ['pg-readers', 'postgres'],
    ['mysql-readers', 'mysql'],
  ])(
    'confirmed by role (%s), it ends the sessions and drops the users now, deletes credentials and Secrets, and leaves other roles alone',
    async (role, engine) => {
      op = await startOperator(ns);
      const doomed = await issued(`leaked-${engine}`, role);
      const other = await issued(`kept-${engine}`, role === 'pg-readers' ? 'mysql-readers' : 'pg-readers');
      const session = await openSession(doomed.db, doomed.user, doomed.password);
      try {
        const result = await run(revokeCommand, `--role=${ns}/${role}`, '--confirm', '--reason=leaked in CI logs');
        expect(result.code).toBe(0);
        expect(result.out).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^revoked ${ns}/leaked-${engine}: credential deleted; user ${doomed.user} (dropped \\(\\d session\\(s\\) ended\\)|already gone); Secret gone$`,
            ),
          ),
        );
        // Whichever dropped the user first (this command, or the operator finalizing the deleted
        // credential) ended the held session.
        await session.ended;
        expect(await userLogsIn(doomed.db, doomed.user, doomed.password)).toBe(false);
        await waitForCredentialGone(lab.client, ns, `leaked-${engine}`);
        expect(await secretData(lab.client, ns, `leaked-${engine}`)).toBeUndefined();
        // Another role's credential is untouched.
        expect(await userLogsIn(other.db, other.user, other.password)).toBe(true);
        // The operator's own records say the glass was broken, and by whom (stamped by the chart's
        // policy): the platform team, not the tenant that asked for the credential.
        const me = await whoAmI(lab.client);
        expect(me).not.toBe(`system:serviceaccount:${ns}:tenant`);
        await waitFor(
          'the break-glass revocation record',
          () => Promise.resolve(auditOf(`leaked-${engine}`).some((r) => r.reason === 'break-glass')),
          {
            timeoutMs: 10_000,
          },
        );
        const record = auditOf(`leaked-${engine}`).find((r) => r.reason === 'break-glass')!;
        expect(record).toMatchObject({ action: 'revoke', username: doomed.user, requester: { username: me } });
        expect(record.message).toMatch(new RegExp(`: break-glass \\S+ by ${me}: leaked in CI logs$`));
      } finally {
        await session.close();
      }
    },
  );

  it('works while the operator is down; the operator, back, records the revocation and lets the credential go', async () => {
    op = await startOperator(ns);
    const cred = await issued('while-down', 'mysql-readers');
    await op.stop();
    op = undefined;
    const session = await openSession(cred.db, cred.user, cred.password);
    try {
      const result = await run(revokeCommand, `--credential=${ns}/while-down`, '--confirm');
      expect(result.code).toBe(0);
      // With nobody else to do it, the command itself ended the session.
      expect(result.out.at(-1)).toBe(
        `revoked ${ns}/while-down: credential deleted; user ${cred.user} dropped (1 session(s) ended); Secret gone`,
      );
      await session.ended;
    } finally {
      await session.close();
    }
    expect(await userLogsIn(cred.db, cred.user, cred.password)).toBe(false);
    expect(await secretData(lab.client, ns, 'while-down')).toBeUndefined();
    // Its finalizer holds it until the operator has seen to it.
    const held = await get(lab.client, 'DatabaseCredential', ns, 'while-down');
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.annotations?.[BREAK_GLASS_ANNOTATION]).toMatch(/ by .+: break-glass revocation$/);

    op = await startOperator(ns);
    await waitForCredentialGone(lab.client, ns, 'while-down');
    expect(auditOf('while-down')).toContainEqual(expect.objectContaining({ action: 'revoke', reason: 'break-glass', username: cred.user }));
  });
});

describe('dbcred list', () => {
  it('lists each live user with its expiry, and with --databases what the database holds, including users no credential names', async () => {
    op = await startOperator(ns);
    const pg = await issued('listed-pg', 'pg-readers');
    const my = await issued('listed-mysql', 'mysql-readers');
    // A user kept by deletionPolicy Retain: its credential is gone, its marked Secret shelters it.
    await create(lab.client, 'DatabaseCredential', ns, 'retained-pg', { roleRef: { name: 'pg-readers' }, deletionPolicy: 'Retain' });
    const retained = (await waitForCondition(lab.client, 'DatabaseCredential', ns, 'retained-pg', 'Ready', 'True')).status!.current!
      .username;
    await lab.client.delete(DbcredResources.DatabaseCredential, 'retained-pg', ns);
    await waitForCredentialGone(lab.client, ns, 'retained-pg');
    await op.stop(); // its orphan sweep would drop the stray user below before the list sees it
    op = undefined;
    // A user of this installation that no credential names, as a crash between CREATE and status could leave.
    const access = await ServerAccess.open(lab.client, builtinEngines(), { instance: ns });
    const stray = usernameFor({ marker: access.marker, credentialUid: 'no-such-credential', serial: 1, prefix: 'app' }, 63);
    try {
      await (
        await access.engine({ kind: 'DatabaseServer', namespace: ns, name: 'pg' })
      ).createUser({
        username: stray,
        password: generatePassword(),
        expiresAt: new Date(Date.now() + 3_600_000),
        policy: {},
      });
    } finally {
      await access.close();
    }

    const byNamespace = await run(listCommand, `--namespace=${ns}`, '-o', 'json');
    expect(byNamespace.code).toBe(0);
    const users = JSON.parse(byNamespace.out.join('\n')) as ListedUser[];
    const pgRow = users.find((u) => u.username === pg.user);
    expect(pgRow).toMatchObject({ namespace: ns, credential: 'listed-pg', role: 'pg-readers', server: `${ns}/pg`, state: 'current' });
    expect(Date.parse(pgRow!.until!)).toBeGreaterThan(Date.now());
    expect(users.find((u) => u.username === my.user)).toMatchObject({
      credential: 'listed-mysql',
      server: `${ns}/mysql`,
      state: 'current',
    });

    const fromDatabases = await run(listCommand, `--server=${ns}/pg`, '--databases', '-o', 'json');
    expect(fromDatabases.code).toBe(0);
    const seen = JSON.parse(fromDatabases.out.join('\n')) as ListedUser[];
    expect(seen.find((u) => u.username === pg.user)).toMatchObject({ state: 'current', inDatabase: true });
    expect(seen.find((u) => u.username === pg.user)?.databaseExpiresAt).toBeDefined();
    expect(seen.find((u) => u.username === stray)).toMatchObject({ state: 'unowned', inDatabase: true, server: `${ns}/pg` });
    expect(seen.find((u) => u.username === retained)).toMatchObject({ state: 'retained', inDatabase: true, server: `${ns}/pg` });
    expect(seen.some((u) => u.username === my.user)).toBe(false);

    const asTable = await run(listCommand, `--credential=${ns}/listed-pg`);
    expect(asTable.out[0]).toMatch(/^NAMESPACE\s+CREDENTIAL\s+ROLE\s+SERVER\s+USER\s+STATE\s+UNTIL$/);
    expect(asTable.out[1]).toContain(pg.user);
  });

  it('runs as a kubectl plugin: kubectl dbcred list', async () => {
    // What `npm link` does: kubectl-dbcred on the PATH, pointing at the checkout's bin/kubectl-dbcred.js.
    const plugins = await mkdtemp(join(tmpdir(), 'dbcred-plugin-'));
    try {
      await symlink(join(REPO_ROOT, 'bin', 'kubectl-dbcred.js'), join(plugins, 'kubectl-dbcred'));
      const kubectl = join(await binDir(['kubectl']), 'kubectl');
      const { stdout } = await execFileAsync(
        kubectl,
        ['dbcred', 'list', `--credential=${ns}/listed-pg`, `--instance=${ns}`, '-o', 'json'],
        {
          env: {
            ...process.env,
            KUBECONFIG: requireKube().kubeconfig,
            PATH: `${plugins}:${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`,
          },
        },
      );
      const listed = JSON.parse(stdout) as ListedUser[];
      expect(listed).toEqual([expect.objectContaining({ namespace: ns, credential: 'listed-pg', state: 'current' })]);
    } finally {
      await rm(plugins, { recursive: true, force: true });
    }
  });
});
