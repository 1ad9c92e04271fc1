import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DatabaseCredential } from '../../../src/api/v1alpha1/index.ts';
import { secretNameOf, type SecretObject } from '../../../src/controllers/published-secret.ts';
import { dataHash, decodeData, digestSecret, secretIsIntact, secretUsername } from '../../../src/secrets/secret-digest.ts';
import { DATA_HASH_ANNOTATION } from '../../../src/secrets/secret-metadata.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const encode = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));

const plain = { username: 'dbc_app_abcdefghij234567', password: 'Xy7-pw', host: 'db', port: '5432', database: 'orders' };

/** A Secret as the operator writes it: base64 data and the hash annotation of the plain data. */
function secretOf(
  data: Record<string, string>,
  annotations: Record<string, string> = { [DATA_HASH_ANNOTATION]: dataHash(data) },
): SecretObject {
  return { metadata: { name: 'orders', namespace: 'app', annotations }, type: 'Opaque', data: encode(data) };
}

describe('dataHash', () => {
  it('is a hex SHA-256 digest', () => {
    expect(dataHash(plain)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of the keys', () => {
    const reversed = Object.fromEntries(Object.entries(plain).reverse());
    expect(Object.keys(reversed)).not.toEqual(Object.keys(plain));
    expect(dataHash(reversed)).toBe(dataHash(plain));
  });

  it('does not depend on key order, for any data', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.string()),
        (data) => dataHash(Object.fromEntries(Object.entries(data).reverse())) === dataHash(data),
      ),
    );
  });

  it('changes when any value changes', () => {
    for (const key of Object.keys(plain)) {
      expect(dataHash({ ...plain, [key]: `${plain[key as keyof typeof plain]}x` })).not.toBe(dataHash(plain));
    }
  });

  it('changes when a key is added, removed or renamed', () => {
    const { database: _d, ...fewer } = plain;
    expect(dataHash(fewer)).not.toBe(dataHash(plain));
    expect(dataHash({ ...plain, extra: '' })).not.toBe(dataHash(plain));
    expect(dataHash({ ...fewer, db: plain.database })).not.toBe(dataHash(plain));
  });

  it('cannot be fooled by moving characters between a key and its value, or between values', () => {
    expect(dataHash({ ab: 'c' })).not.toBe(dataHash({ a: 'bc' }));
    expect(dataHash({ a: 'xy', b: '' })).not.toBe(dataHash({ a: 'x', b: 'y' }));
    expect(dataHash({ a: '","b' })).not.toBe(dataHash({ a: '', b: '' }));
  });

  it('differs for data that differs in one value, for any data', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string(), { minKeys: 1 }), fc.string({ minLength: 1 }), (data, suffix) => {
        const key = Object.keys(data)[0]!;
        return dataHash({ ...data, [key]: `${data[key]}${suffix}` }) !== dataHash(data);
      }),
    );
  });
});

describe('decodeData', () => {
  it('turns base64 Secret data back into the plain UTF-8 values', () => {
    expect(decodeData(secretOf({ ...plain, note: 'grüße ✓' }))).toEqual({ ...plain, note: 'grüße ✓' });
  });

  it('gives an empty object for a Secret without data', () => {
    expect(decodeData({ metadata: { name: 'empty' } })).toEqual({});
  });

  it('reads back any string written as base64', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' })), (data) => {
        expect(decodeData({ metadata: { name: 's' }, data: encode(data) })).toEqual({ ...data });
      }),
    );
  });
});

describe('secretIsIntact', () => {
  it('is true for the Secret as the operator wrote it for this user', () => {
    expect(secretIsIntact(secretOf(plain), plain.username)).toBe(true);
  });

  it('is false when there is no Secret', () => {
    expect(secretIsIntact(undefined, plain.username)).toBe(false);
  });

  it('is false when the Secret names another user (for example the previous one)', () => {
    expect(secretIsIntact(secretOf(plain), 'dbc_app_other')).toBe(false);
  });

  it('is false when a value was edited by hand', () => {
    const secret = secretOf(plain);
    secret.data = { ...secret.data, password: b64('changed') };
    expect(secretIsIntact(secret, plain.username)).toBe(false);
  });

  it('is false when a key was added or removed by hand', () => {
    const added = secretOf(plain);
    added.data = { ...added.data, extra: b64('1') };
    expect(secretIsIntact(added, plain.username)).toBe(false);
    const removed = secretOf(plain);
    const { host: _h, ...rest } = removed.data!;
    removed.data = rest;
    expect(secretIsIntact(removed, plain.username)).toBe(false);
  });

  it('is false when the hash annotation is missing or wrong', () => {
    expect(secretIsIntact(secretOf(plain, {}), plain.username)).toBe(false);
    expect(secretIsIntact({ ...secretOf(plain), metadata: { name: 'orders' } }, plain.username)).toBe(false);
    expect(secretIsIntact(secretOf(plain, { [DATA_HASH_ANNOTATION]: dataHash({ ...plain, port: '1' }) }), plain.username)).toBe(false);
    expect(secretIsIntact(secretOf(plain, { 'dbcred.io/other': dataHash(plain) }), plain.username)).toBe(false);
  });

  it('is false when the Secret has no username at all', () => {
    const { username: _u, ...noUser } = plain;
    expect(secretIsIntact(secretOf(noUser), '')).toBe(false);
  });

  it('keeps working when other annotations or labels are added', () => {
    const secret = secretOf(plain, { [DATA_HASH_ANNOTATION]: dataHash(plain), 'kubectl.kubernetes.io/last-applied-configuration': '{}' });
    secret.metadata.labels = { team: 'payments' };
    expect(secretIsIntact(secret, plain.username)).toBe(true);
  });
});

describe('secretNameOf', () => {
  const credential = (secret: Record<string, unknown> = {}) =>
    DatabaseCredential.parse({
      apiVersion: 'dbcred.io/v1alpha1',
      kind: 'DatabaseCredential',
      metadata: { name: 'orders-reader', namespace: 'app' },
      spec: { roleRef: { name: 'reader' }, secret },
    });

  it('defaults to the credential name', () => {
    expect(secretNameOf(credential())).toBe('orders-reader');
  });

  it('uses spec.secret.name when given', () => {
    expect(secretNameOf(credential({ name: 'orders-db' }))).toBe('orders-db');
  });
});

describe('the cached digest of a Secret', () => {
  it('keeps no data (no password), yet tells whose the Secret is and whether it is intact', () => {
    const cached = digestSecret(secretOf(plain));
    expect(cached.data).toBeUndefined();
    expect(JSON.stringify(cached)).not.toContain(plain.password);
    expect(JSON.stringify(cached)).not.toContain(b64(plain.password));
    expect(secretUsername(cached)).toBe(plain.username);
    expect(secretIsIntact(cached, plain.username)).toBe(true);
    expect(secretIsIntact(cached, 'dbc_app_someoneelse234567')).toBe(false);
  });

  it('notices data edited by hand, as the full Secret would', () => {
    const edited = secretOf({ ...plain, host: 'elsewhere' }, { [DATA_HASH_ANNOTATION]: dataHash(plain) });
    expect(secretIsIntact(edited, plain.username)).toBe(false);
    expect(secretIsIntact(digestSecret(edited), plain.username)).toBe(false);
  });
});
