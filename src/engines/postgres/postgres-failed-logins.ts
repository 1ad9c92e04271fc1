// Failed logins from PostgreSQL's own log: the jsonlog file (PostgreSQL 15+, logging_collector on)
// read through pg_read_binary_file, which a superuser can let the admin run without making it one.
// The cursor is the log file and the byte offset read up to; only whole lines are consumed, so a
// line being written is read on the next call. A rotated file is finished before the new one starts.
import type { FailedLogin, FailedLoginRead } from '../engine.ts';
import { quoteIdentifier } from './postgres-statements.ts';

/** Runs one query as the admin and returns its rows. */
export type AdminQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** Most bytes read per call: a flood of failures is read over several calls rather than held in memory. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** SQLSTATEs of refused logins: invalid_password (28P01) and invalid_authorization_specification (28000). */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

const PERMISSION_DENIED = '42501';
const INVALID_PARAMETER_VALUE = '22023';

interface Cursor {
  file: string;
  offset: number;
}

/** The grants that let an admin read the log (sent to the user in the reason, never run by the operator). */
export function failedLoginGrants(admin: string): string {
  return (
    'GRANT EXECUTE ON FUNCTION pg_current_logfile(text), pg_stat_file(text, boolean), ' +
    `pg_read_binary_file(text, bigint, bigint, boolean) TO ${quoteIdentifier(admin)}`
  );
}

function parseCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined;
  try {
    const value = JSON.parse(cursor) as Partial<Cursor>;
    if (typeof value.file === 'string' && Number.isSafeInteger(value.offset) && value.offset! >= 0) return value as Cursor;
  } catch {
    // An unreadable cursor starts over at the end of the log, as a first call does.
  }
  return undefined;
}

/** failedLoginsIn parses the whole jsonlog lines of a chunk; `consumed` is the bytes up to the last newline. */
export function failedLoginsIn(chunk: Buffer): { failures: FailedLogin[]; consumed: number } {
  const end = chunk.lastIndexOf(0x0a);
  if (end < 0) return { failures: [], consumed: 0 };
  const failures: FailedLogin[] = [];
  for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // not a jsonlog line (a torn write or another format)
    }
    if (entry['error_severity'] !== 'FATAL' || !LOGIN_REFUSED.has(String(entry['state_code']))) continue;
    const username = entry['user'];
    if (typeof username !== 'string') continue;
    // log_timezone names such as "CET" do not parse: then the time it was read is close enough.
    const logged = new Date(String(entry['timestamp']));
    const at = Number.isFinite(logged.getTime()) ? logged : new Date();
    const host = entry['remote_host'];
    const detail = entry['detail'];
    failures.push({
      at,
      username,
      ...(typeof host === 'string' && host !== '[local]' ? { clientAddress: host } : {}),
      ...(typeof detail === 'string' ? { detail: detail.split('\n')[0]! } : {}),
    });
  }
  return { failures, consumed: end + 1 };
}

const sqlStateOf = (error: unknown) => (error as { code?: unknown }).code;

/**
 * readPostgresFailedLogins reads the refused logins logged since the cursor (see the file comment);
 * not visible, with what to change, when there is no jsonlog or the admin may not read it.
 */
export async function readPostgresFailedLogins(query: AdminQuery, admin: string, cursor?: string): Promise<FailedLoginRead> {
  let file: string | null;
  try {
    file = (await query(`SELECT pg_current_logfile('jsonlog') AS file`, []))[0]?.['file'] as string | null;
  } catch (error) {
    if (sqlStateOf(error) === PERMISSION_DENIED)
      return { visible: false, why: `the admin may not read the server log: as a superuser, ${failedLoginGrants(admin)}` };
    if (sqlStateOf(error) === INVALID_PARAMETER_VALUE)
      return { visible: false, why: 'the server cannot write jsonlog (PostgreSQL 15 or later is needed)' };
    throw error;
  }
  if (!file)
    return {
      visible: false,
      why: "the server writes no jsonlog: set logging_collector = on and add jsonlog to log_destination (e.g. 'stderr,jsonlog')",
    };
  const read = async (path: string, offset: number): Promise<Buffer> =>
    ((await query('SELECT pg_read_binary_file($1, $2, $3, true) AS chunk', [path, offset, CHUNK_BYTES]))[0]?.['chunk'] as
      Buffer | null | undefined) ?? Buffer.alloc(0);
  let at = parseCursor(cursor);
  try {
    if (!at) {
      const size = (await query('SELECT size FROM pg_stat_file($1, true) AS s', [file]))[0]?.['size'];
      return { visible: true, cursor: JSON.stringify({ file, offset: Number(size ?? 0) }), failures: [] };
    }
    const failures: FailedLogin[] = [];
    let budget = MAX_READ_BYTES;
    while (budget > 0) {
      const chunk = await read(at.file, at.offset);
      const found = failedLoginsIn(chunk);
      failures.push(...found.failures);
      at = { file: at.file, offset: at.offset + found.consumed };
      budget -= chunk.length;
      if (chunk.length === CHUNK_BYTES && found.consumed > 0) continue; // more of this file
      if (at.file === file) break;
      at = { file, offset: 0 }; // the old file is finished: the current one from its start
    }
    return { visible: true, cursor: JSON.stringify(at), failures };
  } catch (error) {
    if (sqlStateOf(error) === PERMISSION_DENIED)
      return { visible: false, why: `the admin may not read the server log: as a superuser, ${failedLoginGrants(admin)}` };
    throw error;
  }
}
