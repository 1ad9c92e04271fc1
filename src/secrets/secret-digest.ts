// What the operator knows of a Secret it wrote without keeping its data: the user it names and a
// hash of its data (compared with the annotation written beside it, so an edit by hand is noticed),
// and a hash of what it was rendered from (so a spec or server change is noticed). Pure.
import { createHash } from 'node:crypto';
import { renderSecretData, type CredentialValues } from './secret-data.ts';
import { DATA_HASH_ANNOTATION, LAYOUT_HASH_ANNOTATION } from './secret-metadata.ts';

/** What the operator needs to know of a Secret's data: whose it is and whether it is intact. */
export interface Digest {
  username?: string;
  dataHash: string;
}

/** The parts of a Secret object this module reads; `digest` replaces `data` in the cache. */
export interface DigestibleSecret {
  metadata: { annotations?: Record<string, string>; [key: string]: unknown };
  data?: Record<string, string>;
  digest?: Digest;
}

/** The parts of a credential's Secret spec its layout is made of. */
export interface SecretLayoutSpec {
  template?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** dataHash hashes Secret data (key → plain value) independently of key order. */
export function dataHash(data: Record<string, string>): string {
  const sorted = Object.keys(data)
    .sort()
    .map((k) => [k, data[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** decodeData turns a Secret's base64 data into plain values. */
export function decodeData(secret: DigestibleSecret): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** digestOf is the user a Secret names and the hash of its data, from its data or its cached digest. */
export function digestOf(secret: DigestibleSecret): Digest {
  if (secret.digest) return secret.digest;
  const data = decodeData(secret);
  return { username: data['username'], dataHash: dataHash(data) };
}

/**
 * digestSecret is the Secret informer's transform: the cache keeps, instead of the data, the user
 * it names and the hash of its data. No password stays in the operator's memory after it was
 * written, and a cached Secret takes a third of the memory.
 */
export function digestSecret<T extends DigestibleSecret>(secret: T): T {
  secret.digest = digestOf(secret);
  delete secret.data;
  return secret;
}

/** secretUsername is the user a Secret names (from its data or its cached digest). */
export const secretUsername = (secret: DigestibleSecret): string | undefined => digestOf(secret).username;

/** secretIsIntact tells whether the Secret still holds exactly what the operator wrote for this user. */
export function secretIsIntact(secret: DigestibleSecret | undefined, username: string): boolean {
  if (!secret) return false;
  const digest = digestOf(secret);
  return digest.username === username && secret.metadata.annotations?.[DATA_HASH_ANNOTATION] === digest.dataHash;
}

/**
 * layoutHash hashes everything a credential's Secret is rendered from except the password: the
 * user, its expiry, the server's address and TLS mode, the template, labels and annotations.
 */
export function layoutHash(spec: SecretLayoutSpec, values: Omit<CredentialValues, 'password'>): string {
  const shape = dataHash(renderSecretData({ ...values, password: '' }, spec.template));
  return dataHash({ shape, labels: dataHash(spec.labels ?? {}), annotations: dataHash(spec.annotations ?? {}) });
}

/**
 * secretLayoutIsStale: the Secret was rendered from another spec or server address than the
 * current ones (a Secret written before layouts were recorded is left alone).
 */
export function secretLayoutIsStale(secret: DigestibleSecret, layout: string): boolean {
  const recorded = secret.metadata.annotations?.[LAYOUT_HASH_ANNOTATION];
  return recorded !== undefined && recorded !== layout;
}
