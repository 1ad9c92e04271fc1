// The README's table of every condition and Event reason, rendered from src/api/v1alpha1/reason-help.ts
// between two markers, so the troubleshooting a user reads cannot drift from the reasons the code sets.
import { Reason } from '../../src/api/v1alpha1/conditions.ts';
import { REASON_HELP } from '../../src/api/v1alpha1/reason-help.ts';

export const REASONS_BEGIN = '<!-- reasons:begin: generated from src/api/v1alpha1/reason-help.ts by `npm run generate:crds` -->';
export const REASONS_END = '<!-- reasons:end -->';

const cell = (text: string) => text.replaceAll('|', '\\|');

/** renderReasonTable returns the markdown table: Warnings first, each with what to do. */
export function renderReasonTable(): string {
  const reasons = Object.values(Reason);
  const ordered = [...reasons.filter((r) => REASON_HELP[r].type === 'Warning'), ...reasons.filter((r) => REASON_HELP[r].type === 'Normal')];
  return [
    '| reason | type | on | what is true | what to do |',
    '| --- | --- | --- | --- | --- |',
    ...ordered.map((r) => {
      const h = REASON_HELP[r];
      return `| \`${r}\` | ${h.type} | ${cell(h.on)} | ${cell(h.meaning)} | ${cell(h.fix ?? '—')} |`;
    }),
  ].join('\n');
}

/** withReasonTable returns the README with the table between the markers replaced by a fresh one. */
export function withReasonTable(readme: string): string {
  const start = readme.indexOf(REASONS_BEGIN);
  const end = readme.indexOf(REASONS_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${REASONS_BEGIN} … ${REASONS_END}`);
  return `${readme.slice(0, start + REASONS_BEGIN.length)}\n${renderReasonTable()}\n${readme.slice(end)}`;
}
