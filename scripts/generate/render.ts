// The generated files: each kind's CRD YAML and the API field reference, written by scripts/generate-crds.ts
// and compared with the committed files by a unit test.
import { stringify } from 'yaml';
import { crdFor } from './crd.ts';
import { KINDS } from '../../src/api/v1alpha1/index.ts';
import { GROUP } from '../../src/api/v1alpha1/kind.ts';
import { renderReference } from './api-reference.ts';

const HEADER = '# Generated from src/api/v1alpha1 by `npm run generate:crds`. Do not edit by hand.\n';

/** renderCrds returns each kind's CRD as YAML with its file name; the output is deterministic. */
export function renderCrds(): { file: string; yaml: string }[] {
  return KINDS.map((def) => ({
    file: `${def.plural}.${GROUP}.yaml`,
    yaml: HEADER + stringify(crdFor(def), { lineWidth: 0, aliasDuplicateObjects: false }),
  }));
}

/** renderDocs returns the generated API reference (docs/crd-reference.md). */
export function renderDocs(): { file: string; text: string } {
  return { file: 'docs/crd-reference.md', text: renderReference(KINDS) };
}
