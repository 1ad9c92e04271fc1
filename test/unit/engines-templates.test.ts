import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { renderTemplate, type QuotedValues } from '../../src/engines/template.ts';
import { isDbcredError } from '../../src/util/errors.ts';

const values: QuotedValues = { username: '"dbc_u"', password: "'pw'", expiresAt: "'2030-01-01T00:00:00.000Z'", database: '"app"' };

function refusal(template: string, dialect: 'postgres' | 'mysql' = 'postgres'): string {
  try {
    renderTemplate(template, values, dialect);
  } catch (error) {
    if (isDbcredError(error, 'DB_TEMPLATE_INVALID')) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${template}`);
}

describe('statement templates', () => {
  it('substitute the engine-quoted value of each known variable', () => {
    expect(renderTemplate('GRANT app_read TO {{username}}', values, 'postgres')).toBe('GRANT app_read TO  "dbc_u"');
    expect(renderTemplate('ALTER ROLE {{username}} SET search_path = app;', values, 'postgres')).toBe(
      'ALTER ROLE  "dbc_u"  SET search_path = app;'.replace(';', ''),
    );
    expect(renderTemplate('SELECT {{password}}, {{expiresAt}} -- note\n', values, 'mysql')).toBe(
      "SELECT  'pw' ,  '2030-01-01T00:00:00.000Z'  -- note",
    );
  });

  it('refuse unknown variables', () => {
    expect(refusal('GRANT x TO {{user}}')).toMatch(/unknown variable/);
    expect(refusal('GRANT x TO {{username')).toMatch(/unknown variable/);
  });

  it('refuse a variable inside a string, quoted name, dollar quote or comment, where quoting cannot protect it', () => {
    expect(refusal("SELECT '{{password}}'")).toMatch(/inside a string/);
    expect(refusal('GRANT x TO "{{username}}"')).toMatch(/inside a string/);
    expect(refusal('DO $$ BEGIN PERFORM {{password}}; END $$')).toMatch(/inside a string/);
    expect(refusal('DO $body$ SELECT {{password}} $body$')).toMatch(/inside a string/);
    expect(refusal('SELECT 1 /* {{password}} */')).toMatch(/inside a string/);
    expect(refusal('SELECT 1 -- {{password}}')).toMatch(/inside a string/);
    expect(refusal('GRANT x TO `{{username}}`', 'mysql')).toMatch(/inside a string/);
    expect(refusal('SELECT 1 # {{password}}', 'mysql')).toMatch(/inside a string/);
    expect(refusal("SELECT 'it\\'s {{password}}'", 'mysql')).toMatch(/inside a string/);
  });

  it('refuse a second statement, but accept one trailing semicolon and trailing comments', () => {
    expect(refusal('GRANT a TO {{username}}; DROP TABLE t')).toMatch(/more than one statement/);
    expect(refusal('SELECT 1; {{password}}')).toMatch(/more than one statement/);
    expect(refusal("SELECT 1; 'x'")).toMatch(/more than one statement/);
    expect(renderTemplate('SELECT 1;  -- done', values, 'postgres')).toBe('SELECT 1  -- done');
    expect(renderTemplate("SELECT ';' AS semicolon", values, 'postgres')).toBe("SELECT ';' AS semicolon");
  });

  it('take non-ASCII letters as identifier characters, as PostgreSQL does: é$$ is a name, not a dollar quote', () => {
    expect(refusal('SELECT 1 AS é$$; CREATE TABLE pwned (x int); SELECT 1 AS ê$$')).toMatch(/more than one statement/);
    expect(refusal('SELECT 1 AS 名前$$; DROP TABLE t; SELECT $$')).toMatch(/more than one statement/);
    expect(refusal('SELECT 1 AS x😀$$; DROP TABLE t; SELECT $$')).toMatch(/more than one statement/);
    // A dollar-quote tag may itself hold non-ASCII letters.
    expect(refusal('DO $é$ SELECT {{password}} $é$')).toMatch(/inside a string/);
    expect(renderTemplate('SELECT $é$ a; b $é$ AS x', values, 'postgres')).toBe('SELECT $é$ a; b $é$ AS x');
  });

  it('never let a second statement through after any identifier ending in $, whatever its letters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), (name) => {
        const letters = [...name].filter((ch) => /[\p{L}]/u.test(ch)).join('');
        if (letters === '') return true;
        const template = `SELECT 1 AS ${letters}$$; DROP TABLE t; SELECT ${letters}$$`;
        return /more than one statement|unterminated/.test(refusal(template));
      }),
      { numRuns: 500 },
    );
  });

  it('refuse unterminated quotes and empty statements', () => {
    expect(refusal("SELECT 'open")).toMatch(/unterminated/);
    expect(refusal("SELECT 'a''")).toMatch(/unterminated/);
    expect(refusal('SELECT /* open')).toMatch(/unterminated/);
    expect(refusal('  ;')).toMatch(/empty/);
  });

  it("know that E'' strings take backslash escapes in PostgreSQL and plain strings do not", () => {
    expect(refusal("SELECT E'a\\' {{password}}'")).toMatch(/inside a string/);
    expect(renderTemplate("SELECT 'a\\' , {{password}}", values, 'postgres')).toBe("SELECT 'a\\' ,  'pw'");
  });
});
