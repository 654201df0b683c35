/**
 * Unit specs (*.spec.ts) sit next to the code and need no services. Integration specs
 * (*.int-spec.ts) sit next to an adapter and talk to the real server it adapts (Redis).
 * End-to-end suites live in test/ and need Postgres and Redis.
 */
const shared = {
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@tollgate/config$': '<rootDir>/config',
    // Domain files import only the errors, not the platform's index (which loads Nest and MikroORM).
    '^@tollgate/platform/errors$': '<rootDir>/libs/platform/src/errors',
    '^@tollgate/(.*)$': '<rootDir>/libs/$1/src',
  },
  testEnvironment: 'node',
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/config/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
    },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/libs/**/*.int-spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-e2e.setup.ts'],
    },
  ],
};
