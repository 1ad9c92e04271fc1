// `dbcred list`: the database users dbcred keeps alive, with their expiry — from the credentials'
// status, and with --databases from the databases themselves (what the database will enforce, and
// users carrying this installation's marker that no credential names: the next orphan sweep drops them).
import { parseArgs } from 'node:util';
import type { DatabaseCredential } from '../api/v1alpha1/index.ts';
import { serverKey, type ServerRef } from '../controllers/engine-pool.ts';
import { retainedUsers } from '../controllers/sweeper.ts';
import { DbcredError } from '../util/errors.ts';
import { table, type CommandIO } from './command-io.ts';
import {
  parseSelector,
  selectCredentials,
  SELECTOR_HELP,
  SELECTOR_OPTIONS,
  usersOf,
  type CredentialSelector,
} from './credential-selector.ts';
import { INSTALLATION_HELP, INSTALLATION_OPTIONS, ServerAccess } from './server-access.ts';

export const LIST_HELP = `usage: dbcred list [SELECTOR...] [--databases] [-o table|json]

Lists the database users of the selected DatabaseCredentials (all when no selector is given):
current, pending (being issued) and retiring (replaced, dropped at UNTIL) users with their expiry.

${SELECTOR_HELP}

  --databases                   also ask each server (admin login): whether the user exists, the
                                expiry the database enforces, and users of this installation that
                                no credential names (shown when whole servers are selected)
  -o, --output table|json       output format (default table)

${INSTALLATION_HELP}`;

/** One database user, as the credential's status and (with --databases) the database see it. */
export interface ListedUser {
  namespace?: string;
  credential?: string;
  role?: string;
  server: string;
  username: string;
  /** unowned: no credential names it (the next sweep drops it); retained: a deleted credential's Secret shelters it (deletionPolicy Retain). */
  state: 'current' | 'pending' | 'retiring' | 'unowned' | 'retained';
  /** Expiry (current, pending) or drop time (retiring), RFC 3339. */
  until?: string;
  /** --databases: whether the user exists in the database; undefined when the server could not be asked. */
  inDatabase?: boolean;
  /** --databases: the expiry the database enforces (PostgreSQL VALID UNTIL, MariaDB's expiry event). */
  databaseExpiresAt?: string;
}

const serverOf = (cred: DatabaseCredential): ServerRef | undefined => cred.status?.server;
const serverLabel = (ref: ServerRef) => (ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);

/** listCommand runs `dbcred list`; it returns the exit code (0 listed, 1 a server could not be asked). */
export async function listCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...SELECTOR_OPTIONS,
      ...INSTALLATION_OPTIONS,
      databases: { type: 'boolean', default: false },
      output: { type: 'string', short: 'o', default: 'table' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.output !== 'table' && values.output !== 'json')
    throw new DbcredError('CONFIG_INVALID', `--output must be table or json, not "${values.output}"`);
  const selector = parseSelector(values);
  const creds = await selectCredentials(io.client, selector);
  const users: ListedUser[] = creds.flatMap((cred) =>
    usersOf(cred).map((u) => ({
      namespace: cred.metadata.namespace,
      credential: cred.metadata.name,
      role: cred.spec?.roleRef?.name,
      server: cred.status?.server ? serverLabel(cred.status.server) : '',
      username: u.username,
      state: u.state,
      until: u.until,
    })),
  );
  let unreachable = 0;
  if (values.databases) {
    const access = await ServerAccess.open(io.client, io.registry, { instance: values.instance, clusterId: values['cluster-id'] });
    try {
      unreachable = await addDatabaseView(io, access, selector, creds, users);
    } finally {
      await access.close();
    }
  }
  if (values.output === 'json') io.out(JSON.stringify(users, null, 2));
  else if (users.length === 0) io.out('no database users');
  else {
    const header = ['NAMESPACE', 'CREDENTIAL', 'ROLE', 'SERVER', 'USER', 'STATE', 'UNTIL'];
    const rows = users.map((u) => [u.namespace ?? '', u.credential ?? '', u.role ?? '', u.server, u.username, u.state, u.until ?? '']);
    const db = (u: ListedUser) => [u.inDatabase === undefined ? '?' : u.inDatabase ? 'yes' : 'no', u.databaseExpiresAt ?? ''];
    const lines = values.databases
      ? table([[...header, 'IN-DATABASE', 'DATABASE-EXPIRES'], ...rows.map((r, i) => [...r, ...db(users[i]!)])])
      : table([header, ...rows]);
    for (const line of lines) io.out(line);
  }
  return unreachable > 0 ? 1 : 0;
}

/**
 * addDatabaseView asks each server the selection touches for the users carrying this installation's
 * marker, fills inDatabase/databaseExpiresAt and, when whole servers are selected, appends the users
 * no credential names. It returns how many servers could not be asked.
 */
async function addDatabaseView(
  io: CommandIO,
  access: ServerAccess,
  selector: CredentialSelector,
  creds: DatabaseCredential[],
  users: ListedUser[],
): Promise<number> {
  const servers = new Map<string, ServerRef>();
  for (const ref of [...creds.map(serverOf), selector.server]) if (ref) servers.set(serverKey(ref), ref);
  const wholeServers = !selector.credential && !selector.role && selector.namespace === undefined;
  let unreachable = 0;
  // Read once per namespace asked about (a cluster server: all), not once per server.
  const retainedIn = new Map<string, Promise<Set<string>>>();
  for (const ref of servers.values()) {
    const label = serverLabel(ref);
    let owned;
    try {
      owned = await (await access.engine(ref)).listOwnedUsers();
    } catch (error) {
      unreachable++;
      io.err(`server ${label} not asked: ${(error as Error).message}`);
      continue;
    }
    const inDb = new Map(owned.map((u) => [u.username, u.expiresAt?.toISOString()]));
    for (const u of users.filter((x) => x.server === label)) {
      u.inDatabase = inDb.has(u.username);
      const expires = inDb.get(u.username);
      if (expires) u.databaseExpiresAt = expires;
    }
    if (!wholeServers) continue;
    // Every credential on the server, not only the selected ones, decides what is named.
    const named = new Set((await selectCredentials(io.client, { server: ref })).flatMap((c) => usersOf(c).map((u) => u.username)));
    const scope = ref.namespace ?? '';
    if (!retainedIn.has(scope)) retainedIn.set(scope, retainedUsers(io.client, ref.namespace));
    const retained = await retainedIn.get(scope)!;
    for (const [username, expires] of inDb) {
      if (named.has(username)) continue;
      const state = retained.has(username) ? 'retained' : 'unowned';
      users.push({ server: label, username, state, inDatabase: true, ...(expires ? { databaseExpiresAt: expires } : {}) });
    }
  }
  return unreachable;
}
