// Renders docs/errors.md from ERROR_CATALOG, so the table a user reads when a log line or a
// condition names a code can never drift from the codes the operator raises (a unit test compares
// the committed file with this output; scripts/generate-crds.ts writes it).
import { ERROR_CATALOG, type ErrorCode } from '../../src/util/errors.ts';

/** Where the rendered reference lives, relative to the repository root. */
export const ERROR_REFERENCE_FILE = 'docs/errors.md';

// One section per family of codes, in this order, named by the codes' prefixes. A code whose
// prefix no section lists still appears, under "Other codes", so nothing goes undocumented;
// give its family a section here when that happens.
interface Section {
  prefixes: readonly string[];
  title: string;
  intro: string;
}

const SECTIONS: readonly Section[] = [
  { prefixes: ['CONFIG_'], title: 'Configuration', intro: 'Operator settings (flags and environment variables).' },
  {
    prefixes: ['KUBE_'],
    title: 'Kubernetes API',
    intro: 'Calls and watches against the apiserver (`src/runtime/kube`); the HTTP status decides the code.',
  },
  {
    prefixes: ['DB_'],
    title: 'Databases',
    intro: 'PostgreSQL and MySQL/MariaDB operations (`src/engines`); [engines.md](engines.md) says which server errors map to which code.',
  },
  {
    prefixes: ['REFERENCE_', 'ACCESS_', 'LIMIT_'],
    title: 'References, tenancy and limits',
    intro: 'What the controllers check before they issue anything.',
  },
  { prefixes: ['RECONCILE_'], title: 'Reconciliation', intro: 'The outcome of a reconcile (`src/runtime/controller.ts`).' },
];

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/**
 * renderErrorReference returns docs/errors.md: every catalog code exactly once, grouped by prefix in
 * a fixed section order; the same catalog always gives the same text.
 */
export function renderErrorReference(): string {
  const codes = Object.keys(ERROR_CATALOG) as ErrorCode[];
  const inFamily = (code: string, prefixes: readonly string[]) => prefixes.some((p) => code.startsWith(p));
  const groups: (Section & { codes: ErrorCode[] })[] = SECTIONS.map((s) => ({
    ...s,
    codes: codes.filter((code) => inFamily(code, s.prefixes)),
  }));
  const other = codes.filter((code) => !SECTIONS.some((s) => inFamily(code, s.prefixes)));
  if (other.length > 0)
    groups.push({ prefixes: [], title: 'Other codes', intro: 'Codes of a family this reference has no section for yet.', codes: other });
  const out = [
    '<!-- Generated from src/util/errors.ts by `npm run generate:crds`. Do not edit by hand. -->',
    '# dbcred error codes',
    '',
    'Every error the operator raises on purpose carries one of these codes. In the JSON logs it is',
    '`err.code`, next to `err.retryable`. *Retryable* says whether trying the same operation again may',
    'help; *no* means something has to change first (an object, a Secret, a privilege, the database).',
    'The column shows the default: a single error may say otherwise (for example a `DB_QUERY_FAILED`',
    'caused by a syntax error is not retryable). Messages never contain a password.',
    '',
  ];
  for (const group of groups) {
    if (group.codes.length === 0) continue;
    // Codes keep their catalog order within a section: errors.ts lists related codes together.
    const heading = group.prefixes.length > 0 ? `${group.title} (${group.prefixes.map((p) => `\`${p}*\``).join(', ')})` : group.title;
    out.push(`## ${heading}`, '', group.intro, '', '| code | retryable | meaning |', '| --- | --- | --- |');
    for (const code of group.codes) {
      const entry = ERROR_CATALOG[code];
      out.push(`| \`${code}\` | ${entry.retryable ? 'yes' : 'no'} | ${cell(entry.summary)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
