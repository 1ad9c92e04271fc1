// Fencing: a replica that no longer holds the lease by the clock sends no more writes, and a request
// cannot hang long enough to land after another replica took over.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient } from '../../../src/runtime/kube/client.ts';
import type { Connection } from '../../../src/runtime/kube/connection.ts';
import { KubeError } from '../../../src/runtime/kube/errors.ts';
import { Resources } from '../../../src/runtime/kube/builtin-resources.ts';
import { LeaderElector } from '../../../src/runtime/leader-election/leader-elector.ts';
import type { Clock } from '../../../src/util/clock.ts';
import { DbcredError } from '../../../src/util/errors.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { flushPromises } from '../../../harness/fake-clock.ts';

let server: Server;
let requests: string[];
let answer = true;

beforeAll(async () => {
  requests = [];
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url?.split('?')[0]}`);
    if (!answer) return; // never answers: a request hanging on a silent apiserver
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ metadata: { name: 'x', namespace: 'ns', resourceVersion: '1' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function connection(): Connection {
  const conn: Connection = {
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authenticate: () => Promise.resolve({ headers: {} }),
    dropConnections: () => undefined,
    withToken: () => conn,
  };
  return conn;
}

describe('a guarded client', () => {
  const notLeader = () => {
    throw new DbcredError('NOT_LEADER', 'this replica no longer holds the leader lease');
  };

  it('sends no write once the guard refuses, and says why', async () => {
    requests.length = 0;
    const client = new KubeClient(connection()).guarded(notLeader);
    const secret = { metadata: { name: 'x', namespace: 'ns', resourceVersion: '1' } };
    await expect(client.create(Resources.Secret, secret)).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await expect(client.replace(Resources.Secret, secret)).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await expect(client.mergePatch(Resources.Secret, 'x', 'ns', {})).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await expect(client.delete(Resources.Secret, 'x', 'ns')).rejects.toMatchObject({ code: 'NOT_LEADER' });
    expect(requests).toEqual([]);
  });

  it('still reads', async () => {
    requests.length = 0;
    const client = new KubeClient(connection()).guarded(notLeader);
    await client.get(Resources.Secret, 'x', 'ns');
    expect(requests).toEqual(['GET /api/v1/namespaces/ns/secrets/x']);
  });

  it('writes while the guard allows it', async () => {
    requests.length = 0;
    const client = new KubeClient(connection()).guarded(() => undefined);
    await client.create(Resources.Secret, { metadata: { name: 'x', namespace: 'ns' } });
    expect(requests).toEqual(['POST /api/v1/namespaces/ns/secrets']);
  });
});

describe('a request to an apiserver that does not answer', () => {
  it('fails as unreachable after the request timeout instead of landing later', async () => {
    answer = false;
    try {
      const client = new KubeClient(connection(), 'dbcred', { requestTimeoutMs: 200 });
      const started = Date.now();
      const failure = await client.create(Resources.Secret, { metadata: { name: 'x', namespace: 'ns' } }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(KubeError);
      expect((failure as KubeError).message).toContain('no answer in time');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      answer = true;
    }
  });
});

describe('leadership, judged by the clock', () => {
  it('ends for a process that was frozen past its renew deadline, before any of its timers has run', async () => {
    // A clock whose timers never fire: the process has just been resumed and no timer ran yet.
    let now = 1_000_000;
    const frozen: Clock = {
      now: () => now,
      setTimer: () => ({ cancel: () => undefined }),
      sleep: () => new Promise<void>(() => undefined),
    };
    const lease = { metadata: { name: 'dbcred-operator', namespace: 'ns', resourceVersion: '1' } };
    const client = {
      get: () => Promise.reject(new KubeError(404, 'NotFound', 'not found')),
      create: () => Promise.resolve(lease),
    } as unknown as KubeClient;
    const elector = new LeaderElector({
      client,
      namespace: 'ns',
      name: 'dbcred-operator',
      identity: 'a',
      clock: frozen,
      logger: createLogger({ level: 'silent' }),
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    elector.start();
    await flushPromises();
    expect(elector.isLeader()).toBe(true);
    now += 9_999;
    expect(elector.isLeader()).toBe(true);
    now += 1;
    expect(elector.isLeader()).toBe(false);
  });
});
