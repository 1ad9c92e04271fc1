// The audit stream: one JSON line per issue, rotation, revocation and denial, separate from the
// operational log. Each record carries the hash of the previous one, so removing or editing a
// record breaks the chain and `dbcred audit verify` finds where (removing records from the end
// cannot be seen from the file alone: ship the stream off the node). Records never hold a password.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const AuditRecord = z.object({
  seq: z.number().int().min(1),
  time: z.string(),
  action: z.enum(['issue', 'rotate', 'republish', 'revoke', 'expire', 'deny', 'retain', 'orphan-drop', 'revoke-failed', 'rotate-admin']),
  outcome: z.enum(['success', 'failure', 'denied']),
  object: z.object({ kind: z.string(), namespace: z.string().optional(), name: z.string(), uid: z.string().optional() }),
  server: z.string().optional(),
  role: z.string().optional(),
  username: z.string().optional(),
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

function hashOf(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('hex');
}

/** AuditLog appends hash-chained records to a line sink (a file or stdout). */
export class AuditLog {
  private seq = 0;
  private prev = GENESIS;
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  private readonly requesterOf: (uid: string) => Requester | undefined;

  /** requesterOf names who asked for the object with a uid, for records that do not say it themselves. */
  constructor(
    write: (line: string) => void,
    now: () => number = Date.now,
    last?: AuditRecord,
    requesterOf: (uid: string) => Requester | undefined = () => undefined,
  ) {
    this.write = write;
    this.now = now;
    this.requesterOf = requesterOf;
    // Continuing an existing stream: the chain goes on from its last record.
    if (last) {
      this.seq = last.seq;
      this.prev = last.hash;
    }
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
    const record: AuditRecord = { ...body, hash: hashOf(body) };
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
export function verifyChain(lines: string[]): { ok: true; records: number; torn?: number } | { ok: false; line: number; problem: string } {
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
    if (hashOf(AuditBody.parse(body)) !== hash)
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
