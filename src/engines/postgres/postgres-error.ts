// PostgreSQL failures → DbcredError codes, by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html).
import type { DbcredError } from '../../util/errors.ts';
import { NETWORK_CODES, driverErrorFields, engineError, isTlsFailure } from '../engine-error.ts';

/** SQLSTATEs that say "already there" or "not there", which idempotent operations treat as success. */
export const PG_DUPLICATE_OBJECT = '42710';
export const PG_UNDEFINED_OBJECT = '42704';

/**
 * postgresError maps any error thrown by pg to a DbcredError with a code, retryable flag and a
 * message free of the given secrets; `what` names the operation and user (never a value).
 */
export function postgresError(error: unknown, what: string, secrets: readonly string[]): DbcredError {
  const driver = driverErrorFields(error);
  const state = driver.code ?? '';
  const fail = (code: Parameters<typeof engineError>[0], retryable?: boolean) => engineError(code, what, driver, secrets, retryable);
  if (state.startsWith('28')) return fail('DB_AUTH_FAILED');
  if (state === '42501') return fail('DB_MISSING_PRIVILEGES');
  if (state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || NETWORK_CODES.has(state))
    return fail('DB_UNREACHABLE');
  if (isTlsFailure(driver.code, driver.message)) return fail('DB_TLS_FAILED');
  if (/timeout|timed out|Connection terminated/i.test(driver.message) && !/^[0-9A-Z]{5}$/.test(state)) return fail('DB_UNREACHABLE');
  // Syntax, undefined objects, data errors, dependent objects: retrying the same statement cannot help.
  if (/^(42|22|2B|0A|0L|0P)/.test(state)) return fail('DB_QUERY_FAILED', false);
  return fail('DB_QUERY_FAILED', true);
}
