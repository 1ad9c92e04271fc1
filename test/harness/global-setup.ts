import { publishEnvironment, type TestEnvironment } from './environment.ts';
import { findRunningStack, startStack, type StackNeeds } from './stack.ts';
import { PROJECT_NEEDS } from './projects.ts';

interface JestGlobalConfig {
  selectProjects?: string[] | null;
}

declare global {
  var __dbcredStack: { stop(): Promise<void> } | undefined;
}

/**
 * globalSetup gives the test run a control plane and database servers: an external cluster when
 * KUBECONFIG is set (then no local databases), else a stack started by hand with
 * `npm run cluster -- up` if one is running, else a fresh one that globalTeardown stops.
 */
export default async function globalSetup(globalConfig: JestGlobalConfig): Promise<void> {
  const selected = globalConfig.selectProjects ?? Object.keys(PROJECT_NEEDS);
  const needs: StackNeeds = { kube: false, databases: false };
  for (const name of selected) {
    const n = PROJECT_NEEDS[name];
    if (!n) continue;
    needs.kube ||= n.kube;
    needs.databases ||= n.databases;
  }
  if (!needs.kube && !needs.databases) return;

  if (process.env['KUBECONFIG'] && !process.env['DBCRED_LOCAL_STACK']) {
    const env: TestEnvironment = { kube: { kubeconfig: process.env['KUBECONFIG'] } };
    publishEnvironment(env);
    return;
  }
  const running = await findRunningStack();
  if (running && (!needs.kube || running.env.kube) && (!needs.databases || running.env.postgres)) {
    console.log('\n[harness] reusing the stack started with `npm run cluster -- up`');
    publishEnvironment(running.env);
    return;
  }
  const started = Date.now();
  const stack = await startStack(needs);
  globalThis.__dbcredStack = stack;
  console.log(`\n[harness] started ${Object.keys(stack.env).join(', ')} in ${Date.now() - started} ms`);
  publishEnvironment(stack.env);
}
