// The PostgreSQL engine. A user is a LOGIN role with VALID UNTIL (the database enforces expiry,
// I3), a SCRAM verifier computed here (no plaintext reaches the server), a COMMENT marker (I2) and
// memberships in group roles. CREATE ROLE, its marker and the creation statements commit in one
// transaction, so a crash leaves either nothing or a complete user.
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
import {
  oneStatement,
  pgDriver,
  type PostgresConnectConfig,
  type PostgresDriver,
  type PostgresPool,
  type PostgresQueryable,
} from './postgres-driver.ts';
import { PG_DUPLICATE_OBJECT, PG_UNDEFINED_OBJECT, postgresError } from './postgres-error.ts';
import { readPostgresFailedLogins } from './postgres-failed-logins.ts';
import { DEFAULT_SCRAM_ITERATIONS, postgresPasswordHash } from './postgres-password-hash.ts';
import { postgresQueries, postgresStatements as sql, quoteIdentifier, quoteLiteral, timestampLiteral } from './postgres-statements.ts';

/** PostgreSQL names are at most 63 bytes; generated names are ASCII, so 63 characters. */
export const POSTGRES_MAX_USERNAME_LENGTH = 63;
export const POSTGRES_DEFAULT_PORT = 5432;
/** How long revocation waits for each terminated backend to exit (PostgreSQL 14+). */
const TERMINATE_WAIT_MS = 5_000;

const stateOf = (error: unknown): string | undefined => {
  const code = (driverCause(error) as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** PostgresEngine implements Engine over one admin pool (pg). */
export class PostgresEngine implements Engine {
  readonly name = 'postgres' as const;
  readonly maxUsernameLength = POSTGRES_MAX_USERNAME_LENGTH;
  readonly #connection: ServerConnection;
  readonly #driver: PostgresDriver;
  readonly marker: string;
  readonly #iterations: number;
  readonly #connectTimeoutMs: number;
  readonly #statementTimeoutMs: number;
  readonly #onConnection: EngineOptions['onConnection'];
  readonly #adminPool: AdminPool<PostgresPool>;
  #versionNum: number | undefined;

  constructor(connection: ServerConnection, options: EngineOptions = {}, driver: PostgresDriver = pgDriver) {
    this.#connection = connection;
    this.#driver = driver;
    this.#adminPool = new AdminPool(connection.admin.password, (password) =>
      this.#driver.createPool(this.#config(this.#connection.admin.username, password, 'admin'), this.#connection.maxConnections),
    );
    this.marker = options.marker ?? DEFAULT_MARKER;
    this.#iterations = options.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    this.#onConnection = options.onConnection;
  }

  #config(user: string, password: string, purpose: ConnectionPurpose): PostgresConnectConfig {
    const told = this.#onConnection;
    return {
      ...(told ? { onConnect: () => told(purpose, this.name) } : {}),
      host: this.#connection.host,
      port: this.#connection.port ?? POSTGRES_DEFAULT_PORT,
      database: this.#connection.database ?? 'postgres',
      user,
      password,
      tls: tlsOptions(this.#connection.tls),
      connectTimeoutMs: this.#connectTimeoutMs,
      statementTimeoutMs: this.#statementTimeoutMs,
    };
  }

  #admin(): PostgresPool {
    return this.#adminPool.get();
  }

  /** Runs work and maps every failure to a DbcredError whose text holds none of the secrets. */
  async #run<T>(what: string, secrets: readonly string[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isDbcredError(error)) throw error;
      const all = [...secrets, this.#adminPool.password];
      if (error instanceof StepFailure) throw postgresError(error.error, `${what}: ${error.label}`, all);
      throw postgresError(error, what, all);
    }
  }

  /** Runs work in one transaction on one pooled connection; rolls back on any failure. */
  async #transaction<T>(work: (q: PostgresQueryable) => Promise<T>): Promise<T> {
    const client = await step('connect', this.#admin().connect());
    let broken = false;
    try {
      await step('begin', client.query('BEGIN'));
      const result = await work(client);
      await step('commit', client.query('COMMIT'));
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #versionNumber(): Promise<number> {
    if (this.#versionNum === undefined) await this.ping();
    return this.#versionNum ?? 0;
  }

  /** ping logs in as the admin and reports version and TLS; PostgreSQL always enforces expiry (VALID UNTIL). */
  async ping(): Promise<ServerFacts> {
    return this.#run('ping', [], async () => {
      const row = (await this.#admin().query(postgresQueries.facts)).rows[0] ?? {};
      this.#versionNum = Number(row['version_num']);
      return { version: `PostgreSQL ${String(row['version'])}`, expiryEnforcement: 'ValidUntil', tls: row['tls'] === true };
    });
  }

  /** checkPrivileges reports missing CREATEROLE, pg_signal_backend, group roles (and ADMIN OPTION on them in 16+) and the reassign target. */
  async checkPrivileges(policy: UserPolicy = {}): Promise<PrivilegeReport> {
    const versionNum = await this.#versionNumber();
    return this.#run('privilege check', [], async () => {
      const missing: string[] = [];
      const admin = (await this.#admin().query(postgresQueries.adminPrivileges)).rows[0] ?? {};
      const superuser = admin['superuser'] === true;
      if (!superuser && admin['createrole'] !== true) missing.push('CREATEROLE (to create, alter and drop users)');
      if (!superuser && admin['signal_backend'] !== true && policy.revocation?.terminateSessions !== false) {
        missing.push('membership in pg_signal_backend (to end the sessions of revoked users)');
      }
      const groups = policy.memberOf ?? [];
      const reassignTo = policy.postgres?.ownedObjects.action === 'Reassign' ? policy.postgres.ownedObjects.reassignTo : undefined;
      const names = [...groups, ...(reassignTo === undefined ? [] : [reassignTo])];
      if (names.length > 0) {
        const rows = (await this.#admin().query(postgresQueries.groupRoles, [names])).rows;
        const found = new Map(rows.map((r) => [String(r['name']), r]));
        for (const group of groups) {
          const row = found.get(group);
          if (row === undefined) missing.push(`group role "${group}" (it does not exist)`);
          else if (row['superuser'] === true && !superuser)
            missing.push(`group role "${group}" is a superuser role, which only a superuser can grant`);
          // Before 16, CREATEROLE may grant any non-superuser role; 16 requires ADMIN OPTION on it.
          else if (versionNum >= 160000 && !superuser && row['admin_option'] !== true)
            missing.push(`ADMIN OPTION on group role "${group}"`);
        }
        if (reassignTo !== undefined && !found.has(reassignTo))
          missing.push(`role "${reassignTo}" to reassign owned objects to (it does not exist)`);
      }
      return { missing };
    });
  }

  /** privilegedAccounts: see Engine; one query walks every membership of the named accounts. */
  async privilegedAccounts(names: readonly string[]): Promise<PrivilegedAccount[]> {
    if (names.length === 0) return [];
    return this.#run('privileged account check', [], async () => {
      const rows = (await this.#admin().query(postgresQueries.privileged, [names])).rows;
      const found = new Map<string, PrivilegedAccount>();
      for (const row of rows) {
        const name = String(row['name']);
        const via = String(row['via']);
        const through = via === name ? '' : ` through its membership in ${via}`;
        const attributes = (['superuser', 'createrole', 'replication', 'bypassrls'] as const).filter((a) => row[a] === true);
        const account = found.get(name) ?? { name, reasons: [] };
        found.set(name, account);
        if (row['admin'] === true) account.reasons.push({ why: `it is the admin login${through}` });
        if (attributes.length > 0) account.reasons.push({ why: `it has ${attributes.map((a) => a.toUpperCase()).join(', ')}${through}` });
        if (row['predefined'] === true) {
          const why = via === name ? `it is the predefined role ${via}` : `it reaches the predefined role ${via} through its memberships`;
          account.reasons.push({ why, predefinedRole: via });
        }
      }
      return [...found.values()];
    });
  }

  /** Quoted values of the template variables for this user. */
  #values(username: string, password: string | undefined, expiresAt: Date | undefined): QuotedValues {
    return {
      username: quoteIdentifier(username),
      password: password === undefined ? 'NULL' : quoteLiteral(password),
      expiresAt: expiresAt === undefined ? 'NULL' : timestampLiteral(expiresAt),
      database: quoteIdentifier(this.#connection.database ?? 'postgres'),
    };
  }

  /**
   * createUser creates the role, its marker and runs the creation statements in one transaction; if
   * a role of that name already carries our marker (a retry), it converges password, expiry, limit
   * and memberships instead and reports created: false.
   */
  async createUser(user: NewUser): Promise<CreateResult> {
    assertOwnUsername(user.username, this.maxUsernameLength, this.marker);
    const groups = user.policy.memberOf ?? [];
    groups.forEach(quoteIdentifier);
    const statements = renderTemplates(
      user.policy.creationStatements,
      this.#values(user.username, user.password, user.expiresAt),
      'postgres',
    );
    const verifier = await postgresPasswordHash(user.password, this.#iterations);
    const secrets = [user.password, verifier];
    const attributes = {
      username: user.username,
      verifier,
      expiresAt: user.expiresAt,
      connectionLimit: user.policy.connectionLimit,
      memberOf: groups,
    };
    const what = `create user ${user.username}`;
    return this.#run(what, secrets, async () => {
      try {
        if (statements.length === 0) {
          // One simple-protocol message runs both as one implicit transaction: a single round trip
          // instead of four. COMMENT cannot fail once CREATE ROLE succeeded, so errors are CREATE ROLE's.
          await step(
            'CREATE ROLE',
            this.#admin().query(`${sql.createRole(attributes)};\n${sql.commentOnRole(user.username, this.marker)}`),
          );
        } else {
          await this.#transaction(async (q) => {
            await step('CREATE ROLE', q.query(sql.createRole(attributes)));
            await step('COMMENT ON ROLE', q.query(sql.commentOnRole(user.username, this.marker)));
            for (const [i, statement] of statements.entries()) await step(`creation statement ${i + 1}`, q.query(oneStatement(statement)));
          });
        }
        return { created: true };
      } catch (error) {
        const state = stateOf(error);
        const label = error instanceof StepFailure ? error.label : '';
        if (label === 'CREATE ROLE' && state === PG_UNDEFINED_OBJECT) {
          throw recode(
            postgresError((error as StepFailure).error, `${what}: a group role in memberOf does not exist`, secrets),
            'DB_GROUP_ROLE_MISSING',
          );
        }
        if (label.startsWith('creation statement') && state?.startsWith('42') === true && state !== '42501') {
          throw recode(postgresError((error as StepFailure).error, `${what}: ${label}`, secrets), 'DB_TEMPLATE_INVALID');
        }
        if (label !== 'CREATE ROLE' || state !== PG_DUPLICATE_OBJECT) throw error;
      }
      // The role exists: this is a retry of a create that committed. Converge, but only our own role.
      await this.#assertOwned(user.username);
      await this.#transaction(async (q) => {
        await step('ALTER ROLE', q.query(sql.convergeRole(attributes)));
        for (const group of groups) await step('GRANT membership', q.query(sql.grantMembership(group, user.username)));
      });
      return { created: false };
    });
  }

  /** Throws DB_USER_CONFLICT unless the role carries our marker; returns false when it does not exist. */
  async #assertOwned(username: string): Promise<boolean> {
    const rows = (await step('read role', this.#admin().query(postgresQueries.role, [username]))).rows;
    if (rows.length === 0) return false;
    if (rows[0]?.['marker'] !== this.marker) {
      throw new DbcredError('DB_USER_CONFLICT', `user ${username} exists but does not carry the marker of this operator; leaving it alone`);
    }
    return true;
  }

  /** verifyLogin connects as the user on a fresh connection and runs SELECT 1; a refusal is DB_VERIFY_FAILED. */
  async verifyLogin(login: UserLogin): Promise<void> {
    const client = this.#driver.createClient(this.#config(login.username, login.password, 'login'));
    try {
      await client.connect();
      const rows = (await client.query('SELECT 1 AS probe')).rows;
      if (rows[0]?.['probe'] !== 1)
        throw new DbcredError('DB_VERIFY_FAILED', `verify user ${login.username}: the probe query returned no row`);
    } catch (error) {
      if (isDbcredError(error)) throw error;
      const mapped = postgresError(error, `verify user ${login.username}`, [login.password]);
      throw mapped.code === 'DB_AUTH_FAILED' || mapped.code === 'DB_QUERY_FAILED' ? recode(mapped, 'DB_VERIFY_FAILED') : mapped;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** rotatePassword sets a new verifier for any existing role but another installation's users; DB_USER_MISSING when it is gone. */
  async rotatePassword(login: UserLogin): Promise<void> {
    assertNotForeign(login.username, this.marker);
    const verifier = await postgresPasswordHash(login.password, this.#iterations);
    const statement = sql.password(login.username, verifier);
    await this.#alterExisting(`rotate password of ${login.username}`, login.username, statement, [login.password, verifier]);
  }

  async #alterExisting(what: string, username: string, statement: string, secrets: readonly string[]): Promise<void> {
    await this.#run(what, secrets, async () => {
      try {
        await step('ALTER ROLE', this.#admin().query(statement));
      } catch (error) {
        if (stateOf(error) === PG_UNDEFINED_OBJECT) throw new DbcredError('DB_USER_MISSING', `${what}: user ${username} does not exist`);
        throw error;
      }
    });
  }

  /**
   * revokeUser makes the role NOLOGIN, runs the revocation statements, ends its sessions (waiting
   * for them to exit on 14+), reassigns or drops what it owns in this database, and drops it. A
   * missing role is success; a role without our marker is refused (DB_USER_CONFLICT).
   */
  async revokeUser(username: string, policy: UserPolicy): Promise<RevokeResult> {
    assertOwnUsername(username, this.maxUsernameLength, this.marker);
    const statements = renderTemplates(policy.revocationStatements, this.#values(username, undefined, undefined), 'postgres');
    const ownedObjects = policy.postgres?.ownedObjects ?? { action: 'Drop' as const };
    if (ownedObjects.action === 'Reassign') quoteIdentifier(ownedObjects.reassignTo ?? '');
    const versionNum = await this.#versionNumber();
    return this.#run(`revoke user ${username}`, [], async () => {
      if (!(await this.#assertOwned(username))) return { existed: false, terminatedSessions: 0 };
      const pool = this.#admin();
      try {
        await step('ALTER ROLE NOLOGIN', pool.query(sql.noLogin(username)));
      } catch (error) {
        // Dropped by someone else between the check and now: that is the goal.
        if (stateOf(error) === PG_UNDEFINED_OBJECT) return { existed: false, terminatedSessions: 0 };
        throw error;
      }
      for (const [i, statement] of statements.entries()) await step(`revocation statement ${i + 1}`, pool.query(oneStatement(statement)));
      let terminatedSessions = 0;
      if (policy.revocation?.terminateSessions !== false) {
        const result =
          versionNum >= 140000
            ? await step('terminate sessions', pool.query(postgresQueries.terminate, [username, TERMINATE_WAIT_MS]))
            : await step('terminate sessions', pool.query(postgresQueries.terminateNoWait, [username]));
        terminatedSessions = result.rows.length;
      }
      const owns = (await step('read dependencies', pool.query(postgresQueries.hasDependencies, [username]))).rows[0]?.['has'] === true;
      if (!owns) {
        await step('DROP ROLE', pool.query(sql.dropRole(username))); // one statement needs no BEGIN/COMMIT
        return { existed: true, terminatedSessions };
      }
      await this.#transaction(async (q) => {
        await step('join role', q.query(sql.joinRole(username)));
        if (ownedObjects.action === 'Reassign' && ownedObjects.reassignTo !== undefined) {
          await step('REASSIGN OWNED', q.query(sql.reassignOwned(username, ownedObjects.reassignTo)));
        }
        // Also revokes the role's privileges, which DROP ROLE would otherwise refuse to orphan.
        await step('DROP OWNED', q.query(sql.dropOwned(username)));
        await step('DROP ROLE', q.query(sql.dropRole(username)));
      });
      return { existed: true, terminatedSessions };
    });
  }

  /** listOwnedUsers returns the roles named with our installation tag and carrying our COMMENT marker, with VALID UNTIL. */
  async listOwnedUsers(): Promise<OwnedUser[]> {
    return this.#run('list owned users', [], async () => {
      const rows = (await this.#admin().query(postgresQueries.owned, [this.marker, usernameHead(this.marker)])).rows;
      return rows
        .filter((r) => isUsernameOf(String(r['username']), this.marker))
        .map((r) => {
          const until = r['valid_until'];
          return until instanceof Date && Number.isFinite(until.getTime())
            ? { username: String(r['username']), expiresAt: until }
            : { username: String(r['username']) };
        });
    });
  }

  /** readFailedLogins reads refused logins from the server's jsonlog (postgres-failed-logins.ts). */
  async readFailedLogins(cursor?: string): Promise<FailedLoginRead> {
    return this.#run('read failed logins', [], () =>
      readPostgresFailedLogins(
        async (text, params) => (await this.#admin().query(text, params)).rows,
        this.#connection.admin.username,
        cursor,
      ),
    );
  }

  /**
   * rotateAdminPassword sets the admin's own verifier and moves the pool to the new password. If the
   * old password is already refused but the new one works (a retry after a crash), it just switches.
   */
  async rotateAdminPassword(newPassword: string): Promise<void> {
    const verifier = await postgresPasswordHash(newPassword, this.#iterations);
    const secrets = [newPassword, verifier, this.#adminPool.password];
    await this.#run('rotate admin password', secrets, async () => {
      try {
        await step('ALTER ROLE CURRENT_USER', this.#admin().query(sql.currentUserPassword(verifier)));
      } catch (error) {
        if (!stateOf(error)?.startsWith('28')) throw error;
        await this.#adminPool.switchPassword(newPassword);
        await step('ping with the new password', this.#admin().query('SELECT 1'));
        return;
      }
      await this.#adminPool.switchPassword(newPassword);
    });
  }

  /** close ends the admin pool; the engine may be used again afterwards (a new pool opens). */
  async close(): Promise<void> {
    await this.#adminPool.close();
  }
}

/** createPostgresEngine is the registry's factory for engine "postgres". */
export function createPostgresEngine(connection: ServerConnection, options?: EngineOptions): Engine {
  return new PostgresEngine(connection, options);
}
