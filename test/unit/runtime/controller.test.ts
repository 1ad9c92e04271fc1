import { describe, expect, it } from '@jest/globals';
import { Controller, type Reconciler, type Result } from '../../../src/runtime/controller.ts';
import { ItemExponentialRateLimiter } from '../../../src/runtime/workqueue/rate-limiter.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { FakeClock, flushPromises } from '../../../harness/fake-clock.ts';

const ok = () => Promise.resolve(undefined);

/** A reconciler whose behaviour per call is scripted by the test. */
function scripted(steps: ((key: string, signal: AbortSignal) => Promise<Result | void>)[]) {
  const calls: string[] = [];
  const reconciler: Reconciler = {
    reconcile: (key, signal) => {
      calls.push(key);
      const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
      return step(key, signal);
    },
  };
  return { reconciler, calls };
}

function controllerWith(reconciler: Reconciler, clock = new FakeClock(), extra: Partial<ConstructorParameters<typeof Controller>[0]> = {}) {
  const outcomes: string[] = [];
  const controller = new Controller({
    name: 'test',
    reconciler,
    clock,
    logger: silentLogger,
    rateLimiter: new ItemExponentialRateLimiter(100, 10_000),
    hooks: { onReconcile: (_c, outcome) => outcomes.push(outcome) },
    ...extra,
  });
  return { controller, clock, outcomes };
}

describe('the controller', () => {
  it('forgets a key after success and does not call it again by itself', async () => {
    const { reconciler, calls } = scripted([ok]);
    const { controller, clock, outcomes } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('ns/a');
    await clock.advance(60_000);
    expect(calls).toEqual(['ns/a']);
    expect(outcomes).toEqual(['success']);
    await controller.stop(1000);
  });

  it('retries a failing key with growing delays until it succeeds', async () => {
    const fail = () => Promise.reject(new Error('database unreachable'));
    const { reconciler, calls } = scripted([fail, fail, fail, ok]);
    const { controller, clock, outcomes } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('k');
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1); // 100 ms
    expect(calls).toHaveLength(2);
    await clock.advance(200); // then 200 ms
    expect(calls).toHaveLength(3);
    await clock.advance(400); // then 400 ms
    expect(calls).toHaveLength(4);
    expect(outcomes).toEqual(['error', 'error', 'error', 'success']);
    expect(controller.queue.retries('k')).toBe(0);
    await controller.stop(1000);
  });

  it('comes back exactly when a reconcile asks for requeueAfter, without backoff', async () => {
    const { reconciler, calls } = scripted([() => Promise.resolve({ requeueAfterMs: 5_000 }), ok]);
    const { controller, clock, outcomes } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('k');
    await clock.advance(4_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(outcomes).toEqual(['requeue', 'success']);
    await controller.stop(1000);
  });

  it("retries a failure the reconcile already showed with the key's backoff, without counting an error", async () => {
    const retry = () => Promise.resolve({ retry: true });
    const { reconciler, calls } = scripted([retry, retry, ok]);
    const { controller, clock, outcomes } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('k');
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1); // 100 ms
    expect(calls).toHaveLength(2);
    await clock.advance(199);
    expect(calls).toHaveLength(2);
    await clock.advance(1); // then 200 ms
    expect(calls).toHaveLength(3);
    expect(outcomes).toEqual(['requeue', 'requeue', 'success']);
    expect(controller.queue.retries('k')).toBe(0);
    await controller.stop(1000);
  });

  it("caps a retry's backoff at retryCapMs, and comes back at requeueAfterMs when that is sooner", async () => {
    const capped = () => Promise.resolve({ retry: true, retryCapMs: 250 });
    const { reconciler, calls } = scripted([
      capped,
      capped,
      capped,
      capped,
      () => Promise.resolve({ retry: true, requeueAfterMs: 10 }),
      ok,
    ]);
    const { controller, clock } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('k');
    await clock.advance(100 + 200 + 250); // 100, 200, then capped at 250 instead of 400
    expect(calls).toHaveLength(4);
    await clock.advance(250); // capped again (800 uncapped)
    expect(calls).toHaveLength(5);
    await clock.advance(10); // requeueAfterMs beats the 250 ms backoff
    expect(calls).toHaveLength(6);
    await controller.stop(1000);
  });

  it('survives a reconciler that throws synchronously or rejects with a non-Error, and keeps working', async () => {
    const { reconciler, calls } = scripted([
      () => {
        throw new TypeError('bug');
      },
      () => Promise.reject('a string'), // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
      ok,
    ]);
    const { controller, clock, outcomes } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('k');
    await clock.advance(1_000);
    expect(calls).toHaveLength(3);
    expect(outcomes).toEqual(['error', 'error', 'success']);
    controller.enqueue('other');
    await clock.advance(0);
    expect(calls).toHaveLength(4);
    await controller.stop(1000);
  });

  it('skips keys this replica may not reconcile', async () => {
    const { reconciler, calls } = scripted([ok]);
    let leader = false;
    const { controller, clock } = controllerWith(reconciler, new FakeClock(), { mayReconcile: () => leader });
    controller.start();
    controller.enqueue('k');
    await clock.advance(10);
    expect(calls).toHaveLength(0);
    leader = true;
    controller.enqueue('k');
    await clock.advance(10);
    expect(calls).toEqual(['k']);
    await controller.stop(1000);
  });

  it('lets an in-flight reconcile finish on stop, and aborts it once the grace period is over', async () => {
    let finishSlow!: () => void;
    let aborted = false;
    const { reconciler } = scripted([
      (_k, signal) =>
        new Promise<void>((resolve) => {
          finishSlow = resolve;
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    ]);
    const { controller, clock } = controllerWith(reconciler);
    controller.start();
    controller.enqueue('slow');
    await clock.advance(0);
    let stopped = false;
    const stopping = controller.stop(5_000).then(() => (stopped = true));
    await clock.advance(4_999);
    expect(stopped).toBe(false);
    expect(aborted).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(aborted).toBe(true);
    expect(typeof finishSlow).toBe('function');
  });

  it('maps a change of an owned object to its controlling owner', async () => {
    const { reconciler, calls } = scripted([ok]);
    const { controller, clock } = controllerWith(reconciler);
    const handlers: ((e: { type: 'upsert'; object: unknown; sync: boolean }) => void)[] = [];
    const fakeInformer = { on: (h: (typeof handlers)[number]) => handlers.push(h) };
    controller.watchOwned(fakeInformer as never, 'DatabaseCredential');
    controller.start();
    const secret = (ownerKind: string, controllerRef: boolean) => ({
      metadata: {
        name: 's',
        namespace: 'team',
        ownerReferences: [{ apiVersion: 'dbcred.io/v1alpha1', kind: ownerKind, name: 'app-db', uid: 'u', controller: controllerRef }],
      },
    });
    for (const h of handlers) {
      h({ type: 'upsert', object: secret('DatabaseCredential', true), sync: false });
      h({ type: 'upsert', object: secret('Deployment', true), sync: false });
      h({ type: 'upsert', object: secret('DatabaseCredential', false), sync: false });
    }
    await clock.advance(0);
    await flushPromises();
    expect(calls).toEqual(['team/app-db']);
    await controller.stop(1000);
  });
});
