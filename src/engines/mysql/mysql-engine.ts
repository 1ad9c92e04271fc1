// The MySQL/MariaDB engine. A user is 'name'@'userHost' with a pre-hashed password (MariaDB),
// MAX_USER_CONNECTIONS, roles (GRANT + SET DEFAULT ROLE) and grants. MySQL has no VALID UNTIL: when
// the event scheduler is on, a one-shot EVENT drops the user at its expiry, so the database enforces
// it even while the operator is down (I3). DDL is not transactional here, so every step is written
// to be repeatable and ordered so that a crash never leaves a user without its expiry event.
import { DbcredError, isDbcredError } from '../../util/errors.ts';
import { AdminPool } from '../admin-pool.ts';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MARKER,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type ConnectionPurpose,
  type CreateResult,
  type Engine,
  type FailedLoginRead,
  type EngineOptions,
  type ExpiryEnforcement,
  type NewUser,
  type OwnedUser,
  type PrivilegeReport,
  type PrivilegedAccount,
  type RevokeResult,
  type ServerConnection,
  type ServerFacts,
  type UserLogin,
  type UserPolicy,
} from '../engine.ts';
import { recode } from '../engine-error.ts';
import { StepFailure, driverCause, step } from '../step.ts';
import { renderTemplates, type QuotedValues } from '../template.ts';
import { tlsOptions } from '../tls-options.ts';
import { assertNotForeign, assertOwnUsername, isUsernameOf, usernameHead } from '../username.ts';
import { mysql2Driver, type MysqlConnectConfig, type MysqlDriver, type MysqlPool } from './mysql-driver.ts';
import { ER_CANNOT_USER, ER_NO_SUCH_THREAD, mysqlErrno, mysqlError } from './mysql-error.ts';
import { mysqlPasswordHash } from './mysql-password-hash.ts';
import {
  MYSQL_MAX_USERNAME_LENGTH,
  datetimeLiteral,
  expiryEventName,
  mysqlQueries,
  mysqlStatements as sql,
  quoteAccount,
  quoteIdentifier,
  quoteLiteral,
  type MysqlFlavor,
} from './mysql-statements.ts';

export const MYSQL_DEFAULT_PORT = 3306;
/** How long revocation waits for killed connections to leave the process list. */
const KILL_WAIT_MS = 5_000;

const errnoOf = (error: unknown) => mysqlErrno(driverCause(error));

interface Facts extends ServerFacts {
  flavor: MysqlFlavor;
  /** Grantee form of the admin account: 'user'@'host'. */
  grantee: string;
  /** The admin account as CURRENT_USER() names it. */
  admin: { user: string; host: string };
}

/** MysqlEngine implements Engine over one admin pool (mysql2), for MariaDB 10.6+ and MySQL 8. */
export class MysqlEngine implements Engine {
  readonly name = 'mysql' as const;
  readonly maxUsernameLength = MYSQL_MAX_USERNAME_LENGTH;
  /** MySQL/MariaDB keep no comment on users that both support: the marker lives as its tag in the name. */
  readonly marker: string;
  readonly #connection: ServerConnection;
  readonly #driver: MysqlDriver;
  readonly #connectTimeoutMs: number;
  readonly #statementTimeoutMs: number;
  readonly #onConnection: EngineOptions['onConnection'];
  readonly #adminPool: AdminPool<MysqlPool>;
  #facts: Facts | undefined;

  constructor(connection: ServerConnection, options: EngineOptions = {}, driver: MysqlDriver = mysql2Driver) {
    this.#connection = connection;
    this.#driver = driver;
    this.#adminPool = new AdminPool(connection.admin.password, (password) =>
      this.#driver.createPool(
        this.#config(this.#connection.admin.username, password, this.#connection.database, 'admin'),
        this.#connection.maxConnections,
      ),
    );
    this.marker = options.marker ?? DEFAULT_MARKER;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    this.#onConnection = options.onConnection;
  }

  #config(user: string, password: string, database: string | undefined, purpose: ConnectionPurpose): MysqlConnectConfig {
    const told = this.#onConnection;
    return {
      ...(told ? { onConnect: () => told(purpose, this.name) } : {}),
      host: this.#connection.host,
      port: this.#connection.port ?? MYSQL_DEFAULT_PORT,
      database,
      user,
      password,
      tls: tlsOptions(this.#connection.tls),
      connectTimeoutMs: this.#connectTimeoutMs,
      statementTimeoutMs: this.#statementTimeoutMs,
    };
  }

  #admin(): MysqlPool {
    return this.#adminPool.get();
  }

  /** Runs work and maps every failure to a DbcredError whose text holds none of the secrets. */
  async #run<T>(what: string, secrets: readonly string[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isDbcredError(error)) throw error;
      const all = [...secrets, this.#adminPool.password];
      if (error instanceof StepFailure) throw mysqlError(error.error, `${what}: ${error.label}`, all);
      throw mysqlError(error, what, all);
    }
  }

  /** The schema expiry events live in, when the database enforces expiry. */
  #eventSchema(facts: Facts): string | undefined {
    return facts.expiryEnforcement === 'EventScheduler' ? this.#connection.database : undefined;
  }

  async #knownFacts(): Promise<Facts> {
    return this.#facts ?? (await this.#readFacts());
  }

  async #readFacts(): Promise<Facts> {
    const pool = this.#admin();
    const row = (await step('read server facts', pool.query(mysqlQueries.facts)))[0] ?? {};
    const cipher = (await step('read TLS status', pool.query(mysqlQueries.tls)))[0]?.['Value'];
    const version = String(row['version']);
    const admin = String(row['admin']);
    const at = admin.lastIndexOf('@');
    // The scheduler can be switched at runtime: read it on every ping.
    const scheduler = String(row['scheduler']).toUpperCase() === 'ON';
    const expiryEnforcement: ExpiryEnforcement = scheduler && this.#connection.database !== undefined ? 'EventScheduler' : 'OperatorOnly';
    this.#facts = {
      version: /mariadb/i.test(version) ? `MariaDB ${version}` : `MySQL ${version}`,
      flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
      expiryEnforcement,
      tls: typeof cipher === 'string' && cipher.length > 0,
      grantee: `'${admin.slice(0, at)}'@'${admin.slice(at + 1)}'`,
      admin: { user: admin.slice(0, at), host: admin.slice(at + 1) },
    };
    return this.#facts;
  }

  /** ping logs in as the admin and reports version, TLS, and EventScheduler or OperatorOnly expiry. */
  async ping(): Promise<ServerFacts> {
    return this.#run('ping', [], async () => {
      const { version, expiryEnforcement, tls } = await this.#readFacts();
      return { version, expiryEnforcement, tls };
    });
  }

  /**
   * checkPrivileges reports what the admin lacks: CREATE USER, SELECT on mysql.user, PROCESS and
   * CONNECTION ADMIN (to end sessions), EVENT (expiry events), grant option on the role's grants and
   * ADMIN OPTION on its roles.
   */
  async checkPrivileges(policy: UserPolicy = {}): Promise<PrivilegeReport> {
    return this.#run('privilege check', [], async () => {
      const facts = await this.#readFacts();
      const pool = this.#admin();
      const missing: string[] = [];
      const global = await step('read privileges', pool.execute(mysqlQueries.globalPrivileges, [facts.grantee]));
      const schema = await step('read schema privileges', pool.execute(mysqlQueries.schemaPrivileges, [facts.grantee]));
      const has = (privilege: string, db?: string, grantable = false) =>
        global.some((r) => r['privilege'] === privilege && (!grantable || r['grantable'] === 'YES')) ||
        (db !== undefined &&
          schema.some((r) => r['db'] === db && r['privilege'] === privilege && (!grantable || r['grantable'] === 'YES')));
      if (!has('CREATE USER')) missing.push('CREATE USER (to create, alter and drop users)');
      try {
        await pool.query(mysqlQueries.readUsers);
      } catch {
        missing.push('SELECT on mysql.user (to find users and their hosts)');
      }
      if (policy.revocation?.terminateSessions !== false) {
        if (!has('PROCESS')) missing.push('PROCESS (to see the sessions of revoked users)');
        if (!has('CONNECTION ADMIN') && !has('CONNECTION_ADMIN') && !has('SUPER'))
          missing.push('CONNECTION ADMIN (to KILL the sessions of revoked users)');
      }
      const eventSchema = this.#eventSchema(facts);
      if (eventSchema !== undefined && !has('EVENT', eventSchema)) missing.push(`EVENT on database ${eventSchema} (for expiry events)`);
      for (const grant of policy.mysql?.grants ?? []) {
        for (const privilege of grant.privileges) {
          if (!has(privilege, grant.database === '*' ? undefined : grant.database, true))
            missing.push(`${privilege} WITH GRANT OPTION on ${grant.database}.${grant.table}`);
        }
      }
      const roles = policy.memberOf ?? [];
      if (roles.length > 0) {
        const applicable = await step('read roles', pool.query(mysqlQueries.applicableRoles));
        for (const role of roles) {
          if (!applicable.some((r) => r['role'] === role && r['grantable'] === 'YES'))
            missing.push(`role "${role}" WITH ADMIN OPTION (or the role does not exist)`);
        }
        if (facts.flavor === 'mariadb' && roles.length > 1)
          missing.push('a single role in memberOf: MariaDB activates one default role per user');
      }
      return { missing };
    });
  }

  /**
   * privilegedAccounts: see Engine. Accounts are judged by name on every host: a global privilege,
   * GRANT OPTION or a grant on a system schema held on any host, or through any role granted.
   */
  async privilegedAccounts(names: readonly string[]): Promise<PrivilegedAccount[]> {
    if (names.length === 0) return [];
    return this.#run('privileged account check', [], async () => {
      const facts = await this.#knownFacts();
      const pool = this.#admin();
      // Who was granted which role, then every account the names reach through those grants.
      const edges = await step(
        'read role grants',
        pool.query(facts.flavor === 'mariadb' ? mysqlQueries.roleGrantsMariadb : mysqlQueries.roleGrantsMysql),
      );
      const granted = new Map<string, string[]>();
      for (const e of edges) granted.set(String(e['grantee']), [...(granted.get(String(e['grantee'])) ?? []), String(e['role'])]);
      const reached = new Set<string>();
      const visit = (account: string) => {
        if (reached.has(account)) return;
        reached.add(account);
        for (const role of granted.get(account) ?? []) visit(role);
      };
      names.forEach(visit);

      const direct = new Map<string, string[]>();
      const note = (name: string, why: string) => {
        if (reached.has(name)) direct.set(name, [...(direct.get(name) ?? []), why]);
      };
      for (const r of await step('read global privileges', pool.query(mysqlQueries.allGlobalPrivileges))) {
        if (r['privilege'] !== 'USAGE') note(granteeName(String(r['grantee'])), `global privilege ${String(r['privilege'])}`);
        if (r['grantable'] === 'YES') note(granteeName(String(r['grantee'])), 'GRANT OPTION');
      }
      for (const r of await step('read schema privileges', pool.query(mysqlQueries.sensitiveSchemaPrivileges))) {
        const grantable = r['grantable'] === 'YES' ? ' WITH GRANT OPTION' : '';
        note(granteeName(String(r['grantee'])), `${String(r['privilege'])}${grantable} on ${String(r['db'])}.*`);
      }
      for (const r of await step('read table privileges', pool.query(mysqlQueries.sensitiveTablePrivileges))) {
        note(granteeName(String(r['grantee'])), `${String(r['privilege'])} on ${String(r['db'])}.${String(r['tbl'])}`);
      }
      if (facts.flavor === 'mariadb') {
        // MariaDB's information_schema leaves out roles' global privileges: their SHOW GRANTS says them.
        for (const r of await step('read roles', pool.query(mysqlQueries.rolesMariadb))) {
          const role = String(r['role']);
          if (!reached.has(role)) continue;
          const grants = await step('SHOW GRANTS (role)', pool.query(`SHOW GRANTS FOR ${quoteIdentifier(role)}`));
          for (const why of globalGrantsOf(
            grants.map((g) => String(Object.values(g)[0])),
            role,
          ))
            note(role, why);
        }
      }
      note(facts.admin.user, 'it is the admin login');

      const found: PrivilegedAccount[] = [];
      for (const name of names) {
        const reasons: PrivilegedAccount['reasons'] = [];
        const seen = new Set<string>();
        const walk = (account: string) => {
          if (seen.has(account)) return;
          seen.add(account);
          const through = account === name ? '' : ` (through role ${account})`;
          for (const why of direct.get(account) ?? []) reasons.push({ why: `${why}${through}` });
          for (const role of granted.get(account) ?? []) walk(role);
        };
        walk(name);
        if (reasons.length > 0) found.push({ name, reasons });
      }
      return found;
    });
  }

  #values(username: string, host: string, password: string | undefined, expiresAt: Date | undefined): QuotedValues {
    const database = this.#connection.database;
    return {
      username: quoteAccount(username, host),
      password: password === undefined ? 'NULL' : quoteLiteral(password),
      expiresAt: expiresAt === undefined ? 'NULL' : datetimeLiteral(expiresAt),
      database: database === undefined ? 'NULL' : quoteIdentifier(database),
    };
  }

  /**
   * createUser schedules the expiry event first (when the scheduler is on), then creates the user,
   * or converges an existing one (a retry) with ALTER USER; then roles, default roles, grants and
   * creation statements, each safe to repeat.
   */
  async createUser(user: NewUser): Promise<CreateResult> {
    assertOwnUsername(user.username, this.maxUsernameLength, this.marker);
    const host = user.policy.mysql?.userHost ?? '%';
    const roles = user.policy.memberOf ?? [];
    const grants = user.policy.mysql?.grants ?? [];
    const statements = renderTemplates(
      user.policy.creationStatements,
      this.#values(user.username, host, user.password, user.expiresAt),
      'mysql',
    );
    const secret = { hash: mysqlPasswordHash(user.password), password: user.password };
    const secrets = [user.password, secret.hash];
    const what = `create user ${user.username}`;
    return this.#run(what, secrets, async () => {
      const facts = await this.#knownFacts();
      const account = { username: user.username, host, secret, connectionLimit: user.policy.connectionLimit };
      // Built before anything runs, so an unsupported policy changes nothing.
      const defaultRoles = roles.length > 0 ? sql.setDefaultRoles(facts.flavor, roles, user.username, host) : undefined;
      const pool = this.#admin();
      const schema = this.#eventSchema(facts);
      if (schema !== undefined) await this.#scheduleExpiry(schema, user.username, [host], user.expiresAt);
      let created = true;
      try {
        await step('CREATE USER', pool.query(sql.createUser(facts.flavor, account)));
      } catch (error) {
        if (errnoOf(error) !== ER_CANNOT_USER) throw error;
        created = false;
        await step('ALTER USER', pool.query(sql.convergeUser(facts.flavor, account)));
      }
      // An unknown role (or one the admin may not grant) maps to DB_GROUP_ROLE_MISSING in mysqlError.
      for (const role of roles) await step(`GRANT role ${role}`, pool.query(sql.grantRole(role, user.username, host)));
      if (defaultRoles !== undefined) await step('SET DEFAULT ROLE', pool.query(defaultRoles));
      for (const grant of grants)
        await step(
          `GRANT on ${grant.database}.${grant.table}`,
          pool.query(sql.grant(grant.privileges, grant.database, grant.table, user.username, host)),
        );
      for (const [i, statement] of statements.entries()) {
        try {
          await step(`creation statement ${i + 1}`, pool.query(statement));
        } catch (error) {
          const mapped = mysqlError(driverCause(error), `${what}: creation statement ${i + 1}`, [...secrets, this.#adminPool.password]);
          // A statement the server cannot parse or resolve is the template's fault, not a transient one.
          throw mapped.code === 'DB_QUERY_FAILED' && !mapped.retryable ? recode(mapped, 'DB_TEMPLATE_INVALID') : mapped;
        }
      }
      return { created };
    });
  }

  /** Creates the expiry event if missing and moves it to expiresAt (never in the past: such an event would be dropped unrun). */
  async #scheduleExpiry(schema: string, username: string, hosts: readonly string[], expiresAt: Date): Promise<void> {
    const at = new Date(Math.max(expiresAt.getTime(), Date.now() + 1_000));
    const pool = this.#admin();
    await step('CREATE EVENT', pool.query(sql.createExpiryEvent(schema, username, hosts, at)));
    await step('ALTER EVENT', pool.query(sql.moveExpiryEvent(schema, username, at)));
  }

  async #hosts(username: string): Promise<string[]> {
    const rows = await step('read user hosts', this.#admin().execute(mysqlQueries.hosts, [username]));
    return rows.map((r) => String(r['host']));
  }

  /** verifyLogin connects as the user on a fresh connection (no default database) and runs SELECT 1. */
  async verifyLogin(login: UserLogin): Promise<void> {
    let connection;
    try {
      connection = await this.#driver.connect(this.#config(login.username, login.password, undefined, 'login'));
      const rows = await connection.query('SELECT 1 AS probe');
      if (Number(rows[0]?.['probe']) !== 1)
        throw new DbcredError('DB_VERIFY_FAILED', `verify user ${login.username}: the probe query returned no row`);
    } catch (error) {
      if (isDbcredError(error)) throw error;
      const mapped = mysqlError(error, `verify user ${login.username}`, [login.password]);
      throw mapped.code === 'DB_AUTH_FAILED' || mapped.code === 'DB_QUERY_FAILED' ? recode(mapped, 'DB_VERIFY_FAILED') : mapped;
    } finally {
      await connection?.end().catch(() => undefined);
    }
  }

  /** rotatePassword sets a new password on every host of an existing user (dbcred's or a static one; never another installation's). */
  async rotatePassword(login: UserLogin): Promise<void> {
    assertNotForeign(login.username, this.marker);
    const secret = { hash: mysqlPasswordHash(login.password), password: login.password };
    const what = `rotate password of ${login.username}`;
    await this.#run(what, [login.password, secret.hash], async () => {
      const facts = await this.#knownFacts();
      const hosts = await this.#hosts(login.username);
      if (hosts.length === 0) throw new DbcredError('DB_USER_MISSING', `${what}: it does not exist`);
      for (const host of hosts) await step('ALTER USER', this.#admin().query(sql.password(facts.flavor, login.username, host, secret)));
    });
  }

  /**
   * revokeUser locks every account of the name, runs the revocation statements, KILLs each of its
   * connections and waits for them to go, drops the accounts, then the expiry event. A missing user
   * is success (its event, if any, is still dropped).
   */
  async revokeUser(username: string, policy: UserPolicy): Promise<RevokeResult> {
    assertOwnUsername(username, this.maxUsernameLength, this.marker);
    const statements = renderTemplates(
      policy.revocationStatements,
      this.#values(username, policy.mysql?.userHost ?? '%', undefined, undefined),
      'mysql',
    );
    return this.#run(`revoke user ${username}`, [], async () => {
      const pool = this.#admin();
      const hosts = await this.#hosts(username);
      const dropEvent = async () => {
        if (this.#connection.database !== undefined)
          await step('DROP EVENT', pool.query(sql.dropExpiryEvent(this.#connection.database, username)));
      };
      if (hosts.length === 0) {
        await dropEvent();
        return { existed: false, terminatedSessions: 0 };
      }
      for (const host of hosts) {
        try {
          await step('ACCOUNT LOCK', pool.query(sql.lock(username, host)));
        } catch (error) {
          if (errnoOf(error) !== ER_CANNOT_USER) throw error; // dropped meanwhile (e.g. by its event)
        }
      }
      for (const [i, statement] of statements.entries()) await step(`revocation statement ${i + 1}`, pool.query(statement));
      const terminatedSessions = policy.revocation?.terminateSessions === false ? 0 : await this.#killSessions(username);
      await step('DROP USER', pool.query(sql.dropUsers(username, hosts)));
      await dropEvent();
      return { existed: true, terminatedSessions };
    });
  }

  /** KILLs every connection of the user and waits (bounded) until none is left in the process list. */
  async #killSessions(username: string): Promise<number> {
    const pool = this.#admin();
    const ids = (await step('read sessions', pool.execute(mysqlQueries.sessions, [username]))).map((r) => Number(r['id']));
    for (const id of ids) {
      try {
        await step('KILL CONNECTION', pool.query(sql.kill(id)));
      } catch (error) {
        if (errnoOf(error) !== ER_NO_SUCH_THREAD) throw error; // already gone
      }
    }
    const deadline = Date.now() + KILL_WAIT_MS;
    while (ids.length > 0 && Date.now() < deadline) {
      const left = await step('read sessions', pool.execute(mysqlQueries.sessions, [username]));
      if (left.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return ids.length;
  }

  /**
   * listOwnedUsers returns the users whose name carries this installation's tag (dbc<tag>_*), with
   * the time of their expiry event where one exists; other installations' users are not listed.
   */
  async listOwnedUsers(): Promise<OwnedUser[]> {
    return this.#run('list owned users', [], async () => {
      const pool = this.#admin();
      const head = usernameHead(this.marker);
      const users = (await step('read users', pool.execute(mysqlQueries.owned, [head.length, head]))).filter((r) =>
        isUsernameOf(String(r['username']), this.marker),
      );
      const expiries = new Map<string, Date>();
      if (this.#connection.database !== undefined) {
        for (const row of await step('read expiry events', pool.execute(mysqlQueries.expiryEvents, [this.#connection.database]))) {
          expiries.set(String(row['name']), new Date(Number(row['at']) * 1000));
        }
      }
      return users.map((r) => {
        const username = String(r['username']);
        const expiresAt = expiries.get(expiryEventName(username));
        return expiresAt === undefined ? { username } : { username, expiresAt };
      });
    });
  }

  /**
   * rotateAdminPassword sets the admin's own password and moves the pool to it. If the old password
   * is already refused but the new one works (a retry after a crash), it just switches.
   */
  async rotateAdminPassword(newPassword: string): Promise<void> {
    const secret = { hash: mysqlPasswordHash(newPassword), password: newPassword };
    await this.#run('rotate admin password', [newPassword, secret.hash], async () => {
      try {
        const facts = await this.#knownFacts();
        await step('ALTER USER (admin)', this.#admin().query(sql.password(facts.flavor, facts.admin.user, facts.admin.host, secret)));
      } catch (error) {
        if (errnoOf(error) !== 1045) throw error;
        await this.#adminPool.switchPassword(newPassword);
        await step('ping with the new password', this.#admin().query('SELECT 1'));
        return;
      }
      await this.#adminPool.switchPassword(newPassword);
    });
  }

  /**
   * readFailedLogins: MySQL and MariaDB write refused logins only to their error log (or an audit
   * plugin's file), which SQL can read only with the FILE privilege — more than an admin should have.
   */
  async readFailedLogins(): Promise<FailedLoginRead> {
    return Promise.resolve({
      visible: false,
      why: 'MySQL and MariaDB show refused logins only in the error log (log_warnings >= 2 on MariaDB, log_error_verbosity = 3 on MySQL): ship it to your log system and alert on "Access denied for user \'dbc…"',
    });
  }

  /** close ends the admin pool; the engine may be used again afterwards (a new pool opens). */
  async close(): Promise<void> {
    await this.#adminPool.close();
  }
}

/** createMysqlEngine is the registry's factory for engine "mysql". */
export function createMysqlEngine(connection: ServerConnection, options?: EngineOptions): Engine {
  return new MysqlEngine(connection, options);
}

/** granteeName is the account or role name of an information_schema GRANTEE ('user'@'host' or 'role'). */
function granteeName(grantee: string): string {
  const match = /^'((?:[^']|'')*)'/.exec(grantee);
  return match ? match[1]!.replaceAll("''", "'") : grantee;
}

/**
 * globalGrantsOf reads SHOW GRANTS lines of an account for what makes it privileged: privileges on
 * *.* other than USAGE, and GRANT OPTION. Lines about other accounts (a granted role's own
 * grants) are skipped: the role is judged on its own.
 */
function globalGrantsOf(lines: readonly string[], account: string): string[] {
  const found: string[] = [];
  const self = quoteIdentifier(account);
  for (const line of lines) {
    const match = /^GRANT (.+?) ON \*\.\* TO (`[^`]*`)(?:@`[^`]*`)?( WITH .*)?$/.exec(line);
    if (match?.[2] !== self) continue;
    if (match[1] !== 'USAGE') found.push(`global privilege ${match[1]!}`);
    if (match[3]?.includes('GRANT OPTION') === true) found.push('GRANT OPTION');
  }
  return found;
}
