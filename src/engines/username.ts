// Deterministic user names: the same credential and serial always give the same name, so a
// restart that finds a recorded `pending` name (I1) can finish or drop exactly that user.
import { createHash } from 'node:crypto';
import { DbcredError } from '../util/errors.ts';

/** Every user this operator creates starts with this marker (I2), so an orphan sweep can find them. */
export const USERNAME_MARKER = 'dbc_';

// Lowercase base32 (RFC 4648 letters, lowercased): never needs quoting in SQL, shells or URLs.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Characters of the hash suffix: 16 × 5 = 80 bits, so two live credentials never collide. */
export const SUFFIX_LENGTH = 16;

/** The pattern every generated name matches; engines refuse other user names. */
export const USERNAME_PATTERN = /^dbc_([a-z][a-z0-9]{0,7}_)?[a-z2-7]+$/;

export interface UsernameInput {
  /** metadata.uid of the DatabaseCredential: unique for the object's life. */
  credentialUid: string;
  /** Issue number within the credential (1 for the first user, then one more per rotation). */
  serial: number;
  /** The role's usernamePrefix: 1-8 lowercase letters and digits. */
  prefix?: string;
}

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length === length) break;
  }
  return out;
}

/**
 * usernameFor returns dbc_[<prefix>_]<suffix>, where the suffix is a hash of the credential uid and
 * serial; the result matches USERNAME_PATTERN and is at most maxLength characters (the prefix is
 * shortened first, then dropped, to fit).
 */
export function usernameFor(input: UsernameInput, maxLength: number): string {
  if (!Number.isSafeInteger(input.serial) || input.serial < 0)
    throw new DbcredError('DB_INVALID_NAME', `serial must be a non-negative integer, got ${input.serial}`);
  if (input.credentialUid.length === 0) throw new DbcredError('DB_INVALID_NAME', 'credentialUid must not be empty');
  if (input.prefix !== undefined && !/^[a-z][a-z0-9]{0,7}$/.test(input.prefix)) {
    throw new DbcredError('DB_INVALID_NAME', 'usernamePrefix must be 1-8 lowercase letters and digits, starting with a letter');
  }
  const suffixRoom = maxLength - USERNAME_MARKER.length;
  if (suffixRoom < SUFFIX_LENGTH)
    throw new DbcredError(
      'DB_INVALID_NAME',
      `user names of at most ${maxLength} characters cannot hold a ${SUFFIX_LENGTH}-character suffix`,
    );
  const digest = createHash('sha256').update(`${input.credentialUid}\n${input.serial}`).digest();
  const suffix = base32(digest, SUFFIX_LENGTH);
  // Room for "<prefix>_" after the marker and before the suffix.
  const prefixRoom = suffixRoom - SUFFIX_LENGTH - 1;
  const prefix = input.prefix?.slice(0, Math.max(0, prefixRoom));
  return prefix ? `${USERNAME_MARKER}${prefix}_${suffix}` : `${USERNAME_MARKER}${suffix}`;
}

/**
 * isUsernameFor tells whether name is one usernameFor gives for this credential uid and serial
 * (with any prefix): a status entry naming another user was not issued by that credential.
 */
export function isUsernameFor(name: string, credentialUid: string, serial: number): boolean {
  if (!USERNAME_PATTERN.test(name) || !Number.isSafeInteger(serial) || serial < 0) return false;
  const suffix = base32(createHash('sha256').update(`${credentialUid}\n${serial}`).digest(), SUFFIX_LENGTH);
  return name === `${USERNAME_MARKER}${suffix}` || (name.startsWith(USERNAME_MARKER) && name.endsWith(`_${suffix}`));
}

/** assertGeneratedUsername throws DB_INVALID_NAME unless name looks like usernameFor's output and fits maxLength. */
export function assertGeneratedUsername(name: string, maxLength: number): void {
  if (name.length > maxLength || !USERNAME_PATTERN.test(name)) {
    // The name is not a secret, but it may be hostile: show its length, not its text.
    throw new DbcredError(
      'DB_INVALID_NAME',
      `user name (${name.length} characters) is not a dbcred-generated name of at most ${maxLength} characters`,
    );
  }
}
