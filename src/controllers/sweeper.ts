// The safety net (leader only, on a node-cron schedule): drops users that carry the operator's
// marker but that no live DatabaseCredential names and no Secret of deletionPolicy Retain shelters
// (I2: orphans of a crash or of a deleted object whose finalizer was removed by hand), notices users dropped by hand (their credentials re-issue),
// and re-enqueues anything whose deadline has passed. The databases are listed BEFORE the API is
// read (fresh, not from the cache): a user created after intent was recorded is then always seen
// as referenced, so an issue in flight is never mistaken for an orphan.
import cron from 'node-cron';
import { DatabaseCredentialStatus, usernamesIn, validate } from '../api/v1alpha1/index.ts';
import type { Informer } from '../runtime/cache/informer.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import type { OperatorContext } from './context.ts';
import { serverKey, type ServerRef } from './engine-pool.ts';
import { DbcredResources } from './dbcred-resources.ts';
import { isUsernameFor } from '../engines/username.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import { RETAINED_FROM_ANNOTATION, RETAINED_LABEL } from '../secrets/secret-metadata.ts';
import { secretUsername } from '../secrets/secret-digest.ts';

export interface SweepResult {
  servers: number;
  orphansDropped: string[];
  missingUsers: string[];
  overdue: number;
  errors: string[];
}

export interface SweeperOptions {
  ctx: OperatorContext;
  servers: Informer<KubeObject>;
  clusterServers: Informer<KubeObject>;
  /** Users found missing are added here; their credentials re-issue. */
  /** Credential key → its current user, found missing from the database (dropped by hand). */
  missingUsers: Map<string, string>;
  enqueue: (credentialKey: string) => void;
  mayRun: () => boolean;
  /** The watched namespace, when the operator watches only one. */
  namespace?: string;
}

export class Sweeper {
  private readonly o: SweeperOptions;
  private task: ReturnType<typeof cron.schedule> | undefined;

  constructor(options: SweeperOptions) {
    this.o = options;
  }

  /** start runs sweep() on the cron schedule (6 fields: seconds first), skipping overlapping runs. */
  start(schedule: string): void {
    this.task = cron.schedule(
      schedule,
      async () => {
        if (!this.o.mayRun()) return;
        const result = await this.sweep();
        this.o.ctx.logger.info({ ...result }, 'sweep done');
      },
      { noOverlap: true, name: 'dbcred-sweep' },
    );
  }

  async stop(): Promise<void> {
    await this.task?.stop();
  }

  /** sweep does one pass over every known server; it never throws (errors are reported). */
  async sweep(): Promise<SweepResult> {
    const { ctx } = this.o;
    const result: SweepResult = { servers: 0, orphansDropped: [], missingUsers: [], overdue: 0, errors: [] };
    const refs: ServerRef[] = [
      ...this.o.servers.list().map((s) => ({ kind: 'DatabaseServer' as const, name: s.metadata.name, namespace: s.metadata.namespace })),
      // A namespace-scoped operator cannot see every credential using a cluster server: leave those alone.
      ...(this.o.namespace
        ? []
        : this.o.clusterServers.list().map((s) => ({ kind: 'ClusterDatabaseServer' as const, name: s.metadata.name }))),
    ];
    const owned = new Map<string, Set<string>>();
    for (const ref of refs) {
      try {
        const server = await ctx.engines.resolve(ref);
        owned.set(serverKey(ref), new Set((await server.engine.listOwnedUsers()).map((u) => u.username)));
        result.servers++;
      } catch (error) {
        result.errors.push(`${serverKey(ref)}: ${(error as Error).message}`);
      }
    }
    let credentials: KubeObject[];
    try {
      credentials = (await ctx.client.listAll<KubeObject>(DbcredResources.DatabaseCredential, { namespace: this.o.namespace })).items;
    } catch (error) {
      result.errors.push(`listing DatabaseCredentials: ${(error as Error).message}`);
      return result; // never drop anything without a fresh view of the API
    }
    const referenced = new Set<string>();
    // Users a deleted credential retained live while their Secret does (read after the credentials:
    // a Secret marked before its credential's finalizer went is seen here).
    try {
      for (const u of await retainedUsers(ctx.client, this.o.namespace)) referenced.add(u);
    } catch (error) {
      result.errors.push(`listing retained Secrets: ${(error as Error).message}`);
      return result;
    }
    const now = ctx.clock.now();
    const maybeMissing: { key: string; username: string; server: ServerRef }[] = [];
    for (const cred of credentials) {
      const parsed = validate(DatabaseCredentialStatus, (cred as { status?: unknown }).status ?? {});
      if (!parsed.ok) {
        // Names we cannot read are names we cannot rule out: never drop anything this pass.
        result.errors.push(`${cred.metadata.namespace}/${cred.metadata.name}: unreadable status; no orphan is dropped this pass`);
        return result;
      }
      const st = parsed.value;
      for (const u of usernamesIn(st)) referenced.add(u);
      const key = `${cred.metadata.namespace}/${cred.metadata.name}`;
      const users = st.server ? owned.get(serverKey(st.server)) : undefined;
      if (st.current && st.server && users && !users.has(st.current.username) && !st.pending) {
        maybeMissing.push({ key, username: st.current.username, server: st.server });
      }
      const deadlines = [st.current?.renewAt, st.current?.expiresAt, ...(st.retiring ?? []).map((r) => r.revokeAt)].filter(
        (d): d is string => d !== undefined,
      );
      if (deadlines.some((d) => Date.parse(d) <= now) || cred.metadata.deletionTimestamp) {
        result.overdue++;
        this.o.enqueue(key);
      }
    }
    // A current user absent from the first listing may have been created after it: only a second
    // listing, taken after the API was read, can say it is really gone (dropped by hand).
    const relisted = new Map<string, Set<string>>();
    for (const m of maybeMissing) {
      const k = serverKey(m.server);
      try {
        if (!relisted.has(k))
          relisted.set(k, new Set((await (await ctx.engines.resolve(m.server)).engine.listOwnedUsers()).map((u) => u.username)));
      } catch (error) {
        result.errors.push(`${k}: ${(error as Error).message}`);
        continue;
      }
      if (relisted.get(k)!.has(m.username)) continue;
      this.o.missingUsers.set(m.key, m.username);
      result.missingUsers.push(m.username);
      this.o.enqueue(m.key);
    }
    for (const ref of refs) {
      const users = owned.get(serverKey(ref));
      if (!users) continue;
      for (const username of users) {
        if (referenced.has(username)) continue;
        try {
          const { engine } = await ctx.engines.resolve(ref);
          const { existed } = await engine.revokeUser(username, { revocation: { terminateSessions: true } });
          // Gone already: its credential's finalizer dropped it between the two listings. Not an orphan.
          if (!existed) continue;
          result.orphansDropped.push(username);
          ctx.metrics.revoked.inc({ why: 'orphan' });
          ctx.audit.record({
            action: 'orphan-drop',
            outcome: 'success',
            object: { kind: ref.kind, namespace: ref.namespace, name: ref.name },
            server: ref.name,
            username,
            message: `user ${username} carried the dbcred marker but no DatabaseCredential names it: dropped`,
          });
        } catch (error) {
          result.errors.push(`dropping orphan ${username}: ${(error as Error).message}`);
        }
      }
    }
    return result;
  }
}

/**
 * retainedUsers lists the users that Secrets left by deletionPolicy Retain shelter (in one namespace,
 * or all), each only if its name derives from the credential uid and serial the Secret's mark gives
 * (usernameFor): a label set by hand on any Secret shelters no other user. The data is read, not kept.
 */
export async function retainedUsers(client: KubeClient, namespace: string | undefined): Promise<Set<string>> {
  const { items } = await client.listAll<KubeObject & { data?: Record<string, string> }>(Resources.Secret, {
    namespace,
    labelSelector: `${RETAINED_LABEL}=true`,
  });
  return new Set(items.map(retainedUserOf).filter((u): u is string => u !== undefined));
}

/** retainedUserOf is the user a retained Secret shelters: its username, if the Secret's mark derives it (usernameFor). */
export function retainedUserOf(secret: KubeObject & { data?: Record<string, string> }): string | undefined {
  const [uid, serial] = (secret.metadata.annotations?.[RETAINED_FROM_ANNOTATION] ?? '').split('/');
  const username = secretUsername(secret);
  return uid && serial && username && isUsernameFor(username, uid, Number(serial)) ? username : undefined;
}
