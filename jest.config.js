/** Tests run against real processes (redis-server, the RouterOS simulator over TCP), so they run in band. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  // A leaked reconnect timer of some client must never hang CI past its time limit: every test file already stops
  // what it started, and the run ends when the last test has finished.
  forceExit: true,
};
