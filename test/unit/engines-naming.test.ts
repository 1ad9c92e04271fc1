import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MYSQL_MAX_USERNAME_LENGTH } from '../../src/engines/mysql/mysql-statements.ts';
import { POSTGRES_MAX_USERNAME_LENGTH } from '../../src/engines/postgres/postgres-engine.ts';
import {
  USERNAME_PATTERN,
  assertGeneratedUsername,
  assertOwnUsername,
  installationMarker,
  installationTag,
  isUsernameFor,
  isUsernameOf,
  usernameFor,
  usernameTag,
} from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';

const limits = [MYSQL_MAX_USERNAME_LENGTH, POSTGRES_MAX_USERNAME_LENGTH];
// Two installations of the same --instance in two clusters (kube-system uids).
const marker = installationMarker('dbcred', '0b6c5f2e-7d1a-4e0c-9a51-3f1e2d4c5b6a');
const otherCluster = installationMarker('dbcred', 'c1d2e3f4-0000-4000-8000-00000000abcd');
const tag = installationTag(marker);

describe('usernameFor', () => {
  it('gives the same name for the same credential and serial, and a new one for the next serial', () => {
    const uid = '7b0e5a4e-0f4e-4c35-9d0b-1f2a3b4c5d6e';
    expect(usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker }, 32)).toBe(
      usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker }, 32),
    );
    expect(usernameFor({ credentialUid: uid, serial: 2, prefix: 'app', marker }, 32)).not.toBe(
      usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker }, 32),
    );
    expect(usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker }, 32)).toMatch(new RegExp(`^dbc${tag}_app_[a-z2-7]{16}$`));
    expect(usernameFor({ credentialUid: uid, serial: 1, marker }, 63)).toMatch(new RegExp(`^dbc${tag}_[a-z2-7]{16}$`));
  });

  it('carries the installation tag: two installations give two names for the same credential and serial', () => {
    const uid = '7b0e5a4e-0f4e-4c35-9d0b-1f2a3b4c5d6e';
    expect(marker).toBe('dbcred@0b6c5f2e-7d1a-4e0c-9a51-3f1e2d4c5b6a');
    expect(() => installationMarker('dbcred', '')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(tag).toMatch(/^[a-z2-7]{4}$/);
    expect(installationTag(otherCluster)).not.toBe(tag);
    expect(installationTag(installationMarker('team-b', '0b6c5f2e-7d1a-4e0c-9a51-3f1e2d4c5b6a'))).not.toBe(tag);
    const mine = usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker }, 32);
    const theirs = usernameFor({ credentialUid: uid, serial: 1, prefix: 'app', marker: otherCluster }, 32);
    expect(theirs).not.toBe(mine);
    expect(usernameTag(mine)).toBe(tag);
    expect(isUsernameOf(mine, marker)).toBe(true);
    expect(isUsernameOf(theirs, marker)).toBe(false);
    expect(usernameTag('dbc_app_aaaaaaaaaaaaaaaa')).toBeUndefined();
  });

  it('gives different tags to markers that differ anywhere (no collision across 2,000 clusters)', () => {
    const tags = new Set(Array.from({ length: 2000 }, (_, i) => installationTag(installationMarker('dbcred', `cluster-${i}`))));
    // 20 bits: the expected number of colliding pairs among 2,000 markers is about 2.
    expect(tags.size).toBeGreaterThanOrEqual(1990);
  });

  it('always starts with dbc and its tag, fits the engine limit (MySQL 8: 32) and needs no quoting', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { nil: undefined }),
        fc.constantFrom(...limits, 24, 25),
        fc.string({ minLength: 1 }),
        (credentialUid, serial, prefix, max, anyMarker) => {
          const name = usernameFor({ credentialUid, serial, marker: anyMarker, ...(prefix === undefined ? {} : { prefix }) }, max);
          expect(name.length).toBeLessThanOrEqual(max);
          expect(name).toMatch(USERNAME_PATTERN);
          expect(name).toMatch(/^dbc[a-z2-7]{4}_[a-z0-9_]+$/);
          expect(() => assertGeneratedUsername(name, max)).not.toThrow();
          expect(() => assertOwnUsername(name, max, anyMarker)).not.toThrow();
        },
      ),
    );
  });

  it('shortens the prefix before it would exceed the limit, and keeps the whole suffix', () => {
    // MySQL's 32: dbc + tag + _ (8) + 16 leave 8 for "<prefix>_", so 7 of the prefix's 8 characters.
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh', marker }, 32)).toMatch(
      new RegExp(`^dbc${tag}_abcdefg_[a-z2-7]{16}$`),
    );
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh', marker }, 63)).toMatch(
      new RegExp(`^dbc${tag}_abcdefgh_[a-z2-7]{16}$`),
    );
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh', marker }, 28)).toMatch(
      new RegExp(`^dbc${tag}_abc_[a-z2-7]{16}$`),
    );
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh', marker }, 25)).toMatch(new RegExp(`^dbc${tag}_[a-z2-7]{16}$`));
  });

  it('refuses a limit too small for the suffix, a bad prefix and a negative serial', () => {
    for (const bad of [
      () => usernameFor({ credentialUid: 'u', serial: 1, marker }, 23),
      () => usernameFor({ credentialUid: 'u', serial: 1, prefix: 'Bad', marker }, 32),
      () => usernameFor({ credentialUid: 'u', serial: -1, marker }, 32),
      () => usernameFor({ credentialUid: '', serial: 1, marker }, 32),
      () => usernameFor({ credentialUid: 'u', serial: 1, marker: '' }, 32),
    ])
      expect(() => bad()).toThrow(expect.objectContaining({ code: 'DB_INVALID_NAME' }));
  });
});

describe('assertGeneratedUsername', () => {
  it('refuses names usernameFor cannot make, so engines never drop a user they did not issue', () => {
    for (const name of [
      'postgres',
      'dbcred_admin',
      'dbc_',
      'dbc_X',
      'dbc_a"b',
      'dbc_abc;drop',
      `dbc_${'a'.repeat(60)}`,
      // The form before installation tags: no installation can tell it is its own.
      'dbc_app_abcdefghijklmnop',
      `dbc${tag}_abcdefghijklmno`,
      `dbc${tag}_app_abcdefghijklmnop;`,
      `dbc${tag.toUpperCase()}_abcdefghijklmnop`,
    ]) {
      let error: unknown;
      try {
        assertGeneratedUsername(name, 32);
      } catch (e) {
        error = e;
      }
      expect(isDbcredError(error, 'DB_INVALID_NAME')).toBe(true);
    }
  });
});

describe('assertOwnUsername', () => {
  it("refuses another installation's user as a conflict, and its own not at all", () => {
    const theirs = usernameFor({ credentialUid: 'u', serial: 1, prefix: 'app', marker: otherCluster }, 32);
    let error: unknown;
    try {
      assertOwnUsername(theirs, 32, marker);
    } catch (e) {
      error = e;
    }
    expect(isDbcredError(error, 'DB_USER_CONFLICT')).toBe(true);
    expect(() => assertOwnUsername(theirs, 32, otherCluster)).not.toThrow();
    expect(() => assertOwnUsername('postgres', 32, marker)).toThrow(expect.objectContaining({ code: 'DB_INVALID_NAME' }));
  });
});

describe('isUsernameFor: whether a credential issued a user', () => {
  const uid = '6f1c2d1e-0000-4000-8000-000000000001';

  it('recognises every name usernameFor gives for that uid and serial, with or without a prefix, on both engines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom(undefined, 'app', 'reports1'),
        fc.constantFrom(32, 63),
        (serial, prefix, max) => isUsernameFor(usernameFor({ credentialUid: uid, serial, prefix, marker }, max), uid, serial),
      ),
    );
  });

  it("refuses another serial's name, another credential's name and names it never gives", () => {
    const mine = usernameFor({ credentialUid: uid, serial: 3, prefix: 'app', marker }, 63);
    expect(isUsernameFor(mine, uid, 4)).toBe(false);
    expect(isUsernameFor(mine, '6f1c2d1e-0000-4000-8000-000000000002', 3)).toBe(false);
    expect(isUsernameFor('dbcred_admin', uid, 3)).toBe(false);
    expect(isUsernameFor('postgres', uid, 3)).toBe(false);
    expect(isUsernameFor(mine.replace('dbc', 'dbx'), uid, 3)).toBe(false);
    expect(isUsernameFor(mine.replace(`dbc${tag}_`, 'dbc_'), uid, 3)).toBe(false);
  });
});
