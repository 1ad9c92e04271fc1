// What a CLI command is given (a kube client, the engines, where to print, the time) and the
// small helpers the commands share: who the caller is and aligned tables.
import type { EngineRegistry } from '../engines/registry.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../runtime/kube/types.ts';

export interface CommandIO {
  client: KubeClient;
  registry: EngineRegistry;
  /** One line of the command's result (stdout). */
  out(line: string): void;
  /** One line of diagnostics (stderr). */
  err(line: string): void;
  now(): Date;
}

/** whoAmI returns the username the apiserver authenticates this client as (a SelfSubjectReview). */
export async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.create<KubeObject & { status?: { userInfo?: { username?: string } } }>(Resources.SelfSubjectReview, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: { name: '' },
  });
  return review.status?.userInfo?.username ?? '(unknown)';
}

/** table aligns rows (the first is the header) into columns separated by three spaces, like kubectl. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   '));
}

/** takeKubeconfig removes --kubeconfig FILE / --kubeconfig=FILE from a command's arguments, as kubectl spells it. */
export function takeKubeconfig(args: readonly string[]): { kubeconfig?: string; rest: string[] } {
  const rest: string[] = [];
  let kubeconfig: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--kubeconfig') kubeconfig = args[++i];
    else if (arg.startsWith('--kubeconfig=')) kubeconfig = arg.slice('--kubeconfig='.length);
    else rest.push(arg);
  }
  return { ...(kubeconfig === undefined ? {} : { kubeconfig }), rest };
}
