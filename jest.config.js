// Jest runs TypeScript as ESM (client-node 2.x is ESM-only) through ts-jest, on Node 24.
// Each folder under test/ is a project; its global setup (harness/setup/; harness/ is the library the
// tests, bench and chaos share) starts what it needs,
// and jest runs a project's setup only when that project has tests to run.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.jest.json' }],
};
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  ...extra,
});

const setup = (name) => ({ globalSetup: `<rootDir>/harness/setup/${name}.ts` });

export default {
  globalTeardown: '<rootDir>/harness/global-teardown.ts',
  projects: [
    project('unit'),
    project('kube', setup('kube')),
    project('databases', setup('databases')),
    project('integration', setup('integration')),
    // Its setup starts the node after the stack; teardown stops it first (last in, first out).
    project('node', { ...setup('node'), testTimeout: 180_000 }),
  ],
  testTimeout: 60_000,
};
