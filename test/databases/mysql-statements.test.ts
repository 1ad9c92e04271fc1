// Every MySQL/MariaDB statement builder, fed hostile names and values, runs on the real server as
// exactly one statement (the connection refuses multiple statements) and has exactly the intended
// effect, read back from the grant tables.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { expiryEventName, mysqlStatements as sql, quoteIdentifier, quoteLiteral } from '../../src/engines/mysql/mysql-statements.ts';
import { renderTemplate } from '../../src/engines/template.ts';
import { requireDatabase } from '../../harness/environment.ts';

const db = requireDatabase('mariadb');
let conn: mysql.Connection;

const unit = fc.oneof(
  fc.constantFrom("'", '"', '`', '\\', ';', '-', '#', '/', '*', '%', '_', '@', ' ', '\n', 'a', 'Z', '(', ')'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
/** Names MariaDB can store: 1-32 characters of the Basic Multilingual Plane (identifiers are utf8mb3), no NUL, no trailing space. */
const hostileName = fc
  .string({ unit, minLength: 1, maxLength: 20 })
  .filter((s) => !s.includes('\0') && s.trimEnd() === s && [...s].length <= 32 && [...s].every((c) => c.codePointAt(0)! <= 0xffff));
/** Hosts as the API allows them (MariaDB validates host names itself). */
const host = fc.stringMatching(/^[a-z0-9.%_:-]{1,20}$/); // MariaDB stores host names in lower case
const hostileValue = fc.string({ unit, maxLength: 60 }).filter((s) => !s.includes('\0'));
const runs = { numRuns: 40 };
const hash = { hash: '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19', password: 'password' };

async function rows(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const [result] = await conn.execute(text, params as mysql.ExecuteValues[]);
  return result as Record<string, unknown>[];
}
/** Runs one built statement; the connection has multipleStatements off, so two statements would be a syntax error. */
const run = async (statement: string) => {
  await conn.query(statement);
};

beforeAll(async () => {
  conn = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.superuser.user,
    password: db.superuser.password,
    database: db.database,
    charset: 'utf8mb4',
    multipleStatements: false,
  });
});
afterAll(async () => {
  await conn.end();
});

describe('MySQL statements with hostile names, run on MariaDB', () => {
  it('CREATE USER, ALTER USER, ACCOUNT LOCK and DROP USER affect exactly the named account', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, host, async (user, host) => {
        const account = { username: user, host, secret: hash, connectionLimit: 3 };
        await run(sql.createUser('mariadb', account));
        try {
          expect(await rows('SELECT max_user_connections AS n FROM mysql.user WHERE User = ? AND Host = ?', [user, host])).toEqual([
            { n: 3 },
          ]);
          await run(sql.convergeUser('mariadb', { ...account, connectionLimit: 4 }));
          await run(sql.lock(user, host));
          await run(sql.password('mariadb', user, host, hash));
          expect(
            await rows(
              "SELECT JSON_VALUE(Priv, '$.max_user_connections') AS n, JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = ? AND Host = ?",
              [user, host],
            ),
          ).toEqual([{ n: '4', l: expect.stringMatching(/^(1|true)$/) }]);
        } finally {
          await run(sql.dropUsers(user, [host]));
        }
        expect(await rows('SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [user, host])).toEqual([]);
      }),
      runs,
    );
  });

  it('GRANT role, SET DEFAULT ROLE and GRANT privileges name exactly the given role, database and table', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, hostileName, hostileName, async (user, role, database) => {
        const roleName = `r${role}`; // a role may not be named like an existing user or be empty
        fc.pre(roleName !== user && database !== '*'); // '*' means every database, by design
        await run(sql.createUser('mariadb', { username: user, host: '%', secret: hash }));
        try {
          await run(`CREATE ROLE ${quoteIdentifier(roleName)}`);
          await run(sql.grantRole(roleName, user, '%'));
          await run(sql.setDefaultRoles('mariadb', [roleName], user, '%'));
          await run(sql.grant(['SELECT', 'INSERT'], database, '*', user, '%'));
          expect(await rows('SELECT Role AS r FROM mysql.roles_mapping WHERE User = ? AND Host = ?', [user, '%'])).toEqual([
            { r: roleName },
          ]);
          expect(await rows('SELECT default_role AS d FROM mysql.user WHERE User = ? AND Host = ?', [user, '%'])).toEqual([
            { d: roleName },
          ]);
          expect(
            await rows('SELECT Db AS d, Select_priv AS s, Insert_priv AS i FROM mysql.db WHERE User = ? AND Host = ?', [user, '%']),
          ).toEqual([{ d: database, s: 'Y', i: 'Y' }]);
        } finally {
          await run(sql.dropUsers(user, ['%']));
          await run(`DROP ROLE IF EXISTS ${quoteIdentifier(roleName)}`);
        }
      }),
      runs,
    );
  });

  it("the expiry event is created, moved and dropped under exactly the user's name", async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, async (user) => {
        const at = new Date(Date.now() + 3_600_000);
        await run(sql.createExpiryEvent(db.database, user, ['%'], at));
        try {
          await run(sql.moveExpiryEvent(db.database, user, new Date(at.getTime() + 60_000)));
          const events = await rows(
            'SELECT EVENT_DEFINITION AS body FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?',
            [db.database, expiryEventName(user)],
          );
          expect(events).toHaveLength(1);
          expect(events[0]!['body']).toBe(sql.dropUsers(user, ['%']));
        } finally {
          await run(sql.dropExpiryEvent(db.database, user));
        }
        expect(await rows('SELECT 1 FROM information_schema.EVENTS WHERE EVENT_NAME = ?', [expiryEventName(user)])).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });

  it('a quoted value reads back whole, and stays one literal even under NO_BACKSLASH_ESCAPES', async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, async (value) => {
        const [plain] = await conn.query(`SELECT ${quoteLiteral(value)} AS v`);
        expect((plain as Record<string, unknown>[])[0]!['v']).toBe(value);
        const rendered = renderTemplate(
          'SELECT {{password}} AS v',
          { username: '``', password: quoteLiteral(value), expiresAt: 'NULL', database: 'NULL' },
          'mysql',
        );
        const [templated] = await conn.query(rendered);
        expect((templated as Record<string, unknown>[])[0]!['v']).toBe(value);
        await conn.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
        try {
          const [literal] = await conn.query(`SELECT ${quoteLiteral(value)} AS v`);
          // Backslashes read doubled in this mode; what matters is that the literal ended where it should.
          expect((literal as Record<string, unknown>[])[0]!['v']).toBe(value.replaceAll('\\', '\\\\'));
        } finally {
          await conn.query('SET SESSION sql_mode = DEFAULT');
        }
      }),
      { numRuns: 100 },
    );
  });
});
