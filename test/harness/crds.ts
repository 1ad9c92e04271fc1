import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, binDir } from './binaries.ts';

const run = promisify(execFile);

/** kubectl runs the cached kubectl against a kubeconfig and returns stdout; stderr is in the error. */
export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const bin = join(await binDir(['kubectl']), 'kubectl');
  const child = run(bin, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

/** installCrds server-side applies crds/ and waits until every dbcred CRD is Established. */
export async function installCrds(kubeconfig: string): Promise<void> {
  await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager=dbcred-tests', '-f', join(REPO_ROOT, 'crds')]);
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=dbcred']);
}
