// The audit stream: one JSON line per issue, rotation, revocation and denial, separate from the
// operational log. Each record carries the hash of the previous one, so removing or editing a
// record breaks the chain and `dbcred audit verify` finds where (removing records from the end
// cannot be seen from the file alone: ship the stream off the node). With a key, the hash is an
// HMAC, so whoever rewrites the trail cannot recompute it. The chain goes on across restarts (from
// the file) and leader changes (from the head the last leader left on the Lease): verifyTrail
// checks the records collected from every pod together. Records never hold a password.
import { createHash, createHmac } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';

export const AuditRecord = z.object({
  seq: z.number().int().min(1),
  time: z.string(),
  action: z.enum([
    'issue',
    'rotate',
    'republish',
    'revoke',
    'expire',
    'deny',
    'retain',
    'orphan-drop',
    'revoke-failed',
    'rotate-admin',
    'dead-login',
  ]),
  outcome: z.enum(['success', 'failure', 'denied']),
  object: z.object({ kind: z.string(), namespace: z.string().optional(), name: z.string(), uid: z.string().optional() }),
  server: z.string().optional(),
  role: z.string().optional(),
  username: z.string().optional(),
  /** dead-login: where the refused login came from, as the database logged it. */
  clientAddress: z.string().optional(),
  reason: z.string().optional(),
  /** Who created the object or last changed its spec, as the apiserver saw it (only where the chart's policy stamps it). */
  requester: z.object({ username: z.string(), groups: z.array(z.string()).optional(), uid: z.string().optional() }).optional(),
  message: z.string(),
  prev: z.string(),
  hash: z.string(),
});
export type AuditRecord = z.output<typeof AuditRecord>;
const AuditBody = AuditRecord.omit({ hash: true });
export type AuditEntry = Omit<AuditRecord, 'seq' | 'time' | 'prev' | 'hash'>;
export type Requester = NonNullable<AuditRecord['requester']>;

const GENESIS = '0'.repeat(64);

/** Where a chain stands: its last record's seq and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** parseHead reads a ChainHead written as `<seq>:<hash>` (the Lease annotation), or undefined. */
export function parseHead(text: string | undefined): ChainHead | undefined {
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text ?? '');
  return match ? { seq: Number(match[1]), hash: match[2]! } : undefined;
}

export const formatHead = (head: ChainHead) => `${head.seq}:${head.hash}`;

function hashOf(record: Omit<AuditRecord, 'hash'>, key?: Buffer): string {
  const text = JSON.stringify(record);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text).digest('hex');
}

/** AuditLog appends hash-chained records to a line sink (a file or stdout). */
export class AuditLog {
  private seq = 0;
  private prev = GENESIS;
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly key: Buffer | undefined;

  private readonly requesterOf: (uid: string) => Requester | undefined;

  /**
   * requesterOf names who asked for the object with a uid, for records that do not say it
   * themselves; key, when given, makes each hash an HMAC-SHA256 under it.
   */
  constructor(
    write: (line: string) => void,
    now: () => number = Date.now,
    last?: ChainHead,
    requesterOf: (uid: string) => Requester | undefined = () => undefined,
    key?: Buffer,
  ) {
    this.write = write;
    this.now = now;
    this.requesterOf = requesterOf;
    this.key = key;
    // Continuing an existing stream: the chain goes on from its last record.
    if (last) this.continueFrom(last);
  }

  /** head is where the chain stands (undefined before the first record of a fresh chain). */
  head(): ChainHead | undefined {
    return this.seq === 0 ? undefined : { seq: this.seq, hash: this.prev };
  }

  /** continueFrom makes the next record follow head (a new leader takes the chain from the Lease). */
  continueFrom(head: ChainHead): void {
    this.seq = head.seq;
    this.prev = head.hash;
  }

  /** record appends one entry and returns the record as written. */
  record(entry: AuditEntry): AuditRecord {
    // Parsed first, so the hash covers the canonical (schema-ordered) record verifyChain recomputes.
    const requester = entry.requester ?? (entry.object.uid === undefined ? undefined : this.requesterOf(entry.object.uid));
    const body = AuditBody.parse({
      seq: ++this.seq,
      time: new Date(this.now()).toISOString(),
      ...entry,
      ...(requester ? { requester } : {}),
      prev: this.prev,
    });
    const record: AuditRecord = { ...body, hash: hashOf(body, this.key) };
    this.prev = record.hash;
    this.write(JSON.stringify(record) + '\n');
    return record;
  }
}

/**
 * verifyChain checks every line of an audit stream; it returns the first broken record, if any. A
 * single line that is not a record is accepted (and counted) only as a write torn by a crash: the
 * next record must chain from the last good one, as the operator continues the chain after a restart.
 */
export function verifyChain(
  lines: string[],
  key?: Buffer,
): { ok: true; records: number; torn?: number } | { ok: false; line: number; problem: string } {
  let prev = GENESIS;
  let count = 0;
  let torn = 0;
  let pendingTorn: number | undefined;
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let record: AuditRecord;
    try {
      record = AuditRecord.parse(JSON.parse(line));
    } catch {
      if (pendingTorn !== undefined) return { ok: false, line: pendingTorn, problem: 'not an audit record' };
      pendingTorn = i + 1;
      continue;
    }
    if (record.prev !== prev)
      return {
        ok: false,
        line: pendingTorn ?? i + 1,
        problem: pendingTorn ? 'not an audit record' : 'previous hash does not match (a record was removed or reordered)',
      };
    const { hash, ...body } = record;
    if (hashOf(AuditBody.parse(body), key) !== hash)
      return { ok: false, line: i + 1, problem: 'hash does not match the record (it was edited)' };
    if (pendingTorn !== undefined) torn++;
    pendingTorn = undefined;
    prev = hash;
    count++;
  }
  // A torn last line is a crash before any restart (truncation cannot be told apart anyway).
  if (pendingTorn !== undefined) torn++;
  return torn > 0 ? { ok: true, records: count, torn } : { ok: true, records: count };
}

/** lastRecord returns the last valid audit record of a stream's text (a torn last line is skipped). */
export function lastRecord(text: string): AuditRecord | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      return AuditRecord.parse(JSON.parse(line));
    } catch {
      // a write torn by a crash: look further back
    }
  }
  return undefined;
}

/**
 * trailFileEnd reads an audit file from its end only (it grows for the operator's whole life, and
 * every replica start reads it): the last whole record, and whether the file ends mid-line (a write
 * torn by a crash). A missing or empty file has neither.
 */
export function trailFileEnd(path: string): { last: AuditRecord | undefined; torn: boolean } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { last: undefined, torn: false };
  }
  try {
    const size = fstatSync(fd).size;
    // From the last 64 KiB, doubling while torn lines hide the last whole record.
    for (let span = 64 * 1024; ; span *= 2) {
      const start = Math.max(0, size - span);
      const buffer = Buffer.alloc(size - start);
      readSync(fd, buffer, 0, buffer.length, start);
      const text = buffer.toString('utf8');
      // The first line of a partial read may begin mid-record: it is skipped unless the read starts the file.
      const whole = start === 0 ? text : text.slice(text.indexOf('\n') + 1);
      const last = lastRecord(whole);
      if (last || start === 0) return { last, torn: size > 0 && buffer[buffer.length - 1] !== 0x0a };
    }
  } finally {
    closeSync(fd);
  }
}

/** Where a record was read: a source (file) and its line number from 1. */
export interface TrailLocation {
  source: string;
  line: number;
}

export type TrailResult =
  | {
      ok: true;
      records: number;
      /** Independent chains, each from GENESIS (one per installation history; more: a trail restarted without its head). */
      chains: number;
      /** Records after which the chain went two ways: a leader's last records after the head it left on the Lease. */
      forks: { after: number; records: number }[];
      /** Lines that start like a record but were cut short (a write torn by a crash). */
      torn: number;
    }
  | { ok: false; at: TrailLocation; problem: string };

/**
 * verifyTrail checks the audit records found in any number of sources — files, or the logs
 * collected from every operator pod, in any order and mixed with other output. Each record's hash
 * must match its content (under key, if given) and its predecessor must be among the records read
 * (or GENESIS), one seq before it: a removed or edited record is found, wherever the rest came
 * from. Lines that are not JSON objects with a `hash` and `prev` are other output and skipped; a
 * prefix before the first `{` (kubectl logs --prefix/--timestamps) is ignored.
 */
export function verifyTrail(sources: { name: string; lines: string[] }[], key?: Buffer): TrailResult {
  const byHash = new Map<string, { record: AuditRecord; at: TrailLocation }>();
  let torn = 0;
  for (const { name, lines } of sources) {
    for (const [i, raw] of lines.entries()) {
      const at = { source: name, line: i + 1 };
      const start = raw.indexOf('{');
      if (start < 0) continue;
      const text = raw.slice(start).trim();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        if (text.startsWith('{"seq":')) torn++;
        continue;
      }
      if (typeof json !== 'object' || json === null || !('hash' in json) || !('prev' in json)) continue;
      const parsed = AuditRecord.safeParse(json);
      if (!parsed.success) return { ok: false, at, problem: 'not a valid audit record' };
      const { hash, ...body } = parsed.data;
      if (hashOf(AuditBody.parse(body), key) !== hash)
        return {
          ok: false,
          at,
          problem: key ? 'HMAC does not match the record (edited, or another key)' : 'hash does not match the record (it was edited)',
        };
      byHash.set(hash, { record: parsed.data, at });
    }
  }
  const children = new Map<string, number>();
  let chains = 0;
  for (const { record, at } of byHash.values()) {
    children.set(record.prev, (children.get(record.prev) ?? 0) + 1);
    if (record.prev === GENESIS) {
      if (record.seq !== 1) return { ok: false, at, problem: `seq ${record.seq} starts a chain (it should be 1)` };
      chains++;
      continue;
    }
    const before = byHash.get(record.prev);
    if (!before)
      return {
        ok: false,
        at,
        problem: `the record before seq ${record.seq} is missing (removed, or a log was not collected)`,
      };
    if (before.record.seq + 1 !== record.seq) return { ok: false, at, problem: `seq ${record.seq} follows seq ${before.record.seq}` };
  }
  const forks = [...children.entries()]
    .filter(([prev, n]) => n > 1 && prev !== GENESIS)
    .map(([prev, n]) => ({ after: byHash.get(prev)!.record.seq, records: n }))
    .sort((a, b) => a.after - b.after);
  return { ok: true, records: byHash.size, chains, forks, torn };
}
