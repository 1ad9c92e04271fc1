import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { requireDatabase } from '../../harness/environment.ts';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../../harness/kube-client.ts';
import { imageOf, kubectl, waitForPod } from '../../harness/pods.ts';

// What a dbcred user does: a pod reads the credentials from a mounted Secret and logs in. The pod
// shares the host's network namespace, so it reaches the test servers on 127.0.0.1 and no traffic
// leaves the machine.
describe('a pod logging in to the test databases with credentials from a mounted Secret', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const postgres = requireDatabase('postgres');
  const mariadb = requireDatabase('mariadb');
  const user = `pod_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  let ns: TestNamespace;

  beforeAll(async () => {
    const pgAdmin = new pg.Client({ host: postgres.host, port: postgres.port, database: postgres.database, ...postgres.superuser });
    await pgAdmin.connect();
    try {
      await pgAdmin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    } finally {
      await pgAdmin.end();
    }
    const myAdmin = await mysql.createConnection({
      host: mariadb.host,
      port: mariadb.port,
      user: mariadb.superuser.user,
      password: mariadb.superuser.password,
    });
    try {
      await myAdmin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    } finally {
      await myAdmin.end();
    }
    ns = await createTestNamespace('db-clients');
  });
  afterAll(async () => {
    await ns?.cleanup();
    const pgAdmin = new pg.Client({ host: postgres.host, port: postgres.port, database: postgres.database, ...postgres.superuser });
    await pgAdmin.connect();
    await pgAdmin.query(`DROP ROLE IF EXISTS ${user}`).finally(() => pgAdmin.end());
    const myAdmin = await mysql.createConnection({
      host: mariadb.host,
      port: mariadb.port,
      user: mariadb.superuser.user,
      password: mariadb.superuser.password,
    });
    await myAdmin.query(`DROP USER IF EXISTS '${user}'@'%'`).finally(() => myAdmin.end());
  });

  it("runs psql and mariadb in the pod and the servers see the Secret's user", async () => {
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'db' },
        stringData: {
          'pg-port': String(postgres.port),
          'mysql-port': String(mariadb.port),
          database: postgres.database,
          username: user,
          password,
        },
      },
    });
    // Passwords go through the clients' environment variables, never the command line.
    const script = [
      'set -e; d=/etc/db',
      'PGPASSWORD=$(cat $d/password) psql -h 127.0.0.1 -p $(cat $d/pg-port) -U $(cat $d/username) -d $(cat $d/database) -tAc "select \'pg:\' || current_user"',
      'MYSQL_PWD=$(cat $d/password) mariadb --protocol=tcp -h 127.0.0.1 -P $(cat $d/mysql-port) -u $(cat $d/username) -N -e "select concat(\'mysql:\', current_user())"',
    ].join('\n');
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'client' },
        spec: {
          hostNetwork: true,
          restartPolicy: 'Never',
          containers: [
            {
              name: 'client',
              image: imageOf('app'),
              imagePullPolicy: 'Never',
              command: ['sh', '-c', script],
              volumeMounts: [{ name: 'db', mountPath: '/etc/db', readOnly: true }],
            },
          ],
          volumes: [{ name: 'db', secret: { secretName: 'db' } }],
        },
      },
    });
    const pod = await waitForPod(ns.name, 'client', 'to finish', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    const logs = await kubectl(['logs', '-n', ns.name, 'client']);
    expect({ phase: pod.status?.phase, logs }).toEqual({ phase: 'Succeeded', logs: `pg:${user}\nmysql:${user}@%\n` });
  });
});
