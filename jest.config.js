// Jest runs TypeScript as ESM (client-node 2.x is ESM-only) through ts-jest, on Node 24.
// Each folder under test/ is a project; test/harness/projects.ts says what each needs started.
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

export default {
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  projects: [
    project('unit'),
    project('kube', { slowTestThreshold: 10 }),
    project('databases'),
    project('integration'),
  ],
  testTimeout: 60_000,
};
