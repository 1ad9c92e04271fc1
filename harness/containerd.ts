import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, tailLog, waitFor, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

/** Debian's CNI plugins (containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';
/** The containerd namespace the CRI plugin (and so the kubelet) uses. */
const K8S_NAMESPACE = 'k8s.io';

export interface ContainerdOptions {
  /** Folder for everything containerd keeps: root, state, socket, runc state, CNI config. */
  dir: string;
  /** The image every pod sandbox runs (must be imported before the first pod). */
  sandboxImage: string;
}

/** A running containerd and the means to talk to it. */
export interface Containerd {
  /** The gRPC socket (the kubelet's container runtime endpoint). */
  address: string;
  /** Folder holding the CNI network configuration the CRI plugin loads. */
  cniConfDir: string;
  process: ManagedProcess;
  /** ctr runs `ctr` against this containerd in the k8s.io namespace and returns its stdout. */
  ctr: (args: string[]) => Promise<string>;
  /** importImage imports an OCI archive so pods with imagePullPolicy Never can run it. */
  importImage: (archive: string) => Promise<void>;
}

/**
 * startContainerd starts Debian's containerd (1.6, runc) with all its state in options.dir and
 * resolves once it answers on its socket. Nothing is written to /var/lib/containerd, /run/containerd
 * or /opt/containerd, and network namespaces live under its state folder.
 */
export async function startContainerd(options: ContainerdOptions): Promise<Containerd> {
  const { dir } = options;
  const address = join(dir, 'containerd.sock');
  const cniConfDir = join(dir, 'cni', 'net.d');
  await mkdir(cniConfDir, { recursive: true });
  const configFile = join(dir, 'config.toml');
  await writeFile(configFile, config(dir, address, cniConfDir, options.sandboxImage));
  const proc = await startProcess({
    name: 'containerd',
    command: 'containerd',
    args: ['--config', configFile],
    logFile: join(dir, 'containerd.log'),
  });
  const ctr = async (args: string[]) =>
    (await run('ctr', ['--address', address, '--namespace', K8S_NAMESPACE, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  try {
    await waitFor('containerd', () => ctr(['version']).then(() => true), {
      timeoutMs: 30_000,
      intervalMs: 50,
      onTimeout: () => tailLog(proc.logFile),
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return {
    address,
    cniConfDir,
    process: proc,
    ctr,
    importImage: async (archive) => {
      await ctr(['images', 'import', archive]);
    },
  };
}

// Obstacles of this machine kind: root lacks CAP_SYS_RESOURCE, so runc must not lower a container's
// oom_score_adj below its own (restrict_oom_score_adj); cgroup v1 with the cgroupfs driver.
function config(dir: string, address: string, cniConfDir: string, sandboxImage: string): string {
  return `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${address}"

[ttrpc]
  address = "${address}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${cniConfDir}"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${join(dir, 'runc')}"
`;
}
