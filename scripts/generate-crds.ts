// Writes crds/<plural>.dbcred.io.yaml and the same files into the Helm chart's crds/ folder,
// the field reference docs/crd-reference.md, generated from the zod schemas in
// src/api/v1alpha1, and the error reference docs/errors.md from src/util/errors.ts. Run after
// changing a schema or an error code:
//   npm run generate:crds
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCrds, renderDocs } from './generate/render.ts';
import { ERROR_REFERENCE_FILE, renderErrorReference } from './generate/error-reference.ts';

const root = join(import.meta.dirname, '..');
for (const dir of ['crds', join('charts', 'dbcred', 'crds')]) {
  await mkdir(join(root, dir), { recursive: true });
  for (const { file, yaml } of renderCrds()) await writeFile(join(root, dir, file), yaml);
}
const docs = renderDocs();
await mkdir(join(root, 'docs'), { recursive: true });
await writeFile(join(root, docs.file), docs.text);
await writeFile(join(root, ERROR_REFERENCE_FILE), renderErrorReference());
console.log(`CRDs written to crds/ and charts/dbcred/crds/, references to ${docs.file} and ${ERROR_REFERENCE_FILE}`);
