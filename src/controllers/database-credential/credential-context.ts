// What every step of the DatabaseCredential controller shares: the operator's context, the caches,
// and the one way each step records what it did (status through the status writer, Events, audit).
import { DatabaseCredential, type DatabaseCredentialStatus, validate } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import { API_VERSION } from '../../api/v1alpha1/kind.ts';
import type { AuditEntry } from '../../audit/audit-log.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import { EventRecorder } from '../../runtime/events.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { isNotFound } from '../../runtime/kube/errors.ts';
import { digestSecret } from '../../secrets/secret-digest.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import { secretNameOf, type SecretObject } from '../published-secret.ts';
import type { RoleInformers } from '../roles.ts';
import { Freshest } from '../status-writer.ts';
import { KeyedLock } from '../../util/keyed-lock.ts';
import { sameStatus, withCondition } from '../status-conditions.ts';
import { conditionCorrections } from './truthful-conditions.ts';

export type Status = DatabaseCredentialStatus;
export const RES = DbcredResources.DatabaseCredential;

export interface CredentialInformers extends RoleInformers {
  credentials: Informer<KubeObject>;
  secrets: Informer<KubeObject>;
}

export class CredentialContext {
  readonly ctx: OperatorContext;
  readonly informers: CredentialInformers;
  /** Credential key → its current user, which the sweeper found missing from the database (dropped by hand): re-issued. */
  readonly missingUsers: Map<string, string>;
  /** Secrets this process wrote, newer than the cache until its watch catches up. */
  readonly secrets: Freshest;
  /** Held per role (with a quota) from the quota check until the intent is written. */
  readonly quotaLock = new KeyedLock();

  constructor(ctx: OperatorContext, informers: CredentialInformers, missingUsers: Map<string, string>) {
    this.ctx = ctx;
    this.informers = informers;
    this.missingUsers = missingUsers;
    this.secrets = new Freshest(() => ctx.clock.now());
    informers.secrets.on((event) => this.secrets.observe(event));
  }

  /**
   * writeStatus patches the credential's status (conditioned on its resourceVersion) and returns it
   * as written; the conditions written never claim what the written state contradicts.
   */
  async writeStatus(cred: DatabaseCredential, patch: Record<string, unknown>): Promise<DatabaseCredential> {
    const updated = await this.ctx.status.write<KubeObject>(RES, cred, this.truthful(cred, patch));
    const parsed = validate(DatabaseCredential, updated);
    return parsed.ok
      ? parsed.value
      : { ...cred, metadata: { ...cred.metadata, ...updated.metadata }, status: (updated as { status?: Status }).status };
  }

  /** writeStatusIfChanged writes only when a user would see a difference (no write, no event loop). */
  async writeStatusIfChanged(cred: DatabaseCredential, patch: Record<string, unknown>): Promise<DatabaseCredential> {
    const truthful = this.truthful(cred, patch);
    if (sameStatus(cred.status, { ...cred.status, ...truthful })) return cred;
    return this.writeStatus(cred, truthful);
  }

  /** truthful adds to a status patch the condition corrections its resulting state calls for. */
  private truthful(cred: DatabaseCredential, patch: Record<string, unknown>): Record<string, unknown> {
    // A merge patch: null removes a field.
    const merged = Object.fromEntries(Object.entries({ ...cred.status, ...patch }).filter(([, v]) => v !== null)) as Status;
    const corrections = conditionCorrections({
      status: merged,
      now: this.ctx.clock.now(),
      generation: cred.metadata.generation,
      deleting: cred.metadata.deletionTimestamp !== undefined,
    });
    return Object.keys(corrections).length === 0 ? patch : { ...patch, ...corrections };
  }

  /** setCondition sets one condition (Ready by default), writing only if it changed. */
  async setCondition(
    cred: DatabaseCredential,
    status: 'True' | 'False',
    reason: Reason,
    message: string,
    type: 'Ready' | 'Rotating' = 'Ready',
  ): Promise<DatabaseCredential> {
    const conditions = withCondition(
      cred.status?.conditions,
      type,
      status,
      reason,
      message,
      this.ctx.clock.now(),
      cred.metadata.generation,
    );
    return this.writeStatusIfChanged(cred, { conditions });
  }

  /** event records a Kubernetes Event on the credential (rate-limited by the recorder). */
  event(cred: DatabaseCredential, type: 'Normal' | 'Warning', reason: Reason, action: string, note: string): void {
    this.ctx.events.record(EventRecorder.targetOf(cred, API_VERSION, 'DatabaseCredential'), type, reason, action, note);
  }

  /** audit appends a record about this credential to the audit stream. */
  audit(cred: DatabaseCredential, entry: Omit<AuditEntry, 'object'>): void {
    this.ctx.audit.record({
      ...entry,
      object: { kind: 'DatabaseCredential', namespace: cred.metadata.namespace, name: cred.metadata.name, uid: cred.metadata.uid },
    });
  }

  /** latestCredential is the given copy (cached or this reconcile's own), or the newer copy this process wrote. */
  latestCredential = (raw: KubeObject): KubeObject => this.ctx.status.newer(RES, raw);

  /** cachedSecret is the credential's Secret as last seen (the cache, or this process's newer write). */
  cachedSecret(cred: DatabaseCredential): SecretObject | undefined {
    const key = `${cred.metadata.namespace}/${secretNameOf(cred)}`;
    return this.secrets.get<SecretObject>(this.informers.secrets.get(key), key);
  }

  /**
   * liveSecret reads the credential's Secret from the apiserver (as a digest: no password kept) and
   * remembers it, for decisions the cache may be too late for; undefined when there is none.
   */
  async liveSecret(cred: DatabaseCredential): Promise<SecretObject | undefined> {
    try {
      const live = digestSecret(await this.ctx.client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace));
      this.secrets.remember(live);
      return live;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
