// What every controller needs, built once by main.ts.
import type { AuditLog } from '../audit/audit-log.ts';
import type { Reason } from '../api/v1alpha1/conditions.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { Logger } from '../observability/logger.ts';
import type { CredentialMetrics } from '../observability/credential-metrics.ts';
import type { Clock } from '../util/clock.ts';
import type { Failpoints } from '../util/failpoints.ts';
import type { EnginePool } from './engine-pool.ts';
import type { StatusWriter } from './status-writer.ts';

export interface OperatorContext {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  events: EventRecorder<Reason>;
  audit: AuditLog;
  engines: EnginePool;
  status: StatusWriter;
  failpoints: Failpoints;
  metrics: CredentialMetrics;
  /** Whether rolloutRestartTargets are restarted (--rollout-restarts); false: skipped with a Warning. */
  rolloutRestarts: boolean;
}
