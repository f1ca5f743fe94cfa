import { accessSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/csi';

/** proto/csi.proto is the CSI spec's file verbatim; these loader options match the generated types. */
export const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true };

let cached: ProtoGrpcType | undefined;

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

export function loadCsi(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}
