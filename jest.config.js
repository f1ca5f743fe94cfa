/**
 * Tests run against real processes (redis-server, the RouterOS simulator over TCP), so they run in band. Every test
 * file stops what it started: there is no forceExit, and jest must exit by itself when the last test has finished.
 * Type errors in tests are caught by `npm run lint` (tsc --noEmit over src, test and bench), not by ts-jest, which
 * only transpiles (isolatedModules).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
};
