import { describe, expect, it } from '@jest/globals';
import { Requesters, requesterOf } from '../../../src/controllers/requester.ts';
import type { KubeClient } from '../../../src/runtime/kube/client.ts';
import { KubeError } from '../../../src/runtime/kube/errors.ts';
import type { KubeObject } from '../../../src/runtime/kube/types.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/util/clock.ts';

const stamped = (uid: string, annotations: Record<string, string>): KubeObject => ({
  apiVersion: 'dbcred.io/v1alpha1',
  kind: 'DatabaseCredential',
  metadata: { name: uid, namespace: 'team', uid, annotations },
});
const alice = stamped('u1', {
  'dbcred.io/requested-by': 'system:serviceaccount:team:alice',
  'dbcred.io/requested-by-groups': 'system:serviceaccounts,system:authenticated',
  'dbcred.io/requested-by-uid': 'sa-uid',
});

/** A client whose GETs find exactly the named cluster objects ("<plural>/<name>" → spec). */
function clusterWith(objects: Record<string, unknown>): KubeClient {
  return {
    get: (res: { plural: string }, name: string) => {
      const spec = objects[`${res.plural}/${name}`];
      if (spec === undefined) return Promise.reject(new KubeError(404, 'NotFound', `${name} not found`));
      return Promise.resolve({ metadata: { name }, spec });
    },
  } as unknown as KubeClient;
}
const installed = {
  'mutatingadmissionpolicies/p': {},
  'mutatingadmissionpolicybindings/p': { policyName: 'p' },
};
const requesters = (client: KubeClient, policy?: string) =>
  new Requesters({ client, clock: systemClock, logger: createLogger({ level: 'silent' }), ...(policy ? { policy } : {}) });

describe('who asked, as the operator reports it', () => {
  it('reads the stamped username, groups and uid', () => {
    expect(requesterOf(alice)).toEqual({
      username: 'system:serviceaccount:team:alice',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      uid: 'sa-uid',
    });
    expect(requesterOf(stamped('u2', {}))).toBeUndefined();
  });

  it('is named only while the policy and its binding exist', async () => {
    const r = requesters(clusterWith(installed), 'p');
    r.observe({ type: 'upsert', object: alice, sync: true });
    expect(r.of('u1')).toBeUndefined(); // not checked yet
    expect(await r.check()).toBe(true);
    expect(r.of('u1')?.username).toBe('system:serviceaccount:team:alice');
    expect(r.describe('u1')).toBe('(requested by system:serviceaccount:team:alice)');
  });

  it('is never named without the policy, its binding, or a binding to it, whatever the annotations say', async () => {
    for (const [objects, policy] of [
      [installed, undefined],
      [{ 'mutatingadmissionpolicies/p': {} }, 'p'],
      [{ 'mutatingadmissionpolicybindings/p': { policyName: 'p' } }, 'p'],
      [{ ...installed, 'mutatingadmissionpolicybindings/p': { policyName: 'other' } }, 'p'],
    ] as const) {
      const r = requesters(clusterWith(objects), policy);
      r.observe({ type: 'upsert', object: alice, sync: true });
      expect(await r.check()).toBe(false);
      expect(r.of('u1')).toBeUndefined();
    }
  });

  it('forgets an object once it is deleted, or its stamp removed', async () => {
    const r = requesters(clusterWith(installed), 'p');
    await r.check();
    r.observe({ type: 'upsert', object: alice, sync: true });
    r.observe({ type: 'delete', object: alice });
    expect([r.of('u1'), r.size()]).toEqual([undefined, 0]);
    r.observe({ type: 'upsert', object: alice, sync: true });
    r.observe({ type: 'upsert', object: stamped('u1', {}), previous: alice, sync: false });
    expect([r.of('u1'), r.size()]).toEqual([undefined, 0]);
  });
});
