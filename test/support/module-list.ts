import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait';

/**
 * The modules a running rds-csi process has loaded, without any help from production code: a preload passed with
 * NODE_OPTIONS=--require writes `Object.keys(require.cache)` (every CommonJS module loaded so far; dist/ and the
 * dependencies it uses are CommonJS) to the file named by RDS_CSI_TEST_MODULE_LIST when the process gets SIGUSR2.
 * Used by test/cli/node-module-graph.test.ts and the bench's node plugin part (bench/node-rss.ts).
 */
const PRELOAD = `'use strict';
const fs = require('node:fs');
process.on('SIGUSR2', () => {
  const out = process.env.RDS_CSI_TEST_MODULE_LIST;
  fs.writeFileSync(out + '.tmp', JSON.stringify(Object.keys(require.cache).filter((f) => f !== __filename)));
  fs.renameSync(out + '.tmp', out);
});
`;

export interface ModuleListProbe {
  /** Environment for the child: NODE_OPTIONS with the preload, and where it writes the list. */
  env: Record<string, string>;
  /** Asks the child (by pid) for its module list and waits for it. */
  read(pid: number, timeoutMs?: number): Promise<string[]>;
}

/** `nodeOptions`: other NODE_OPTIONS the child runs with (the bench: the chart's). */
export function moduleListProbe(dir: string, nodeOptions = ''): ModuleListProbe {
  const preload = path.join(dir, 'module-list-preload.cjs');
  const out = path.join(dir, 'module-list.json');
  writeFileSync(preload, PRELOAD);
  return {
    env: { NODE_OPTIONS: `${nodeOptions} --require ${preload}`.trim(), RDS_CSI_TEST_MODULE_LIST: out },
    read: async (pid, timeoutMs = 10000) => {
      process.kill(pid, 'SIGUSR2');
      await waitFor(() => existsSync(out), timeoutMs, 'module list from the preload');
      return JSON.parse(readFileSync(out, 'utf8')) as string[];
    },
  };
}

/** The npm package a loaded file belongs to (the innermost node_modules/<name> or node_modules/@scope/<name>), or undefined for the project's own files. */
export function packageOf(file: string): string | undefined {
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return m?.[1];
}
