#!/usr/bin/env node
/**
 * Prints per-module scores and the surviving / uncovered mutants of Stryker JSON reports (reports/mutation/*.json,
 * written by npm run test:mutation), one line each, for test/mutation/REPORT.md.
 *
 *   node scripts/mutation-summary.js reports/mutation/lease.json [more.json ...]
 */
const { readFileSync } = require('node:fs');

for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const [name, f] of Object.entries(report.files)) {
    const count = (s) => f.mutants.filter((m) => m.status === s).length;
    const killed = count('Killed');
    const timeout = count('Timeout');
    const survived = count('Survived');
    const noCov = count('NoCoverage');
    const detected = killed + timeout;
    const valid = detected + survived + noCov;
    const score = valid ? ((100 * detected) / valid).toFixed(2) : 'n/a';
    console.log(`${name}: score ${score}% (killed ${killed}, timeout ${timeout}, survived ${survived}, no coverage ${noCov}, compile errors ${count('CompileError')}, ignored ${count('Ignored')})`);
    const lines = f.source.split('\n');
    for (const m of f.mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
      const { line, column } = m.location.start;
      const original = lines[line - 1].trim();
      console.log(`  ${m.status} ${name}:${line}:${column} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')} in \`${original.slice(0, 110)}\``);
    }
  }
}
