// Writes crds/<plural>.dbcred.io.yaml and the same files into the Helm chart's crds/ folder,
// the field reference docs/crd-reference.md, generated from the zod schemas in
// src/api/v1alpha1, the error reference docs/errors.md from src/util/errors.ts, and the README's
// table of reasons from src/api/v1alpha1/reason-help.ts. Run after
// changing a schema or an error code:
//   npm run generate:crds
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCrds, renderDocs } from './generate/render.ts';
import { ERROR_REFERENCE_FILE, renderErrorReference } from './generate/error-reference.ts';
import { withReasonTable } from './generate/reason-table.ts';

const root = join(import.meta.dirname, '..');
for (const dir of ['crds', join('charts', 'dbcred', 'crds')]) {
  await mkdir(join(root, dir), { recursive: true });
  for (const { file, yaml } of renderCrds()) await writeFile(join(root, dir, file), yaml);
}
const docs = renderDocs();
await mkdir(join(root, 'docs'), { recursive: true });
await writeFile(join(root, docs.file), docs.text);
await writeFile(join(root, ERROR_REFERENCE_FILE), renderErrorReference());
const readme = join(root, 'README.md');
await writeFile(readme, withReasonTable(await readFile(readme, 'utf8')));
console.log(`CRDs written to crds/ and charts/dbcred/crds/, references to ${docs.file}, ${ERROR_REFERENCE_FILE} and README.md (reasons)`);
