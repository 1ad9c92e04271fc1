#!/usr/bin/env node
// `npx dbcred …` from a checkout: npm puts node_modules/.bin first on PATH, so `node` here is the
// project's own Node 24 (the `node` dev dependency), which runs the TypeScript sources directly.
await import('../src/main.ts');
