import { writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import descriptorJson from 'protobufjs/google/protobuf/descriptor.json';
import { type CsiServiceName, NODE_SERVICES, subsetPath } from './csi-services';
import { protoPath } from './proto-path';

/**
 * Build-time half of csi-services.ts: from proto/csi.proto (the spec's file, the one source of truth) a protobufjs JSON
 * descriptor holding only the given services and the messages and enums they reach, without options or comments.
 * The node plugin loads it with protobufjs/light instead of parsing the 86 KB .proto with proto-loader at every start
 * (issue 14 item 4: memory and start time). `npm run gen:proto` rewrites it; test/grpc/csi-services.test.ts checks
 * that the committed file is what this produces.
 */
type Json = { [k: string]: Json } | Json[] | string | number | boolean | null;

const withoutOptions = (x: Json): Json => {
  if (Array.isArray(x)) return x.map(withoutOptions);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).flatMap(([k, v]) => (k === 'options' || k === 'comment' ? [] : [[k, withoutOptions(v)]])));
};

export function buildSubset(services: readonly CsiServiceName[]): Json {
  // csi.proto imports google/protobuf/descriptor.proto (for the csi_secret option): protobufjs bundles it as JSON.
  protobuf.common(
    'descriptor',
    (descriptorJson as { nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } } }).nested.google.nested.protobuf
      .nested ?? {},
  );
  const root = new protobuf.Root().loadSync(protoPath(), { keepCase: false });
  root.resolveAll();
  const keep = new Set<protobuf.ReflectionObject>();
  const visit = (t: protobuf.Type | protobuf.Enum | null): void => {
    if (!t || keep.has(t)) return;
    keep.add(t);
    if (t instanceof protobuf.Type) for (const f of t.fieldsArray) visit(f.resolvedType);
  };
  const wanted = services.map((s) => root.lookupService(`csi.v1.${s}`));
  for (const s of wanted) {
    for (const m of s.methodsArray) {
      visit(m.resolvedRequestType);
      visit(m.resolvedResponseType);
    }
  }

  // Each kept object is written whole at its outermost enclosing message (nested types come with it), under its package.
  const out: { nested: Record<string, Json> } = { nested: {} };
  const place = (obj: protobuf.ReflectionObject): void => {
    let top = obj;
    while (top.parent instanceof protobuf.Type) top = top.parent;
    const pkg: string[] = [];
    for (let p = top.parent; p && p.name; p = p.parent) pkg.unshift(p.name);
    let at = out;
    for (const name of pkg) at = (at.nested[name] ??= { nested: {} }) as typeof out;
    at.nested[top.name] = withoutOptions(top.toJSON());
  };
  for (const t of [...keep].sort((a, b) => a.fullName.localeCompare(b.fullName))) place(t);
  for (const s of wanted) place(s);
  return out;
}

export function subsetText(services: readonly CsiServiceName[]): string {
  return `${JSON.stringify(buildSubset(services), null, 1)}\n`;
}

if (require.main === module) writeFileSync(subsetPath(NODE_SERVICES), subsetText(NODE_SERVICES));
