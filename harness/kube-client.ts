import { ApiException, KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { requireKube } from './environment.ts';
import { waitFor } from './processes.ts';

/** kubeConfig loads the run's kubeconfig (admin on the local control plane). */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(requireKube().kubeconfig);
  return kc;
}

/** statusOf returns the HTTP status of a failed API call, or undefined for any other error. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? (error as ApiException<unknown>).code : undefined;
}

/** messageOf returns the apiserver's Status message of a failed API call. */
export function messageOf(error: unknown): string {
  if (!(error instanceof ApiException)) return String(error);
  const body: unknown = (error as ApiException<unknown>).body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
    return parsed.message ?? String(body);
  } catch {
    return String(body);
  }
}

/** expectApiError runs call and returns its HTTP status and message; it fails if the call succeeds. */
export async function apiError(call: () => Promise<unknown>): Promise<{ status: number | undefined; message: string }> {
  try {
    await call();
  } catch (error) {
    return { status: statusOf(error), message: messageOf(error) };
  }
  throw new Error('expected the API call to fail, and it succeeded');
}

/** A namespace of one's own for a test, deleted (without waiting) by cleanup. */
export interface TestNamespace {
  name: string;
  cleanup(): Promise<void>;
}

/** createTestNamespace creates a uniquely named namespace so tests never see each other's objects. */
export async function createTestNamespace(prefix: string, labels: Record<string, string> = {}): Promise<TestNamespace> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'dbcred.io/test': 'true', ...labels } } } });
  return {
    name,
    cleanup: async () => {
      await core.deleteNamespace({ name }).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
    },
  };
}

/** waitForGone polls read until it fails with 404 (the object no longer exists). */
export async function waitForGone(what: string, read: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${what} to be deleted`,
    async () => {
      try {
        await read();
        return false;
      } catch (error) {
        if (statusOf(error) === 404) return true;
        throw error;
      }
    },
    { timeoutMs, intervalMs: 50 },
  );
}
