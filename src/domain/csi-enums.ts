/**
 * CSI enums as closed sets. The gRPC edge loads the proto with `enums: String` (src/grpc/proto.ts): a number the
 * .proto defines arrives as its name, but a number it does not define (99, 1000, -5) is handed through as a plain
 * number, and a check like `mode === 'UNKNOWN'` lets it pass. Every enum read from a request goes through
 * `closedEnum`, which accepts only the names of the generated enum object and answers undefined for anything else.
 * Shared by the node (src/node/validate.ts) and meant for the controller's checks as well.
 */

/** The generated enum object, e.g. `_csi_v1_VolumeCapability_AccessMode_Mode` ({ NAME: 'NAME', … }). */
export type EnumObject<T extends string> = Readonly<Record<string, T>>;

/** The value as one of the enum's names, or undefined when it is not one (an undefined number, a stray string). */
export function closedEnum<T extends string>(values: EnumObject<T>, v: unknown): T | undefined {
  if (typeof v !== 'string') return undefined;
  return (Object.values(values) as string[]).includes(v) ? (v as T) : undefined;
}

/** For error messages: the value as sent (a number stays a number), cut short. */
export function showEnumValue(v: unknown): string {
  return (typeof v === 'string' ? JSON.stringify(v) : String(v)).slice(0, 40);
}
