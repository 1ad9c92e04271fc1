import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MYSQL_MAX_USERNAME_LENGTH } from '../../src/engines/mysql/mysql-statements.ts';
import { POSTGRES_MAX_USERNAME_LENGTH } from '../../src/engines/postgres/postgres-engine.ts';
import { USERNAME_PATTERN, assertGeneratedUsername, isUsernameFor, usernameFor } from '../../src/engines/username.ts';
import { isDbcredError } from '../../src/util/errors.ts';

const limits = [MYSQL_MAX_USERNAME_LENGTH, POSTGRES_MAX_USERNAME_LENGTH];

describe('usernameFor', () => {
  it('gives the same name for the same credential and serial, and a new one for the next serial', () => {
    const uid = '7b0e5a4e-0f4e-4c35-9d0b-1f2a3b4c5d6e';
    expect(usernameFor({ credentialUid: uid, serial: 1, prefix: 'app' }, 32)).toBe(
      usernameFor({ credentialUid: uid, serial: 1, prefix: 'app' }, 32),
    );
    expect(usernameFor({ credentialUid: uid, serial: 2, prefix: 'app' }, 32)).not.toBe(
      usernameFor({ credentialUid: uid, serial: 1, prefix: 'app' }, 32),
    );
    expect(usernameFor({ credentialUid: uid, serial: 1, prefix: 'app' }, 32)).toMatch(/^dbc_app_[a-z2-7]{16}$/);
    expect(usernameFor({ credentialUid: uid, serial: 1 }, 63)).toMatch(/^dbc_[a-z2-7]{16}$/);
  });

  it('always starts with the dbc_ marker, fits the engine limit and needs no quoting', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { nil: undefined }),
        fc.constantFrom(...limits, 20, 21),
        (credentialUid, serial, prefix, max) => {
          const name = usernameFor({ credentialUid, serial, ...(prefix === undefined ? {} : { prefix }) }, max);
          expect(name.length).toBeLessThanOrEqual(max);
          expect(name).toMatch(USERNAME_PATTERN);
          expect(name).toMatch(/^dbc_[a-z0-9_]+$/);
          expect(() => assertGeneratedUsername(name, max)).not.toThrow();
        },
      ),
    );
  });

  it('shortens the prefix before it would exceed the limit, and keeps the whole suffix', () => {
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh' }, 24)).toMatch(/^dbc_abc_[a-z2-7]{16}$/);
    expect(usernameFor({ credentialUid: 'u', serial: 1, prefix: 'abcdefgh' }, 21)).toMatch(/^dbc_[a-z2-7]{16}$/);
  });

  it('refuses a limit too small for the suffix, a bad prefix and a negative serial', () => {
    for (const bad of [
      () => usernameFor({ credentialUid: 'u', serial: 1 }, 19),
      () => usernameFor({ credentialUid: 'u', serial: 1, prefix: 'Bad' }, 32),
      () => usernameFor({ credentialUid: 'u', serial: -1 }, 32),
      () => usernameFor({ credentialUid: '', serial: 1 }, 32),
    ])
      expect(() => bad()).toThrow(expect.objectContaining({ code: 'DB_INVALID_NAME' }));
  });
});

describe('assertGeneratedUsername', () => {
  it('refuses names usernameFor cannot make, so engines never drop a user they did not issue', () => {
    for (const name of ['postgres', 'dbcred_admin', 'dbc_', 'dbc_X', 'dbc_a"b', 'dbc_abc;drop', `dbc_${'a'.repeat(60)}`]) {
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

describe('isUsernameFor: whether a credential issued a user', () => {
  const uid = '6f1c2d1e-0000-4000-8000-000000000001';

  it('recognises every name usernameFor gives for that uid and serial, with or without a prefix, on both engines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom(undefined, 'app', 'reports1'),
        fc.constantFrom(32, 63),
        (serial, prefix, max) => isUsernameFor(usernameFor({ credentialUid: uid, serial, prefix }, max), uid, serial),
      ),
    );
  });

  it("refuses another serial's name, another credential's name and names it never gives", () => {
    const mine = usernameFor({ credentialUid: uid, serial: 3, prefix: 'app' }, 63);
    expect(isUsernameFor(mine, uid, 4)).toBe(false);
    expect(isUsernameFor(mine, '6f1c2d1e-0000-4000-8000-000000000002', 3)).toBe(false);
    expect(isUsernameFor('dbcred_admin', uid, 3)).toBe(false);
    expect(isUsernameFor('postgres', uid, 3)).toBe(false);
    expect(isUsernameFor(mine.replace('dbc_', 'dbx_'), uid, 3)).toBe(false);
  });
});
