// Every PostgreSQL statement builder, fed hostile names and values, yields exactly one statement of
// the expected kind whose names and values are exactly the inputs: checked with PostgreSQL's own
// parser (libpg-query), not with our idea of its grammar.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse } from 'libpg-query';
import {
  postgresStatements as sql,
  quoteIdentifier,
  quoteLiteral,
  timestampLiteral,
} from '../../src/engines/postgres/postgres-statements.ts';
import { renderTemplate } from '../../src/engines/template.ts';

const nasty = fc.constantFrom('"', "'", '\\', ';', '-', '/', '*', '$', ' ', '\n', 'a', 'Z', '_', 'é', '😀', '(', ')', 'E', '{', '}');
/** Identifiers PostgreSQL can hold: no NUL, at most 63 bytes. */
const hostileName = fc
  .string({ unit: fc.oneof(nasty, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 63);
const hostileValue = fc
  .string({ unit: fc.oneof(nasty, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength: 0, maxLength: 80 })
  .filter((s) => !s.includes('\0'));

type Node = Record<string, unknown>;

/** parseOne parses text and returns the only statement's kind and body, failing on anything but one. */
async function parseOne(text: string): Promise<[string, Node]> {
  const stmts = (await parse(text)).stmts ?? [];
  expect(stmts).toHaveLength(1);
  const stmt = stmts[0]!.stmt as unknown as Node;
  const kinds = Object.keys(stmt);
  expect(kinds).toHaveLength(1);
  return [kinds[0]!, stmt[kinds[0]!] as Node];
}

const option = (body: Node, name: string) =>
  (body['options'] as { DefElem: { defname: string; arg: Node } }[]).find((o) => o.DefElem.defname === name)?.DefElem.arg;

const runs = { numRuns: 300 };
const date = new Date('2031-02-03T04:05:06.789Z');

describe('PostgreSQL statements with hostile input', () => {
  it('CREATE ROLE keeps the name, verifier, expiry and every group exactly', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, hostileValue, fc.array(hostileName, { maxLength: 3 }), async (name, verifier, groups) => {
        const [kind, body] = await parseOne(
          sql.createRole({ username: name, verifier, expiresAt: date, connectionLimit: 5, memberOf: groups }),
        );
        expect(kind).toBe('CreateRoleStmt');
        expect(body['role']).toBe(name);
        expect(option(body, 'password')).toEqual({ String: { sval: verifier } });
        expect(option(body, 'validUntil')).toEqual({ String: { sval: date.toISOString() } });
        const roles =
          (option(body, 'addroleto')?.['List'] as { items: { RoleSpec: { rolename: string } }[] } | undefined)?.items.map(
            (i) => i.RoleSpec.rolename,
          ) ?? [];
        expect(roles).toEqual(groups);
      }),
      runs,
    );
  });

  it('ALTER ROLE, GRANT, COMMENT, REASSIGN/DROP OWNED and DROP ROLE each stay one statement about the given names', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, hostileName, hostileValue, async (name, other, value) => {
        const cases: [string, string][] = [
          [sql.convergeRole({ username: name, verifier: value, expiresAt: date }), 'AlterRoleStmt'],
          [sql.password(name, value), 'AlterRoleStmt'],
          [sql.noLogin(name), 'AlterRoleStmt'],
          [sql.currentUserPassword(value), 'AlterRoleStmt'],
          [sql.grantMembership(other, name), 'GrantRoleStmt'],
          [sql.joinRole(name), 'GrantRoleStmt'],
          [sql.commentOnRole(name, value), 'CommentStmt'],
          [sql.reassignOwned(name, other), 'ReassignOwnedStmt'],
          [sql.dropOwned(name), 'DropOwnedStmt'],
          [sql.dropRole(name), 'DropRoleStmt'],
        ];
        for (const [text, expected] of cases) {
          const [kind, body] = await parseOne(text);
          expect(kind).toBe(expected);
          const json = JSON.stringify(body);
          // COMMENT ... IS '' removes the comment, so the parser reports none.
          if (expected === 'CommentStmt') expect([body['object'], body['comment'] ?? '']).toEqual([{ String: { sval: name } }, value]);
          if (expected === 'AlterRoleStmt' && text !== sql.currentUserPassword(value))
            expect(json).toContain(JSON.stringify(name).slice(1, -1));
        }
      }),
      runs,
    );
  });

  it('templates with hostile values stay one statement, and each value arrives whole', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, hostileValue, hostileName, async (username, password, database) => {
        const values = {
          username: quoteIdentifier(username),
          password: quoteLiteral(password),
          expiresAt: timestampLiteral(date),
          database: quoteIdentifier(database),
        };
        const [kind, body] = await parseOne(renderTemplate('COMMENT ON ROLE {{username}} IS {{password}}', values, 'postgres'));
        expect(kind).toBe('CommentStmt');
        expect([body['object'], body['comment'] ?? '']).toEqual([{ String: { sval: username } }, password]);
        const [grantKind, grant] = await parseOne(
          renderTemplate('GRANT CONNECT ON DATABASE {{database}} TO {{username}};', values, 'postgres'),
        );
        expect(grantKind).toBe('GrantStmt');
        expect(JSON.stringify(grant)).toContain(JSON.stringify(database).slice(1, -1));
        const [selectKind] = await parseOne(renderTemplate('SELECT {{password}}, {{expiresAt}}::timestamptz', values, 'postgres'));
        expect(selectKind).toBe('SelectStmt');
      }),
      runs,
    );
  });

  it('quoting refuses what PostgreSQL cannot hold instead of letting it be truncated', () => {
    expect(() => quoteIdentifier('a'.repeat(64))).toThrow(expect.objectContaining({ code: 'DB_INVALID_NAME' }));
    expect(() => quoteIdentifier('a\0b')).toThrow(expect.objectContaining({ code: 'DB_INVALID_NAME' }));
    expect(() => quoteLiteral('a\0b')).toThrow(expect.objectContaining({ code: 'DB_TEMPLATE_INVALID' }));
    expect(quoteLiteral("a\\b'c")).toBe(" E'a\\\\b''c'");
  });
});
