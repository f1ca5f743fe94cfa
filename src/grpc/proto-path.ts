import { accessSync } from 'node:fs';
import path from 'node:path';

/**
 * Where proto/ is and how messages are converted, without loading proto-loader (csi-services.ts must not: the node
 * plugin's module graph, test/cli/node-module-graph.test.ts). proto/csi.proto is the CSI spec's file verbatim; these
 * loader options match the generated types (src/generated).
 */
export const LOADER_OPTIONS = { longs: String, enums: String, defaults: true, oneofs: true };

export function protoPath(): string {
  // Works from src/ (ts-jest) and from dist/src/ (compiled).
  const candidates = [path.resolve(__dirname, '../../proto/csi.proto'), path.resolve(__dirname, '../../../proto/csi.proto')];
  for (const c of candidates) {
    try {
      accessSync(c);
      return c;
    } catch {
      /* try next */
    }
  }
  throw new Error(`proto/csi.proto not found near ${__dirname}`);
}
