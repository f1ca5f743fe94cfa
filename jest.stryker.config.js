/**
 * Jest config for the mutation tier (stryker.config.mjs): the default config, narrowed to the in-process test files
 * of the group in STRYKER_GROUP (scripts/mutation-groups.js), or of every group.
 */
const base = require('./jest.config.js');
const groups = require('./scripts/mutation-groups.js');

const name = process.env.STRYKER_GROUP;
const selected = name ? [groups[name]] : Object.values(groups);

module.exports = {
  ...base,
  testMatch: [...new Set(selected.flatMap((g) => g.tests))].map((p) => `<rootDir>/${p}`),
};
