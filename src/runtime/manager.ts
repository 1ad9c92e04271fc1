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
import { LeaderElector, type LeaderElectionOptions } from './leader-election/leader-elector.ts';

export interface ManagerOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Where /healthz and /readyz are served (host undefined: every interface; port 0: a free one); omit for none. */
  health?: BindAddress;
  /** Where /metrics is served; the same address as health shares one server; omit for none. */
  metricsServer?: BindAddress;
  /** Leader election; omit to reconcile without it (a single replica). */
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    handover?: LeaderElectionOptions['handover'];
  };
  /** Bound on finishing in-flight reconciles at shutdown. Default 20 s. */
  shutdownGraceMs?: number;
}

export interface BindAddress {
  host: string | undefined;
  port: number;
}

/** Why run() ended: a stop, a lost lease, or a Lease namespace that does not exist (nothing to retry). */
export type ManagerExit = 'stopped' | 'leadership-lost' | 'lease-namespace-missing';

export class Manager {
  private readonly o: ManagerOptions;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private servers: { port: number; probes: boolean; metrics: boolean; close(): Promise<void> }[] = [];
  private controllersRunning = false;
  /** Why leader election gave up, when it did. */
  gaveUp: string | undefined;
  private resolveExit!: (exit: ManagerExit) => void;
  private stopping: Promise<void> | undefined;
  /** Resolves when the manager has stopped, saying why. */
  readonly exited: Promise<ManagerExit>;

  constructor(options: ManagerOptions) {
    this.o = options;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** The port /healthz and /readyz are served on (after start). */
  get healthPort(): number | undefined {
    return this.servers.find((s) => s.probes)?.port;
  }

  /** The port /metrics is served on (after start). */
  get metricsPort(): number | undefined {
    return this.servers.find((s) => s.metrics)?.port;
  }

  addInformer<T extends KubeObject>(informer: Informer<T>): Informer<T> {
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  addController(controller: Controller): Controller {
    this.controllers.push(controller);
    this.o.metrics.queueDepths.set(controller.name, () => controller.queue.len());
    return controller;
  }

  /** isLeading: this replica holds the lease now by the clock (always, without election); the fence of every side effect. */
  isLeading = (): boolean => (this.elector ? this.elector.isLeader() : true);

  /** mayReconcile is the gate controllers ask before each key: true only while leading and not stopping. */
  mayReconcile = (): boolean => this.isLeading() && !this.stopping;

  /** start brings everything up in order; it resolves once caches are synced and election has begun. */
  async start(): Promise<void> {
    const { metrics, health, metricsServer, logger } = this.o;
    const shared = health && metricsServer && health.host === metricsServer.host && health.port === metricsServer.port;
    const wanted = shared
      ? [{ at: health, serve: { probes: true, metrics: true } }]
      : [
          ...(health ? [{ at: health, serve: { probes: true, metrics: false } }] : []),
          ...(metricsServer ? [{ at: metricsServer, serve: { probes: false, metrics: true } }] : []),
        ];
    for (const { at, serve } of wanted) {
      const server = await startHealthServer({ ...at, serve, registry: metrics.registry, notReadyReasons: () => this.notReadyReasons() });
      this.servers.push({ ...server, ...serve });
      logger.info({ host: at.host ?? '*', port: server.port, ...serve }, 'serving probes/metrics');
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
      onGaveUp: (why) => {
        this.gaveUp = why;
        void this.shutdown('lease-namespace-missing');
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
      await Promise.all(this.servers.map((s) => s.close()));
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
