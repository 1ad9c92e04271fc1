// Kubernetes Events (events.k8s.io/v1) with aggregation and a spam filter, so a reconcile loop
// that fails a thousand times writes a handful of API objects, not a thousand: repeats of the same
// (object, type, reason, note) within the window update one Event's series count, written at most
// once per flush interval; and each object has a token bucket for new Events. Normal Events also
// share one budget across all objects: at hundreds of issuances a second an Event per issuance
// would be a fifth of the apiserver's work, for a record the status and the audit trail already
// hold. Warnings are never held back by that budget.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { KubeClient } from './kube/client.ts';
import { Resources } from './kube/builtin-resources.ts';
import type { KubeObject } from './kube/types.ts';

/** The object an Event is about. */
export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  reportingController: string;
  reportingInstance: string;
  /** Repeats within this window join the same Event. Default 10 min. */
  windowMs?: number;
  /** At most one write per Event per this interval (the count catches up). Default 10 s. */
  flushMs?: number;
  /** Per-object bucket for new Events: burst and refill interval. Default 25, one per 30 s. */
  burst?: number;
  refillMs?: number;
  /** Budget of new Normal Events across all objects: per second and burst. Default 20/s, 100. */
  normalPerSecond?: number;
  normalBurst?: number;
  /** Most aggregation entries kept (oldest dropped). Default 4096. */
  maxEntries?: number;
  /** Appended to every note about a target, when it returns something (who asked for the object). */
  noteSuffix?: (target: EventTarget) => string | undefined;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  written: number;
  firstAt: number;
  lastAt: number;
  lastWriteAt: number;
  flush?: TimerHandle;
  creating?: Promise<void>;
}

const NOTE_MAX = 1024;

/** microTime renders a time as the API's MicroTime. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class EventRecorder<Reason extends string = string> {
  private readonly o: Required<EventRecorderOptions>;
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly normal: { tokens: number; at: number };
  /** Events dropped by the spam filter or the Normal budget (exposed as a metric). */
  dropped = 0;
  /** API writes made (tests and metrics). */
  writes = 0;

  constructor(options: EventRecorderOptions) {
    this.o = {
      windowMs: 600_000,
      flushMs: 10_000,
      burst: 25,
      refillMs: 30_000,
      normalPerSecond: 20,
      normalBurst: 100,
      maxEntries: 4096,
      noteSuffix: () => undefined,
      ...options,
    };
    this.normal = { tokens: this.o.normalBurst, at: this.o.clock.now() };
  }

  /** record emits an Event without waiting; API failures are logged, never thrown. */
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: Reason, action: string, note: string): void {
    void this.recordAsync(target, type, reason, action, note).catch((error: unknown) => {
      this.o.logger.warn(
        { err: error, reason, object: `${target.kind}/${target.namespace ?? ''}/${target.name}` },
        'could not write an Event',
      );
    });
  }

  /** targetOf builds the Event target of an object. */
  static targetOf(obj: KubeObject, apiVersion: string, kind: string): EventTarget {
    return { apiVersion, kind, name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid };
  }

  /** recordAsync is record with the API write awaited (tests, shutdown). */
  async recordAsync(target: EventTarget, type: 'Normal' | 'Warning', reason: Reason, action: string, note: string): Promise<void> {
    const now = this.o.clock.now();
    const suffix = this.o.noteSuffix(target);
    const full = suffix === undefined ? note : `${note} ${suffix}`;
    const text = full.length > NOTE_MAX ? `${full.slice(0, NOTE_MAX - 3)}...` : full;
    const key = [target.uid ?? `${target.kind}/${target.namespace}/${target.name}`, type, reason, text].join('\u0000');
    const existing = this.series.get(key);
    if (existing && now - existing.firstAt < this.o.windowMs) {
      existing.count++;
      existing.lastAt = now;
      await existing.creating;
      this.scheduleFlush(existing);
      return;
    }
    if ((type === 'Normal' && !this.takeNormal(now)) || !this.take(target, now)) {
      this.dropped++;
      return;
    }
    const namespace = target.namespace ?? 'default';
    const name = `${target.name}.${randomBytes(8).toString('hex')}`;
    const s: Series = { name, namespace, count: 1, written: 1, firstAt: now, lastAt: now, lastWriteAt: now };
    this.remember(key, s);
    s.creating = this.o.client
      .create(Resources.Event, {
        metadata: { name, namespace },
        eventTime: microTime(now),
        reportingController: this.o.reportingController,
        reportingInstance: this.o.reportingInstance,
        action,
        reason,
        type,
        note: text,
        regarding: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: target.namespace, uid: target.uid },
      })
      .then(() => {
        this.writes++;
      });
    await s.creating;
  }

  private scheduleFlush(s: Series): void {
    if (s.flush) return;
    const due = Math.max(0, s.lastWriteAt + this.o.flushMs - this.o.clock.now());
    s.flush = this.o.clock.setTimer(due, () => {
      s.flush = undefined;
      void this.flush(s).catch((error: unknown) => this.o.logger.warn({ err: error }, 'could not update an Event series'));
    });
  }

  private async flush(s: Series): Promise<void> {
    if (s.count === s.written) return;
    s.lastWriteAt = this.o.clock.now();
    const count = s.count;
    await this.o.client.mergePatch(Resources.Event, s.name, s.namespace, { series: { count, lastObservedTime: microTime(s.lastAt) } });
    s.written = count;
    this.writes++;
  }

  /** flushAll writes pending series counts now (graceful shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.series.values()].map(async (s) => {
        s.flush?.cancel();
        s.flush = undefined;
        await s.creating?.catch(() => undefined);
        await this.flush(s).catch(() => undefined);
      }),
    );
  }

  private takeNormal(now: number): boolean {
    return takeToken(this.normal, this.o.normalBurst, this.o.normalPerSecond / 1000, now);
  }

  private take(target: EventTarget, now: number): boolean {
    const id = target.uid ?? `${target.kind}/${target.namespace}/${target.name}`;
    const b = this.buckets.get(id) ?? { tokens: this.o.burst, at: now };
    this.buckets.set(id, b);
    if (this.buckets.size > this.o.maxEntries) this.buckets.delete(this.buckets.keys().next().value!);
    return takeToken(b, this.o.burst, 1 / this.o.refillMs, now);
  }

  private remember(key: string, s: Series): void {
    this.series.set(key, s);
    if (this.series.size > this.o.maxEntries) {
      const [oldestKey, oldest] = this.series.entries().next().value!;
      oldest.flush?.cancel();
      this.series.delete(oldestKey);
    }
  }
}

/** takeToken refills a token bucket for the time since it was last used and takes one token if it has one. */
function takeToken(b: { tokens: number; at: number }, capacity: number, tokensPerMs: number, now: number): boolean {
  b.tokens = Math.min(capacity, b.tokens + (now - b.at) * tokensPerMs);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}
