// Mutation tier (npm run test:mutation, not part of npm test): see test/mutation/REPORT.md and README.md.
// STRYKER_GROUP=<name> (set by scripts/mutation.js) narrows the run to one group of scripts/mutation-groups.js.
import { createRequire } from 'node:module';

const groups = createRequire(import.meta.url)('./scripts/mutation-groups.js');
const name = process.env.STRYKER_GROUP;
if (name && !(name in groups)) throw new Error(`STRYKER_GROUP=${name}: no such group`);
const selected = name ? [groups[name]] : Object.values(groups);
const tag = name ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // jest.stryker.config.js narrows jest to the same group's test files.
  jest: { projectType: 'custom', configFile: 'jest.stryker.config.js', enableFindRelatedTests: false },
  checkers: ['typescript'],
  // The TypeScript checker drops mutants that do not compile; it needs only src/ (what is mutated), not test/.
  tsconfigFile: 'tsconfig.stryker.json',
  coverageAnalysis: 'perTest',
  // Module-level code (constants, Lua script text) runs at import time: each such "static" mutant needs every test
  // re-run in a fresh process, which made one module take over 10 minutes. They are left out (reported as ignored).
  ignoreStatic: true,
  // Tests run as root against real Redis, loop devices and mounts: one test runner at a time.
  concurrency: 1,
  timeoutMS: 20000,
  incremental: true,
  incrementalFile: `reports/mutation/${tag}.incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  ignorePatterns: ['dist', 'reports', 'bench-results.json', '*.log'],
  thresholds: { high: 90, low: 85, break: null },
  mutate: selected.flatMap((g) => g.mutate),
};
