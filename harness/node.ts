import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binDir } from './binaries.ts';
import { createCgroup, remainingCgroups, removeCgroup } from './cgroups.ts';
import { openCA } from './certs.ts';
import { startContainerd, type Containerd } from './containerd.ts';
import {
  bridgePorts,
  captureHost,
  createBridge,
  changedSysctls,
  createdPaths,
  deleteBridge,
  deleteNftTablesNamed,
  iptablesRules,
  linkExists,
  mountsUnder,
  nftTables,
  processesMentioning,
  pruneCreatedPaths,
  restoreSysctls,
  symlinksInto,
  unmountUnder,
  type HostBaseline,
} from './host.ts';
import { buildImages, type BuiltImage, type ImageName } from './images.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { NODE_IP, POD_CIDR } from './node-network.ts';
import { freePort } from './ports.ts';
import { isAlive, startProcess, stopPid, tailLog, waitFor, type ManagedProcess } from './processes.ts';
import { CACHE_DIR } from './stack.ts';

const run = promisify(execFile);

/** The control plane a node joins (what `requireLocalKube()` gives, plus the admin kubeconfig). */
export interface NodeControlPlane {
  dir: string;
  binDir: string;
  server: string;
  caFile: string;
  kubeconfig: string;
}

export interface NodeOptions {
  controlPlane: NodeControlPlane;
  /** Node name; the default is this machine's hostname, which the apiserver resolves to reach the kubelet for logs and exec. */
  name?: string;
  /**
   * The address the node reports (default NODE_IP). The kubelet refuses loopback and wants an
   * address of a local interface, so the harness puts this one on the node's bridge.
   */
  nodeIP?: string;
  /** Start a kube-scheduler with this node (one per control plane). */
  scheduler?: boolean;
  /**
   * Start kube-proxy (nftables mode), so pods reach Services — the `kubernetes` one included — as in
   * any cluster. One per machine: its nftables table is machine-wide.
   */
  serviceProxy?: boolean;
  /** Images to build (if needed) and import; the pause image is always imported. */
  images?: ImageName[];
  /** Taints the kubelet registers the node with; the not-ready taint is removed once Ready unless listed here. */
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
}

/** What a running node offers to tests (JSON, published through the test environment). */
export interface NodeInfo {
  name: string;
  dir: string;
  nodeIP: string;
  /** Image references by name, imported into the node's containerd; pods use imagePullPolicy Never. */
  images: Partial<Record<ImageName, string>>;
  /** The cgroup (in every v1 hierarchy) the kubelet puts kubepods under. */
  cgroupRoot: string;
  /** The node's Linux bridge: it holds the node IP, and pod veths attach to it (pod addresses exist only in their namespaces). */
  bridge: string;
  containerdAddress: string;
  /** kubelet syncFrequency in seconds: a mounted Secret follows an update within about this plus the cache TTL. */
  syncFrequencySeconds: number;
  pids: Record<string, number>;
  logs: Record<string, string>;
  /** Milliseconds from kubelet start to the Node's Ready condition. */
  readyMs: number;
  baseline: HostBaseline;
}

/** A started node and how to stop it. */
export interface RunningNode {
  info: NodeInfo;
  /** stop drains and stops the node and undoes what it did to the machine; it throws, listing them, if traces remain. */
  stop(): Promise<void>;
}

const SYNC_FREQUENCY_SECONDS = 10;
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

/**
 * startNode joins a node to the control plane: containerd with the harness's images, a kubelet
 * with a client certificate for system:node:<name> from the control plane's CA, and optionally a
 * kube-scheduler. It resolves once the Node is Ready and schedulable (the not-ready taint removed,
 * as no node-lifecycle controller runs). All state lives in a new folder under the cache's run/.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const cp = options.controlPlane;
  const name = options.name ?? hostname();
  const nodeIP = options.nodeIP ?? NODE_IP;
  const id = randomBytes(3).toString('hex');
  await mkdir(join(CACHE_DIR, 'run'), { recursive: true });
  const dir = await mkdtemp(join(CACHE_DIR, 'run', 'node-'));
  const baseline = await captureHost();
  const cgroupRoot = `/dbcred-node-${id}`;
  const bridge = `dbcred${id}`;
  const bins = await binDir(['kubelet', 'kube-scheduler', 'kubectl', ...(options.serviceProxy ? (['kube-proxy'] as const) : [])]);
  const kubectl = (args: string[]) => run(join(bins, 'kubectl'), ['--kubeconfig', cp.kubeconfig, ...args]);

  const processes: ManagedProcess[] = [];
  const logs: Record<string, string> = {};
  const info: NodeInfo = {
    name,
    dir,
    nodeIP,
    images: {},
    cgroupRoot,
    bridge,
    containerdAddress: '',
    syncFrequencySeconds: SYNC_FREQUENCY_SECONDS,
    pids: {},
    logs,
    readyMs: 0,
    baseline,
  };
  let containerd: Containerd | undefined;
  const stop = async () => {
    await stopNode(info, { kubectl, processes, containerd, serviceProxy: options.serviceProxy ?? false });
  };
  try {
    const images = await buildImages(['pause', ...(options.images ?? [])]);
    containerd = await startContainerd({ dir: join(dir, 'containerd'), sandboxImage: images.pause.ref });
    processes.push(containerd.process);
    logs['containerd'] = containerd.process.logFile;
    info.containerdAddress = containerd.address;
    const pods = podSubnet(parseInt(id.slice(0, 2), 16));
    await createBridge(bridge, nodeIP, `${pods.gateway}/24`);
    await writeCniConfig(containerd.cniConfDir, { name: `dbcred-${id}`, bridge, dir, pods });
    for (const image of Object.values(images)) {
      await containerd.importImage(image.archive);
      info.images[image.name] = image.ref;
    }

    const pki = join(dir, 'pki');
    await mkdir(pki);
    const ca = openCA({ cert: cp.caFile, key: join(cp.dir, 'pki', 'ca.key') }, pki);
    const kubeletClient = await ca.issue({
      name: 'kubelet-client',
      commonName: `system:node:${name}`,
      organization: 'system:nodes',
      usage: 'client',
    });
    const kubeletServing = await ca.issue({
      name: 'kubelet-serving',
      commonName: name,
      usage: 'server',
      dnsNames: [name, 'localhost'],
      ips: ['127.0.0.1'],
    });
    const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
    await writeKubeconfig(kubeletKubeconfig, {
      server: cp.server,
      caFile: cp.caFile,
      certFile: kubeletClient.cert,
      keyFile: kubeletClient.key,
      user: `system:node:${name}`,
    });

    await createCgroup(cgroupRoot);
    const kubeletConfig = join(dir, 'kubelet.json');
    await writeFile(
      kubeletConfig,
      JSON.stringify(
        kubeletConfiguration({
          dir,
          port: await freePort(),
          caFile: cp.caFile,
          serving: kubeletServing,
          cgroupRoot,
          runtimeEndpoint: `unix://${containerd.address}`,
          taints: options.taints,
        }),
        null,
        2,
      ),
    );
    const kubeletStarted = Date.now();
    const kubelet = await startProcess({
      name: 'kubelet',
      command: join(bins, 'kubelet'),
      logFile: join(dir, 'kubelet.log'),
      args: [
        `--config=${kubeletConfig}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
        `--hostname-override=${name}`,
        `--node-ip=${nodeIP}`,
        '--v=1',
      ],
    });
    processes.push(kubelet);
    logs['kubelet'] = kubelet.logFile;
    await waitFor(
      `node ${name} Ready`,
      async () =>
        (await kubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        onTimeout: () => tailLog(kubelet.logFile),
      },
    );
    info.readyMs = Date.now() - kubeletStarted;
    if (!(options.taints ?? []).some((t) => t.key === NOT_READY_TAINT)) {
      await kubectl(['taint', 'node', name, `${NOT_READY_TAINT}:NoSchedule-`]).catch((error: unknown) => {
        // The kubelet may not have added it yet; "not found" is the state we want.
        if (!String(error).includes('not found')) throw error;
      });
    }

    if (options.scheduler) {
      const scheduler = await ca.issue({ name: 'kube-scheduler', commonName: 'system:kube-scheduler', usage: 'client' });
      const schedulerKubeconfig = join(dir, 'kube-scheduler.kubeconfig');
      await writeKubeconfig(schedulerKubeconfig, {
        server: cp.server,
        caFile: cp.caFile,
        certFile: scheduler.cert,
        keyFile: scheduler.key,
        user: 'system:kube-scheduler',
      });
      const proc = await startProcess({
        name: 'kube-scheduler',
        command: join(bins, 'kube-scheduler'),
        logFile: join(dir, 'kube-scheduler.log'),
        args: [`--kubeconfig=${schedulerKubeconfig}`, '--leader-elect=false', '--secure-port=0'],
      });
      processes.push(proc);
      logs['kube-scheduler'] = proc.logFile;
    }
    if (options.serviceProxy) {
      const proxy = await startServiceProxy({ ca, cp, dir, name, nodeIP, command: join(bins, 'kube-proxy') });
      processes.push(proxy);
      logs['kube-proxy'] = proxy.logFile;
    }
    info.pids = Object.fromEntries(processes.map((p) => [p.name, p.pid]));
    return { info, stop };
  } catch (error) {
    await stop().catch((cleanupError: unknown) => console.error(`[node] cleanup after a failed start: ${String(cleanupError)}`));
    throw error;
  }
}

interface StopContext {
  kubectl: (args: string[]) => Promise<{ stdout: string }>;
  processes: ManagedProcess[];
  containerd: Containerd | undefined;
  serviceProxy: boolean;
}

// The order matters: pods are deleted while the kubelet and containerd run, so the CRI plugin tears
// down each sandbox's network (veth, namespace) and the kubelet unmounts its volumes; only then do
// the processes stop, and a sweep removes whatever a crash or a timeout left behind.
async function stopNode(info: NodeInfo, ctx: StopContext): Promise<void> {
  const { name, dir } = info;
  const kubeletRunning = ctx.processes.some((p) => p.name === 'kubelet');
  if (kubeletRunning) {
    await ctx.kubectl(['cordon', name]).catch(() => undefined);
    await ctx
      .kubectl([
        'delete',
        'pods',
        '--all-namespaces',
        `--field-selector=spec.nodeName=${name}`,
        '--grace-period=1',
        '--wait=true',
        '--timeout=60s',
      ])
      .catch((error: unknown) => console.error(`[node] draining ${name}: ${String(error)}`));
    if (ctx.containerd) {
      const ctr = ctx.containerd.ctr;
      await waitFor('containerd to have no running tasks', async () => (await ctr(['tasks', 'list', '-q'])).trim() === '', {
        timeoutMs: 30_000,
        intervalMs: 200,
      }).catch((error: unknown) => console.error(`[node] ${String(error)}`));
    }
  }
  for (const proc of [...ctx.processes].reverse()) await proc.stop(15_000);
  await sweep(info);
  if (ctx.serviceProxy) await deleteNftTablesNamed('kube-proxy', info.baseline);
  await ctx
    .kubectl(['delete', 'node', name, '--ignore-not-found', '--wait=true'])
    .catch((error: unknown) => console.error(`[node] ${String(error)}`));
  await restoreSysctls(info.baseline);
  if ((await mountsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  await pruneCreatedPaths(info.baseline);
  const left = await nodeLeftovers(info, ctx.kubectl);
  if (left.length > 0) throw new Error(`node ${name} left traces on the machine:\n  ${left.join('\n  ')}`);
}

// sweep removes what the orderly shutdown should have removed already: container shims and
// processes still in the node's cgroups, mounts in its folder, its bridge and pod veths, and the
// /var/log/containers links of containers that had exited (the kubelet removes those only in its
// periodic container garbage collection).
async function sweep(info: NodeInfo): Promise<void> {
  for (const pid of await processesMentioning(info.dir)) await stopPid(pid, 5_000);
  await removeCgroup(info.cgroupRoot);
  await unmountUnder(info.dir);
  await deleteBridge(info.bridge);
  for (const link of await symlinksInto('/var/log/containers', info.dir)) await rm(link, { force: true });
}

/**
 * nodeLeftovers lists what of a stopped node remains on the machine: processes, mounts, cgroups,
 * network interfaces, the Node object, changed sysctls or iptables rules, folders it created.
 * An empty list means the machine is as the node found it.
 */
export async function nodeLeftovers(info: NodeInfo, kubectl: (args: string[]) => Promise<{ stdout: string }>): Promise<string[]> {
  const left: string[] = [];
  for (const [proc, pid] of Object.entries(info.pids)) if (isAlive(pid)) left.push(`process ${proc} (pid ${pid})`);
  for (const pid of await processesMentioning(info.dir)) left.push(`process ${pid} running from ${info.dir}`);
  for (const point of await mountsUnder(info.dir)) left.push(`mount ${point}`);
  if (await exists(info.dir)) left.push(`folder ${info.dir}`);
  for (const cgroup of await remainingCgroups(info.cgroupRoot)) left.push(`cgroup ${cgroup}`);
  if (await linkExists(info.bridge)) left.push(`bridge ${info.bridge} (ports: ${(await bridgePorts(info.bridge)).join(', ') || 'none'})`);
  for (const link of await symlinksInto('/var/log/containers', info.dir)) left.push(`log link ${link}`);
  const nodes = (await kubectl(['get', 'nodes', '-o', 'name'])).stdout.split('\n');
  if (nodes.includes(`node/${info.name}`)) left.push(`Node object ${info.name}`);
  for (const sysctl of await changedSysctls(info.baseline)) left.push(`sysctl ${sysctl}`);
  if ((await iptablesRules()) !== info.baseline.iptables) left.push('iptables rules differ from before the node started');
  for (const table of await nftTables()) if (!info.baseline.nftTables.includes(table)) left.push(`nftables table ${table}`);
  for (const path of await createdPaths(info.baseline)) left.push(`folder ${path} (created by a node)`);
  return left;
}

/** importIntoNode imports a built image into a running node's containerd (for suites that build their own), also under extra names. */
export async function importIntoNode(info: NodeInfo, image: BuiltImage, alsoAs: string[] = []): Promise<void> {
  const ctr = (args: string[]) => run('ctr', ['--address', info.containerdAddress, '--namespace', 'k8s.io', 'images', ...args]);
  await ctr(['import', image.archive]);
  for (const name of alsoAs) await ctr(['tag', '--force', image.ref, name]);
}

/** kubectlFor returns a kubectl runner for the node's control plane (for tests that inspect a node). */
export async function kubectlFor(kubeconfig: string): Promise<(args: string[]) => Promise<{ stdout: string }>> {
  const bins = await binDir(['kubectl']);
  return (args) => run(join(bins, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

// The bridge holds the pods' gateway address (put there by the harness: the bridge plugin, as
// gateway, refuses a bridge that already has another IPv4 address, the node IP), and pods get a
// default route to it; so pods reach the node's addresses — the apiserver and databases listening
// there, Services through kube-proxy. Nothing forwards or masquerades: traffic from pods goes no
// further than this machine.
async function writeCniConfig(
  confDir: string,
  net: { name: string; bridge: string; dir: string; pods: { subnet: string; gateway: string } },
): Promise<void> {
  const config = {
    cniVersion: '0.4.0',
    name: net.name,
    plugins: [
      {
        type: 'bridge',
        bridge: net.bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: 'host-local',
          dataDir: join(net.dir, 'cni-ipam'),
          ranges: [[{ subnet: net.pods.subnet, gateway: net.pods.gateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
  await writeFile(join(confDir, '10-dbcred.conflist'), JSON.stringify(config, null, 2));
}

/** A node's pod /24 within POD_CIDR, and its gateway (the first address, on the node's bridge). */
function podSubnet(octet: number): { subnet: string; gateway: string } {
  const prefix = `${POD_CIDR.split('.').slice(0, 2).join('.')}.${octet}`;
  return { subnet: `${prefix}.0/24`, gateway: `${prefix}.1` };
}

/**
 * startServiceProxy runs kube-proxy in nftables mode as system:kube-proxy (the bootstrap
 * system:node-proxier binding): Service addresses, NodePorts on the node IP only. It leaves the
 * machine's conntrack settings alone, and its table is removed when the node stops.
 */
async function startServiceProxy(p: {
  ca: ReturnType<typeof openCA>;
  cp: NodeControlPlane;
  dir: string;
  name: string;
  nodeIP: string;
  command: string;
}): Promise<ManagedProcess> {
  const cert = await p.ca.issue({ name: 'kube-proxy', commonName: 'system:kube-proxy', usage: 'client' });
  const kubeconfig = join(p.dir, 'kube-proxy.kubeconfig');
  await writeKubeconfig(kubeconfig, {
    server: p.cp.server,
    caFile: p.cp.caFile,
    certFile: cert.cert,
    keyFile: cert.key,
    user: 'system:kube-proxy',
  });
  const config = join(p.dir, 'kube-proxy.json');
  await writeFile(
    config,
    JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig },
      hostnameOverride: p.name,
      mode: 'nftables',
      clusterCIDR: POD_CIDR,
      detectLocalMode: 'ClusterCIDR',
      nodePortAddresses: [`${p.nodeIP}/32`],
      healthzBindAddress: `127.0.0.1:${await freePort()}`,
      metricsBindAddress: `127.0.0.1:${await freePort()}`,
      // 0 means "leave the kernel's value": no machine-wide conntrack tuning.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    }),
  );
  return startProcess({
    name: 'kube-proxy',
    command: p.command,
    logFile: join(p.dir, 'kube-proxy.log'),
    args: [`--config=${config}`, '--v=1'],
  });
}

function kubeletConfiguration(c: {
  dir: string;
  port: number;
  caFile: string;
  serving: { cert: string; key: string };
  cgroupRoot: string;
  runtimeEndpoint: string;
  taints: NodeOptions['taints'];
}): Record<string, unknown> {
  return {
    kind: 'KubeletConfiguration',
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    // Served on loopback only; the apiserver reaches it through the node name (this machine's hostname).
    address: '127.0.0.1',
    port: c.port,
    readOnlyPort: 0,
    healthzPort: 0,
    tlsCertFile: c.serving.cert,
    tlsPrivateKeyFile: c.serving.key,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: c.caFile } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: c.runtimeEndpoint,
    // cgroup v1 with the cgroupfs driver; kubelet 1.35+ refuses v1 unless told otherwise.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    cgroupRoot: c.cgroupRoot,
    // No host firewall rules.
    makeIPTablesUtilChains: false,
    // How often the kubelet resyncs pods, and so refreshes mounted Secrets (default 1m).
    syncFrequency: `${SYNC_FREQUENCY_SECONDS}s`,
    podLogsDir: join(c.dir, 'pod-logs'),
    volumePluginDir: join(c.dir, 'volume-plugins'),
    // Pods get no DNS servers from the host: nothing in a test pod should resolve names.
    resolvConf: '',
    hairpinMode: 'none',
    failSwapOn: false,
    registerWithTaints: c.taints,
    // Eviction would take pods away under disk or memory pressure from other work on the machine.
    evictionHard: { 'memory.available': '1%', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
