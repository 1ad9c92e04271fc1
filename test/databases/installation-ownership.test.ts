// Two installations on one server (I2): each installation's marker (<instance>@<cluster id>) is in
// the names of its users (and, on PostgreSQL, in their COMMENT), so neither lists, drops, extends or
// converges the other's users. The case that broke before: two clusters that both keep the default
// --instance share one MariaDB or PostgreSQL server, and each orphan sweep dropped the other's users.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Engine, NewUser } from '../../src/engines/engine.ts';
import { generatePassword } from '../../src/engines/password.ts';
import { installationMarker, usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';
import { requireDatabase } from '../../harness/environment.ts';
import { mariadbTarget, postgresTarget, type Target } from './engine-targets.ts';

const targets: Target[] = [postgresTarget(requireDatabase('postgres')), mariadbTarget(requireDatabase('mariadb'))];

/** The error code a failed operation threw, or 'no error'. */
async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (isDbcredError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe.each(targets)('two installations on one $label server', (target) => {
  // The default --instance in two clusters: only the kube-system uids differ.
  const markerA = installationMarker('dbcred', randomUUID());
  const markerB = installationMarker('dbcred', randomUUID());
  let a: Engine;
  let b: Engine;
  const issued: { engine: () => Engine; username: string }[] = [];

  const newUser = (engine: Engine, owner: () => Engine): NewUser => {
    const username = usernameFor(
      { credentialUid: randomUUID(), serial: 1, prefix: 'own', marker: engine.marker },
      engine.maxUsernameLength,
    );
    issued.push({ engine: owner, username });
    return { username, password: generatePassword(), expiresAt: new Date(Date.now() + 3_600_000), policy: {} };
  };
  const listed = async (engine: Engine) => (await engine.listOwnedUsers()).map((u) => u.username);

  beforeAll(() => {
    a = target.engine(undefined, { marker: markerA });
    b = target.engine(undefined, { marker: markerB });
  });

  afterAll(async () => {
    for (const { engine, username } of issued) await engine().revokeUser(username, {});
    await a.close();
    await b.close();
  });

  it('names their users differently and each lists only its own', async () => {
    const ofA = newUser(a, () => a);
    const ofB = newUser(b, () => b);
    await a.createUser(ofA);
    await b.createUser(ofB);
    expect(ofA.username.slice(0, 8)).not.toBe(ofB.username.slice(0, 8));
    expect(ofA.username.length).toBeLessThanOrEqual(target.info.engine === 'postgres' ? 63 : 32);

    const listedByA = await listed(a);
    const listedByB = await listed(b);
    expect(listedByA).toContain(ofA.username);
    expect(listedByA).not.toContain(ofB.username);
    expect(listedByB).toContain(ofB.username);
    expect(listedByB).not.toContain(ofA.username);
  });

  it("refuses to drop, converge or rotate the other installation's user, which keeps logging in", async () => {
    const ofA = newUser(a, () => a);
    await a.createUser(ofA);
    const session = await target.session(ofA);
    try {
      expect(await codeOf(b.revokeUser(ofA.username, {}))).toBe('DB_USER_CONFLICT');
      expect(await codeOf(b.createUser({ ...ofA, password: generatePassword() }))).toBe('DB_USER_CONFLICT');
      expect(await codeOf(b.rotatePassword({ username: ofA.username, password: generatePassword() }))).toBe('DB_USER_CONFLICT');

      // Its live session was not ended, its password not changed, and its owner still lists it.
      expect(await session.alive()).toBe(true);
      await a.verifyLogin(ofA);
      expect(await listed(a)).toContain(ofA.username);
    } finally {
      await session.close();
    }
  });

  it("survives the other installation's orphan sweep (every user it lists, dropped)", async () => {
    const ofA = newUser(a, () => a);
    const ofB = newUser(b, () => b);
    await a.createUser(ofA);
    await b.createUser(ofB);
    // What B's sweeper does when no DatabaseCredential of its cluster names a user it lists.
    for (const username of await listed(b)) await b.revokeUser(username, {});

    expect(await listed(b)).not.toContain(ofB.username);
    await expect(target.session(ofB)).rejects.toThrow();
    await a.verifyLogin(ofA);
    expect(await listed(a)).toContain(ofA.username);
  });
});
