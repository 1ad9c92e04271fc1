import { describe, expect, it } from '@jest/globals';
import type { InformerEvent } from '../../../src/runtime/cache/informer.ts';
import type { KubeObject } from '../../../src/runtime/kube/types.ts';
import { conditionBecameFalse, conditionBecameTrue, generationChanged, labelsChanged } from '../../../src/runtime/predicates.ts';

const obj = (o: { generation?: number; labels?: Record<string, string>; ready?: string; observed?: number } = {}): KubeObject => ({
  metadata: { name: 'x', namespace: 'ns', generation: o.generation ?? 1, ...(o.labels ? { labels: o.labels } : {}) },
  ...(o.ready ? { status: { conditions: [{ type: 'Ready', status: o.ready, observedGeneration: o.observed ?? 1 }] } } : {}),
});
const upsert = (object: KubeObject, previous?: KubeObject, sync = false): InformerEvent<KubeObject> => ({
  type: 'upsert',
  object,
  previous,
  sync,
});

describe('generationChanged: a spec change, not a status write', () => {
  it('is true for a new object, a deletion and a new generation', () => {
    expect(generationChanged(upsert(obj()))).toBe(true);
    expect(generationChanged({ type: 'delete', object: obj() })).toBe(true);
    expect(generationChanged(upsert(obj({ generation: 2 }), obj({ generation: 1 })))).toBe(true);
  });

  it('is false for a status write (same generation) and for a relist', () => {
    expect(generationChanged(upsert(obj({ generation: 2, ready: 'True' }), obj({ generation: 2 })))).toBe(false);
    expect(generationChanged(upsert(obj({ generation: 3 }), obj({ generation: 2 }), true))).toBe(false);
  });
});

describe('labelsChanged', () => {
  it('is true when a label is added, removed or changes value', () => {
    expect(labelsChanged(upsert(obj({ labels: { a: '1', b: '2' } }), obj({ labels: { a: '1' } })))).toBe(true);
    expect(labelsChanged(upsert(obj({ labels: {} }), obj({ labels: { a: '1' } })))).toBe(true);
    expect(labelsChanged(upsert(obj({ labels: { a: '2' } }), obj({ labels: { a: '1' } })))).toBe(true);
  });

  it('is false for the same labels in another order, a new object, a deletion and a relist', () => {
    expect(labelsChanged(upsert(obj({ labels: { b: '2', a: '1' } }), obj({ labels: { a: '1', b: '2' } })))).toBe(false);
    expect(labelsChanged(upsert(obj({ labels: { a: '1' } })))).toBe(false);
    expect(labelsChanged({ type: 'delete', object: obj({ labels: { a: '1' } }) })).toBe(false);
    expect(labelsChanged(upsert(obj({ labels: { a: '2' } }), obj({ labels: { a: '1' } }), true))).toBe(false);
  });
});

describe('conditionBecameTrue', () => {
  it('is true only when an existing object turns the condition True', () => {
    expect(conditionBecameTrue(upsert(obj({ ready: 'True' }), obj({ ready: 'False' })), 'Ready')).toBe(true);
    expect(conditionBecameTrue(upsert(obj({ ready: 'True' }), obj()), 'Ready')).toBe(true);
  });

  it('is true when it stays True but now speaks for a newer generation (a spec change checked)', () => {
    expect(conditionBecameTrue(upsert(obj({ ready: 'True', observed: 2 }), obj({ ready: 'True', observed: 1 })), 'Ready')).toBe(true);
  });

  it('is false when it stays True, turns False, or the object is new or deleted', () => {
    expect(conditionBecameTrue(upsert(obj({ ready: 'True' }), obj({ ready: 'True' })), 'Ready')).toBe(false);
    expect(conditionBecameTrue(upsert(obj({ ready: 'False' }), obj({ ready: 'True' })), 'Ready')).toBe(false);
    expect(conditionBecameTrue(upsert(obj({ ready: 'True' })), 'Ready')).toBe(false);
    expect(conditionBecameTrue({ type: 'delete', object: obj({ ready: 'True' }) }, 'Ready')).toBe(false);
  });
});

describe('conditionBecameFalse', () => {
  it('is true when Ready turns False from True, from absent, or from Unknown', () => {
    expect(conditionBecameFalse(upsert(obj({ ready: 'False' }), obj({ ready: 'True' })), 'Ready')).toBe(true);
    expect(conditionBecameFalse(upsert(obj({ ready: 'False' }), obj()), 'Ready')).toBe(true);
    expect(conditionBecameFalse(upsert(obj({ ready: 'False' }), obj({ ready: 'Unknown' })), 'Ready')).toBe(true);
  });

  it('is false while it stays False, when it turns True, for a new object and for a deletion', () => {
    expect(conditionBecameFalse(upsert(obj({ ready: 'False', observed: 2 }), obj({ ready: 'False' })), 'Ready')).toBe(false);
    expect(conditionBecameFalse(upsert(obj({ ready: 'True' }), obj({ ready: 'False' })), 'Ready')).toBe(false);
    expect(conditionBecameFalse(upsert(obj({ ready: 'False' })), 'Ready')).toBe(false);
    expect(conditionBecameFalse({ type: 'delete', object: obj({ ready: 'False' }) }, 'Ready')).toBe(false);
  });
});
