import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/csi';
import { LOADER_OPTIONS, protoPath } from './proto-path';

export { LOADER_OPTIONS, protoPath };

let cached: ProtoGrpcType | undefined;

/** Every CSI service, parsed from proto/csi.proto by proto-loader (clients, the controller; the node uses csi-services.ts). */
export function loadCsi(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS satisfies protoLoader.Options);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}
