// Prometheus metrics (prom-client). The operator's own are prefixed dbcred_; Node's process metrics
// keep their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...) so stock
// dashboards and alerts work. One registry per process; the runtime's metrics live here, the
// product's are added next to them by the controllers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface RuntimeMetrics {
  registry: Registry;
  reconcileTotal: Counter<'controller' | 'outcome'>;
  reconcileDuration: Histogram<'controller'>;
  workqueueDepth: Gauge<'controller'>;
  /** Each controller's queue length, read at every scrape (so the gauge is live, not as of the last reconcile). */
  queueDepths: Map<string, () => number>;
  informerObjects: Gauge<'resource'>;
  leader: Gauge;
}

/** createRuntimeMetrics registers the runtime's metrics (and Node's process metrics) in a new registry. */
export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const queueDepths = new Map<string, () => number>();
  return {
    queueDepths,
    registry,
    reconcileTotal: new Counter({
      name: 'dbcred_reconcile_total',
      help: 'Reconciles by controller and outcome (success, requeue, error).',
      labelNames: ['controller', 'outcome'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'dbcred_reconcile_duration_seconds',
      help: 'Reconcile duration.',
      labelNames: ['controller'],
      registers: [registry],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    workqueueDepth: new Gauge({
      name: 'dbcred_workqueue_depth',
      help: "Keys waiting in a controller's work queue.",
      labelNames: ['controller'],
      registers: [registry],
      collect() {
        for (const [controller, depth] of queueDepths) this.set({ controller }, depth());
      },
    }),
    informerObjects: new Gauge({
      name: 'dbcred_informer_objects',
      help: 'Objects in an informer cache.',
      labelNames: ['resource'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'dbcred_leader', help: '1 while this replica holds the leader lease.', registers: [registry] }),
  };
}

/** reconcileHooks reports each reconcile's outcome and duration to the metrics. */
export function reconcileHooks(metrics: RuntimeMetrics) {
  return {
    onReconcile(controller: string, outcome: string, durationMs: number): void {
      metrics.reconcileTotal.inc({ controller, outcome });
      metrics.reconcileDuration.observe({ controller }, durationMs / 1000);
    },
  };
}

/** registerEventsDropped exposes how many Events the recorder's spam filter and budget skipped. */
export function registerEventsDropped(registry: Registry, dropped: () => number): void {
  new Counter({
    name: 'dbcred_events_dropped_total',
    help: "Events not written: beyond an object's burst or the shared budget of Normal Events (the status and audit trail still hold them).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(dropped());
    },
  });
}

/** registerFootprint exports the sizes of the operator's per-object maps (read at each scrape). */
export function registerFootprint(registry: Registry, footprint: () => Record<string, number>): void {
  new Gauge({
    name: 'dbcred_tracked_entries',
    help: 'Entries of the per-object maps the operator keeps beyond its informer caches, by map; each returns to its size once the objects are gone.',
    labelNames: ['map'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [map, n] of Object.entries(footprint())) this.set({ map }, n);
    },
  });
}
