import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionFromKubeconfig, DirectConnection, inClusterConnection } from '../../../src/runtime/kube/connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');
function kubeconfig(name: string, body: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(body)); // JSON is YAML
  return path;
}

describe('finding the cluster and credentials without client-node', () => {
  it("uses the current context's cluster and a bearer token, with the server's trailing slash dropped", async () => {
    const path = kubeconfig('token.yaml', {
      'current-context': 'b',
      clusters: [
        { name: 'one', cluster: { server: 'https://one:6443/' } },
        { name: 'two', cluster: { server: 'https://two:6443/', 'certificate-authority-data': b64('CA') } },
      ],
      users: [{ name: 'u', user: { token: 'secret-token' } }],
      contexts: [
        { name: 'a', context: { cluster: 'one', user: 'u' } },
        { name: 'b', context: { cluster: 'two', user: 'u' } },
      ],
    });
    const conn = connectionFromKubeconfig([path]);
    expect(conn).toBeInstanceOf(DirectConnection);
    expect(conn.server).toBe('https://two:6443');
    expect((await conn.authenticate()).headers).toEqual({ authorization: 'Bearer secret-token' });
  });

  it("reads certificate and token files relative to the kubeconfig's folder", async () => {
    writeFileSync(join(dir, 'client.crt'), 'CERT');
    writeFileSync(join(dir, 'client.key'), 'KEY');
    writeFileSync(join(dir, 'token'), 'file-token\n');
    const path = kubeconfig('files.yaml', {
      'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: 'https://k:6443' } }],
      users: [{ name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key', tokenFile: 'token' } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    });
    const conn = connectionFromKubeconfig([path]);
    expect((await conn.authenticate()).headers).toEqual({ authorization: 'Bearer file-token' });
  });

  it('merges a KUBECONFIG list like kubectl: the first definition of a name and of the current context win', () => {
    const first = kubeconfig('first.yaml', {
      'current-context': 'x',
      clusters: [{ name: 'k', cluster: { server: 'https://first:6443' } }],
      users: [],
      contexts: [],
    });
    const second = kubeconfig('second.yaml', {
      'current-context': 'y',
      clusters: [{ name: 'k', cluster: { server: 'https://second:6443' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'k', user: 'u' } }],
    });
    expect(connectionFromKubeconfig([first, second]).server).toBe('https://first:6443');
  });

  it('leaves exec plugins to client-node, loaded only when a request needs it', () => {
    const path = kubeconfig('exec.yaml', {
      'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: 'https://k:6443' } }],
      users: [{ name: 'u', user: { exec: { command: 'get-token', apiVersion: 'client.authentication.k8s.io/v1' } } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    });
    const conn = connectionFromKubeconfig([path]);
    expect(conn).not.toBeInstanceOf(DirectConnection);
    expect(conn.server).toBe('https://k:6443');
  });

  it('refuses a kubeconfig without a current context', () => {
    const path = kubeconfig('empty.yaml', { clusters: [], users: [], contexts: [] });
    expect(() => connectionFromKubeconfig([path])).toThrow(/no current context/);
  });

  it('in a pod: the ServiceAccount token and CA, and the service address from the environment', async () => {
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    const conn = inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa)!;
    expect(conn.server).toBe('https://[fd00::1]:443');
    expect((await conn.authenticate()).headers).toEqual({ authorization: 'Bearer sa-token' });
    expect(inClusterConnection({}, sa)).toBeUndefined();
  });
});
