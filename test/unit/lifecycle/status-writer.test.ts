import { describe, expect, it } from '@jest/globals';
import { Freshest, StatusWriter } from '../../../src/controllers/status-writer.ts';
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
});
