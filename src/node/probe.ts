import { lstatOrUndefined, splitDev } from '../host/fs';
import type { HostPort } from '../host/port';
import { describeResult } from '../host/run';
import { type BlockDevice, HostError } from './connector';

/**
 * Format safety (DESIGN §10: a transient blkid failure read as "unformatted" once led to mkfs on a full volume).
 *
 * `blkid -p` (low-level probe, no cache) answers exit 0 with TYPE/PTTYPE when it finds something and exit 2 when
 * it finds nothing. But exit 2 with no output is also what blkid answers for a path that does not exist, so
 * "empty" is believed only when the device node is checked before and after the probe to be the same block
 * device (rdev) with a non-zero size, and blkid printed nothing at all. Any other outcome — timeout, signal,
 * exit 4/8 (usage, ambivalent), exit 0 without TYPE or PTTYPE — is an error, and never leads to mkfs.
 */

export type ProbeResult =
  | { kind: 'empty' }
  | { kind: 'filesystem'; type: string }
  | { kind: 'partitioned'; ptType: string }
  | { kind: 'other'; type: string };

async function checkDevice(host: HostPort, dev: BlockDevice, when: string): Promise<void> {
  const st = await lstatOrUndefined(dev.path);
  if (!st?.isBlockDevice()) throw new HostError(`probe ${when}: ${dev.path} is not a block device`, 'unavailable');
  const { major, minor } = splitDev(st.rdev);
  if (major !== dev.major || minor !== dev.minor) throw new HostError(`probe ${when}: ${dev.path} is ${major}:${minor}, expected ${dev.major}:${dev.minor}`, 'unavailable');
  const size = await host.sysfs.blockSize(major, minor);
  if (!size) throw new HostError(`probe ${when}: ${dev.path} has size 0 (device not ready)`, 'unavailable');
}

export function parseExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export async function probeDevice(host: HostPort, dev: BlockDevice, timeoutMs: number): Promise<ProbeResult> {
  await checkDevice(host, dev, 'before blkid');
  const r = await host.run('blkid', ['-p', '-o', 'export', dev.path], { timeoutMs });
  const fail = (why: string): HostError => new HostError(`cannot tell whether ${dev.path} holds data (${why}); refusing to format: ${describeResult(r)}`, 'internal');
  if (r.timedOut || r.code === null) throw fail('probe did not finish');
  if (r.code === 0) {
    const kv = parseExport(r.stdout);
    if (kv.PTTYPE) return { kind: 'partitioned', ptType: kv.PTTYPE };
    if (kv.TYPE) return kv.USAGE === undefined || kv.USAGE === 'filesystem' ? { kind: 'filesystem', type: kv.TYPE } : { kind: 'other', type: kv.TYPE };
    throw fail('blkid succeeded without TYPE or PTTYPE');
  }
  if (r.code === 2) {
    if (r.stdout.trim() || r.stderr.trim()) throw fail('blkid found nothing but printed something');
    await checkDevice(host, dev, 'after blkid');
    return { kind: 'empty' };
  }
  throw fail(`blkid exit ${r.code}`);
}
