// The operator's own writes reach its caches late when a watch is slow or reconnecting. Its
// reconciles must not take a Secret it just wrote, and that the cache does not show yet, for a
// missing one: one user per issuance, whatever the watch does.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectionFromKubeconfig } from '../../src/runtime/kube/connection.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import type { ResourceType } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject, WatchEvent } from '../../src/runtime/kube/types.ts';
import type { WatchOptions } from '../../src/runtime/kube/client.ts';
import { requireKube } from '../../harness/environment.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { create, sql, startLab, waitForCondition, type Lab } from '../../harness/lab.ts';

/** A client whose Secret watch events are held back until release(): a slow or reconnecting watch. */
class HeldSecretWatch extends KubeClient {
  private releaseAll!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.releaseAll = resolve));
  heldEvents = 0;

  release(): void {
    this.releaseAll();
  }

  override async *watch<T extends KubeObject>(
    res: ResourceType,
    options: WatchOptions,
    signal: AbortSignal,
    onOpen?: () => void,
  ): AsyncGenerator<WatchEvent<T>> {
    for await (const event of super.watch<T>(res, options, signal, onOpen)) {
      if (res.plural === 'secrets' && event.type !== 'BOOKMARK') {
        this.heldEvents++;
        await this.released;
      }
      yield event;
    }
  }
}

let lab: Lab;
let op: InProcessOperator;
let client: HeldSecretWatch;

beforeAll(async () => {
  lab = await startLab('lag');
  client = new HeldSecretWatch(connectionFromKubeconfig([requireKube().kubeconfig]));
  op = await startOperator(lab.ns.name, {}, { client });
}, 120_000);

afterAll(async () => {
  client?.release();
  await op?.stop();
  await lab?.cleanup();
});

describe('while Secret watch events are held back', () => {
  it('each credential gets exactly one user, and its status records serial 1', async () => {
    const names = ['lag-a', 'lag-b', 'lag-c'];
    for (const name of names) await create(lab.client, 'DatabaseCredential', lab.ns.name, name, { roleRef: { name: 'pg-readers' } });
    for (const name of names) {
      const cred = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, name, 'Ready', 'True');
      expect(cred.status?.lastSerial).toBe(1);
      expect(cred.status?.current?.serial).toBe(1);
    }
    // The Secrets were written, and the operator has not seen one of them through its watch.
    expect(client.heldEvents).toBeGreaterThan(0);
    const users = await sql(lab.postgres, ["SELECT count(*)::int AS n FROM pg_roles WHERE rolname ~ '^dbc([a-z2-7]{4})?_'"]);
    expect(users[0]?.['n']).toBe(names.length);
    client.release();
  });
});
