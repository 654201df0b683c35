#!/usr/bin/env node
/**
 * `npm run test:fuzz -- --runs 5000 [--seed 42]`: the fuzz suite alone, longer than in `npm test`.
 * Same environment as the e2e suites (DATABASE_URL, REDIS_URL).
 */
const { spawnSync } = require('node:child_process');

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = option('runs') ?? '5000';
const seed = option('seed');
if (!/^\d+$/.test(runs) || (seed !== undefined && !/^-?\d+$/.test(seed))) {
  console.error('usage: npm run test:fuzz -- [--runs N] [--seed S]');
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    'node_modules/jest/bin/jest.js',
    'test/fuzz.e2e-spec.ts',
    '--selectProjects',
    'e2e',
  ],
  { stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: runs, ...(seed !== undefined ? { FUZZ_SEED: seed } : {}) } },
);
process.exit(result.status ?? 1);
