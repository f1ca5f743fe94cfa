import { _csi_v1_VolumeCapability_AccessMode_Mode as ACCESS_MODE_VALUES } from '../generated/csi/v1/VolumeCapability';

/**
 * Request enums as closed sets. proto-loader (`enums: String`) turns a number the .proto defines into its name, but
 * hands a number it does not define (99, 1000, -5: proto3 enums are open on the wire) through as the bare number.
 * A check like `mode === 'UNKNOWN'` then lets it pass as if it were a real value. Every enum read from a request goes
 * through `closedEnum`, which answers only with a name the .proto defines (the generated constant object), or
 * undefined.
 */

/** The name of `raw` in `values`, or undefined when `raw` is not one of them (an unknown number included). */
export function closedEnum<T extends Record<string, string>>(values: T, raw: unknown): T[keyof T] | undefined {
  if (typeof raw !== 'string' || !Object.prototype.hasOwnProperty.call(values, raw)) return undefined;
  return values[raw as keyof T];
}

export type AccessModeName = (typeof ACCESS_MODE_VALUES)[keyof typeof ACCESS_MODE_VALUES];

export type AccessModeCheck = { kind: 'set'; mode: Exclude<AccessModeName, 'UNKNOWN'> } | { kind: 'unset' } | { kind: 'invalid'; problem: string };

/**
 * VolumeCapability.AccessMode.mode of a request: no access_mode, or mode UNKNOWN (0), is `unset`; a value the CSI
 * enum does not define is `invalid`, with a message that names the raw value.
 */
export function accessModeOf(accessMode: { mode?: unknown } | null | undefined): AccessModeCheck {
  const raw = accessMode?.mode;
  if (raw === undefined || raw === null) return { kind: 'unset' };
  const mode = closedEnum(ACCESS_MODE_VALUES, raw);
  if (mode === undefined) {
    const known = Object.keys(ACCESS_MODE_VALUES).filter((m) => m !== 'UNKNOWN');
    return { kind: 'invalid', problem: `access_mode.mode ${JSON.stringify(raw)} is not a CSI access mode (${known.join(', ')})` };
  }
  return mode === 'UNKNOWN' ? { kind: 'unset' } : { kind: 'set', mode };
}
