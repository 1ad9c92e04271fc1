// What a server logs in with changes: the server and the credentials on it say so within seconds
// (not at the server's minute re-check, nor at the credentials' next renewal), and the fix clears
// what they said.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import { SERVER_SECRET_LABEL } from '../../src/secrets/secret-metadata.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { waitFor } from '../../harness/processes.ts';
import { condition, get, issueCredential, startLab, userLogsIn, waitForCondition, type Lab } from '../../harness/lab.ts';

let lab: Lab;
let op: InProcessOperator;
let ns: string;

/** Well under the server's 60 s re-check: only the watch of its admin Secret gets there in time. */
const WITHIN_MS = 10_000;

beforeAll(async () => {
  lab = await startLab('server-changes');
  ns = lab.ns.name;
  op = await startOperator(ns);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await lab?.cleanup();
});

describe('a changed admin Secret', () => {
  it('shows on its server and on the credentials there within seconds, and the fix clears both', async () => {
    const login = await issueCredential(lab.client, ns, 'steady', 'pg-readers');
    // The server's check marks the Secrets it logs in with, so only those are watched.
    await waitFor(
      'the admin Secret to carry the server-secret label',
      async () => (await lab.client.get(Resources.Secret, 'pg-admin', ns)).metadata.labels?.[SERVER_SECRET_LABEL] === 'true',
      { timeoutMs: WITHIN_MS },
    );
    const good = lab.postgres.info.admin.password;
    const changedAt = Date.now();
    await lab.client.mergePatch(Resources.Secret, 'pg-admin', ns, { stringData: { password: 'not-the-admin-password' } });
    const server = await waitForCondition(lab.client, 'DatabaseServer', ns, 'pg', 'Ready', 'False', 'AuthenticationFailed', WITHIN_MS);
    expect(condition(server, 'Ready')?.message).not.toContain('not-the-admin-password');
    const cred = await waitForCondition(lab.client, 'DatabaseCredential', ns, 'steady', 'Rotating', 'False', 'ServerNotReady', WITHIN_MS);
    console.log(`a wrong admin password showed on the credential ${Date.now() - changedAt} ms after the Secret changed`);
    // Its user still works until it expires, and the credential says so.
    expect(condition(cred, 'Ready')?.status).toBe('True');
    expect(condition(cred, 'Rotating')?.message).toContain(`the current user stays until ${cred.status!.current!.expiresAt}`);
    expect(await userLogsIn(lab.postgres, login.user, login.password)).toBe(true);

    await lab.client.mergePatch(Resources.Secret, 'pg-admin', ns, { stringData: { password: good } });
    await waitForCondition(lab.client, 'DatabaseServer', ns, 'pg', 'Ready', 'True', undefined, WITHIN_MS);
    await waitFor(
      'the credential to stop saying it cannot rotate',
      async () => condition(await get(lab.client, 'DatabaseCredential', ns, 'steady'), 'Rotating') === undefined,
      { timeoutMs: WITHIN_MS },
    );
  });
});
