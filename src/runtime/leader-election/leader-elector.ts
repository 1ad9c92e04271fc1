// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: writes are
// compare-and-swap on resourceVersion; a follower judges expiry by its own clock from the moment it
// last saw the record change (never by the leader's timestamps, so clock skew cannot cut a lease
// short); a leader that cannot renew within renewDeadline stops leading before leaseDuration has
// passed since its last renewal. isLeader() is computed from the clock at each call, not from a flag
// a timer clears: a process paused (SIGSTOP, a long GC, a frozen VM) past its renew deadline finds
// itself no longer leading at the first check after it resumes, before any timer has run. The
// controllers' clients and engines ask it before every side effect (fencing); a write already sent
// when the pause began is caught by the compare-and-swap every write carries.
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { Logger } from '../../observability/logger.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict, isNotFound, isAlreadyExists } from '../kube/errors.ts';
import { Resources } from '../kube/builtin-resources.ts';
import type { KubeObject } from '../kube/types.ts';

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** Called once when campaigning cannot succeed without a change by a person (the Lease's namespace does not exist); the campaign has ended. */
  onGaveUp?(why: string): void;
  /**
   * State handed from one leader to the next in a Lease annotation, at no extra write: the leader
   * sets it with every renewal and at release; a replica that acquires the Lease gets the previous
   * leader's value (before onStartedLeading) and leaves it in place until its own first renewal.
   */
  handover?: { annotation: string; value(): string | undefined; onAcquired(previous: string | undefined): void };
}

class LeaseNamespaceMissing extends Error {}

/** MicroTime as the Lease API wants it (RFC 3339 with microseconds). */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onGaveUp' | 'handover'>> &
    LeaderElectionOptions;
  private leading = false;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private deadline: TimerHandle | undefined;
  private loop: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  constructor(options: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  /** isLeader: this replica holds the lease now, i.e. it renewed it less than renewDeadline ago by the clock. */
  isLeader(): boolean {
    return this.leading && this.o.clock.now() - this.lastRenew < this.o.renewDeadlineMs;
  }

  /** start campaigns in the background until stop(). */
  start(): void {
    this.loop ??= this.run();
  }

  /** stop ends the campaign; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error('leader election stopped'));
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      await this.release();
    }
  }

  private async run(): Promise<void> {
    const { clock, retryPeriodMs, renewDeadlineMs, logger } = this.o;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      let ok = false;
      // Deadlines count from when the renewal was sent: followers may have seen it that early.
      const attemptAt = clock.now();
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (error) {
        if (error instanceof LeaseNamespaceMissing) {
          const why = `the leader election namespace ${this.o.namespace} does not exist: create it, or point --leader-election-namespace (or POD_NAMESPACE) at one that does, or run one replica with --leader-elect=false`;
          logger.error({ lease: this.o.name, namespace: this.o.namespace }, why);
          this.o.onGaveUp?.(why);
          return;
        }
        logger.warn({ err: error, lease: this.o.name }, 'leader election: lease update failed');
      }
      const now = clock.now();
      if (ok) {
        this.lastRenew = attemptAt;
        if (!this.leading) this.setLeading(true);
        // Step down at the deadline even if the next renewal hangs on an unreachable apiserver.
        this.deadline?.cancel();
        this.deadline = clock.setTimer(attemptAt + renewDeadlineMs - now, () => this.checkDeadline());
      } else {
        this.checkDeadline();
      }
      // Followers jitter their retries so several replicas do not hit the Lease in lockstep.
      await clock.sleep(retryPeriodMs * (this.leading ? 1 : 1 + 0.2 * Math.random()), stop).catch(() => undefined);
    }
  }

  private checkDeadline(): void {
    if (this.leading && this.o.clock.now() - this.lastRenew >= this.o.renewDeadlineMs) {
      this.o.logger.error({ lease: this.o.name }, 'leader election: could not renew within the deadline; stepping down');
      this.setLeading(false);
    }
  }

  private setLeading(leading: boolean): void {
    if (!leading) this.deadline?.cancel();
    this.leading = leading;
    this.o.logger.info({ lease: this.o.name, identity: this.o.identity, leading }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  /** tryAcquireOrRenew returns true when this replica holds the lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, clock, leaseDurationMs } = this.o;
    const now = clock.now();
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let current: Lease;
    try {
      current = await client.get<Lease>(Resources.Lease, name, namespace);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await client.create<Lease>(Resources.Lease, { metadata: { name, namespace }, spec });
        this.observed = { record: JSON.stringify(spec), at: now };
        this.o.handover?.onAcquired(undefined);
        return true;
      } catch (createError) {
        if (isAlreadyExists(createError)) return false;
        // Creating a namespaced object answers 404 only when its namespace does not exist.
        if (isNotFound(createError)) throw new LeaseNamespaceMissing();
        throw createError;
      }
    }
    const held = current.spec ?? {};
    const record = JSON.stringify([held.holderIdentity, held.renewTime, held.acquireTime]);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = held.holderIdentity ?? '';
    const iHold = holder === identity;
    const expired = this.observed.at + (held.leaseDurationSeconds ?? 0) * 1000 <= now;
    if (holder && !iHold && !expired) return false;
    const next: LeaseSpec = iHold
      ? { ...held, renewTime: spec.renewTime, leaseDurationSeconds: spec.leaseDurationSeconds }
      : { ...spec, leaseTransitions: (held.leaseTransitions ?? 0) + 1 };
    // A renewal carries this leader's handover value; an acquisition leaves the last leader's in place.
    const metadata = iHold ? this.withHandover(current.metadata) : current.metadata;
    try {
      const updated = await client.replace<Lease>(Resources.Lease, { ...current, metadata, spec: next });
      const u = updated.spec ?? {};
      this.observed = { record: JSON.stringify([u.holderIdentity, u.renewTime, u.acquireTime]), at: now };
      if (!iHold) this.o.handover?.onAcquired(current.metadata.annotations?.[this.o.handover.annotation]);
      return true;
    } catch (error) {
      if (isConflict(error)) return false; // someone else wrote first: compare-and-swap lost
      throw error;
    }
  }

  private withHandover(metadata: Lease['metadata']): Lease['metadata'] {
    const handover = this.o.handover;
    const value = handover?.value();
    if (!handover || value === undefined) return metadata;
    return { ...metadata, annotations: { ...metadata.annotations, [handover.annotation]: value } };
  }

  /** release gives the lease up (holder cleared, duration 1 s) so a follower acquires it on its next try. */
  private async release(): Promise<void> {
    const { client, namespace, name, identity, logger, clock } = this.o;
    try {
      const current = await client.get<Lease>(Resources.Lease, name, namespace);
      if (current.spec?.holderIdentity !== identity) return;
      await client.replace<Lease>(Resources.Lease, {
        ...current,
        metadata: this.withHandover(current.metadata),
        spec: {
          ...current.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(clock.now()),
          acquireTime: microTime(clock.now()),
        },
      });
      logger.info({ lease: name }, 'released the leader lease');
    } catch (error) {
      logger.warn({ err: error, lease: name }, 'could not release the leader lease; it will expire');
    }
  }
}
