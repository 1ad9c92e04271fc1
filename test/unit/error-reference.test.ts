import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_REFERENCE_FILE, renderErrorReference } from '../../scripts/generate/error-reference.ts';
import { ERROR_CATALOG } from '../../src/util/errors.ts';
import { REPO_ROOT } from '../../harness/binaries.ts';

describe('the error reference', () => {
  it('lists every catalog code exactly once, with its retryable default', () => {
    const text = renderErrorReference();
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      const rows = text.split('\n').filter((line) => line.startsWith(`| \`${code}\` |`));
      expect({ code, rows }).toEqual({ code, rows: [expect.stringContaining(`| ${entry.retryable ? 'yes' : 'no'} |`)] });
    }
  });

  it('renders the same text every time', () => {
    expect(renderErrorReference()).toBe(renderErrorReference());
  });

  it('docs/errors.md matches the catalog', () => {
    const upToDate = readFileSync(join(REPO_ROOT, ERROR_REFERENCE_FILE), 'utf8') === renderErrorReference();
    const hint = 'run `npm run generate:crds`';
    expect({ file: ERROR_REFERENCE_FILE, upToDate, hint }).toEqual({ file: ERROR_REFERENCE_FILE, upToDate: true, hint });
  });
});
