import { promises as fsp } from 'node:fs';

/**
 * The live mount table, parsed from /proc/self/mountinfo (proc(5)). This is the only source of truth for "is this
 * path mounted, and from which device": the major:minor field identifies the device without trusting /dev names,
 * which change after an NVMe reconnect.
 */

export interface MountEntry {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  /** Path inside the source filesystem that is mounted here ("/" unless a bind mount of a subdirectory). */
  root: string;
  mountPoint: string;
  options: string[];
  /** Optional fields: propagation (`shared:N`, `master:N`, `unbindable`). */
  optional: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfoLine(line: string): MountEntry | undefined {
  const parts = line.trim().split(' ');
  const sep = parts.indexOf('-', 6);
  if (parts.length < 10 || sep < 6 || parts.length < sep + 3) return undefined;
  const [maj, min] = (parts[2] ?? '').split(':');
  const mountId = Number(parts[0]);
  const parentId = Number(parts[1]);
  const major = Number(maj);
  const minor = Number(min);
  if (![mountId, parentId, major, minor].every(Number.isInteger)) return undefined;
  return {
    mountId,
    parentId,
    major,
    minor,
    root: unescapeOctal(parts[3] ?? ''),
    mountPoint: unescapeOctal(parts[4] ?? ''),
    options: (parts[5] ?? '').split(','),
    optional: parts.slice(6, sep),
    fsType: parts[sep + 1] ?? '',
    source: unescapeOctal(parts[sep + 2] ?? ''),
    superOptions: (parts[sep + 3] ?? '').split(','),
  };
}

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const e = parseMountInfoLine(line);
    if (e) out.push(e);
  }
  return out;
}

export class MountTable {
  constructor(readonly entries: readonly MountEntry[]) {}

  /** Mounts at exactly this (canonical) path, bottom first; the last one is what the path shows. */
  at(mountPoint: string): MountEntry[] {
    return this.entries.filter((e) => e.mountPoint === mountPoint);
  }

  top(mountPoint: string): MountEntry | undefined {
    const all = this.at(mountPoint);
    return all[all.length - 1];
  }

  isMountPoint(mountPoint: string): boolean {
    return this.entries.some((e) => e.mountPoint === mountPoint);
  }

  /** Every mount whose source is the block device major:minor (staging mounts, bind mounts, stray mounts). */
  ofDevice(major: number, minor: number): MountEntry[] {
    return this.entries.filter((e) => e.major === major && e.minor === minor);
  }
}

export async function readMountTable(file = '/proc/self/mountinfo'): Promise<MountTable> {
  return new MountTable(parseMountInfo(await fsp.readFile(file, 'utf8')));
}
