// Who asked for each dbcred object: the chart's MutatingAdmissionPolicy stamps the identity the
// apiserver authenticated (username, groups, uid) in annotations when an
// object is created or its spec changes, over anything the client sent. Without that policy the
// annotations are whatever a tenant wrote, so they are believed only while the policy and its
// binding exist (checked at start and every minute; dbcred_requester_verified says which). The
// operator then names the requester in every audit record and Event about the object.
import { REQUESTED_BY_UID_ANNOTATION, REQUESTED_BY_ANNOTATION, REQUESTED_BY_GROUPS_ANNOTATION } from '../api/v1alpha1/annotations.ts';
import type { Requester } from '../audit/audit-log.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerEvent } from '../runtime/cache/informer.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isNotFound } from '../runtime/kube/errors.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

const RECHECK_MS = 60_000;

/** requesterOf reads the stamped annotations of an object (undefined when it has none). */
export function requesterOf(obj: KubeObject): Requester | undefined {
  const a = obj.metadata.annotations ?? {};
  const username = a[REQUESTED_BY_ANNOTATION];
  if (!username) return undefined;
  const groups = a[REQUESTED_BY_GROUPS_ANNOTATION];
  const uid = a[REQUESTED_BY_UID_ANNOTATION];
  return {
    username,
    ...(groups ? { groups: groups.split(',').filter(Boolean) } : {}),
    ...(uid ? { uid } : {}),
  };
}

export class Requesters {
  private readonly byUid = new Map<string, Requester>();
  private verified = false;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private checked = false;
  private readonly o: {
    client: KubeClient;
    clock: Clock;
    logger: Logger;
    /** The policy's name (its binding has the same name); none: nothing is believed. */
    policy?: string;
    /** Told whether the stamps are believed, after every check. */
    onCheck?: (verified: boolean) => void;
  };

  constructor(options: Requesters['o']) {
    this.o = options;
  }

  /** observe keeps the stamped requester of every object an informer delivers (the informers' handler). */
  observe(event: InformerEvent<KubeObject>): void {
    const uid = event.object.metadata.uid;
    if (!uid) return;
    const requester = event.type === 'upsert' ? requesterOf(event.object) : undefined;
    if (requester) this.byUid.set(uid, requester);
    else this.byUid.delete(uid);
  }

  /** of names who asked for the object with this uid, only while the stamping policy is installed. */
  of(uid: string | undefined): Requester | undefined {
    return this.verified && uid !== undefined ? this.byUid.get(uid) : undefined;
  }

  /** describe is of() as a phrase for Event notes. */
  describe(uid: string | undefined): string | undefined {
    const r = this.of(uid);
    return r && `(requested by ${r.username})`;
  }

  /** check looks for the policy and its binding; only when both exist are the stamps believed. */
  async check(): Promise<boolean> {
    const { policy, client, logger } = this.o;
    let verified = false;
    if (policy) {
      try {
        await client.get(Resources.MutatingAdmissionPolicy, policy);
        const binding = await client.get<KubeObject & { spec?: { policyName?: string } }>(Resources.MutatingAdmissionPolicyBinding, policy);
        verified = binding.spec?.policyName === policy;
      } catch (error) {
        if (!isNotFound(error)) logger.warn({ err: error, policy }, 'could not read the requester policy; requesters are not recorded');
      }
    }
    if (verified !== this.verified || !this.checked)
      logger[verified ? 'info' : 'warn'](
        { policy: policy ?? null },
        verified
          ? 'requester policy installed: audit records and Events name who asked'
          : 'requester policy not installed (--requester-policy): who asked is not recorded, since annotations alone could be forged',
      );
    this.verified = verified;
    this.checked = true;
    this.o.onCheck?.(verified);
    return verified;
  }

  /** start checks now and every minute after, until stop. */
  async start(): Promise<void> {
    await this.check();
    const again = () => {
      if (this.stopped) return;
      this.timer = this.o.clock.setTimer(RECHECK_MS, () => void this.check().finally(again));
    };
    again();
  }

  /** stop ends the rechecks. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** size: objects with a stamped requester kept (the footprint gauge). */
  size(): number {
    return this.byUid.size;
  }
}
