import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './binaries.ts';

/** A manifest as a plain object. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  spec: Record<string, unknown>;
  [k: string]: unknown;
};

const SAMPLES_DIR = join(REPO_ROOT, 'config', 'samples');

/** sampleManifests returns each sample in config/samples by kind (one per kind). */
export function sampleManifests(): Record<string, Manifest> {
  const out: Record<string, Manifest> = {};
  for (const file of readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const manifest = parse(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as Manifest;
    out[manifest.kind] = manifest;
  }
  return out;
}

/** sample returns a deep copy of the sample of a kind, safe to modify. */
export function sample(kind: string): Manifest {
  const found = sampleManifests()[kind];
  if (!found) throw new Error(`no sample for ${kind} in config/samples`);
  return structuredClone(found);
}
