// One writer, as the chart runs it: two real operator processes with leader election on. A leader
// frozen in the middle of an issuance (SIGSTOP at a failpoint) until the other replica has taken
// over and finished that issuance must, once it runs again, change nothing: the Secret keeps a
// password the database accepts, and no user is lost or left behind. The same holds when only the
// leader loses the apiserver.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { requireKube } from '../../harness/environment.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { startTcpProxy, type TcpProxy } from '../../harness/tcp-proxy.ts';
import { create, secretData, sql, startLab, waitForCondition, type Lab } from '../../harness/lab.ts';
import { createTestNamespace } from '../../harness/kube-client.ts';
import { REPO_ROOT } from '../../harness/binaries.ts';

let lab: Lab;
let dir: string;
const running: OperatorProcess[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  lab = await startLab('writer');
  dir = await mkdtemp(join(tmpdir(), 'dbcred-writer-'));
}, 120_000);

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.pid && p.child.exitCode === null) process.kill(p.child.pid, 'SIGCONT');
    await p.stop();
  }
  for (const proxy of proxies.splice(0)) await proxy.close();
});

afterAll(async () => {
  await lab?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Short lease timings so a take-over happens within seconds. */
const ELECTION = ['--leader-elect=true', '--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms'];

async function replica(
  identity: string,
  extra: { failpoint?: string; kubeconfig?: string; flags?: string[] } = {},
): Promise<OperatorProcess> {
  const p = await startOperatorProcess({
    namespace: lab.ns.name,
    dir,
    name: identity,
    ...(extra.failpoint ? { failpoint: extra.failpoint, env: { DBCRED_FAILPOINT_ACTION: 'pause' } } : {}),
    flags: [
      ...ELECTION,
      `--identity=${identity}`,
      `--leader-election-namespace=${lab.ns.name}`,
      ...(extra.kubeconfig ? [`--kubeconfig=${extra.kubeconfig}`] : []),
      ...(extra.flags ?? []),
    ],
  });
  running.push(p);
  return p;
}

async function leaseHolder(namespace = lab.ns.name): Promise<string | undefined> {
  try {
    const lease = await lab.client.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, 'dbcred-operator', namespace);
    return lease.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

/** stopped: the process is frozen by SIGSTOP (state T in /proc). */
async function stopped(p: OperatorProcess): Promise<boolean> {
  const stat = await readFile(`/proc/${p.child.pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

async function logsIn(user: string, password: string): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port: lab.postgres.info.port, database: 'app', user, password });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function issuedUsers(): Promise<string[]> {
  const rows = await sql(lab.postgres, ["SELECT rolname FROM pg_roles WHERE rolname ~ '^dbc([a-z2-7]{4})?_' ORDER BY 1"]);
  return rows.map((r) => String(r['rolname']));
}

/** The credential converged: Ready with one user, which the Secret names with a password the database accepts. */
async function expectOneWorkingUser(name: string): Promise<void> {
  const cred = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
  expect(cred.status?.pending).toBeUndefined();
  const data = (await secretData(lab.client, lab.ns.name, name))!;
  expect(data['username']).toBe(cred.status!.current!.username);
  expect(await logsIn(data['username']!, data['password']!)).toBe(true);
  expect((await issuedUsers()).filter((u) => u === cred.status!.current!.username)).toHaveLength(1);
}

describe('two replicas with leader election', () => {
  // after-intent-recorded: its next step, CREATE USER on the name the other replica completed, would
  // reset that user's password under the published Secret; the later ones would verify or publish
  // a password the database no longer has.
  it.each(['after-intent-recorded', 'after-user-created', 'after-user-verified'])(
    'a leader frozen %s, resumed after the other replica finished the issuance, changes nothing',
    async (failpoint) => {
      const before = await issuedUsers();
      const a = await replica(`a-${failpoint}`, { failpoint });
      await waitFor('replica a to lead', async () => (await leaseHolder()) === `a-${failpoint}`, { timeoutMs: 20_000 });
      const b = await replica(`b-${failpoint}`);
      const name = `frozen-${failpoint}`;
      await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'pg-readers' } });
      await waitFor(`replica a to freeze at ${failpoint}`, () => stopped(a), { timeoutMs: 20_000, onTimeout: () => a.log() });
      // b takes the lease once a's has run out, and completes the very issuance a began.
      await waitFor('replica b to lead', async () => (await leaseHolder()) === `b-${failpoint}`, {
        timeoutMs: 20_000,
        onTimeout: () => b.log(),
      });
      await expectOneWorkingUser(name);
      const published = (await secretData(lab.client, lab.ns.name, name))!;
      // a runs again: its next step would reset the user's password or publish its own.
      process.kill(a.child.pid!, 'SIGCONT');
      const exit = await a.exited;
      expect(exit.code).not.toBe(0);
      expect(a.log()).toMatch(/no longer holds the leader lease|stopped leading/);
      expect(await secretData(lab.client, lab.ns.name, name)).toEqual(published);
      await expectOneWorkingUser(name);
      const after = await issuedUsers();
      expect(after.filter((u) => !before.includes(u))).toHaveLength(1);
    },
    90_000,
  );

  it('a leader cut off from the apiserver in the middle of an issuance stops before the other replica takes over', async () => {
    // Replica a reaches the apiserver through a proxy the test can silence; b directly.
    const kube = requireKube();
    const config = parse(await readFile(kube.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    const target = new URL(config.clusters[0]!.cluster.server);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    proxies.push(proxy);
    config.clusters[0]!.cluster.server = `https://${target.hostname}:${proxy.port}`;
    const kubeconfig = join(dir, 'via-proxy.kubeconfig');
    await writeFile(kubeconfig, stringify(config));

    const before = await issuedUsers();
    const a = await replica('a-cut', { failpoint: 'after-user-verified', kubeconfig });
    await waitFor('replica a to lead', async () => (await leaseHolder()) === 'a-cut', { timeoutMs: 20_000 });
    const b = await replica('b-cut');
    await create(lab.client, 'DatabaseCredential', lab.ns.name, 'cut-off', { roleRef: { name: 'pg-readers' } });
    await waitFor('replica a to reach the failpoint', () => stopped(a), { timeoutMs: 20_000, onTimeout: () => a.log() });
    // From here a's requests go nowhere: its Secret write and its lease renewals are lost.
    proxy.freeze();
    process.kill(a.child.pid!, 'SIGCONT');
    await waitFor('replica b to lead', async () => (await leaseHolder()) === 'b-cut', { timeoutMs: 30_000, onTimeout: () => b.log() });
    await expectOneWorkingUser('cut-off');
    const published = (await secretData(lab.client, lab.ns.name, 'cut-off'))!;
    const exit = await a.exited;
    expect(exit.code).not.toBe(0);
    proxy.restore();
    expect(await secretData(lab.client, lab.ns.name, 'cut-off')).toEqual(published);
    await expectOneWorkingUser('cut-off');
    expect((await issuedUsers()).filter((u) => !before.includes(u))).toHaveLength(1);
    await lab.client.delete(DbcredResources.DatabaseCredential, 'cut-off', lab.ns.name);
  }, 90_000);
});

describe('one audit trail across leader changes', () => {
  it("continues from the head the last leader left on the Lease: both replicas' logs verify as one keyed chain", async () => {
    // Its own Lease, so no earlier test's leader hands over a head from another trail.
    const election = await createTestNamespace('trail');
    try {
      const keyFile = join(dir, 'audit.key');
      await writeFile(keyFile, `${'k'.repeat(32)}\n`);
      // As the chart runs it: records on the process's stderr, beside the log, keyed from a file.
      const flags = ['--audit-log=-', `--audit-key-file=${keyFile}`, `--leader-election-namespace=${election.name}`];
      const a = await replica('trail-a', { flags });
      await waitFor('replica a to lead', async () => (await leaseHolder(election.name)) === 'trail-a', { timeoutMs: 20_000 });
      const b = await replica('trail-b', { flags });
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'trail-1', { roleRef: { name: 'pg-readers' } });
      await expectOneWorkingUser('trail-1');
      await a.stop(); // SIGTERM: the release carries the final head
      await waitFor('replica b to lead', async () => (await leaseHolder(election.name)) === 'trail-b', { timeoutMs: 20_000 });
      await create(lab.client, 'DatabaseCredential', lab.ns.name, 'trail-2', { roleRef: { name: 'pg-readers' } });
      await expectOneWorkingUser('trail-2');
      await b.stop();
      const issued = (log: string) => log.split('\n').filter((l) => l.includes('"action":"issue"')).length;
      expect(issued(a.log())).toBeGreaterThan(0);
      expect(issued(b.log())).toBeGreaterThan(0);

      const verify = (...args: string[]) =>
        spawnSync(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), 'audit', 'verify', ...args], { encoding: 'utf8' });
      const keyed = verify(b.logFile, a.logFile, `--key-file=${keyFile}`);
      expect(keyed.stderr).toBe('');
      expect(keyed.stdout).toMatch(/^audit trail intact: \d+ records\n$/); // one chain, no fork
      expect(keyed.status).toBe(0);
      // Without a's log the trail has a hole; without the key nothing verifies.
      expect(verify(b.logFile, `--key-file=${keyFile}`).stderr).toContain('is missing (removed, or a log was not collected)');
      expect(verify(a.logFile, b.logFile).stderr).toContain('hash does not match');
    } finally {
      await election.cleanup();
    }
  }, 90_000);
});
