// Starts and stops the local stack by hand: a real control plane (etcd, kube-apiserver,
// kube-controller-manager), PostgreSQL and MariaDB on free loopback ports.
//   npm run cluster -- up       start it (detached) and print how to use it
//   npm run cluster -- status   say whether it runs
//   npm run cluster -- down     stop it and remove its folders
// Test runs reuse a running stack; they never stop it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestEnvironment } from '../harness/environment.ts';
import { CACHE_DIR, findRunningStack, saveRunningStack, startStack, stopRunningStack } from '../harness/stack.ts';

const ENV_FILE = join(CACHE_DIR, 'run', 'stack.env');

async function writeEnvFile(env: TestEnvironment): Promise<void> {
  const lines = [`export KUBECONFIG=${env.kube?.kubeconfig ?? ''}`];
  if (env.kube?.local) lines.push(`export PATH=${env.kube.local.binDir}:$PATH`);
  if (env.postgres) {
    const p = env.postgres;
    lines.push(`export PGHOST=${p.host} PGPORT=${p.port} PGDATABASE=${p.database} PGUSER=${p.admin.user} PGPASSWORD=${p.admin.password}`);
  }
  if (env.mariadb) {
    const m = env.mariadb;
    lines.push(
      `export MYSQL_HOST=${m.host} MYSQL_TCP_PORT=${m.port} MYSQL_DATABASE=${m.database} MYSQL_USER=${m.admin.user} MYSQL_PWD=${m.admin.password}`,
    );
  }
  await writeFile(ENV_FILE, lines.join('\n') + '\n', { mode: 0o600 });
}

function describe(env: TestEnvironment): string {
  const out: string[] = [];
  if (env.kube) out.push(`  Kubernetes  ${env.kube.local?.server ?? ''}  KUBECONFIG=${env.kube.kubeconfig}`);
  if (env.postgres)
    out.push(
      `  PostgreSQL  ${env.postgres.version}  ${env.postgres.host}:${env.postgres.port}/${env.postgres.database} (admin ${env.postgres.admin.user})`,
    );
  if (env.mariadb)
    out.push(
      `  MariaDB     ${env.mariadb.version}  ${env.mariadb.host}:${env.mariadb.port}/${env.mariadb.database} (admin ${env.mariadb.admin.user})`,
    );
  out.push(`  Shell:      source ${ENV_FILE}   (KUBECONFIG, kubectl on PATH, PG* and MYSQL_* variables)`);
  return out.join('\n');
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const running = await findRunningStack();
      if (running) {
        console.log('The local stack is already running:\n' + describe(running.env));
        return 0;
      }
      await stopRunningStack(); // clear a stale record left by a crash
      const started = Date.now();
      const stack = await startStack({ kube: true, databases: true }, { detached: true });
      await saveRunningStack(stack.state);
      await writeEnvFile(stack.env);
      console.log(`The local stack is up (${Date.now() - started} ms):\n` + describe(stack.env));
      return 0;
    }
    case 'status': {
      const running = await findRunningStack();
      console.log(running ? 'running:\n' + describe(running.env) : 'not running');
      return running ? 0 : 1;
    }
    case 'down':
      console.log((await stopRunningStack()) ? 'The local stack is stopped.' : 'No local stack was recorded.');
      return 0;
    default:
      console.error('usage: npm run cluster -- up|status|down');
      return 2;
  }
}

process.exitCode = await main(process.argv[2]);
