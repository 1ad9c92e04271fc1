// The invariant every crash test checks once the operator has recovered: the operator-owned users
// in each database are exactly those named in live credentials' status; every Secret names its
// current user and logs in; no expired user is still current.
import pg from 'pg';
import { DbcredResources } from '../../src/controllers/resources.ts';
import { mysqlSql, secretData, sql, type Lab, type Obj } from './fixtures.ts';

/** violations returns what breaks the invariant in the lab's namespace (empty when it holds). */
export async function violations(lab: Lab): Promise<string[]> {
  const problems: string[] = [];
  // Databases first, then the API: a user created in between is already named in status (I1).
  const inDatabases = new Set<string>([
    ...(await sql(lab.postgres, ["SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbc\\_%'"])).map((r) => String(r['rolname'])),
    ...((await mysqlSql(lab.mariadb, ["SELECT User FROM mysql.user WHERE User LIKE 'dbc\\_%'"])) as { User: string }[]).map((r) => r.User),
  ]);
  const { items } = await lab.client.listAll<Obj>(DbcredResources.DatabaseCredential, { namespace: lab.ns.name });
  const named = new Set<string>();
  for (const cred of items) {
    const st = cred.status ?? {};
    for (const u of [st.pending?.username, st.current?.username, ...(st.retiring ?? []).map((r) => r.username)]) if (u) named.add(u);
    if (!st.current) continue;
    if (Date.parse(st.current.expiresAt) <= Date.now()) problems.push(`${cred.metadata.name}: current user ${st.current.username} has expired`);
    if (!inDatabases.has(st.current.username)) problems.push(`${cred.metadata.name}: current user ${st.current.username} does not exist`);
    const data = await secretData(lab.client, lab.ns.name, st.secretName ?? cred.metadata.name);
    if (data?.['username'] !== st.current.username) {
      problems.push(`${cred.metadata.name}: the Secret names ${data?.['username'] ?? '(no Secret)'}, status names ${st.current.username}`);
    } else if (data['port'] === String(lab.postgres.info.port)) {
      const c = new pg.Client({ host: data['host'], port: Number(data['port']), database: data['database'], user: data['username'], password: data['password'] });
      try {
        await c.connect();
        await c.query('SELECT 1');
      } catch (error) {
        problems.push(`${cred.metadata.name}: the Secret does not log in (${(error as Error).message})`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
  }
  for (const u of inDatabases) if (!named.has(u)) problems.push(`orphan user ${u} exists but no credential names it`);
  return problems;
}
