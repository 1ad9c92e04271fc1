import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mysqlPasswordHash } from '../../src/engines/mysql/mysql-password-hash.ts';
import { PASSWORD_ALPHABETS, generatePassword } from '../../src/engines/password.ts';
import { postgresPasswordHash } from '../../src/engines/postgres/postgres-password-hash.ts';

describe('generatePassword', () => {
  it('has the policy length, only the policy alphabet, and every character class', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 128 }),
        fc.constantFrom('alphanumeric' as const, 'alphanumeric-symbols' as const),
        (length, alphabet) => {
          const password = generatePassword({ length, alphabet });
          expect(password).toHaveLength(length);
          expect([...password].every((c) => PASSWORD_ALPHABETS[alphabet].includes(c))).toBe(true);
          expect(password).toMatch(/[A-Z]/);
          expect(password).toMatch(/[a-z]/);
          expect(password).toMatch(/[0-9]/);
          if (alphabet === 'alphanumeric-symbols') expect(password).toMatch(/[-_.~]/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never needs escaping in SQL, URLs or shells', () => {
    for (const alphabet of Object.values(PASSWORD_ALPHABETS)) expect(alphabet).toMatch(/^[A-Za-z0-9_.~-]+$/);
    const password = generatePassword({ length: 64, alphabet: 'alphanumeric-symbols' });
    expect(encodeURIComponent(password)).toBe(password);
  });

  it('does not repeat itself (crypto randomness: 1,000 draws, no duplicate)', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generatePassword()));
    expect(seen.size).toBe(1000);
  });

  it('uses each character of the alphabet about equally often', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++)
      for (const c of generatePassword({ length: 32, alphabet: 'alphanumeric' })) counts.set(c, (counts.get(c) ?? 0) + 1);
    const expected = (2000 * 32) / 62;
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.2);
  });
});

describe('postgresPasswordHash', () => {
  it('matches an independent SCRAM-SHA-256 computation (Python hashlib) for a fixed salt', async () => {
    const salt = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
    expect(await postgresPasswordHash('pencil', 4096, salt)).toBe(
      'SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=',
    );
  });

  it('uses a fresh salt each time and the requested iteration count', async () => {
    const a = await postgresPasswordHash('same', 1);
    const b = await postgresPasswordHash('same', 1);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^SCRAM-SHA-256\$1:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    await expect(postgresPasswordHash('x', 0)).rejects.toThrow(RangeError);
  });
});

describe('mysqlPasswordHash', () => {
  it("equals what PASSWORD('password') returns on MySQL and MariaDB", () => {
    expect(mysqlPasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  });
});
