// Reuse of dead credentials (leader only, every --dead-login-scan-interval): reads each server's
// refused logins since the last scan and reports those for users of this installation that no
// longer exist or whose expiry has passed — a revoked or expired credential someone still holds.
// Each is an audit record (dead-login, with the client address), a Warning Event on the server and
// dbcred_dead_credential_logins_total. Servers whose log the admin cannot read say so in their
// FailedLoginsVisible condition. Cursors live in memory: a new leader starts at the log's end.
import { API_VERSION } from '../api/v1alpha1/kind.ts';
import type { FailedLogin } from '../engines/engine.ts';
import { isUsernameOf } from '../engines/username.ts';
import type { Informer } from '../runtime/cache/informer.ts';
import { EventRecorder } from '../runtime/events.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import type { TimerHandle } from '../util/clock.ts';
import type { OperatorContext } from './context.ts';
import { serverKey, type ServerRef } from './engine-pool.ts';

export interface DeadLoginScan {
  servers: number;
  detected: { server: string; username: string; clientAddress?: string }[];
  errors: string[];
}

export interface DeadLoginWatcherOptions {
  ctx: OperatorContext;
  servers: Informer<KubeObject>;
  clusterServers: Informer<KubeObject>;
  mayRun: () => boolean;
}

export class DeadLoginWatcher {
  private readonly o: DeadLoginWatcherOptions;
  /** Server key → where its log was read up to. */
  private readonly cursors = new Map<string, string>();
  private timer: TimerHandle | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(options: DeadLoginWatcherOptions) {
    this.o = options;
  }

  /**
   * start scans at once — a server's log is read from where it ends at the first scan, so that scan
   * should come early — then every intervalMs (0: never), one scan at a time.
   */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = (this.o.mayRun() ? this.scan() : Promise.resolve(this.cursors.clear())).finally(() => {
        if (!this.stopped) this.timer = this.o.ctx.clock.setTimer(intervalMs, tick);
      });
    };
    this.timer = this.o.ctx.clock.setTimer(0, tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  /** size is the number of servers with a cursor (the footprint gauge). */
  size(): number {
    return this.cursors.size;
  }

  /** scan reads every server's refused logins once; it never throws (errors are reported). */
  async scan(): Promise<DeadLoginScan> {
    const result: DeadLoginScan = { servers: 0, detected: [], errors: [] };
    const servers: { ref: ServerRef; object: KubeObject }[] = [
      ...this.o.servers.list().map((object) => ({
        ref: { kind: 'DatabaseServer' as const, name: object.metadata.name, namespace: object.metadata.namespace },
        object,
      })),
      ...this.o.clusterServers
        .list()
        .map((object) => ({ ref: { kind: 'ClusterDatabaseServer' as const, name: object.metadata.name }, object })),
    ];
    const known = new Set(servers.map((s) => serverKey(s.ref)));
    for (const key of this.cursors.keys()) if (!known.has(key)) this.cursors.delete(key);
    for (const { ref, object } of servers) {
      if (object.metadata.deletionTimestamp) continue;
      const key = serverKey(ref);
      try {
        const { engine } = await this.o.ctx.engines.resolve(ref);
        const read = await engine.readFailedLogins(this.cursors.get(key));
        if (!read.visible) {
          this.cursors.delete(key);
          continue;
        }
        this.cursors.set(key, read.cursor);
        result.servers++;
        const ours = read.failures.filter((f) => isUsernameOf(f.username, engine.marker));
        if (ours.length === 0) continue;
        // Dead: no longer in the database, or past the expiry the database holds for it.
        const alive = new Map((await engine.listOwnedUsers()).map((u) => [u.username, u.expiresAt]));
        for (const failure of ours) {
          if (alive.has(failure.username)) {
            const expiresAt = alive.get(failure.username);
            if (!expiresAt || expiresAt.getTime() > failure.at.getTime()) continue;
          }
          this.report(ref, object, failure);
          result.detected.push({
            server: key,
            username: failure.username,
            ...(failure.clientAddress ? { clientAddress: failure.clientAddress } : {}),
          });
        }
      } catch (error) {
        result.errors.push(`${key}: ${(error as Error).message}`);
      }
    }
    // A server that cannot be reached says so in its own conditions; this is detail.
    if (result.errors.length > 0) this.o.ctx.logger.debug({ errors: result.errors }, 'reading refused logins failed on some servers');
    return result;
  }

  private report(ref: ServerRef, object: KubeObject, failure: FailedLogin): void {
    const { ctx } = this.o;
    const from = failure.clientAddress ? `from ${failure.clientAddress}` : 'from an address the database did not log';
    const message =
      `the database refused a login as ${failure.username}, a user dbcred revoked or let expire, ${from} at ${failure.at.toISOString()}` +
      (failure.detail ? ` (${failure.detail})` : '') +
      ': whoever holds that credential still tries to use it';
    ctx.metrics.deadCredentialLogins.inc({ kind: ref.kind, namespace: ref.namespace ?? '', name: ref.name });
    ctx.audit.record({
      action: 'dead-login',
      outcome: 'denied',
      object: { kind: ref.kind, namespace: ref.namespace, name: ref.name, uid: object.metadata.uid },
      server: ref.name,
      username: failure.username,
      reason: 'DeadCredentialUsed',
      ...(failure.clientAddress ? { clientAddress: failure.clientAddress } : {}),
      message,
    });
    ctx.events.record(EventRecorder.targetOf(object, API_VERSION, ref.kind), 'Warning', 'DeadCredentialUsed', 'Detect', message);
    ctx.logger.warn(
      { server: serverKey(ref), username: failure.username, clientAddress: failure.clientAddress },
      'login with a dead credential',
    );
  }
}
