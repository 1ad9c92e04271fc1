import { readFile, readdir, rmdir, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// The node runs on cgroup v1 (this machine kind has no unified hierarchy for controllers). The
// kubelet creates its kubepods tree under a cgroup root the harness gives it, one per node, so
// everything a node puts into cgroups sits in one subtree the harness can find and remove.

/** hierarchies lists the mount points of the cgroup v1 hierarchies (cpu, memory, ..., name=systemd). */
export async function hierarchies(): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[fields.indexOf('-') + 1] === 'cgroup')
    .map((fields) => fields[4]!)
    .sort();
}

/** createCgroup makes the cgroup `name` (a top-level path such as /dbcred-node-x) in every hierarchy. */
export async function createCgroup(name: string): Promise<void> {
  for (const root of await hierarchies()) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    // A new cpuset cgroup starts with no CPUs and no memory nodes; it inherits its parent's.
    if (root.endsWith('/cpuset')) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) await writeFile(join(dir, file), await readFile(join(root, file)));
    }
  }
}

/** cgroupProcesses returns the pids in the cgroup subtree `name`, across all hierarchies. */
export async function cgroupProcesses(name: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const root of await hierarchies()) {
    for (const dir of await subtree(join(root, name))) {
      const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean)) pids.add(Number(pid));
    }
  }
  return [...pids];
}

/**
 * removeCgroup removes the cgroup subtree `name` in every hierarchy, deepest first; processes still
 * in it are killed first (a cgroup with members cannot be removed).
 */
export async function removeCgroup(name: string): Promise<void> {
  for (const pid of await cgroupProcesses(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const root of await hierarchies()) {
    const dirs = (await subtree(join(root, name))).reverse();
    for (const dir of dirs) {
      // rmdir fails with EBUSY for a moment while killed members are still exiting.
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 100) throw error;
          await delay(50);
        }
      }
    }
  }
}

/** remainingCgroups lists the hierarchies in which the cgroup `name` still exists. */
export async function remainingCgroups(name: string): Promise<string[]> {
  const out: string[] = [];
  for (const root of await hierarchies()) {
    if ((await subtree(join(root, name))).length > 0) out.push(join(root, name));
  }
  return out;
}

// subtree lists dir and its descendant cgroups, parents before children; empty if dir does not exist.
async function subtree(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = [dir];
  for (const entry of entries) if (entry.isDirectory()) out.push(...(await subtree(join(dir, entry.name))));
  return out;
}
