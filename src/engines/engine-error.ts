// Turning a driver error into a DbcredError without leaking secrets. Driver errors can carry the
// statement text (mysql2's `sql`, pg's `internalQuery`) and servers echo values back ("invalid
// input syntax for type integer: "<value>"", "... near '<text>'"), so the original error is never
// kept as a cause: only its code and a redacted copy of the server's message survive.
import { DbcredError, type ErrorCode } from '../util/errors.ts';

/** Text of a withheld server message. */
export const WITHHELD = '(server message withheld: it echoed statement text)';

// A message that still contains this much of a secret after exact redaction is dropped whole:
// servers truncate echoed statements, so a secret can appear cut in half.
const FRAGMENT = 6;
const MAX_MESSAGE = 300;

/** redactServerMessage removes every secret from a server message, or withholds the message when a fragment of one remains. */
export function redactServerMessage(message: string, secrets: readonly string[]): string {
  let text = message;
  const live = secrets.filter((s) => s.length > 0);
  for (const secret of live) text = text.split(secret).join('[REDACTED]');
  for (const secret of live) {
    for (let i = 0; i + FRAGMENT <= secret.length; i++) {
      if (text.includes(secret.slice(i, i + FRAGMENT))) return WITHHELD;
    }
    // Secrets shorter than the window are only redacted exactly (above).
  }
  // Echoed statement text ("near '...'", "at or near \"...\"") is never worth the risk.
  text = text.replace(/\s(at or )?near\s[\s\S]*$/, ' (near ...)');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}...` : text;
}

/** A driver failure reduced to what is safe to keep: the server's code and a redacted message. */
export class DatabaseErrorSummary extends Error {
  /** SQLSTATE (PostgreSQL) or errno/code name (MySQL), or a Node.js socket/TLS code. */
  readonly code: string | undefined;

  constructor(code: string | undefined, message: string) {
    super(message);
    this.name = 'DatabaseErrorSummary';
    this.code = code;
  }
}

/** Fields a driver error may have; everything else (sql, query, parameters) is ignored on purpose. */
export interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  sqlMessage?: unknown;
}

/** driverErrorFields reads the few fields of a driver error we inspect, tolerating any thrown value. */
export function driverErrorFields(error: unknown): { code: string | undefined; errno: number | undefined; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as DriverErrorShape;
  return {
    code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : undefined,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: typeof e.sqlMessage === 'string' ? e.sqlMessage : typeof e.message === 'string' ? e.message : String(error),
  };
}

/** engineError builds a DbcredError whose message and cause hold no secret: `what` is ours, the server's text is redacted. */
export function engineError(
  code: ErrorCode,
  what: string,
  driver: { code: string | undefined; message: string } | undefined,
  secrets: readonly string[],
  retryable?: boolean,
): DbcredError {
  if (driver === undefined) return new DbcredError(code, what, { retryable });
  const server = redactServerMessage(driver.message, secrets);
  const codeText = driver.code === undefined ? '' : ` [${driver.code}]`;
  return new DbcredError(code, `${what}: ${server}${codeText}`, {
    retryable,
    cause: new DatabaseErrorSummary(driver.code, server),
  });
}

/** Node.js socket and TLS error codes that mean "could not reach the server". */
export const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/** isTlsFailure tells whether a driver error is a TLS handshake or certificate problem. */
export function isTlsFailure(code: string | undefined, message: string): boolean {
  if (
    code !== undefined &&
    (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HANDSHAKE_NO_SSL/.test(code))
  )
    return true;
  return (
    /does not support SSL|not support secure connection|SSL|certificate|Hostname\/IP does not match/i.test(message) &&
    !/password/i.test(message)
  );
}

/** recode returns the same failure under another catalog code (with that code's retryable default). */
export function recode(error: DbcredError, code: ErrorCode): DbcredError {
  return new DbcredError(code, error.message, error.cause === undefined ? {} : { cause: error.cause });
}
