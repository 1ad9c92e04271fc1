import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../harness/binaries.ts';

// The layers of src/ (README, Layout): each may import only the ones listed, so imports flow
// downward: api ← runtime, engines, lifecycle, secrets, audit ← controllers ← cli ← main.
const MAY_IMPORT: Record<string, readonly string[]> = {
  util: [],
  observability: ['util'],
  api: ['util'],
  config: ['api', 'util'],
  runtime: ['observability', 'util'],
  engines: ['api', 'util'],
  lifecycle: ['api', 'util'],
  secrets: ['api', 'util'],
  audit: ['util'],
  controllers: ['api', 'audit', 'config', 'engines', 'lifecycle', 'observability', 'runtime', 'secrets', 'util'],
  // The break-glass commands reuse the controllers' pieces (engine pool, revocation policy) outside the operator.
  cli: ['api', 'controllers', 'engines', 'runtime', 'util'],
};

const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every import of one layer from another, as "from → to (file)". */
function crossLayerImports(): { from: string; to: string; file: string }[] {
  const found: { from: string; to: string; file: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split('/')[0]!;
    if (from.endsWith('.ts')) continue; // main.ts: the composition root imports everything
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = relative(SRC, resolve(dirname(file), spec!)).split('/')[0]!;
      if (to !== from) found.push({ from, to, file: relative(REPO_ROOT, file) });
    }
  }
  return found;
}

describe('the layers of src/', () => {
  it('import only the layers below them', () => {
    const upward = crossLayerImports().filter(({ from, to }) => !(MAY_IMPORT[from] ?? []).includes(to));
    expect(upward).toEqual([]);
  });

  it('are all known to this test (a new folder gets its place in the list)', () => {
    const layers = new Set(
      sourceFiles(SRC)
        .map((f) => relative(SRC, f).split('/')[0]!)
        .filter((l) => !l.endsWith('.ts')),
    );
    expect([...layers].sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });
});
