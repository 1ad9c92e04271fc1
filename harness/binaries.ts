import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export type Binary =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kube-proxy' | 'kubectl' | 'helm';

/**
 * binDir returns the cache folder holding the requested binaries, building any that are missing
 * with scripts/build-control-plane.sh (minutes on a cold machine, instant when cached).
 */
export async function binDir(binaries: Binary[]): Promise<string> {
  // Against an external cluster the test command may point at a folder holding kubectl and helm
  // already (scripts/test.sh does when both are on PATH), so nothing is built.
  const given = process.env['DBCRED_BIN_DIR'];
  if (given && binaries.every((b) => existsSync(join(given, b)))) return given;
  const { stdout } = await run(join(repoRoot, 'scripts', 'build-control-plane.sh'), binaries, {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60 * 60 * 1000,
  });
  const dir = stdout.trim().split('\n').pop();
  if (!dir) throw new Error('build-control-plane.sh printed no binary folder');
  return dir;
}

/** The checkout's root folder. */
export const REPO_ROOT = repoRoot;
