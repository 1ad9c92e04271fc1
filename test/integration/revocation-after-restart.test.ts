// Revocation survives any restart: while users issued on a server live, the server and its admin
// Secret are held by finalizers, so a namespace deleted while the operator is down still has what
// revocation needs when a fresh operator process starts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { isNotFound } from '../../src/runtime/kube/errors.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { waitFor } from '../../harness/processes.ts';
import { create, sql, startLab, waitForCondition, type Lab } from '../../harness/lab.ts';

let lab: Lab;
let doomed: TestNamespace;
let op: InProcessOperator | undefined;

beforeAll(async () => {
  lab = await startLab('restart');
  doomed = await createTestNamespace('doomed');
  await lab.client.create(Resources.Secret, {
    metadata: { name: 'pg-admin', namespace: doomed.name },
    stringData: { username: lab.postgres.info.admin.user, password: lab.postgres.info.admin.password },
  });
  await create(lab.client, 'DatabaseServer', doomed.name, 'pg', {
    engine: 'postgres',
    host: '127.0.0.1',
    port: lab.postgres.info.port,
    database: 'app',
    adminCredentialsSecretRef: { name: 'pg-admin' },
    tls: { mode: 'disable' },
  });
  await create(lab.client, 'DatabaseRole', doomed.name, 'readers', { serverRef: { name: 'pg' }, memberOf: ['app_readers'] });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await doomed?.cleanup();
  await lab?.cleanup();
});

async function roleExists(username: string): Promise<boolean> {
  const rows = await sql(lab.postgres, [`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = '${username}'`]);
  return rows[0]?.['n'] === 1;
}

describe('a namespace deleted while the operator is down', () => {
  it('keeps its server and admin Secret until a restarted operator has revoked every user in it', async () => {
    op = await startOperator(doomed.name);
    await create(lab.client, 'DatabaseCredential', doomed.name, 'app', { roleRef: { name: 'readers' } });
    const cred = await waitForCondition(lab.client, 'DatabaseCredential', doomed.name, 'app', 'Ready', 'True');
    const username = cred.status!.current!.username;
    expect(await roleExists(username)).toBe(true);
    // Held while the user lives.
    await waitFor(
      'the server and its admin Secret to be held',
      async () => {
        const server = await lab.client.get<KubeObject>(DbcredResources.DatabaseServer, 'pg', doomed.name);
        const secret = await lab.client.get<KubeObject>(Resources.Secret, 'pg-admin', doomed.name);
        return (
          (server.metadata.finalizers ?? []).includes('dbcred.io/issued-users') &&
          (secret.metadata.finalizers ?? []).some((f) => f.startsWith('in-use.dbcred.io/'))
        );
      },
      { timeoutMs: 20_000 },
    );

    await op.stop();
    op = undefined;
    await doomed.cleanup();
    // The namespace controller deletes what it can; the server and the Secret stay, held.
    await waitFor(
      'the server and its admin Secret to be marked for deletion, and kept',
      async () => {
        const server = await lab.client.get<KubeObject>(DbcredResources.DatabaseServer, 'pg', doomed.name);
        const secret = await lab.client.get<KubeObject>(Resources.Secret, 'pg-admin', doomed.name);
        return server.metadata.deletionTimestamp !== undefined && secret.metadata.deletionTimestamp !== undefined;
      },
      { timeoutMs: 30_000 },
    );

    // A fresh process: nothing of the old one's memory.
    op = await startOperator(doomed.name);
    await waitFor(
      'the namespace to be gone',
      async () => {
        try {
          await lab.client.get(Resources.Namespace, doomed.name);
          return false;
        } catch (error) {
          if (isNotFound(error)) return true;
          throw error;
        }
      },
      { timeoutMs: 60_000 },
    );
    expect(await roleExists(username)).toBe(false);
    expect(op.audit.map((l) => JSON.parse(l) as { action: string; username?: string }).filter((r) => r.action === 'revoke')).toEqual([
      expect.objectContaining({ username, reason: 'deleted' }),
    ]);
  }, 150_000);
});
