// The four TLS modes as Node.js TLS options, shared by both drivers.
import type { ServerConnection } from './engine.ts';

/** Options for tls.connect: whether to check the chain, which CAs, and whether to check the host name. */
export interface TlsOptions {
  rejectUnauthorized: boolean;
  ca?: string;
  /** false: verify-ca (chain only). */
  verifyHostName: boolean;
}

/** tlsOptions maps a mode to TLS options, or undefined for disable; verify-* without a CA PEM trusts the system CAs. */
export function tlsOptions(tls: ServerConnection['tls']): TlsOptions | undefined {
  switch (tls.mode) {
    case 'disable':
      return undefined;
    case 'require':
      // Encryption without authentication of the server, as libpq's sslmode=require.
      return { rejectUnauthorized: false, verifyHostName: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, verifyHostName: false, ...(tls.caPem === undefined ? {} : { ca: tls.caPem }) };
    case 'verify-full':
      return { rejectUnauthorized: true, verifyHostName: true, ...(tls.caPem === undefined ? {} : { ca: tls.caPem }) };
  }
}
