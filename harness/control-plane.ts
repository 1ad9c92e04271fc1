import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { binDir } from './binaries.ts';
import { createCA, createSigningKey } from './certs.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { NODE_IP } from './node-network.ts';
import { freePort } from './ports.ts';
import { startProcess, tailLog, waitFor, type ManagedProcess } from './processes.ts';

/** What a running local control plane offers to tests and to people. */
export interface ControlPlaneInfo {
  dir: string;
  binDir: string;
  server: string;
  /** Admin (system:masters) kubeconfig. */
  kubeconfig: string;
  caFile: string;
  etcdEndpoint: string;
  pids: Record<string, number>;
}

export interface ControlPlane extends ControlPlaneInfo {
  processes: ManagedProcess[];
  /** stop terminates controller-manager, apiserver and etcd (in that order). */
  stop(): Promise<void>;
  /** restartApiserver stops kube-apiserver and starts it again on the same port, resolving when it is ready. */
  restartApiserver(): Promise<void>;
}

export interface ControlPlaneOptions {
  dir: string;
  detached?: boolean;
  /** Extra kube-apiserver flags (e.g. a shorter --etcd-compaction-interval). */
  apiserverFlags?: string[];
}

// The service network: a node's kube-proxy makes its addresses (10.0.0.1 is the `kubernetes` Service) reachable from pods.
const SERVICE_CIDR = '10.0.0.0/24';
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
// Controllers that need a node network or cloud; everything else (GC, namespaces, service accounts) runs.
const CONTROLLERS =
  '*,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-binder-controller,-persistentvolume-attach-detach-controller';

/**
 * startControlPlane starts etcd, kube-apiserver (RBAC, PodSecurity, service-account tokens) and
 * kube-controller-manager on free loopback ports and resolves once the API serves requests and
 * the controllers have created the default ServiceAccount.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { dir } = options;
  const pki = join(dir, 'pki');
  await mkdir(pki, { recursive: true });
  const bins = await binDir(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl']);
  const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];

  const ca = await createCA(pki, 'dbcred-local-kubernetes-ca');
  const serving = await ca.issue({
    name: 'apiserver',
    commonName: 'kube-apiserver',
    usage: 'server',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ips: ['127.0.0.1', '10.0.0.1', NODE_IP],
  });
  const admin = await ca.issue({ name: 'admin', commonName: 'dbcred-admin', organization: 'system:masters', usage: 'client' });
  const cm = await ca.issue({ name: 'controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' });
  const sa = await createSigningKey(pki, 'service-account');

  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
  await writeKubeconfig(kubeconfig, { server, caFile: ca.cert, certFile: admin.cert, keyFile: admin.key, user: 'dbcred-admin' });
  await writeKubeconfig(cmKubeconfig, { server, caFile: ca.cert, certFile: cm.cert, keyFile: cm.key, user: 'controller-manager' });

  const processes: ManagedProcess[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  const detached = options.detached ?? false;
  try {
    const etcdEndpoint = `http://127.0.0.1:${etcdPort}`;
    const etcd = await startProcess({
      name: 'etcd',
      command: join(bins, 'etcd'),
      logFile: join(dir, 'etcd.log'),
      detached,
      args: [
        '--name=default',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    processes.push(etcd);
    await waitFor('etcd', () => httpOk(`${etcdEndpoint}/health`), { timeoutMs: 30_000, onTimeout: () => tailLog(etcd.logFile) });

    const apiserverOptions = {
      name: 'kube-apiserver',
      command: join(bins, 'kube-apiserver'),
      logFile: join(dir, 'kube-apiserver.log'),
      detached,
      args: [
        `--etcd-servers=${etcdEndpoint}`,
        // Pods reach the apiserver as in any cluster: the `kubernetes` Service (10.0.0.1:443), which a
        // node's kube-proxy sends to the advertised address, the node's (docs/node.md). The apiserver
        // keeps that endpoint itself, so it listens on every address, the node's included once it exists.
        '--bind-address=0.0.0.0',
        `--advertise-address=${NODE_IP}`,
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${ca.cert}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,NodeRestriction',
        '--allow-privileged=true',
        `--service-account-issuer=${SA_ISSUER}`,
        `--service-account-key-file=${sa.publicKey}`,
        `--service-account-signing-key-file=${sa.privateKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--kubelet-client-certificate=${admin.cert}`,
        `--kubelet-client-key=${admin.key}`,
        '--profiling=false',
        ...(options.apiserverFlags ?? []),
      ],
    };
    const adminTls = { ca: ca.cert, cert: admin.cert, key: admin.key };
    const startApiserver = async () => {
      const p = await startProcess(apiserverOptions);
      await waitFor('kube-apiserver /readyz', () => apiOk(server, '/readyz', adminTls), {
        timeoutMs: 60_000,
        intervalMs: 100,
        onTimeout: () => tailLog(p.logFile),
      });
      return p;
    };
    processes.push(await startApiserver());

    const controllerManager = await startProcess({
      name: 'kube-controller-manager',
      command: join(bins, 'kube-controller-manager'),
      logFile: join(dir, 'kube-controller-manager.log'),
      detached,
      args: [
        `--kubeconfig=${cmKubeconfig}`,
        `--authentication-kubeconfig=${cmKubeconfig}`,
        `--authorization-kubeconfig=${cmKubeconfig}`,
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${sa.privateKey}`,
        `--root-ca-file=${ca.cert}`,
        `--cluster-signing-cert-file=${ca.cert}`,
        `--cluster-signing-key-file=${ca.key}`,
        `--controllers=${CONTROLLERS}`,
      ],
    });
    processes.push(controllerManager);
    await waitFor(
      'kube-controller-manager (default ServiceAccount created)',
      () => apiOk(server, '/api/v1/namespaces/default/serviceaccounts/default', adminTls),
      { timeoutMs: 60_000, intervalMs: 100, onTimeout: () => tailLog(controllerManager.logFile) },
    );

    return {
      dir,
      binDir: bins,
      server,
      kubeconfig,
      caFile: ca.cert,
      etcdEndpoint,
      pids: Object.fromEntries(processes.map((p) => [p.name, p.pid])),
      processes,
      stop,
      restartApiserver: async () => {
        const index = processes.findIndex((p) => p.name === 'kube-apiserver');
        await processes[index]!.stop();
        processes[index] = await startApiserver();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** apiOk tells whether an authenticated GET on the apiserver returns 200. */
export function apiOk(server: string, path: string, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}${path}`,
      { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
