// Wires the dbcred controllers onto the runtime: informers, engine pool, controllers, sweeper.
// main.ts builds one from settings; tests build one in-process.
import { AuditLog, formatHead, parseHead, type AuditRecord } from '../audit/audit-log.ts';
import type { Reason } from '../api/v1alpha1/conditions.ts';
import type { EngineOptions } from '../engines/engine.ts';
import { builtinEngines } from '../engines/registry.ts';
import { installationMarker } from '../engines/username.ts';
import { Informer } from '../runtime/cache/informer.ts';
import { Controller } from '../runtime/controller.ts';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter } from '../runtime/workqueue/rate-limiter.ts';
import { EventRecorder } from '../runtime/events.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isForbidden, isNotFound } from '../runtime/kube/errors.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { Manager } from '../runtime/manager.ts';
import type { Logger } from '../observability/logger.ts';
import { createRuntimeMetrics, reconcileHooks, registerEventsDropped, registerFootprint } from '../observability/metrics.ts';
import { createCredentialMetrics, type CurrentCredential } from '../observability/credential-metrics.ts';
import { parseBindAddress, type Settings } from '../config/settings.ts';
import type { Clock } from '../util/clock.ts';
import { Failpoints } from '../util/failpoints.ts';
import { DbcredError } from '../util/errors.ts';
import type { OperatorContext } from './context.ts';
import { DatabaseCredentialReconciler } from './database-credential/database-credential-reconciler.ts';
import { liveUsers } from './database-credential/quota.ts';
import { watchCredentialSources } from './database-credential/watches.ts';
import { DatabaseRoleReconciler } from './database-role/database-role-reconciler.ts';
import { watchRoleSources } from './database-role/watches.ts';
import { DatabaseServerReconciler } from './database-server/database-server-reconciler.ts';
import { DatabaseStaticCredentialReconciler } from './database-static-credential/database-static-credential-reconciler.ts';
import { watchStaticCredentialSources } from './database-static-credential/watches.ts';
import { EnginePool, type ServerRef } from './engine-pool.ts';
import { serverInUse } from './database-server/server-protection.ts';
import { watchServerSources } from './database-server/watches.ts';
import { ServerProtectionReconciler } from './database-server/server-protection-reconciler.ts';
import { AdminRotationReconciler } from './database-server/admin-rotation-reconciler.ts';
import { Requesters } from './requester.ts';
import { DbcredResources } from './dbcred-resources.ts';
import { digestSecret } from '../secrets/secret-digest.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, SERVER_SECRET_LABEL } from '../secrets/secret-metadata.ts';
import { StatusWriter } from './status-writer.ts';
import { Sweeper } from './sweeper.ts';
import { DeadLoginWatcher } from './dead-logins.ts';

export interface OperatorDeps {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  writeAudit: (line: string) => void;
  /** The last record of an existing audit stream, to continue its chain. */
  lastAudit?: AuditRecord;
  /** Makes each audit hash an HMAC-SHA256 under this key (--audit-key-file). */
  auditKey?: Buffer;
  env?: NodeJS.ProcessEnv;
}

export interface Operator {
  manager: Manager;
  sweeper: Sweeper;
  credentials: Controller;
  /** footprint: entries of the per-object maps the operator keeps beyond its informer caches, by map. */
  footprint(): Record<string, number>;
  /** metricsText returns what /metrics serves: every metric of this operator, in the Prometheus text format. */
  metricsText(): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** buildOperator assembles everything; nothing talks to the API or a database until start(). */
export function buildOperator(settings: Settings, deps: OperatorDeps): Operator {
  const { client, clock, logger } = deps;
  const metrics = createRuntimeMetrics();
  const health = parseBindAddress(settings.healthProbeBindAddress);
  const metricsServer = parseBindAddress(settings.metricsBindAddress);
  const manager = new Manager({
    client,
    clock,
    logger,
    metrics,
    ...(health ? { health } : {}),
    ...(metricsServer ? { metricsServer } : {}),
    shutdownGraceMs: settings.shutdownGrace,
    ...(settings.leaderElect
      ? {
          leaderElection: {
            namespace: settings.leaderElectionNamespace,
            name: 'dbcred-operator',
            identity: settings.identity,
            leaseDurationMs: settings.leaseDuration,
            renewDeadlineMs: settings.renewDeadline,
            retryPeriodMs: settings.retryPeriod,
            // The audit chain goes from leader to leader on the Lease (renewals carry its head).
            handover: {
              annotation: AUDIT_HEAD_ANNOTATION,
              value: () => {
                const head = ctx.audit.head();
                return head && formatHead(head);
              },
              onAcquired: (previous) => {
                const head = parseHead(previous);
                if (head) ctx.audit.continueFrom(head);
                logger.info(
                  { auditHead: head ?? null },
                  head ? 'audit chain continues from the last leader' : 'audit chain: no head on the Lease',
                );
              },
            },
          },
        }
      : {}),
  });
  const informer = (
    resource: Parameters<typeof manager.addInformer>[0]['resource'],
    selectors: { labelSelector?: string; fieldSelector?: string } = {},
    transform = withoutUnreadFields,
  ) =>
    manager.addInformer(
      new Informer<KubeObject>({
        client,
        resource,
        ...selectors,
        clock,
        logger,
        namespace: resource.namespaced ? settings.watchNamespace : undefined,
        transform,
      }),
    );
  const servers = informer(DbcredResources.DatabaseServer);
  const clusterServers = informer(DbcredResources.ClusterDatabaseServer);
  const roles = informer(DbcredResources.DatabaseRole);
  const clusterRoles = informer(DbcredResources.ClusterDatabaseRole);
  const credentials = informer(DbcredResources.DatabaseCredential);
  const staticCredentials = informer(DbcredResources.DatabaseStaticCredential);
  // Namespace labels are read only for the namespaces credentials live in (allowedNamespaces
  // selectors): watching one, only that Namespace, by name, which RBAC can grant (resourceNames).
  const namespaces = informer(
    Resources.Namespace,
    settings.watchNamespace ? { fieldSelector: `metadata.name=${settings.watchNamespace}` } : {},
  );
  // Only Secrets the operator wrote are watched (least privilege: admin Secrets are read on demand).
  // They are cached as digests (whose user, whether intact): no password stays in memory.
  const secrets = informer(Resources.Secret, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` }, (obj) =>
    digestSecret(withoutUnreadFields(obj)),
  );
  // The Secrets servers log in with, labelled by their check, so a changed or deleted one reaches
  // its servers within seconds; kept as digests too (the engine pool reads the data on demand).
  const serverSecrets = informer(Resources.Secret, { labelSelector: SERVER_SECRET_LABEL }, (obj) => digestSecret(withoutUnreadFields(obj)));
  const labelled = (namespace: string, name: string) => serverSecrets.get(`${namespace}/${name}`) !== undefined;

  // I2: the ownership marker (<instance>@<cluster id>) is set by start(), before any reconcile can
  // build an engine with these options.
  const engineOptions: EngineOptions = { scramIterations: settings.scramIterations };
  // Fencing: every write to the apiserver and every database call of the controllers first checks
  // that this replica still holds the lease by the clock, so a leader paused or cut off past its
  // renew deadline does nothing more once it runs again (the compare-and-swap on each write catches
  // one already sent).
  const guard = (): void => {
    if (!manager.isLeading()) throw new DbcredError('NOT_LEADER', 'this replica no longer holds the leader lease');
  };
  const writer = client.guarded(guard);
  const engines = new EnginePool({
    client,
    registry: builtinEngines(),
    servers,
    clusterServers,
    engineOptions,
    guard,
  });
  // Checked at start(), after ctx exists.
  const requesters = new Requesters({
    client,
    clock,
    logger,
    policy: settings.requesterPolicy,
    onCheck: (verified) => ctx.metrics.requesterVerified.set(verified ? 1 : 0),
  });
  const events = new EventRecorder<Reason>({
    client,
    clock,
    logger,
    reportingController: 'dbcred.io/operator',
    reportingInstance: settings.identity,
    noteSuffix: (target) => requesters.describe(target.uid),
  });
  registerEventsDropped(metrics.registry, () => events.dropped);
  const ctx: OperatorContext = {
    client: writer,
    clock,
    logger,
    engines,
    events,
    audit: new AuditLog(
      deps.writeAudit,
      () => clock.now(),
      deps.lastAudit,
      (uid) => requesters.of(uid),
      deps.auditKey,
    ),
    status: new StatusWriter(writer, () => clock.now()),
    failpoints: new Failpoints(deps.env ?? process.env),
    metrics: createCredentialMetrics(metrics.registry, () => currentCredentials(credentials.list())),
    rolloutRestarts: settings.rolloutRestarts,
  };
  // Every connection an engine opens is counted: a database pays for each (a process, a TLS handshake).
  engineOptions.onConnection = (purpose, engine) => ctx.metrics.databaseConnections.inc({ engine, purpose });
  // Retries back off per key up to 1 min (not controller-runtime's 1000 s): a credential waiting on a
  // database that was down must not sleep for a quarter of an hour after it returns.
  const rateLimiter = () => new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 60_000), new BucketRateLimiter(100, 1000, clock));
  const controller = (name: string, reconciler: ConstructorParameters<typeof Controller>[0]['reconciler'], workers = 2) =>
    manager.addController(
      new Controller({
        name,
        reconciler,
        clock,
        logger,
        workers,
        rateLimiter: rateLimiter(),
        hooks: reconcileHooks(metrics),
        mayReconcile: manager.mayReconcile,
      }),
    );
  const inUse = (ref: ServerRef) => serverInUse(credentials, ref);
  watchServerSources(
    {
      check: controller('databaseservers', new DatabaseServerReconciler(ctx, 'DatabaseServer', servers, labelled)),
      protection: controller('databaseserverprotection', new ServerProtectionReconciler(ctx, 'DatabaseServer', servers, inUse)),
      adminRotation: controller('databaseserveradminrotation', new AdminRotationReconciler(ctx, 'DatabaseServer', servers), 1),
    },
    {
      check: controller('clusterdatabaseservers', new DatabaseServerReconciler(ctx, 'ClusterDatabaseServer', clusterServers, labelled)),
      protection: controller(
        'clusterdatabaseserverprotection',
        new ServerProtectionReconciler(ctx, 'ClusterDatabaseServer', clusterServers, inUse),
      ),
      adminRotation: controller(
        'clusterdatabaseserveradminrotation',
        new AdminRotationReconciler(ctx, 'ClusterDatabaseServer', clusterServers),
        1,
      ),
    },
    { servers, clusterServers, credentials, serverSecrets },
  );
  const roleInformers = { roles, clusterRoles, namespaces };
  const countLiveUsers = (kind: string, name: string, namespace?: string) => liveUsers(credentials, kind, name, namespace);
  watchRoleSources(
    controller('databaseroles', new DatabaseRoleReconciler(ctx, 'DatabaseRole', roles, roleInformers, countLiveUsers)),
    controller('clusterdatabaseroles', new DatabaseRoleReconciler(ctx, 'ClusterDatabaseRole', clusterRoles, roleInformers, countLiveUsers)),
    { roles, clusterRoles, credentials },
  );
  // Users the sweeper found missing from their database: the credential reconciler issues anew.
  const missingUsers = new Map<string, string>();
  const credentialReconciler = new DatabaseCredentialReconciler(ctx, { ...roleInformers, credentials, secrets }, missingUsers);
  const credentialController = watchCredentialSources(controller('databasecredentials', credentialReconciler, settings.workers), {
    credentials,
    secrets,
    roles,
    clusterRoles,
    namespaces,
    servers,
    clusterServers,
  });
  const staticReconciler = new DatabaseStaticCredentialReconciler(
    ctx,
    staticCredentials,
    { ...roleInformers, secrets },
    settings.staticLoginCheckInterval,
  );
  watchStaticCredentialSources(controller('databasestaticcredentials', staticReconciler), {
    staticCredentials,
    secrets,
    namespaces,
    servers,
    clusterServers,
  });
  // The status writer's own copies go as soon as the caches hold them.
  for (const [res, inf] of [
    [DbcredResources.DatabaseServer, servers],
    [DbcredResources.ClusterDatabaseServer, clusterServers],
    [DbcredResources.DatabaseRole, roles],
    [DbcredResources.ClusterDatabaseRole, clusterRoles],
    [DbcredResources.DatabaseCredential, credentials],
    [DbcredResources.DatabaseStaticCredential, staticCredentials],
  ] as const) {
    ctx.status.follow(res, inf);
    inf.on((event) => requesters.observe(event));
  }

  const sweeper = new Sweeper({
    ctx,
    servers,
    clusterServers,
    missingUsers,
    namespace: settings.watchNamespace,
    enqueue: (key) => credentialController.enqueue(key),
    mayRun: manager.mayReconcile,
  });

  const deadLogins = new DeadLoginWatcher({ ctx, servers, clusterServers, mayRun: manager.mayReconcile });

  // What this process keeps per object beyond the informer caches: each must return to its size
  // once the objects are gone (a test creates and deletes hundreds), and it is exported as a gauge.
  const footprint = (): Record<string, number> => ({
    statusWritten: ctx.status.size(),
    requesters: requesters.size(),
    deadLoginCursors: deadLogins.size(),
    ...engines.sizes(),
    ...credentialReconciler.footprint(),
    ...staticReconciler.footprint(),
  });
  registerFootprint(metrics.registry, footprint);

  return {
    manager,
    sweeper,
    credentials: credentialController,
    footprint,
    metricsText: () => metrics.registry.metrics(),
    async start() {
      engineOptions.marker = installationMarker(settings.instance, settings.clusterId ?? (await readClusterId(client)));
      logger.info({ marker: engineOptions.marker }, 'ownership marker of this installation');
      await requesters.start();
      await manager.start();
      sweeper.start(settings.sweepSchedule);
      deadLogins.start(settings.deadLoginScanInterval);
      if (ctx.failpoints.active().length > 0)
        logger.warn({ failpoints: ctx.failpoints.active() }, 'FAILPOINTS ARMED: this process will crash on purpose');
    },
    async stop() {
      requesters.stop();
      await sweeper.stop();
      await deadLogins.stop();
      await manager.stop();
      await ctx.events.flushAll();
      await engines.closeAll();
    },
  };
}

/**
 * readClusterId returns the uid of the kube-system Namespace, this cluster's id in the ownership
 * marker; when RBAC forbids the read or the Namespace does not exist, it fails naming --cluster-id.
 */
export async function readClusterId(client: KubeClient): Promise<string> {
  let uid: string | undefined;
  try {
    uid = (await client.get<KubeObject>(Resources.Namespace, 'kube-system')).metadata.uid;
  } catch (error) {
    if (!isForbidden(error) && !isNotFound(error)) throw error;
    throw new DbcredError(
      'CONFIG_INVALID',
      `cannot read the kube-system Namespace for this cluster's id in the ownership marker (${(error as Error).message}): ` +
        'grant get on namespaces/kube-system, or set --cluster-id (DBCRED_CLUSTER_ID) to an id unique to this cluster',
    );
  }
  if (!uid) throw new DbcredError('CONFIG_INVALID', 'the kube-system Namespace has no uid: set --cluster-id (DBCRED_CLUSTER_ID)');
  return uid;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** On the leader Lease: the audit chain's head (`<seq>:<hash>`) as of the leader's last renewal. */
export const AUDIT_HEAD_ANNOTATION = 'dbcred.io/audit-head';

/**
 * The caches never read managedFields (a third to a half of each object's memory) nor kubectl's
 * last-applied copy of the object.
 */
function withoutUnreadFields(obj: KubeObject): KubeObject {
  delete (obj.metadata as { managedFields?: unknown }).managedFields;
  if (obj.metadata.annotations?.[LAST_APPLIED] !== undefined) delete obj.metadata.annotations[LAST_APPLIED];
  return obj;
}

/** currentCredentials lists the credentials that have a current user, with its expiry (for the metrics). */
function currentCredentials(credentials: readonly KubeObject[]): CurrentCredential[] {
  const out: CurrentCredential[] = [];
  for (const c of credentials) {
    const expiresAt = (c as { status?: { current?: { expiresAt?: string } } }).status?.current?.expiresAt;
    if (expiresAt === undefined) continue;
    out.push({ namespace: c.metadata.namespace ?? '', name: c.metadata.name, expiresAtMs: Date.parse(expiresAt) });
  }
  return out;
}
