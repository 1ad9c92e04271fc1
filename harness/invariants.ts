// The invariant every crash test checks once the operator has recovered: the operator-owned users
// in each database are exactly those named in live credentials' status (or retained by the marked
// Secret of a credential deleted with deletionPolicy Retain); every Secret names its current user
// and logs in; no expired user is still current.
import pg from 'pg';
import { usernamesIn } from '../src/api/v1alpha1/index.ts';
import { DbcredResources } from '../src/controllers/dbcred-resources.ts';
import { retainedUsers } from '../src/controllers/sweeper.ts';
import { isNotFound } from '../src/runtime/kube/errors.ts';
import { mysqlSql, secretData, sql, type Lab, type Obj } from './lab.ts';

/** Every name usernameFor generates, whatever the installation (dbc<tag>_…): the admin logins do not match. */
export const GENERATED_NAME = '^dbc[a-z2-7]{4}_';

/**
 * violations returns what breaks the invariant in the lab's namespace (empty when it holds). Traffic
 * may go on while it runs (chaos): whatever looks wrong is read again, and only a credential that
 * did not change meanwhile, or a user that still exists, counts.
 */
export async function violations(lab: Lab): Promise<string[]> {
  const problems: string[] = [];
  // Databases first, then the API: a user created in between is already named in status (I1).
  const inDatabases = new Set<string>([
    ...(await sql(lab.postgres, [`SELECT rolname FROM pg_roles WHERE rolname ~ '${GENERATED_NAME}'`])).map((r) => String(r['rolname'])),
    ...(
      (await mysqlSql(lab.mariadb, [`SELECT User FROM mysql.user WHERE User REGEXP BINARY '${GENERATED_NAME}'`])) as { User: string }[]
    ).map((r) => r.User),
  ]);
  const { items } = await lab.client.listAll<Obj>(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
  const named = new Set<string>();
  // A user its deleted credential retained lives while its marked Secret does.
  for (const user of await retainedUsers(lab.client, lab.ns.name)) named.add(user);
  for (const cred of items) {
    const st = cred.status ?? {};
    for (const u of usernamesIn(st)) named.add(u);
    if (!st.current) continue;
    const found: string[] = [];
    if (Date.parse(st.current.expiresAt) <= Date.now())
      found.push(`${cred.metadata.name}: current user ${st.current.username} has expired`);
    if (!inDatabases.has(st.current.username) && !(await userExists(lab, st.current.username)))
      found.push(`${cred.metadata.name}: current user ${st.current.username} does not exist`);
    const data = await secretData(lab.client, lab.ns.name, st.secretName ?? cred.metadata.name);
    if (data?.['username'] !== st.current.username) {
      found.push(`${cred.metadata.name}: the Secret names ${data?.['username'] ?? '(no Secret)'}, status names ${st.current.username}`);
    } else if (data['port'] === String(lab.postgres.info.port)) {
      const c = new pg.Client({
        host: data['host'],
        port: Number(data['port']),
        database: data['database'],
        user: data['username'],
        password: data['password'],
      });
      c.on('error', () => undefined); // a session ended by a revocation also fails the awaited call
      try {
        await c.connect();
        await c.query('SELECT 1');
      } catch (error) {
        found.push(`${cred.metadata.name}: the Secret does not log in (${(error as Error).message})`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    if (found.length > 0 && !(await changedSince(lab, cred))) problems.push(...found);
  }
  for (const u of inDatabases) {
    // Dropped with its credential between the two listings: gone, not an orphan.
    if (!named.has(u) && (await userExists(lab, u))) problems.push(`orphan user ${u} exists but no credential names it`);
  }
  return problems;
}

/** changedSince: the credential was deleted or written after it was listed (it is in motion). */
async function changedSince(lab: Lab, cred: Obj): Promise<boolean> {
  try {
    return (
      (await lab.client.get<Obj>(DbcredResources.DatabaseCredential, cred.metadata.name, lab.ns.name)).metadata.resourceVersion !==
      cred.metadata.resourceVersion
    );
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

/** userExists asks both databases now (generated names need no quoting). */
async function userExists(lab: Lab, username: string): Promise<boolean> {
  const inPostgres = await sql(lab.postgres, [`SELECT 1 FROM pg_roles WHERE rolname = '${username}'`]);
  const inMariaDB = await mysqlSql(lab.mariadb, [`SELECT 1 FROM mysql.user WHERE User = '${username}'`]);
  return inPostgres.length + inMariaDB.length > 0;
}
