import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { Root, type Type } from 'protobufjs/light';
import { LOADER_OPTIONS, protoPath } from './proto-path';

/**
 * gRPC service definitions for just the services a process serves, built with protobufjs/light from a precompiled
 * descriptor (proto/csi-<services>.json, made from proto/csi.proto by csi-subset.ts) instead of proto-loader parsing
 * the whole .proto: the node plugin runs on every host (issue 14 item 4; ~3 MiB less RSS and a faster start).
 * Messages are converted exactly as proto-loader does with LOADER_OPTIONS (its createSerializer/createDeserializer:
 * fromObject + encode, decode + toObject), so handlers see the same objects as with loadCsi();
 * test/grpc/csi-services.test.ts compares the two method by method.
 */
export type CsiServiceName = 'Identity' | 'Node' | 'Controller' | 'GroupController' | 'SnapshotMetadata';
export const NODE_SERVICES: readonly CsiServiceName[] = ['Identity', 'Node'];

export function subsetPath(services: readonly CsiServiceName[]): string {
  return path.join(path.dirname(protoPath()), `csi-${services.map((s) => s.toLowerCase()).join('-')}.json`);
}

const TO_OBJECT = LOADER_OPTIONS as Parameters<Type['toObject']>[1];

function serializer(type: Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
}

function deserializer(type: Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

/** The definitions of `services` (all of them must be in the descriptor), by service name. */
export function csiServiceDefinitions(services: readonly CsiServiceName[]): Record<CsiServiceName, grpc.ServiceDefinition> {
  const root = Root.fromJSON(JSON.parse(readFileSync(subsetPath(services), 'utf8')) as Parameters<typeof Root.fromJSON>[0]);
  root.resolveAll();
  const out: Partial<Record<CsiServiceName, grpc.ServiceDefinition>> = {};
  for (const name of services) {
    const service = root.lookupService(`csi.v1.${name}`);
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const m of service.methodsArray) {
      const req = m.resolvedRequestType;
      const res = m.resolvedResponseType;
      if (!req || !res) throw new Error(`csi.v1.${name}/${m.name}: unresolved message types`);
      def[m.name] = {
        path: `/csi.v1.${name}/${m.name}`,
        requestStream: !!m.requestStream,
        responseStream: !!m.responseStream,
        requestSerialize: serializer(req),
        requestDeserialize: deserializer(req),
        responseSerialize: serializer(res),
        responseDeserialize: deserializer(res),
        originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
      };
    }
    out[name] = def;
  }
  return out as Record<CsiServiceName, grpc.ServiceDefinition>;
}
