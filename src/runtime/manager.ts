// The manager runs the pieces in order (as controller-runtime's runnable groups do): the health
// and metrics server, then the informer caches, then — only while this replica leads — the
// controllers. Losing leadership stops the controllers at once and ends run() with
// 'leadership-lost' (the process should exit and start clean, as client-go operators do).
// stop() finishes in-flight reconciles within the grace period, then releases the lease.
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../observability/logger.ts';
import { startHealthServer } from '../observability/health-server.ts';
import type { RuntimeMetrics } from '../observability/metrics.ts';
import type { Informer } from './cache/informer.ts';
import type { Controller } from './controller.ts';
import type { KubeClient } from './kube/client.ts';
import type { KubeObject } from './kube/types.ts';
import { LeaderElector } from './leader-election/leader-elector.ts';

export interface ManagerOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Health/metrics server; port 0 picks a free port; omit to run none. */
  health?: { host: string; port: number };
  /** Leader election; omit to reconcile without it (a single replica). */
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** Bound on finishing in-flight reconciles at shutdown. Default 20 s. */
  shutdownGraceMs?: number;
}

export type ManagerExit = 'stopped' | 'leadership-lost';

export class Manager {
  private readonly o: ManagerOptions;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private health: { port: number; close(): Promise<void> } | undefined;
  private controllersRunning = false;
  private resolveExit!: (exit: ManagerExit) => void;
  private stopping: Promise<void> | undefined;
  /** Resolves when the manager has stopped, saying why. */
  readonly exited: Promise<ManagerExit>;

  constructor(options: ManagerOptions) {
    this.o = options;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** The port the health server listens on (after start). */
  get healthPort(): number | undefined {
    return this.health?.port;
  }

  addInformer<T extends KubeObject>(informer: Informer<T>): Informer<T> {
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  addController(controller: Controller): Controller {
    this.controllers.push(controller);
    return controller;
  }

  /** isLeading: this replica holds the lease now by the clock (always, without election); the fence of every side effect. */
  isLeading = (): boolean => (this.elector ? this.elector.isLeader() : true);

  /** mayReconcile is the gate controllers ask before each key: true only while leading and not stopping. */
  mayReconcile = (): boolean => this.isLeading() && !this.stopping;

  /** start brings everything up in order; it resolves once caches are synced and election has begun. */
  async start(): Promise<void> {
    const { metrics, health, logger } = this.o;
    if (health) {
      this.health = await startHealthServer({ ...health, registry: metrics.registry, notReadyReasons: () => this.notReadyReasons() });
      logger.info({ port: this.health.port }, 'health and metrics server listening');
    }
    for (const informer of this.informers) {
      informer.on(() => metrics.informerObjects.set({ resource: informer.resource.plural }, informer.size()));
      informer.start();
    }
    await Promise.all(this.informers.map((i) => i.synced));
    logger.info({ informers: this.informers.length }, 'caches synced');
    const le = this.o.leaderElection;
    if (!le) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector({
      client: this.o.client,
      clock: this.o.clock,
      logger,
      ...le,
      onStartedLeading: () => {
        metrics.leader.set(1);
        this.startControllers();
      },
      onStoppedLeading: () => {
        metrics.leader.set(0);
        if (this.stopping) return;
        for (const c of this.controllers) c.abortInFlight('leadership lost');
        void this.shutdown('leadership-lost');
      },
    });
    this.elector.start();
  }

  /** stop shuts down gracefully: controllers (bounded), lease release, informers, server. */
  stop(): Promise<void> {
    return this.shutdown('stopped');
  }

  private startControllers(): void {
    if (this.controllersRunning || this.stopping) return;
    this.controllersRunning = true;
    for (const c of this.controllers) c.start();
    this.o.logger.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
  }

  private shutdown(exit: ManagerExit): Promise<void> {
    this.stopping ??= (async () => {
      const grace = this.o.shutdownGraceMs ?? 20_000;
      await Promise.all(this.controllers.map((c) => c.stop(grace)));
      await this.elector?.stop();
      await Promise.all(this.informers.map((i) => i.stop()));
      await this.health?.close();
      this.o.logger.info({ exit }, 'manager stopped');
      this.resolveExit(exit);
    })();
    return this.stopping;
  }

  private notReadyReasons(): string[] {
    const reasons: string[] = [];
    for (const i of this.informers) {
      if (!i.isSynced()) reasons.push(`cache of ${i.resource.plural} not synced`);
      else if (!i.isConnected()) reasons.push(`watch of ${i.resource.plural} reconnecting`);
    }
    if (this.stopping) reasons.push('shutting down');
    return reasons;
  }
}
