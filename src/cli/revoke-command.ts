// `dbcred revoke`: break-glass revocation of every user of the selected credentials, now, whether
// or not the operator is running. A dry run unless --confirm. For each credential it:
//   1. marks it (dbcred.io/break-glass: when, who, why) and sets deletionPolicy Revoke, so the
//      operator's own revocation records say "break-glass" and — through the chart's policy, which
//      re-stamps the requester when the mark changes — name who broke the glass;
//   2. deletes it, so nothing re-issues it (its finalizer stays until the operator has revoked);
//   3. drops every user its status names, pending and retiring ones too, with the admin login and the
//      role's revocation policy (sessions ended), as the operator would;
//   4. deletes its Secret if the credential owns it ("Secret gone": none of it is left), so no
//      Secret names a dropped user.
// Each step is idempotent: running it again finishes what a failure left.
import { parseArgs } from 'node:util';
import { BREAK_GLASS_ANNOTATION, type DatabaseCredential } from '../api/v1alpha1/index.ts';
import { DbcredResources } from '../controllers/dbcred-resources.ts';
import { deleteSecret } from '../controllers/published-secret.ts';
import { isInvalid, isNotFound } from '../runtime/kube/errors.ts';
import { DbcredError } from '../util/errors.ts';
import { table, whoAmI, type CommandIO } from './command-io.ts';
import { isEmpty, parseSelector, selectCredentials, SELECTOR_HELP, SELECTOR_OPTIONS, usersOf } from './credential-selector.ts';
import { INSTALLATION_HELP, INSTALLATION_OPTIONS, ServerAccess } from './server-access.ts';

export const REVOKE_HELP = `usage: dbcred revoke SELECTOR... [--confirm] [--reason TEXT]

Revokes every database user of the selected DatabaseCredentials now (sessions ended), deletes the
credentials so nothing re-issues them, and deletes their Secrets. Without --confirm it only shows
what it would do.

${SELECTOR_HELP}
  --all                         every credential in the cluster (no other selector needed)

  --confirm                     act (default: dry run)
  --reason TEXT                 why, recorded on each credential and in the operator's audit records

${INSTALLATION_HELP}`;

const MAX_REASON = 200;

/** revokeCommand runs `dbcred revoke`; it returns the exit code (0 all done, 1 something left, 2 usage). */
export async function revokeCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...SELECTOR_OPTIONS,
      ...INSTALLATION_OPTIONS,
      all: { type: 'boolean', default: false },
      confirm: { type: 'boolean', default: false },
      reason: { type: 'string', default: 'break-glass revocation' },
    },
    strict: true,
    allowPositionals: false,
  });
  const selector = parseSelector(values);
  if (isEmpty(selector) && !values.all)
    throw new DbcredError(
      'CONFIG_INVALID',
      'name what to revoke (--credential, --role, --cluster-role, --server, --cluster-server, --namespace), or --all',
    );
  if (values.reason.length > MAX_REASON) throw new DbcredError('CONFIG_INVALID', `--reason must be at most ${MAX_REASON} characters`);

  const actor = await whoAmI(io.client);
  const creds = await selectCredentials(io.client, selector);
  const planned = creds.map((c) => usersOf(c).length).reduce((a, b) => a + b, 0);
  io.out(`acting as ${actor}`);
  if (creds.length === 0) {
    io.out('no credential matches');
    return 0;
  }
  const rows = table([
    ['NAMESPACE', 'CREDENTIAL', 'ROLE', 'SERVER', 'USERS'],
    ...creds.map((c) => [
      c.metadata.namespace ?? '',
      c.metadata.name,
      c.spec?.roleRef?.name ?? '',
      c.status?.server?.name ?? '',
      usersOf(c)
        .map((u) => u.username)
        .join(',') || '(none)',
    ]),
  ]);
  for (const row of rows) io.out(row);
  if (!values.confirm) {
    io.out(`dry run: ${creds.length} credential(s) and ${planned} user(s) would be revoked; run again with --confirm to revoke`);
    return 0;
  }

  const access = await ServerAccess.open(io.client, io.registry, { instance: values.instance, clusterId: values['cluster-id'] });
  let failed = 0;
  try {
    const mark = `${io.now().toISOString()} by ${actor}: ${values.reason}`;
    for (const cred of creds) {
      const { line, ok } = await breakGlass(io, access, cred, mark);
      io.out(line);
      if (!ok) failed++;
    }
  } finally {
    await access.close();
  }
  if (failed > 0) {
    io.err(
      `${failed} credential(s) not fully revoked: run the same command again (the operator also revokes them as it finalizes the credentials)`,
    );
    return 1;
  }
  return 0;
}

/** breakGlass revokes one credential (steps 1–4 above) and reports what it did in one line. */
async function breakGlass(
  io: CommandIO,
  access: ServerAccess,
  cred: DatabaseCredential,
  mark: string,
): Promise<{ line: string; ok: boolean }> {
  const { client } = io;
  const { name, namespace, uid } = cred.metadata;
  const what = `${namespace}/${name}`;
  const done: string[] = [];
  const problems: string[] = [];
  const latest: DatabaseCredential[] = [cred];
  try {
    latest.push(await markCredential(io, cred, mark));
    await client.delete(DbcredResources.DatabaseCredential, name, namespace, { uid, propagationPolicy: 'Background' });
    done.push('credential deleted');
    // Read again: an issuance the operator was finishing may have recorded another user meanwhile.
    latest.push(await client.get<DatabaseCredential>(DbcredResources.DatabaseCredential, name, namespace));
  } catch (error) {
    if (!isNotFound(error)) problems.push((error as Error).message);
    else if (done.length === 0) done.push('credential already deleted');
  }
  const server = latest.map((c) => c.status?.server).find((s) => s !== undefined);
  const usernames = [...new Set(latest.flatMap((c) => usersOf(c).map((u) => u.username)))];
  if (usernames.length > 0 && !server) problems.push(`its status names users ${usernames.join(', ')} but no server`);
  if (server && usernames.length > 0) {
    try {
      const engine = await access.engine(server);
      const policy = await access.policyFor(cred);
      for (const username of usernames) {
        try {
          const result = await engine.revokeUser(username, policy);
          done.push(`user ${username} ${result.existed ? `dropped (${result.terminatedSessions} session(s) ended)` : 'already gone'}`);
        } catch (error) {
          problems.push(`user ${username} not dropped: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      problems.push(`server ${server.name} not reached: ${(error as Error).message}`);
    }
  }
  try {
    const owner = latest[latest.length - 1]!;
    if (owner.spec?.secret) {
      await deleteSecret(client, owner);
      done.push('Secret gone');
    }
  } catch (error) {
    problems.push(`Secret not deleted: ${(error as Error).message}`);
  }
  const ok = problems.length === 0;
  return { ok, line: `${ok ? 'revoked' : 'INCOMPLETE'} ${what}: ${[...done, ...problems].join('; ')}` };
}

/**
 * markCredential sets the break-glass mark and deletionPolicy Revoke (conditioned on the uid, so a
 * credential re-created under the same name is not touched). A spec the CRD no longer accepts
 * cannot take the policy change: then the mark alone.
 */
async function markCredential(io: CommandIO, cred: DatabaseCredential, mark: string): Promise<DatabaseCredential> {
  const { name, namespace, uid } = cred.metadata;
  const metadata = { uid, annotations: { [BREAK_GLASS_ANNOTATION]: mark } };
  try {
    return await io.client.mergePatch<DatabaseCredential>(DbcredResources.DatabaseCredential, name, namespace, {
      metadata,
      spec: { deletionPolicy: 'Revoke' },
    });
  } catch (error) {
    if (!isInvalid(error)) throw error;
    return await io.client.mergePatch<DatabaseCredential>(DbcredResources.DatabaseCredential, name, namespace, { metadata });
  }
}
