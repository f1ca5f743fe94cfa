#!/usr/bin/env node
/**
 * Mutation tier (issue 19 item 2): runs Stryker (stryker.config.json) one module group at a time, each against the
 * in-process test files that exercise it, so a group's run stays bounded and its score is reported on its own.
 * The groups are in scripts/mutation-groups.js. Each group keeps its own incremental file under reports/ (gitignored): a rerun tests only mutants whose code or
 * covering tests changed.
 *
 *   npm run test:mutation                 # every group (nightly-style; not part of npm test)
 *   npm run test:mutation -- lease auth   # only the named groups
 *   npm run test:mutation -- --list       # the groups, their modules and test files
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const GROUPS = require('./mutation-groups');

const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const [name, g] of Object.entries(GROUPS)) console.log(`${name}\n  mutate: ${g.mutate.join(' ')}\n  tests:  ${g.tests.join(' ')}`);
  process.exit(0);
}
const unknown = args.filter((a) => !(a in GROUPS));
if (unknown.length) {
  console.error(`unknown group(s): ${unknown.join(', ')}; known: ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}
const names = args.length ? args : Object.keys(GROUPS);
const stryker = path.join(__dirname, '..', 'node_modules', '.bin', 'stryker');
let failed = 0;
for (const name of names) {
  const g = GROUPS[name];
  const started = Date.now();
  console.log(`\n=== mutation group ${name}: ${g.mutate.join(' ')}`);
  const r = spawnSync(
    stryker,
    ['run', 'stryker.config.mjs'],
    { stdio: 'inherit', cwd: path.join(__dirname, '..'), env: { ...process.env, STRYKER_GROUP: name } },
  );
  console.log(`=== mutation group ${name}: exit ${r.status} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
