import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package version, read from package.json next to src/ or dist/. */
function readVersion(): string {
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(path.resolve(__dirname, p), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rds-csi' && pkg.version) return pkg.version;
    } catch {
      /* next */
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();
