import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventRecorder } from '../../src/runtime/events.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/util/clock.ts';
import { requireKube } from '../../harness/environment.ts';
import { FakeClock } from '../../harness/fake-clock.ts';
import { createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';

type Event = KubeObject & { reason: string; note: string; type: string; series?: { count: number }; regarding: { uid?: string } };

let ns: TestNamespace;
let client: KubeClient;
beforeAll(async () => {
  ns = await createTestNamespace('events');
  client = KubeClient.fromKubeconfigFile(requireKube().kubeconfig);
});
afterAll(async () => {
  await ns.cleanup();
});

async function subject(name: string) {
  const cm = await client.create(Resources.ConfigMap, { metadata: { name, namespace: ns.name } });
  return EventRecorder.targetOf(cm, 'v1', 'ConfigMap');
}

async function eventsAbout(uid: string): Promise<Event[]> {
  const list = await client.list<Event>(Resources.Event, { namespace: ns.name });
  return list.items.filter((e) => e.regarding.uid === uid);
}

describe('events', () => {
  it('aggregate a hot loop of the same event into one Event whose series counts every occurrence', async () => {
    const target = await subject('hot-loop');
    const recorder = new EventRecorder({
      client,
      clock: systemClock,
      logger: silentLogger,
      reportingController: 'dbcred.io/test',
      reportingInstance: 'test-1',
      flushMs: 100,
    });
    for (let i = 0; i < 100; i++) await recorder.recordAsync(target, 'Warning', 'Unreachable', 'Reconcile', 'connection refused');
    await recorder.flushAll();
    const events = await eventsAbout(target.uid!);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'Unreachable', note: 'connection refused', series: { count: 100 } });
    expect(recorder.writes).toBeLessThanOrEqual(5);
  });

  it('drop new events about one object beyond its burst, and count the drops', async () => {
    const target = await subject('flood');
    const recorder = new EventRecorder({
      client,
      clock: systemClock,
      logger: silentLogger,
      reportingController: 'dbcred.io/test',
      reportingInstance: 'test-1',
      burst: 5,
    });
    for (let i = 0; i < 20; i++) await recorder.recordAsync(target, 'Normal', 'Issued', 'Issue', `user ${i} issued`);
    expect(await eventsAbout(target.uid!)).toHaveLength(5);
    expect(recorder.dropped).toBe(15);
  });

  it('share one budget of Normal events across objects, which never holds back a Warning', async () => {
    const targets = await Promise.all(Array.from({ length: 6 }, (_, i) => subject(`busy-${i}`)));
    const recorder = new EventRecorder({
      client,
      clock: new FakeClock(),
      logger: silentLogger,
      reportingController: 'dbcred.io/test',
      reportingInstance: 'test-1',
      normalBurst: 4,
      normalPerSecond: 1,
    });
    for (const t of targets) await recorder.recordAsync(t, 'Normal', 'Issued', 'Issue', 'user issued');
    for (const t of targets) await recorder.recordAsync(t, 'Warning', 'IssueFailed', 'Issue', 'could not issue');
    const events = (await Promise.all(targets.map((t) => eventsAbout(t.uid!)))).flat();
    expect(events.filter((e) => e.type === 'Normal')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'Warning')).toHaveLength(6);
    expect(recorder.dropped).toBe(2);
  });

  it('keep events about different objects apart', async () => {
    const [a, b] = [await subject('a'), await subject('b')];
    const recorder = new EventRecorder({
      client,
      clock: systemClock,
      logger: silentLogger,
      reportingController: 'dbcred.io/test',
      reportingInstance: 'test-1',
    });
    await recorder.recordAsync(a, 'Normal', 'Ready', 'Check', 'ok');
    await recorder.recordAsync(b, 'Normal', 'Ready', 'Check', 'ok');
    expect(await eventsAbout(a.uid!)).toHaveLength(1);
    expect(await eventsAbout(b.uid!)).toHaveLength(1);
  });
});
