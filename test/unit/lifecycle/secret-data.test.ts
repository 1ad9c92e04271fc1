import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PASSWORD_ALPHABETS } from '../../../src/engines/password.ts';
import { CA_KEY, DEFAULT_KEYS, jdbcUrlOf, renderSecretData, uriOf, type CredentialValues } from '../../../src/secrets/secret-data.ts';

const expiresAt = new Date('2026-11-29T13:00:00.000Z');

const pg: CredentialValues = {
  engine: 'postgres',
  username: 'dbc_app_abcdefgh23456723',
  password: 'S3cret-_.~pw',
  host: 'db.example.internal',
  port: 5432,
  database: 'orders',
  expiresAt,
  tlsMode: 'verify-full',
};
const my: CredentialValues = { ...pg, engine: 'mysql', port: 3306, tlsMode: 'require' };

describe('the default Secret keys', () => {
  it('are all present, with the plain values, for both engines', () => {
    for (const v of [pg, my]) {
      const data = renderSecretData(v);
      expect(Object.keys(data).sort()).toEqual([...DEFAULT_KEYS].sort());
      expect(data).toMatchObject({ username: v.username, password: v.password, host: v.host, port: String(v.port), database: 'orders' });
    }
  });

  it('are present even without a database (database is then empty)', () => {
    const { database: _omit, ...noDb } = pg;
    const data = renderSecretData(noDb);
    expect(Object.keys(data).sort()).toEqual([...DEFAULT_KEYS].sort());
    expect(data['database']).toBe('');
    expect(data['uri']).toBe(`postgresql://${pg.username}:${pg.password}@db.example.internal:5432?sslmode=verify-full`);
  });
});

describe('the ca.crt key', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it("holds the server's CA when its certificate is checked against one, so clients can check it too", () => {
    for (const tlsMode of ['verify-ca', 'verify-full'] as const) {
      for (const v of [pg, my]) expect(renderSecretData({ ...v, tlsMode, caCert: ca })[CA_KEY]).toBe(ca);
    }
  });

  it('is absent when nothing is checked or no CA was named (the system CAs are used)', () => {
    expect(renderSecretData({ ...pg, tlsMode: 'require', caCert: ca })).not.toHaveProperty(CA_KEY);
    expect(renderSecretData(pg)).not.toHaveProperty(CA_KEY);
  });

  it('cannot be replaced by a template key, and is a template variable', () => {
    const data = renderSecretData({ ...pg, caCert: ca }, { [CA_KEY]: 'forged', 'root.pem': '{{caCert}}' });
    expect(data[CA_KEY]).toBe(ca);
    expect(data['root.pem']).toBe(ca);
  });
});

describe('the uri key', () => {
  it('is a postgresql:// URL that carries the server TLS mode as sslmode', () => {
    expect(uriOf(pg)).toBe(`postgresql://${pg.username}:${pg.password}@db.example.internal:5432/orders?sslmode=verify-full`);
    for (const tlsMode of ['disable', 'require', 'verify-ca', 'verify-full'] as const) {
      expect(new URL(uriOf({ ...pg, tlsMode })).searchParams.get('sslmode')).toBe(tlsMode);
    }
  });

  it("is a mysql:// URL that carries MySQL's ssl-mode when TLS is on, and no query without TLS", () => {
    expect(uriOf(my)).toBe(`mysql://${my.username}:${my.password}@db.example.internal:3306/orders?ssl-mode=REQUIRED`);
    expect(uriOf({ ...my, tlsMode: 'verify-full' })).toMatch(/\?ssl-mode=VERIFY_IDENTITY$/);
    expect(uriOf({ ...my, tlsMode: 'verify-ca' })).toMatch(/\?ssl-mode=VERIFY_CA$/);
    expect(uriOf({ ...my, tlsMode: 'disable' })).toBe(`mysql://${my.username}:${my.password}@db.example.internal:3306/orders`);
  });

  it('percent-encodes credentials and database so reserved characters cannot change the URL structure', () => {
    const uri = uriOf({ ...pg, username: 'a@b:c', password: 'p/w?d#%@:', database: 'my db/x' });
    expect(uri).toBe('postgresql://a%40b%3Ac:p%2Fw%3Fd%23%25%40%3A@db.example.internal:5432/my%20db%2Fx?sslmode=verify-full');
    const url = new URL(uri);
    expect(url.hostname).toBe('db.example.internal');
    expect(decodeURIComponent(url.password)).toBe('p/w?d#%@:');
  });

  it('puts an IPv6 host in brackets, in the uri and in the jdbc-url', () => {
    const v6 = { ...pg, host: 'fd00::1' };
    expect(uriOf(v6)).toBe(`postgresql://${pg.username}:${pg.password}@[fd00::1]:5432/orders?sslmode=verify-full`);
    expect(new URL(uriOf(v6)).hostname).toBe('[fd00::1]');
    expect(new URL(uriOf({ ...v6, engine: 'mysql' })).port).toBe('5432');
    expect(jdbcUrlOf(v6)).toBe('jdbc:postgresql://[fd00::1]:5432/orders?sslmode=verify-full');
  });

  it('gives back the exact username and password when parsed, for any generated password, on both engines', () => {
    const username = fc.stringMatching(/^dbc_([a-z][a-z0-9]{0,7}_)?[a-z2-7]{16}$/);
    const password = (alphabet: string) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: 8, maxLength: 128 });
    for (const alphabet of Object.values(PASSWORD_ALPHABETS)) {
      fc.assert(
        fc.property(username, password(alphabet), fc.constantFrom('postgres' as const, 'mysql' as const), (user, pass, engine) => {
          const url = new URL(uriOf({ ...pg, engine, username: user, password: pass }));
          return (
            decodeURIComponent(url.username) === user &&
            decodeURIComponent(url.password) === pass &&
            url.hostname === pg.host &&
            url.pathname === '/orders'
          );
        }),
        { numRuns: 500 },
      );
    }
  });

  it('gives back any username and password, even ones outside the generated alphabets', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (user, pass) => {
        const url = new URL(uriOf({ ...my, username: user, password: pass }));
        return decodeURIComponent(url.username) === user && decodeURIComponent(url.password) === pass && url.hostname === my.host;
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the jdbc-url key', () => {
  it('never contains the username or password', () => {
    for (const v of [pg, my]) {
      const jdbc = renderSecretData(v)['jdbc-url']!;
      expect(jdbc).not.toContain(v.username);
      expect(jdbc).not.toContain(v.password);
      expect(jdbc).not.toContain('@');
    }
  });

  it('names the PostgreSQL driver and carries sslmode', () => {
    expect(jdbcUrlOf(pg)).toBe('jdbc:postgresql://db.example.internal:5432/orders?sslmode=verify-full');
  });

  it.each([
    ['disable', 'DISABLED'],
    ['require', 'REQUIRED'],
    ['verify-ca', 'VERIFY_CA'],
    ['verify-full', 'VERIFY_IDENTITY'],
  ] as const)('asks the MySQL driver for the same checks as TLS mode %s (sslMode=%s)', (tlsMode, sslMode) => {
    expect(jdbcUrlOf({ ...my, tlsMode })).toBe(`jdbc:mysql://db.example.internal:3306/orders?sslMode=${sslMode}`);
  });

  it('percent-encodes the database name and brackets an IPv6 host once', () => {
    expect(jdbcUrlOf({ ...pg, database: 'a/b?c' })).toContain('/a%2Fb%3Fc?sslmode=');
    expect(jdbcUrlOf({ ...pg, host: '[::1]' })).toMatch(/^jdbc:postgresql:\/\/\[::1\]:/);
    expect(uriOf({ ...pg, host: '::1' })).toContain('@[::1]:');
  });

  it('ends with a slash when there is no database', () => {
    const { database: _omit, ...noDb } = my;
    expect(jdbcUrlOf({ ...noDb, tlsMode: 'disable' })).toBe('jdbc:mysql://db.example.internal:3306/?sslMode=DISABLED');
  });

  it('keeps a template key named __proto__ as an ordinary key', () => {
    const data = renderSecretData(pg, JSON.parse('{"__proto__":"{{username}}"}') as Record<string, string>);
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toBe(pg.username);
  });
});

describe('template keys', () => {
  it('render every known variable', () => {
    const data = renderSecretData(pg, {
      DATABASE_URL: 'postgres://{{username}}:{{password}}@{{host}}:{{port}}/{{database}}',
      ALL: '{{uri}}|{{jdbcUrl}}|{{expiresAt}}',
    });
    expect(data['DATABASE_URL']).toBe(`postgres://${pg.username}:${pg.password}@db.example.internal:5432/orders`);
    expect(data['ALL']).toBe(`${uriOf(pg)}|${jdbcUrlOf(pg)}|2026-11-29T13:00:00.000Z`);
  });

  it('render the same variable as often as it appears', () => {
    expect(renderSecretData(pg, { twice: '{{port}}-{{port}}' })['twice']).toBe('5432-5432');
  });

  it('leave unknown or malformed placeholders as written', () => {
    const data = renderSecretData(pg, { k: '{{x}} {{Username}} {{ username }} {{toString}} {{constructor}} {username}' });
    expect(data['k']).toBe('{{x}} {{Username}} {{ username }} {{toString}} {{constructor}} {username}');
  });

  it('insert values literally, even when they contain replacement patterns like $&', () => {
    const data = renderSecretData({ ...pg, password: 'a$&b$1c$$' }, { k: '[{{password}}]' });
    expect(data['k']).toBe('[a$&b$1c$$]');
  });

  it('cannot override a default key', () => {
    const templates = Object.fromEntries(DEFAULT_KEYS.map((k) => [k, 'overridden {{username}}']));
    const data = renderSecretData(pg, { ...templates, extra: 'kept' });
    expect(data).toEqual({ ...renderSecretData(pg), extra: 'kept' });
  });

  it('are written in addition to the default keys, verbatim when they have no placeholders', () => {
    const data = renderSecretData(my, { 'app.properties': 'pool=10' });
    expect(data['app.properties']).toBe('pool=10');
    expect(Object.keys(data)).toHaveLength(DEFAULT_KEYS.length + 1);
  });
});
