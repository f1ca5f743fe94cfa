/** Writable `/disk` properties of file disks: API name → record field and input parser. */
import { TrapError } from '../errors';
import { parseBool, parseInteger, parseSize } from '../values';
import type { DiskRecord } from './state';

export type DiskPatch = Partial<Omit<DiskRecord, 'id' | 'filePath'>>;

type Parser = (text: string, prop: string) => unknown;

const str: Parser = (t) => t;
const port: Parser = (t, p) => parseInteger(t, p, 1, 65535);

const PROPS: Record<string, { field: keyof DiskPatch; parse: Parser }> = {
  slot: { field: 'slot', parse: str },
  'file-size': { field: 'fileSize', parse: parseSize },
  'file-offset': { field: 'fileOffset', parse: (t, p) => parseInteger(t, p, 0, Number.MAX_SAFE_INTEGER) },
  'nvme-tcp-export': { field: 'nvmeTcpExport', parse: parseBool },
  'nvme-tcp-server-port': { field: 'nvmeTcpServerPort', parse: port },
  'nvme-tcp-server-nqn': { field: 'nvmeTcpServerNqn', parse: str },
  'nvme-tcp-server-allow-host-name': { field: 'nvmeTcpServerAllowHostName', parse: str },
  'nvme-tcp-server-password': { field: 'nvmeTcpServerPassword', parse: str },
  'iscsi-export': { field: 'iscsiExport', parse: parseBool },
  'iscsi-server-port': { field: 'iscsiServerPort', parse: port },
  'iscsi-server-iqn': { field: 'iscsiServerIqn', parse: str },
  disabled: { field: 'disabled', parse: parseBool },
  comment: { field: 'comment', parse: str },
};

/**
 * Parses every attribute except those in `skip` into a patch. Unknown attributes trap `unknown parameter <name>`.
 * An empty `nvme-tcp-server-nqn`/`iscsi-server-iqn` restores the slot-derived default.
 */
export function parseDiskPatch(attrs: Map<string, string>, skip: readonly string[]): DiskPatch {
  const patch: DiskPatch = {};
  const fields = patch as Record<string, unknown>;
  for (const [name, text] of attrs) {
    if (skip.includes(name)) continue;
    const def = PROPS[name];
    if (!def) throw new TrapError(`unknown parameter ${name}`);
    let value = def.parse(text, name);
    if ((def.field === 'nvmeTcpServerNqn' || def.field === 'iscsiServerIqn') && value === '') value = undefined;
    if (def.field === 'slot' && value === '') throw new TrapError(`value of slot must not be empty`, 1);
    fields[def.field] = value;
  }
  return patch;
}

/** Defaults of a new file disk (every property of docs/ARCHITECTURE.md RouterOS §2.2 that is settable). */
export function defaultDisk(id: string, slot: string, filePath: string, fileSize: number): DiskRecord {
  return {
    id,
    slot,
    filePath,
    fileSize,
    fileOffset: 0,
    nvmeTcpExport: false,
    nvmeTcpServerPort: 4420,
    nvmeTcpServerAllowHostName: '',
    nvmeTcpServerPassword: '',
    iscsiExport: false,
    iscsiServerPort: 3260,
    disabled: false,
  };
}
