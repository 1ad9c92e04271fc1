// Creation and revocation statement templates. A template is one SQL statement written by the
// platform team; {{username}}, {{password}}, {{expiresAt}} and {{database}} are replaced by values
// the engine has already quoted. The template is scanned the way the server lexes it, so a
// placeholder inside a string, a quoted identifier or a comment (where quoting cannot protect it),
// an unknown variable, or a second statement is refused before anything reaches the server.
import type { STATEMENT_VARIABLES } from '../api/v1alpha1/templates.ts';
import { DbcredError } from '../util/errors.ts';

export type StatementVariable = (typeof STATEMENT_VARIABLES)[number];
/** Values already quoted by the engine (identifier or literal, as the engine documents). */
export type QuotedValues = Record<StatementVariable, string>;

export type SqlDialect = 'postgres' | 'mysql';

const VARIABLES: readonly string[] = ['username', 'password', 'expiresAt', 'database'] satisfies readonly StatementVariable[];

type Piece = { text: string } | { variable: StatementVariable };

const invalid = (index: number, why: string) =>
  // The template is configuration, not a secret; still, only the position is reported.
  new DbcredError('DB_TEMPLATE_INVALID', `statement template ${index + 1}: ${why}`);

interface Region {
  /** Index just after the region. */
  end: number;
  closed: boolean;
}

const upTo = (end: number, length: number): Region => (end === -1 ? { end: length, closed: false } : { end, closed: true });

/** The quoted region (string, quoted name, dollar quote, comment) that starts at i, or undefined. */
function skipQuoted(sql: string, i: number, dialect: SqlDialect): Region | undefined {
  const c = sql[i]!;
  const next = sql[i + 1];
  const prev = i > 0 ? sql[i - 1]! : ' ';
  // PostgreSQL (and MySQL) take every non-ASCII character as an identifier letter: é$$ is a name.
  const identChar = /[A-Za-z0-9_$\u0080-\uffff]/;
  // Comments.
  if (c === '-' && next === '-' && (dialect === 'postgres' || i + 2 >= sql.length || /\s/.test(sql[i + 2]!))) {
    const end = sql.indexOf('\n', i);
    return { end: end === -1 ? sql.length : end + 1, closed: true };
  }
  if (dialect === 'mysql' && c === '#') {
    const end = sql.indexOf('\n', i);
    return { end: end === -1 ? sql.length : end + 1, closed: true };
  }
  if (c === '/' && next === '*') {
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql[j] === '*' && sql[j + 1] === '/') {
        depth--;
        j += 2;
        continue;
      }
      // PostgreSQL block comments nest; MySQL's do not.
      if (dialect === 'postgres' && sql[j] === '/' && sql[j + 1] === '*') {
        depth++;
        j += 2;
        continue;
      }
      j++;
    }
    return depth === 0 ? { end: j, closed: true } : { end: sql.length, closed: false };
  }
  // PostgreSQL dollar quoting: $tag$ ... $tag$ (not $1 parameters, not inside identifiers).
  if (dialect === 'postgres' && c === '$' && !identChar.test(prev)) {
    const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
    if (tag) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return upTo(end === -1 ? -1 : end + tag[0].length, sql.length);
    }
    return undefined;
  }
  const quotes = dialect === 'postgres' ? ["'", '"'] : ["'", '"', '`'];
  if (!quotes.includes(c)) return undefined;
  // Backslash escapes: PostgreSQL only in E'...' strings; MySQL in '...' and "..." (unless NO_BACKSLASH_ESCAPES,
  // where treating \ as an escape only makes the scan stricter).
  const backslash = dialect === 'mysql' ? c !== '`' : c === "'" && /[Ee]/.test(prev) && (i < 2 || !identChar.test(sql[i - 2]!));
  let j = i + 1;
  while (j < sql.length) {
    if (backslash && sql[j] === '\\') {
      j += 2;
      continue;
    }
    if (sql[j] === c) {
      if (sql[j + 1] === c) {
        j += 2;
        continue;
      }
      return { end: j + 1, closed: true };
    }
    j++;
  }
  return { end: sql.length, closed: false };
}

/** parseTemplate splits one template into text and variables, or throws DB_TEMPLATE_INVALID. */
export function parseTemplate(template: string, dialect: SqlDialect, index = 0): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let sawEnd = false;
  let i = 0;
  while (i < template.length) {
    const quoted = skipQuoted(template, i, dialect);
    if (quoted !== undefined) {
      const end = quoted.end;
      const region = template.slice(i, end);
      if (region.includes('{{'))
        throw invalid(index, 'a {{variable}} inside a string, quoted name or comment; write it bare, the engine quotes it');
      if (!quoted.closed) throw invalid(index, 'an unterminated string, quoted name or comment');
      if (sawEnd && !isComment(region)) throw invalid(index, 'more than one statement');
      text += region;
      i = end;
      continue;
    }
    const c = template[i]!;
    if (c === '{' && template[i + 1] === '{') {
      const close = template.indexOf('}}', i + 2);
      const name = close === -1 ? undefined : template.slice(i + 2, close);
      if (name === undefined || !VARIABLES.includes(name))
        throw invalid(index, `unknown variable; use ${VARIABLES.map((v) => `{{${v}}}`).join(', ')}`);
      if (sawEnd) throw invalid(index, 'more than one statement');
      pieces.push({ text }, { variable: name as StatementVariable });
      text = '';
      i = close + 2;
      continue;
    }
    if (c === ';') {
      sawEnd = true;
      i++;
      continue;
    }
    if (sawEnd && !/\s/.test(c)) throw invalid(index, 'more than one statement');
    text += c;
    i++;
  }
  pieces.push({ text });
  if (pieces.every((p) => 'text' in p && p.text.trim() === '')) throw invalid(index, 'an empty statement');
  return pieces;
}

function isComment(region: string): boolean {
  return region.startsWith('--') || region.startsWith('#') || region.startsWith('/*');
}

/** renderTemplate substitutes the quoted values into one template; the result is exactly one statement. */
export function renderTemplate(template: string, values: QuotedValues, dialect: SqlDialect, index = 0): string {
  return (
    parseTemplate(template, dialect, index)
      // Spaces around each value keep it a separate token whatever the template writes next to it.
      .map((p) => ('text' in p ? p.text : ` ${values[p.variable]} `))
      .join('')
      .trim()
  );
}

/** renderTemplates renders a role's statements, or returns [] when it has none. */
export function renderTemplates(templates: readonly string[] | undefined, values: QuotedValues, dialect: SqlDialect): string[] {
  return (templates ?? []).map((t, i) => renderTemplate(t, values, dialect, i));
}
