// MySQL/MariaDB failures → DbcredError codes, by server errno (https://mariadb.com/kb/en/mariadb-error-codes/).
import type { DbcredError, ErrorCode } from '../../util/errors.ts';
import { NETWORK_CODES, driverErrorFields, engineError, isTlsFailure } from '../engine-error.ts';

export const ER_CANNOT_USER = 1396;
export const ER_NO_SUCH_THREAD = 1094;

const AUTH = new Set([1045, 1698]);
const PRIVILEGES = new Set([1044, 1095, 1142, 1143, 1227, 1370, 1410, 1419]);
const ROLE_MISSING = new Set([1959, 3523]);
/** Lock waits, deadlocks, too many connections, lost connections: worth a retry. */
const TRANSIENT = new Set([1040, 1203, 1205, 1213, 1226, 1927, 2006, 2013]);

/** mysqlErrno returns the server errno of a mysql2 error, if it has one. */
export function mysqlErrno(error: unknown): number | undefined {
  return driverErrorFields(error).errno;
}

/**
 * mysqlError maps any error thrown by mysql2 to a DbcredError with a code, retryable flag and a
 * message free of the given secrets; `what` names the operation and user (never a value).
 */
export function mysqlError(error: unknown, what: string, secrets: readonly string[]): DbcredError {
  const fields = driverErrorFields(error);
  const errno = fields.errno;
  const driver = {
    code: errno === undefined ? fields.code : `${errno}${fields.code === undefined ? '' : ` ${fields.code}`}`,
    message: fields.message,
  };
  const fail = (code: ErrorCode, retryable?: boolean) => engineError(code, what, driver, secrets, retryable);
  if (errno !== undefined && AUTH.has(errno)) return fail('DB_AUTH_FAILED');
  if (errno !== undefined && PRIVILEGES.has(errno)) return fail('DB_MISSING_PRIVILEGES');
  if (errno !== undefined && ROLE_MISSING.has(errno)) return fail('DB_GROUP_ROLE_MISSING');
  if (fields.code !== undefined && NETWORK_CODES.has(fields.code)) return fail('DB_UNREACHABLE');
  if (isTlsFailure(fields.code, fields.message)) return fail('DB_TLS_FAILED');
  if (errno === undefined && /timeout|timed out|closed state/i.test(fields.message)) return fail('DB_UNREACHABLE');
  if (errno !== undefined && TRANSIENT.has(errno)) return fail('DB_QUERY_FAILED', true);
  // Server errors (1000-1999, 3000+) other than the transient ones: the same statement fails again.
  return fail('DB_QUERY_FAILED', errno === undefined);
}
