// Generated passwords: crypto-random, from alphabets that never need escaping in SQL literals,
// URLs, shells or connection strings.
import { randomInt } from 'node:crypto';

/** How a generated password looks (a role's or static credential's passwordPolicy maps onto it as is). */
export interface PasswordPolicy {
  /** Number of characters (8-1024). */
  length: number;
  /** Which characters it draws from (see PASSWORD_ALPHABETS). */
  alphabet: 'alphanumeric' | 'alphanumeric-symbols';
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const SYMBOLS = '-_.~';

/** The characters each policy alphabet draws from. */
export const PASSWORD_ALPHABETS = {
  alphanumeric: UPPER + LOWER + DIGITS,
  'alphanumeric-symbols': UPPER + LOWER + DIGITS + SYMBOLS,
} as const satisfies Record<PasswordPolicy['alphabet'], string>;

// Password-strength plugins (MySQL validate_password, passwordcheck) want every class present.
function classes(alphabet: PasswordPolicy['alphabet']): string[] {
  return alphabet === 'alphanumeric' ? [UPPER, LOWER, DIGITS] : [UPPER, LOWER, DIGITS, SYMBOLS];
}

/**
 * generatePassword returns policy.length characters drawn uniformly (crypto.randomInt) from the
 * policy's alphabet, with at least one character of each class (upper, lower, digit, symbol when
 * the alphabet has symbols); a draw that misses a class is redrawn whole, so the result is uniform
 * over the valid passwords.
 */
export function generatePassword(policy: PasswordPolicy = { length: 32, alphabet: 'alphanumeric' }): string {
  if (!Number.isInteger(policy.length) || policy.length < 8 || policy.length > 1024)
    throw new RangeError(`password length ${policy.length} is outside 8-1024`);
  const alphabet = PASSWORD_ALPHABETS[policy.alphabet];
  const required = classes(policy.alphabet);
  for (;;) {
    let password = '';
    for (let i = 0; i < policy.length; i++) password += alphabet[randomInt(alphabet.length)];
    if (required.every((set) => [...password].some((c) => set.includes(c)))) return password;
  }
}
