import { execFile } from 'node:child_process';
import { lstat, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

// What a node changes on the machine outside its own folder, how to see it and how to undo it.
// Everything here is read from the kernel (/proc, /sys, ip, iptables), not from the components.

const run = promisify(execFile);

// The kubelet "tunes" these when protectKernelDefaults is false (kernel panic on oops, overcommit...).
const NODE_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

/**
 * Machine-wide folders the kubelet, containerd or CNI create whatever their configuration says
 * (hard-coded paths); a node removes the ones it created once nothing is left in them.
 */
export const SHARED_PATHS = [
  '/var/log/containers',
  '/var/lib/cni',
  '/run/containerd',
  '/var/run/netns',
  '/var/lib/kubelet',
  '/var/log/pods',
];

/** The machine as a node found it: what stop restores and what the leftover check compares with. */
export interface HostBaseline {
  sysctls: Record<string, string>;
  iptables: string;
  /** The nftables tables (`family name`), e.g. kube-proxy's `ip kube-proxy`. */
  nftTables: string[];
  existingPaths: string[];
}

/** captureHost records the sysctls a node changes, the iptables rules, the nftables tables and which shared folders exist. */
export async function captureHost(): Promise<HostBaseline> {
  const sysctls: Record<string, string> = {};
  for (const key of NODE_SYSCTLS) sysctls[key] = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
  const existingPaths: string[] = [];
  for (const path of SHARED_PATHS) if (await exists(path)) existingPaths.push(path);
  return { sysctls, iptables: await iptablesRules(), nftTables: await nftTables(), existingPaths };
}

/** nftTables lists the nftables tables as `family name` ([] without nft). */
export async function nftTables(): Promise<string[]> {
  try {
    const { stdout } = await run('nft', ['list', 'tables']);
    return stdout
      .split('\n')
      .map((line) => line.replace(/^table /, '').trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** deleteNftTablesNamed removes the tables of this name (any family) that the baseline did not have. */
export async function deleteNftTablesNamed(name: string, baseline: HostBaseline): Promise<void> {
  for (const table of await nftTables()) {
    if (table.endsWith(` ${name}`) && !baseline.nftTables.includes(table)) await run('nft', ['delete', 'table', ...table.split(' ')]);
  }
}

/** restoreSysctls writes back the values the baseline recorded. */
export async function restoreSysctls(baseline: HostBaseline): Promise<void> {
  for (const [key, value] of Object.entries(baseline.sysctls)) {
    if ((await readFile(`/proc/sys/${key}`, 'utf8')).trim() !== value) await writeFile(`/proc/sys/${key}`, value);
  }
}

/** changedSysctls lists the sysctls whose value differs from the baseline. */
export async function changedSysctls(baseline: HostBaseline): Promise<string[]> {
  const out: string[] = [];
  for (const [key, value] of Object.entries(baseline.sysctls)) {
    const now = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
    if (now !== value) out.push(`${key.replaceAll('/', '.')}=${now} (was ${value})`);
  }
  return out;
}

/** iptablesRules returns the IPv4 and IPv6 rules without counters and comments ('' without iptables). */
export async function iptablesRules(): Promise<string> {
  const dump = async (command: string) => {
    try {
      return (await run(command, [])).stdout;
    } catch {
      return '';
    }
  };
  const text = (await dump('iptables-save')) + (await dump('ip6tables-save'));
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/, ''))
    .join('\n');
}

/** mountsUnder lists the mount points inside dir, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return (
    mountinfo
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point): point is string => point !== undefined)
      // mountinfo escapes space, tab, newline and backslash as octal.
      .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
      .filter((point) => point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length)
  );
}

/** unmountUnder unmounts everything mounted inside dir (lazily if a mount is busy). */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await run('umount', [point])
      .catch(() => run('umount', ['-l', point]))
      .catch(() => undefined);
  }
}

/** processesMentioning returns the pids whose command line contains text (e.g. a node's folder). */
export async function processesMentioning(text: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    if (cmdline.includes(text)) out.push(Number(entry));
  }
  return out;
}

/** linkExists tells whether a network interface of this name exists in the host's namespace. */
export async function linkExists(name: string): Promise<boolean> {
  return exists(`/sys/class/net/${name}`);
}

/** bridgePorts lists the interfaces (the host ends of pod veths) attached to a bridge. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  return readdir(`/sys/class/net/${bridge}/brif`).catch(() => []);
}

/**
 * createBridge makes a Linux bridge holding address (a /32), up, with IPv6 off: the node's own
 * interface. The kubelet accepts a node IP only if an interface has it, and with the address local,
 * anything sent to it would be delivered on this machine instead of leaving through the default route.
 * With a gateway (address/prefix), the bridge also holds the pods' gateway address.
 */
export async function createBridge(bridge: string, address: string, gateway?: string): Promise<void> {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
  await run('ip', ['addr', 'add', `${address}/32`, 'dev', bridge]);
  if (gateway) await run('ip', ['addr', 'add', gateway, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
}

/** deleteBridge removes a bridge and the veths attached to it (deleting one end of a veth removes both). */
export async function deleteBridge(bridge: string): Promise<void> {
  for (const port of await bridgePorts(bridge)) await run('ip', ['link', 'del', port]).catch(() => undefined);
  if (await linkExists(bridge)) await run('ip', ['link', 'del', bridge]);
}

/** symlinksInto lists the entries of folder that are symlinks pointing inside target. */
export async function symlinksInto(folder: string, target: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder).catch(() => [])) {
    const link = await readlink(join(folder, entry)).catch(() => '');
    if (link.startsWith(`${target}/`)) out.push(join(folder, entry));
  }
  return out;
}

/**
 * pruneCreatedPaths removes the shared folders the baseline did not have, if nothing but empty
 * folders is left in them (another node may still be using them), and returns those it kept.
 */
export async function pruneCreatedPaths(baseline: HostBaseline): Promise<string[]> {
  const kept: string[] = [];
  for (const path of SHARED_PATHS) {
    if (baseline.existingPaths.includes(path) || !(await exists(path))) continue;
    if (await onlyEmptyFolders(path)) await rm(path, { recursive: true });
    else kept.push(path);
  }
  return kept;
}

/** createdPaths lists the shared folders that exist now and did not exist in the baseline. */
export async function createdPaths(baseline: HostBaseline): Promise<string[]> {
  const out: string[] = [];
  for (const path of SHARED_PATHS) if (!baseline.existingPaths.includes(path) && (await exists(path))) out.push(path);
  return out;
}

// A socket nobody listens on (the kubelet's device-plugin socket after it stopped) counts as empty.
async function onlyEmptyFolders(path: string): Promise<boolean> {
  const info = await lstat(path);
  if (info.isSocket()) return !(await listening(path));
  if (!info.isDirectory()) return false;
  for (const entry of await readdir(path)) if (!(await onlyEmptyFolders(join(path, entry)))) return false;
  return true;
}

function listening(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = connect(socket);
    connection.once('connect', () => (connection.destroy(), resolve(true)));
    connection.once('error', () => resolve(false));
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
