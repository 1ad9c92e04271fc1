// Pure rendering of an issued credential into Secret data: the default keys, and the user's
// template keys with only the known variables substituted. Values are not escaped for any
// language: the generated passwords and names use alphabets that need no escaping, and the URI
// percent-encodes what it embeds.
import type { SECRET_VARIABLES } from '../api/v1alpha1/templates.ts';

/** Everything a Secret may say about one issued user. */
export interface CredentialValues {
  engine: 'postgres' | 'mysql';
  username: string;
  password: string;
  host: string;
  port: number;
  database?: string;
  expiresAt: Date;
  /** The server's TLS mode: sslmode in the URLs. */
  tlsMode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** The CA (PEM) the server's certificate is checked against, when the server names one (verify-*). */
  caCert?: string;
}

/** The keys every dbcred Secret has. */
export const DEFAULT_KEYS = ['username', 'password', 'host', 'port', 'database', 'uri', 'jdbc-url'] as const;
/** The key holding the server's CA when its certificate is checked against one (the name cert-manager uses). */
export const CA_KEY = 'ca.crt';

/** An IPv6 literal goes in brackets in a URL (once). */
const urlHost = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** MySQL's ssl-mode (Connector/J's sslMode, MySQL URIs) for each TLS mode: the checks the server's owner asked for. */
const MYSQL_SSL_MODE = { disable: 'DISABLED', require: 'REQUIRED', 'verify-ca': 'VERIFY_CA', 'verify-full': 'VERIFY_IDENTITY' } as const;

/** uriOf returns the engine URL with the credentials percent-encoded. */
export function uriOf(v: CredentialValues): string {
  const auth = `${encodeURIComponent(v.username)}:${encodeURIComponent(v.password)}`;
  const host = urlHost(v.host);
  const db = v.database ? `/${encodeURIComponent(v.database)}` : '';
  if (v.engine === 'postgres') return `postgresql://${auth}@${host}:${v.port}${db}?sslmode=${v.tlsMode}`;
  return `mysql://${auth}@${host}:${v.port}${db}${v.tlsMode === 'disable' ? '' : `?ssl-mode=${MYSQL_SSL_MODE[v.tlsMode]}`}`;
}

/** jdbcUrlOf returns the JDBC URL without credentials (JDBC drivers take them as properties). */
export function jdbcUrlOf(v: CredentialValues): string {
  const host = urlHost(v.host);
  const db = v.database ? `/${encodeURIComponent(v.database)}` : '/';
  if (v.engine === 'postgres') return `jdbc:postgresql://${host}:${v.port}${db}?sslmode=${v.tlsMode}`;
  return `jdbc:mysql://${host}:${v.port}${db}?sslMode=${MYSQL_SSL_MODE[v.tlsMode]}`;
}

/** renderSecretData returns the Secret's string data: default keys, then template keys (which may override none of them). */
export function renderSecretData(v: CredentialValues, templates: Record<string, string> = {}): Record<string, string> {
  const variables: Record<(typeof SECRET_VARIABLES)[number], string> = {
    username: v.username,
    password: v.password,
    host: v.host,
    port: String(v.port),
    database: v.database ?? '',
    uri: uriOf(v),
    jdbcUrl: jdbcUrlOf(v),
    expiresAt: v.expiresAt.toISOString(),
    caCert: v.caCert ?? '',
  };
  const entries: [string, string][] = [
    ['username', variables.username],
    ['password', variables.password],
    ['host', variables.host],
    ['port', variables.port],
    ['database', variables.database],
    ['uri', variables.uri],
    ['jdbc-url', variables.jdbcUrl],
  ];
  if (v.caCert !== undefined && (v.tlsMode === 'verify-ca' || v.tlsMode === 'verify-full')) entries.push([CA_KEY, v.caCert]);
  for (const [key, template] of Object.entries(templates)) {
    if ((DEFAULT_KEYS as readonly string[]).includes(key) || key === CA_KEY) continue;
    // A function replacement, so "$&" in a password is inserted literally.
    entries.push([
      key,
      template.replace(/\{\{([a-zA-Z]+)\}\}/g, (whole, name: string) =>
        Object.hasOwn(variables, name) ? variables[name as keyof typeof variables] : whole,
      ),
    ]);
  }
  // fromEntries defines own properties, so even a key named "__proto__" is kept.
  return Object.fromEntries(entries);
}
