'use strict';
// The VM tier's closing counts. A scenario that failed and then passed on its retry (--retry-failed) counts as
// passed, and is also counted and named on its own: an intermittent real failure must stay visible in CI's output.

/** rows: [{ name, result: 'PASS' | 'FAIL' | 'PENDING', retried?: boolean }] */
function tally(rows) {
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  const pending = rows.filter((r) => r.result === 'PENDING').length;
  const retriedPasses = rows.filter((r) => r.result === 'PASS' && r.retried).map((r) => r.name);
  return { passed: rows.length - failed - pending, failed, pending, retriedPasses };
}

function countsLine(t) {
  const retried = t.retriedPasses.length ? ` (${t.retriedPasses.length} only on retry: ${t.retriedPasses.join(', ')})` : '';
  return `${t.passed} passed${retried}, ${t.failed} failed, ${t.pending} pending`;
}

/** The line printed the moment a retry passes. */
function retriedPassLine(first) {
  return `RETRIED PASS: ${first.name} failed its first run (${first.note || 'FAIL'}; logs ${first.logs}) and passed the second; counted in the summary as passed only on retry`;
}

module.exports = { tally, countsLine, retriedPassLine };
