import { describe, expect, it } from '@jest/globals';
import { failedLoginsIn, readPostgresFailedLogins, type AdminQuery } from '../../src/engines/postgres/postgres-failed-logins.ts';

const line = (entry: Record<string, unknown>) => `${JSON.stringify(entry)}\n`;
const refused = (user: string, extra: Record<string, unknown> = {}) =>
  line({
    timestamp: '2026-12-03 13:00:00.123 UTC',
    user,
    remote_host: '10.1.2.3',
    error_severity: 'FATAL',
    state_code: '28P01',
    message: `password authentication failed for user "${user}"`,
    detail: `Role "${user}" does not exist.\nConnection matched pg_hba.conf line 3`,
    ...extra,
  });

describe('refused logins in a PostgreSQL jsonlog', () => {
  it('are the FATAL 28P01/28000 lines, with user, time, client address and the first line of the detail', () => {
    const text =
      refused('dbcabcd_app_x') + line({ error_severity: 'LOG', message: 'checkpoint starting' }) + refused('bob', { state_code: '28000' });
    const { failures, consumed } = failedLoginsIn(Buffer.from(text));
    expect(failures).toEqual([
      {
        at: new Date('2026-12-03T13:00:00.123Z'),
        username: 'dbcabcd_app_x',
        clientAddress: '10.1.2.3',
        detail: 'Role "dbcabcd_app_x" does not exist.',
      },
      { at: new Date('2026-12-03T13:00:00.123Z'), username: 'bob', clientAddress: '10.1.2.3', detail: 'Role "bob" does not exist.' },
    ]);
    expect(consumed).toBe(Buffer.byteLength(text));
  });

  it('leave a line still being written for the next read', () => {
    const whole = refused('a');
    const { failures, consumed } = failedLoginsIn(Buffer.from(whole + refused('b').slice(0, 20)));
    expect(failures.map((f) => f.username)).toEqual(['a']);
    expect(consumed).toBe(Buffer.byteLength(whole));
  });

  it('skip other severities and states, local connections’ address, and lines that are not JSON', () => {
    const text =
      refused('c', { error_severity: 'ERROR' }) +
      refused('d', { state_code: '42501' }) +
      'garbage\n' +
      refused('e', { remote_host: '[local]' });
    expect(failedLoginsIn(Buffer.from(text)).failures).toEqual([
      { at: new Date('2026-12-03T13:00:00.123Z'), username: 'e', detail: 'Role "e" does not exist.' },
    ]);
  });
});

/** A fake admin connection over a map of log files (pure: the integration suite reads a real log). */
function fakeServer(state: { current: string | null; files: Record<string, string>; denied?: boolean }): AdminQuery {
  return (sql, params) => {
    if (state.denied)
      return Promise.reject(Object.assign(new Error('permission denied for function pg_current_logfile'), { code: '42501' }));
    if (sql.includes('pg_current_logfile')) return Promise.resolve([{ file: state.current }]);
    const file = state.files[String(params[0])];
    if (sql.includes('pg_stat_file')) return Promise.resolve([{ size: file === undefined ? null : Buffer.byteLength(file) }]);
    const [, offset, length] = params as [string, number, number];
    return Promise.resolve([{ chunk: file === undefined ? null : Buffer.from(file).subarray(offset, offset + length) }]);
  };
}

describe('reading refused logins across calls', () => {
  it('starts at the end of the log, then returns only what was logged since, across a rotation', async () => {
    const state = { current: 'log/a.json' as string | null, files: { 'log/a.json': refused('old') } as Record<string, string> };
    const query = fakeServer(state);
    const first = await readPostgresFailedLogins(query, 'admin');
    expect(first).toMatchObject({ visible: true, failures: [] });
    state.files['log/a.json'] += refused('one');
    state.files['log/b.json'] = refused('two');
    state.current = 'log/b.json';
    const second = await readPostgresFailedLogins(query, 'admin', first.visible ? first.cursor : undefined);
    expect(second.visible && second.failures.map((f) => f.username)).toEqual(['one', 'two']);
    const third = await readPostgresFailedLogins(query, 'admin', second.visible ? second.cursor : undefined);
    expect(third.visible && third.failures).toEqual([]);
  });

  it('is not visible without a jsonlog, or when the admin may not read it, and says what to change', async () => {
    expect(await readPostgresFailedLogins(fakeServer({ current: null, files: {} }), 'admin')).toEqual({
      visible: false,
      why: "the server writes no jsonlog: set logging_collector = on and add jsonlog to log_destination (e.g. 'stderr,jsonlog')",
    });
    const denied = await readPostgresFailedLogins(fakeServer({ current: null, files: {}, denied: true }), 'dbcred_admin');
    expect(denied).toEqual({
      visible: false,
      why: 'the admin may not read the server log: as a superuser, GRANT EXECUTE ON FUNCTION pg_current_logfile(text), pg_stat_file(text, boolean), pg_read_binary_file(text, bigint, bigint, boolean) TO "dbcred_admin"',
    });
  });
});
