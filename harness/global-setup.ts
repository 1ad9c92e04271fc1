import { installCrds } from './crds.ts';
import { publishEnvironment, type TestEnvironment } from './environment.ts';
import { findRunningStack, startStack, type StackNeeds } from './stack.ts';

interface RunState {
  env: TestEnvironment;
  stops: (() => Promise<void>)[];
}

declare global {
  var __dbcredRun: RunState | undefined;
}

/**
 * ensureEnvironment gives the test run what a project needs, once per run however many projects
 * ask: an external cluster when KUBECONFIG is set, else the stack started by hand with
 * `npm run cluster -- up` if it runs, else fresh servers that globalTeardown stops. Jest calls a
 * project's global setup only when that project has tests to run, so a unit-only run starts nothing.
 */
export async function ensureEnvironment(needs: StackNeeds): Promise<void> {
  const run = (globalThis.__dbcredRun ??= { env: {}, stops: [] });
  const missing: StackNeeds = { kube: needs.kube && !run.env.kube, databases: needs.databases && !run.env.postgres };
  if (!missing.kube && !missing.databases) return;

  if (missing.kube && process.env['KUBECONFIG'] && !process.env['DBCRED_LOCAL_STACK']) {
    run.env.kube = { kubeconfig: process.env['KUBECONFIG'] };
    missing.kube = false;
  }
  const running = await findRunningStack();
  if (running && (!missing.kube || running.env.kube) && (!missing.databases || running.env.postgres)) {
    console.log('\n[harness] reusing the stack started with `npm run cluster -- up`');
    if (missing.kube) run.env.kube = running.env.kube;
    if (missing.databases) Object.assign(run.env, { postgres: running.env.postgres, mariadb: running.env.mariadb });
  } else if (missing.kube || missing.databases) {
    const started = Date.now();
    const stack = await startStack(missing);
    run.stops.push(() => stack.stop());
    Object.assign(run.env, stack.env);
    console.log(`\n[harness] started ${Object.keys(stack.env).join(', ')} in ${Date.now() - started} ms`);
  }
  // Every suite that talks to Kubernetes relies on the dbcred CRDs; install them once per run.
  if (needs.kube && run.env.kube) await installCrds(run.env.kube.kubeconfig);
  publishEnvironment(run.env);
}
