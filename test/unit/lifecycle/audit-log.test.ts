import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  AuditLog,
  AuditRecord,
  formatHead,
  lastRecord,
  parseHead,
  trailFileEnd,
  verifyChain,
  verifyTrail,
  type AuditEntry,
} from '../../../src/audit/audit-log.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../harness/fake-clock.ts';

const GENESIS = '0'.repeat(64);

const entries: AuditEntry[] = [
  {
    action: 'issue',
    outcome: 'success',
    object: { kind: 'DatabaseCredential', namespace: 'app', name: 'orders', uid: 'u-1' },
    server: 'pg',
    role: 'reader',
    username: 'dbc_a',
    reason: 'Issued',
    message: 'user dbc_a issued',
  },
  {
    action: 'rotate',
    outcome: 'success',
    object: { kind: 'DatabaseCredential', namespace: 'app', name: 'orders', uid: 'u-1' },
    server: 'pg',
    role: 'reader',
    username: 'dbc_b',
    reason: 'Rotated',
    message: 'user dbc_b issued',
  },
  {
    action: 'revoke',
    outcome: 'success',
    object: { kind: 'DatabaseCredential', namespace: 'app', name: 'orders', uid: 'u-1' },
    server: 'pg',
    username: 'dbc_a',
    message: 'user dbc_a revoked',
  },
  {
    action: 'deny',
    outcome: 'denied',
    object: { kind: 'DatabaseCredential', namespace: 'other', name: 'x' },
    role: 'reader',
    reason: 'AccessDenied',
    message: 'namespace other may not use reader',
  },
];

/** Writes entries through an AuditLog and returns the lines it wrote (without the newline) and the records. */
function written(list: AuditEntry[] = entries, clock = new FakeClock()) {
  const lines: string[] = [];
  const log = new AuditLog(
    (line) => lines.push(line),
    () => clock.now(),
  );
  const records = list.map((e) => log.record(e));
  return { lines: lines.map((l) => l.replace(/\n$/, '')), raw: lines, records };
}

describe('the audit log', () => {
  it('writes one JSON line per record, ending in a newline', () => {
    const { raw } = written();
    expect(raw).toHaveLength(entries.length);
    for (const line of raw) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
    }
  });

  it('numbers records 1, 2, 3, ... and chains each to the hash of the one before', () => {
    const { records } = written();
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records[0]?.prev).toBe(GENESIS);
    for (let i = 1; i < records.length; i++) expect(records[i]?.prev).toBe(records[i - 1]?.hash);
    expect(new Set(records.map((r) => r.hash)).size).toBe(records.length);
    for (const r of records) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stamps each record with the clock time in ISO 8601', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 29, 12, 0, 0));
    const lines: string[] = [];
    const log = new AuditLog(
      (line) => lines.push(line),
      () => clock.now(),
    );
    const first = log.record(entries[0]!);
    await clock.advance(90_000);
    const second = log.record(entries[1]!);
    expect(first.time).toBe('2026-11-29T12:00:00.000Z');
    expect(second.time).toBe('2026-11-29T12:01:30.000Z');
  });

  it('returns exactly the record it wrote, and the line parses with the AuditRecord schema', () => {
    const { lines, records } = written();
    lines.forEach((line, i) => {
      const parsed = AuditRecord.parse(JSON.parse(line));
      expect(parsed).toEqual(records[i]);
      expect(parsed).toMatchObject(entries[i]!);
    });
  });

  it('starts a fresh chain for each AuditLog', () => {
    const a = written(entries.slice(0, 1)).records[0];
    const b = written(entries.slice(0, 1)).records[0];
    expect(a?.seq).toBe(1);
    expect(b?.prev).toBe(GENESIS);
    expect(a?.hash).toBe(b?.hash);
  });
});

describe('verifyChain', () => {
  it('accepts an intact stream and counts its records', () => {
    expect(verifyChain(written().lines)).toEqual({ ok: true, records: 4 });
  });

  it('accepts an empty stream, and ignores blank lines (such as the one after the final newline)', () => {
    expect(verifyChain([])).toEqual({ ok: true, records: 0 });
    const text = written().raw.join('');
    expect(verifyChain(text.split('\n'))).toEqual({ ok: true, records: 4 });
  });

  it('accepts any stream the log writes', () => {
    const entry = fc.record(
      {
        action: fc.constantFrom('issue', 'rotate', 'revoke', 'expire', 'deny', 'retain', 'orphan-drop', 'revoke-failed'),
        outcome: fc.constantFrom('success', 'failure', 'denied'),
        object: fc.record({ kind: fc.string(), namespace: fc.string(), name: fc.string() }, { requiredKeys: ['kind', 'name'] }),
        server: fc.string(),
        role: fc.string(),
        username: fc.string(),
        reason: fc.string(),
        message: fc.string(),
      },
      { requiredKeys: ['action', 'outcome', 'object', 'message'] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (list) => {
        const { lines } = written(list);
        const result = verifyChain(lines);
        return result.ok && result.records === list.length;
      }),
      { numRuns: 300 },
    );
  });

  it('verifies records whatever order the caller wrote their fields in', () => {
    const lines: string[] = [];
    const log = new AuditLog((line) => lines.push(line));
    log.record({ message: 'm', object: { name: 'a', kind: 'K' }, outcome: 'success', action: 'issue' });
    expect(verifyChain(lines.join('').split('\n'))).toEqual({ ok: true, records: 1 });
  });

  it('reports the line of a record whose content was edited', () => {
    const { lines } = written();
    const edited = [...lines];
    edited[2] = lines[2]!.replace('user dbc_a revoked', 'user dbc_z revoked');
    expect(edited[2]).not.toBe(lines[2]);
    expect(verifyChain(edited)).toEqual({ ok: false, line: 3, problem: 'hash does not match the record (it was edited)' });
  });

  it('reports the next line when an edited record was given a recomputed hash', () => {
    const { lines } = written();
    // A forger rewrites the second record with a valid hash of its own: the third no longer chains to it.
    const forged = written([entries[0]!, { ...entries[1]!, username: 'dbc_evil' }]).lines;
    expect(forged[0]).toBe(lines[0]);
    const tampered = [lines[0]!, forged[1]!, lines[2]!, lines[3]!];
    expect(verifyChain(tampered)).toEqual({
      ok: false,
      line: 3,
      problem: 'previous hash does not match (a record was removed or reordered)',
    });
  });

  it('reports the line where a removed record is missing', () => {
    const { lines } = written();
    expect(verifyChain([lines[0]!, lines[2]!, lines[3]!])).toEqual({
      ok: false,
      line: 2,
      problem: 'previous hash does not match (a record was removed or reordered)',
    });
    expect(verifyChain(lines.slice(1))).toMatchObject({ ok: false, line: 1 });
  });

  it('reports the line where records were swapped', () => {
    const { lines } = written();
    expect(verifyChain([lines[0]!, lines[2]!, lines[1]!, lines[3]!])).toEqual({
      ok: false,
      line: 2,
      problem: 'previous hash does not match (a record was removed or reordered)',
    });
  });

  it.each([
    ['plain text', 'hello'],
    ['truncated JSON', '{"seq":2,'],
    ['JSON that is not a record', '{"seq":2}'],
    ['a record with an unknown action', 'ACTION'],
  ])('accepts one line that is %s between two chained records as a write torn by a crash, and counts it', (_what, bad) => {
    const { lines } = written();
    const line = bad === 'ACTION' ? lines[1]!.replace('"action":"rotate"', '"action":"delete-everything"') : bad;
    const result = verifyChain([lines[0]!, line, ...lines.slice(1)]);
    expect(result).toMatchObject({ ok: true, torn: 1 });
  });

  it('reports a record replaced by one that does not parse (the next record no longer chains)', () => {
    const { lines } = written();
    expect(verifyChain([lines[0]!, '{"seq":2,', ...lines.slice(2)])).toEqual({ ok: false, line: 2, problem: 'not an audit record' });
  });

  it('counts line numbers from 1 including blank lines, as an editor shows them', () => {
    const { lines } = written();
    expect(verifyChain([lines[0]!, '', '  ', 'not json', 'not json either'])).toEqual({
      ok: false,
      line: 4,
      problem: 'not an audit record',
    });
  });

  it("continues an existing stream's chain after a restart, so the whole file still verifies", () => {
    const lines: string[] = [];
    const first = new AuditLog((line) => lines.push(line));
    first.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: 'a' }, message: 'one' });
    first.record({ action: 'revoke', outcome: 'success', object: { kind: 'K', name: 'a' }, message: 'two' });
    const restarted = new AuditLog((line) => lines.push(line), Date.now, lastRecord(lines.join('')));
    const third = restarted.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: 'b' }, message: 'three' });
    expect(third.seq).toBe(3);
    expect(verifyChain(lines.join('').split('\n'))).toEqual({ ok: true, records: 3 });
  });

  it('finds the last whole record when the stream ends in a line torn by a crash', () => {
    expect(lastRecord('')).toBeUndefined();
    expect(lastRecord('{"seq":1,"ti')).toBeUndefined();
    const lines: string[] = [];
    const log = new AuditLog((line) => lines.push(line));
    const kept = log.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: 'a' }, message: 'one' });
    expect(lastRecord(lines.join('') + '{"seq":2,"ti')).toEqual(kept);
  });

  it("reads a long audit file's last record from its end, past torn lines and over records longer than the first read", () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbcred-audit-'));
    try {
      const file = join(dir, 'audit.log');
      expect(trailFileEnd(file)).toEqual({ last: undefined, torn: false });
      const lines: string[] = [];
      const log = new AuditLog((line) => lines.push(line));
      for (let i = 0; i < 2000; i++)
        log.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: `c-${i}` }, message: 'x' });
      // The last record is longer than the 64 KiB first read, and a crash tore the write after it.
      const last = log.record({ action: 'revoke', outcome: 'success', object: { kind: 'K', name: 'big' }, message: 'y'.repeat(100_000) });
      writeFileSync(file, lines.join('') + '{"seq":2002,"ti');
      expect(trailFileEnd(file)).toEqual({ last, torn: true });
      writeFileSync(file, lines.join(''));
      expect(trailFileEnd(file)).toEqual({ last, torn: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts a line torn by a crash when the next record chains from the last whole one, and counts it', () => {
    const lines: string[] = [];
    const first = new AuditLog((line) => lines.push(line));
    first.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: 'a' }, message: 'one' });
    lines.push('{"seq":2,"ti\n');
    const restarted = new AuditLog((line) => lines.push(line), Date.now, lastRecord(lines.join('')));
    restarted.record({ action: 'revoke', outcome: 'success', object: { kind: 'K', name: 'a' }, message: 'two' });
    expect(verifyChain(lines.join('').split('\n'))).toEqual({ ok: true, records: 2, torn: 1 });
    // Two bad lines in a row are not a torn write.
    expect(verifyChain(['garbage', 'more garbage'])).toEqual({ ok: false, line: 1, problem: 'not an audit record' });
  });
});

/** Two operator pods' logs around a leader change: pino lines, a kubectl prefix, and the audit records. */
function podLogs(key?: Buffer) {
  const a: string[] = ['{"level":"info","msg":"dbcred operator started"}'];
  const b: string[] = ['{"level":"info","msg":"dbcred operator started"}'];
  const first = new AuditLog((l) => a.push(`[pod/dbcred-a/operator] ${l.trimEnd()}`), Date.now, undefined, undefined, key);
  first.record(entries[0]!);
  first.record(entries[1]!);
  // The new leader takes the head the last one left on the Lease.
  const second = new AuditLog((l) => b.push(l.trimEnd()), Date.now, parseHead(formatHead(first.head()!)), undefined, key);
  second.record(entries[2]!);
  second.record(entries[3]!);
  a.push('plain text the runtime printed');
  return { a, b, first, second };
}

describe('verifyTrail (records collected from every pod)', () => {
  it('accepts the records of two leaders in any order of files, skipping other output', () => {
    const { a, b } = podLogs();
    const sources = [
      { name: 'b.log', lines: b },
      { name: 'a.log', lines: a },
    ];
    expect(verifyTrail(sources)).toEqual({ ok: true, records: 4, chains: 1, forks: [], torn: 0 });
  });

  it('finds a removed record, and a pod log that was not collected', () => {
    const { a, b } = podLogs();
    const withoutSecond = a.filter((l) => !l.includes('"seq":2'));
    expect(
      verifyTrail([
        { name: 'a.log', lines: withoutSecond },
        { name: 'b.log', lines: b },
      ]),
    ).toEqual({
      ok: false,
      at: { source: 'b.log', line: 2 },
      problem: 'the record before seq 3 is missing (removed, or a log was not collected)',
    });
    expect(verifyTrail([{ name: 'b.log', lines: b }])).toMatchObject({ ok: false, problem: expect.stringContaining('missing') });
  });

  it('finds an edited record and names where it is', () => {
    const { a, b } = podLogs();
    const edited = a.map((l) => l.replace('user dbc_b issued', 'user dbc_x issued'));
    expect(
      verifyTrail([
        { name: 'a.log', lines: edited },
        { name: 'b.log', lines: b },
      ]),
    ).toEqual({
      ok: false,
      at: { source: 'a.log', line: 3 },
      problem: 'hash does not match the record (it was edited)',
    });
  });

  it('reports, without failing, the records a leader wrote after the head it left (a fork)', () => {
    const { a, b, first } = podLogs();
    first.record({ action: 'issue', outcome: 'success', object: { kind: 'K', name: 'late' }, message: 'written after the last renewal' });
    expect(
      verifyTrail([
        { name: 'a.log', lines: a },
        { name: 'b.log', lines: b },
      ]),
    ).toMatchObject({ ok: true, records: 5, forks: [{ after: 2, records: 2 }] });
  });

  it('with a key, refuses records a forger re-hashed without it', () => {
    const key = Buffer.from('a-key-of-at-least-16-bytes');
    const { a, b } = podLogs(key);
    expect(
      verifyTrail(
        [
          { name: 'a', lines: a },
          { name: 'b', lines: b },
        ],
        key,
      ),
    ).toMatchObject({ ok: true, records: 4 });
    // A forger who can write the logs but has no key writes a plain SHA-256 chain of its own.
    const forged = podLogs();
    expect(
      verifyTrail(
        [
          { name: 'a', lines: forged.a },
          { name: 'b', lines: forged.b },
        ],
        key,
      ),
    ).toMatchObject({
      ok: false,
      problem: 'HMAC does not match the record (edited, or another key)',
    });
  });

  it('counts a line torn by a crash and chains that started afresh', () => {
    const { a, b } = podLogs();
    const fresh = written(entries.slice(0, 1)).lines;
    const result = verifyTrail([
      { name: 'a', lines: [...a, '{"seq":3,"ti'] },
      { name: 'b', lines: b },
      { name: 'c', lines: fresh },
    ]);
    expect(result).toMatchObject({ ok: true, records: 5, chains: 2, torn: 1 });
  });
});

describe('the chain head handed over on the Lease', () => {
  it('is <seq>:<hash>, and anything else is no head', () => {
    const head = { seq: 42, hash: 'a'.repeat(64) };
    expect(parseHead(formatHead(head))).toEqual(head);
    expect(parseHead(undefined)).toBeUndefined();
    expect(parseHead('42:xyz')).toBeUndefined();
    expect(parseHead(`-1:${'a'.repeat(64)}`)).toBeUndefined();
  });

  it('is undefined before the first record and follows every record', () => {
    const log = new AuditLog(() => undefined);
    expect(log.head()).toBeUndefined();
    const r = log.record(entries[0]!);
    expect(log.head()).toEqual({ seq: 1, hash: r.hash });
  });
});
