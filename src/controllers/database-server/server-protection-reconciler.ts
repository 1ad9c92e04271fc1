// Keeps a server, and the Secrets it logs in with, while users issued on it may live (the policy is
// in server-protection.ts). Apart from the server's health check: it runs when a credential on the
// server gains its first or loses its last user, and reads nothing when there is nothing to change.
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Reconciler, Result } from '../../runtime/controller.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { isForbidden, isNotFound } from '../../runtime/kube/errors.ts';
import { splitKey, type KubeObject } from '../../runtime/kube/types.ts';
import type { OperatorContext } from '../context.ts';
import { DbcredResources } from '../dbcred-resources.ts';
import type { ServerRef } from '../engine-pool.ts';
import { SERVER_IN_USE_FINALIZER, secretFinalizer, secretsOfServer } from './server-protection.ts';

/** A server being deleted while users live on it is looked at again this often (their revocations also bring it back). */
const DELETING_RECHECK_MS = 10_000;

export class ServerProtectionReconciler implements Reconciler {
  private readonly ctx: OperatorContext;
  private readonly kind: 'DatabaseServer' | 'ClusterDatabaseServer';
  private readonly informer: Informer<KubeObject>;
  private readonly inUse: (ref: ServerRef) => boolean;

  constructor(
    ctx: OperatorContext,
    kind: 'DatabaseServer' | 'ClusterDatabaseServer',
    informer: Informer<KubeObject>,
    inUse: (ref: ServerRef) => boolean,
  ) {
    this.ctx = ctx;
    this.kind = kind;
    this.informer = informer;
    this.inUse = inUse;
  }

  /** reconcile holds the server and its Secrets while it is in use, and releases them (Secrets first) once it is not. */
  async reconcile(key: string): Promise<Result | void> {
    const { ctx, kind } = this;
    const res = DbcredResources[kind];
    const raw = ctx.status.freshest(res, this.informer.get(key), key);
    const { namespace, name } = splitKey(key);
    const ref: ServerRef = { kind, name, namespace };
    const inUse = this.inUse(ref);
    if (!raw) {
      // Gone: its engine stays only while credentials issued on it may still need revoking.
      if (!inUse) ctx.engines.forget(ref);
      return;
    }
    const held = hasFinalizer(raw, SERVER_IN_USE_FINALIZER);
    if (inUse && !held) {
      await this.holdSecrets(raw, ref, true);
      ctx.status.remember(res, await addFinalizer(ctx.client, res, raw, SERVER_IN_USE_FINALIZER));
    } else if (!inUse && held) {
      await this.holdSecrets(raw, ref, false);
      ctx.status.remember(res, await removeFinalizer(ctx.client, res, raw, SERVER_IN_USE_FINALIZER));
    }
    if (raw.metadata.deletionTimestamp && inUse) return { requeueAfterMs: DELETING_RECHECK_MS };
  }

  /**
   * holdSecrets adds (hold) or removes this server's finalizer on each Secret it logs in with. A
   * missing Secret is skipped, and so is one the operator may only read (the chart's
   * adminSecretNamespaces in namespace-scoped mode: a platform namespace that is not deleted).
   */
  private async holdSecrets(raw: KubeObject, ref: ServerRef, hold: boolean): Promise<void> {
    const finalizer = secretFinalizer(ref);
    for (const { namespace, name } of secretsOfServer(raw, ref)) {
      try {
        const secret = await this.ctx.client.get<KubeObject>(Resources.Secret, name, namespace);
        if (hold) await addFinalizer(this.ctx.client, Resources.Secret, secret, finalizer);
        else await removeFinalizer(this.ctx.client, Resources.Secret, secret, finalizer);
      } catch (error) {
        if (isNotFound(error) || isForbidden(error)) continue;
        throw error;
      }
    }
  }
}
