// Deterministic user names: the same credential and serial always give the same name, so a
// restart that finds a recorded `pending` name (I1) can finish or drop exactly that user.
import { createHash } from 'node:crypto';
import { DbcredError } from '../util/errors.ts';

/**
 * Every user this operator creates starts with these letters (I2). Which installation owns it is
 * the installation tag that follows them (see usernameFor).
 */
export const USERNAME_MARKER = 'dbc';

// Lowercase base32 (RFC 4648 letters, lowercased): never needs quoting in SQL, shells or URLs.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Characters of the hash suffix: 16 × 5 = 80 bits, so two live credentials never collide. */
export const SUFFIX_LENGTH = 16;
/** Characters of the installation tag: 4 × 5 = 20 bits, so two installations differ but for 1 in a million. */
export const TAG_LENGTH = 4;
/** dbc + tag + "_": what every name starts with. */
const HEAD_LENGTH = USERNAME_MARKER.length + TAG_LENGTH + 1;

/** The pattern every generated name matches (group 1: the installation tag); engines refuse other user names. */
export const USERNAME_PATTERN = /^dbc([a-z2-7]{4})_(?:[a-z][a-z0-9]{0,7}_)?[a-z2-7]{16}$/;

/**
 * installationMarker names one installation in one cluster: `<instance>@<cluster id>` (the cluster
 * id is the kube-system Namespace's uid), so two clusters differ even when both keep the default
 * --instance. Engines write it where they can (PostgreSQL: COMMENT ON ROLE) and carry its tag in
 * every user name (both engines: MariaDB has no user comment).
 */
export function installationMarker(instance: string, clusterId: string): string {
  if (instance.length === 0 || clusterId.length === 0)
    throw new DbcredError('CONFIG_INVALID', 'the installation marker needs an instance name and a cluster id');
  return `${instance}@${clusterId}`;
}

/** installationTag returns the 4-character tag of a marker that generated user names carry. */
export function installationTag(marker: string): string {
  if (marker.length === 0) throw new DbcredError('DB_INVALID_NAME', 'the installation marker must not be empty');
  return base32(createHash('sha256').update(marker).digest(), TAG_LENGTH);
}

/** usernameHead returns how every name generated under this marker starts: dbc<tag>_. */
export function usernameHead(marker: string): string {
  return `${USERNAME_MARKER}${installationTag(marker)}_`;
}

/** usernameTag returns the installation tag of a generated name, or undefined for any other name. */
export function usernameTag(name: string): string | undefined {
  return USERNAME_PATTERN.exec(name)?.[1];
}

/** isUsernameOf tells whether name is a generated name that carries this marker's installation tag. */
export function isUsernameOf(name: string, marker: string): boolean {
  return usernameTag(name) === installationTag(marker);
}

export interface UsernameInput {
  /** metadata.uid of the DatabaseCredential: unique for the object's life. */
  credentialUid: string;
  /** Issue number within the credential (1 for the first user, then one more per rotation). */
  serial: number;
  /** The role's usernamePrefix: 1-8 lowercase letters and digits. */
  prefix?: string;
  /** The installation marker (Engine.marker): its tag goes into the name. */
  marker: string;
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
 * usernameFor returns dbc<tag>_[<prefix>_]<suffix>, where the tag is a hash of the installation
 * marker and the suffix a hash of the credential uid and serial; the result matches
 * USERNAME_PATTERN and is at most maxLength characters (the prefix is shortened first, then
 * dropped, to fit: MySQL's 32 keep 7 of its 8 characters).
 */
export function usernameFor(input: UsernameInput, maxLength: number): string {
  if (!Number.isSafeInteger(input.serial) || input.serial < 0)
    throw new DbcredError('DB_INVALID_NAME', `serial must be a non-negative integer, got ${input.serial}`);
  if (input.credentialUid.length === 0) throw new DbcredError('DB_INVALID_NAME', 'credentialUid must not be empty');
  if (input.prefix !== undefined && !/^[a-z][a-z0-9]{0,7}$/.test(input.prefix)) {
    throw new DbcredError('DB_INVALID_NAME', 'usernamePrefix must be 1-8 lowercase letters and digits, starting with a letter');
  }
  const head = usernameHead(input.marker);
  const suffixRoom = maxLength - HEAD_LENGTH;
  if (suffixRoom < SUFFIX_LENGTH)
    throw new DbcredError(
      'DB_INVALID_NAME',
      `user names of at most ${maxLength} characters cannot hold a ${SUFFIX_LENGTH}-character suffix`,
    );
  const digest = createHash('sha256').update(`${input.credentialUid}\n${input.serial}`).digest();
  const suffix = base32(digest, SUFFIX_LENGTH);
  // Room for "<prefix>_" after the head and before the suffix.
  const prefixRoom = suffixRoom - SUFFIX_LENGTH - 1;
  const prefix = input.prefix?.slice(0, Math.max(0, prefixRoom));
  return prefix ? `${head}${prefix}_${suffix}` : `${head}${suffix}`;
}

/**
 * isUsernameFor tells whether name is one usernameFor gives for this credential uid and serial
 * (with any prefix and any installation tag): a status entry naming another user was not issued
 * by that credential. Whose installation the name belongs to is the engines' check (isUsernameOf).
 */
export function isUsernameFor(name: string, credentialUid: string, serial: number): boolean {
  if (!USERNAME_PATTERN.test(name) || !Number.isSafeInteger(serial) || serial < 0) return false;
  const suffix = base32(createHash('sha256').update(`${credentialUid}\n${serial}`).digest(), SUFFIX_LENGTH);
  return name.endsWith(`_${suffix}`);
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

/**
 * assertOwnUsername is assertGeneratedUsername plus ownership (I2): a generated name that carries
 * another installation's tag is DB_USER_CONFLICT, so an engine never creates, extends or drops a
 * user that another installation sharing the server issued.
 */
export function assertOwnUsername(name: string, maxLength: number, marker: string): void {
  assertGeneratedUsername(name, maxLength);
  assertNotForeign(name, marker);
}

/**
 * assertNotForeign throws DB_USER_CONFLICT when name is a generated name of another installation;
 * any other name passes (a static user's password may be rotated, PostgreSQL's own checks apply).
 */
export function assertNotForeign(name: string, marker: string): void {
  const tag = usernameTag(name);
  if (tag !== undefined && tag !== installationTag(marker)) {
    throw new DbcredError(
      'DB_USER_CONFLICT',
      `user ${name} carries the tag of another dbcred installation (not ${installationTag(marker)}); leaving it alone`,
    );
  }
}
