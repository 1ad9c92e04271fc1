import { describe, expect, it } from '@jest/globals';
import { ABSENT_GRACE_MS, Freshest, StatusWriter } from '../../../src/controllers/status-writer.ts';
import { DbcredResources } from '../../../src/controllers/dbcred-resources.ts';
import type { InformerEvent } from '../../../src/runtime/cache/informer.ts';
import type { KubeClient } from '../../../src/runtime/kube/client.ts';
import type { KubeObject } from '../../../src/runtime/kube/types.ts';

const obj = (name: string, resourceVersion: string, kind = 'DatabaseServer'): KubeObject => ({
  apiVersion: 'dbcred.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'team', resourceVersion },
});

describe('the copies a process keeps of what it wrote', () => {
  it('are returned while newer than the cache, and never for another kind of the same name', () => {
    const writer = new StatusWriter({} as KubeClient);
    writer.remember(DbcredResources.DatabaseServer, obj('pg', '20'));
    expect(writer.freshest(DbcredResources.DatabaseServer, obj('pg', '10'), 'team/pg')?.metadata.resourceVersion).toBe('20');
    const role = obj('pg', '15', 'DatabaseRole');
    expect(writer.freshest(DbcredResources.DatabaseRole, role, 'team/pg')).toBe(role);
  });

  it('survive being asked for the newest of a copy of their own: only the cache tells that it caught up', () => {
    const writer = new StatusWriter({} as KubeClient);
    const res = DbcredResources.DatabaseCredential;
    writer.remember(res, obj('app', '42', 'DatabaseCredential'));
    const own = obj('app', '42', 'DatabaseCredential');
    expect(writer.newer(res, own)).toBe(own);
    expect(writer.newer(res, obj('app', '30', 'DatabaseCredential')).metadata.resourceVersion).toBe('42');
    // The informer, still at the intent's version, must not win over the write.
    expect(writer.freshest(res, obj('app', '37', 'DatabaseCredential'), 'team/app')?.metadata.resourceVersion).toBe('42');
  });

  it('go as soon as the informer delivers that version or a newer one, or the deletion', () => {
    const fresh = new Freshest();
    const listeners: ((e: InformerEvent<KubeObject>) => void)[] = [];
    const informer = { on: (h: (e: InformerEvent<KubeObject>) => void) => listeners.push(h) };
    informer.on((e) => fresh.observe(e));
    fresh.remember(obj('a', '7'));
    fresh.remember(obj('b', '9'));
    listeners.forEach((h) => h({ type: 'upsert', object: obj('a', '6'), sync: false }));
    expect(fresh.size()).toBe(2); // the cache is still behind for a
    listeners.forEach((h) => h({ type: 'upsert', object: obj('a', '7'), sync: false }));
    listeners.forEach((h) => h({ type: 'delete', object: obj('b', '8') }));
    expect(fresh.size()).toBe(0);
  });

  it('are trusted while the cache has not delivered a just-created object, for a grace period only', () => {
    let now = 1_000;
    const fresh = new Freshest(() => now);
    fresh.remember(obj('secret', '5'));
    // The watch is slow: the cache has no such object yet; what this process wrote still counts.
    expect(fresh.get(undefined, 'team/secret')?.metadata.resourceVersion).toBe('5');
    now += ABSENT_GRACE_MS - 1;
    expect(fresh.get(undefined, 'team/secret')).toBeDefined();
    // Never delivered past the grace (created and deleted in between): taken as gone, and forgotten.
    now += 1;
    expect(fresh.get(undefined, 'team/secret')).toBeUndefined();
    expect(fresh.size()).toBe(0);
  });

  it('go at once when the cache delivers the deletion of a just-created object', () => {
    const fresh = new Freshest(() => 0);
    fresh.remember(obj('secret', '5'));
    fresh.observe({ type: 'delete', object: obj('secret', '5') });
    expect(fresh.get(undefined, 'team/secret')).toBeUndefined();
  });

  it('are not kept for a write whose answer arrives after the watch delivered the deletion', () => {
    let now = 0;
    const fresh = new Freshest(() => now);
    // The write was applied (rv 7), then the object deleted (rv 8) and the deletion delivered,
    // and only then did the write's answer come back.
    fresh.observe({ type: 'delete', object: obj('pg', '8') });
    fresh.remember(obj('pg', '7'));
    expect(fresh.size()).toBe(0);
    // A recreated object written later is remembered as usual, and old deletions are forgotten.
    now += ABSENT_GRACE_MS;
    fresh.observe({ type: 'delete', object: obj('other', '3') });
    fresh.remember(obj('pg', '9'));
    expect(fresh.size()).toBe(1);
  });
});
