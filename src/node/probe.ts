import { lstatOrUndefined, splitDev } from '../host/fs';
import type { HostPort } from '../host/port';
import { describeResult } from '../host/run';
import { type BlockDevice, HostError } from './connector';

/**
 * Format safety (docs/ARCHITECTURE.md#lessons: a transient blkid failure read as "unformatted" once led to mkfs on a
 * full volume).
 *
 * `blkid -p` (low-level probe, no cache) answers exit 0 with TYPE/PTTYPE when it finds something and exit 2 when
 * it finds nothing. But exit 2 with no output is also what blkid answers for a path that does not exist, so
 * "empty" is believed only when the device node is checked before and after the probe to be the same block
 * device (rdev) with a non-zero size, and blkid printed nothing at all. Any other outcome — timeout, signal,
 * exit 4/8 (usage, ambivalent), exit 0 without TYPE or PTTYPE — is an error, and never leads to mkfs.
 */

export type ProbeResult =
  { kind: 'empty' } | { kind: 'filesystem'; type: string } | { kind: 'partitioned'; ptType: string } | { kind: 'other'; type: string };

async function checkDevice(host: HostPort, dev: BlockDevice, when: string): Promise<void> {
  const st = await lstatOrUndefined(dev.path);
  if (!st?.isBlockDevice()) throw new HostError(`probe ${when}: ${dev.path} is not a block device`, 'unavailable');
  const { major, minor } = splitDev(st.rdev);
  if (major !== dev.major || minor !== dev.minor)
    throw new HostError(`probe ${when}: ${dev.path} is ${major}:${minor}, expected ${dev.major}:${dev.minor}`, 'unavailable');
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

const SPAN_BLOCKS = 16;
const BLOCK = 4096;

/**
 * blkid also answers "nothing found" for a device it cannot read (an NVMe path that is down fails its reads with
 * EIO; seen in the VM tier, where mkfs was then attempted on a volume holding ext4). So "empty" must be proven: the
 * first and last 64 KiB — where partition tables, superblocks and their backups live — are read with O_DIRECT
 * (bypassing any cache, through dd under the tool timeout, so a hung device cannot hang the plugin) and must be all
 * zeros, as a new volume is. Unreadable, short, or anything non-zero blkid could not name: never "empty".
 */
async function provenBlank(host: HostPort, dev: BlockDevice, timeoutMs: number): Promise<void> {
  const size = (await host.sysfs.blockSize(dev.major, dev.minor)) ?? 0;
  const last = Math.max(0, Math.floor(size / BLOCK) - SPAN_BLOCKS);
  for (const skip of last > 0 ? [0, last] : [0]) {
    const r = await host.run('dd', [`if=${dev.path}`, `bs=${BLOCK}`, `count=${SPAN_BLOCKS}`, `skip=${skip}`, 'iflag=direct', 'status=none'], {
      timeoutMs,
    });
    const where = `${dev.path} at block ${skip}`;
    if (r.timedOut || r.code !== 0)
      throw new HostError(
        `${where} cannot be read (${describeResult(r)}); blkid's "nothing found" is not trusted: refusing to format`,
        'unavailable',
      );
    const expected = Math.min(SPAN_BLOCKS * BLOCK, size - skip * BLOCK);
    if (r.stdout.length < expected)
      throw new HostError(`${where}: short read (${r.stdout.length} of ${expected} bytes); refusing to format`, 'unavailable');
    if (/[^\0]/.test(r.stdout)) {
      throw new HostError(
        `${dev.path} holds data blkid does not recognise (non-zero bytes at block ${skip}); refusing to format it. Inspect the volume`,
        'precondition',
      );
    }
  }
}

export async function probeDevice(host: HostPort, dev: BlockDevice, timeoutMs: number): Promise<ProbeResult> {
  await checkDevice(host, dev, 'before blkid');
  const r = await host.run('blkid', ['-p', '-o', 'export', dev.path], { timeoutMs });
  const fail = (why: string): HostError =>
    new HostError(`cannot tell whether ${dev.path} holds data (${why}); refusing to format: ${describeResult(r)}`, 'internal');
  if (r.timedOut || r.code === null) throw fail('probe did not finish');
  if (r.code === 0) {
    const kv = parseExport(r.stdout);
    if (kv.PTTYPE) return { kind: 'partitioned', ptType: kv.PTTYPE };
    if (kv.TYPE)
      return kv.USAGE === undefined || kv.USAGE === 'filesystem' ? { kind: 'filesystem', type: kv.TYPE } : { kind: 'other', type: kv.TYPE };
    throw fail('blkid succeeded without TYPE or PTTYPE');
  }
  if (r.code === 2) {
    if (r.stdout.trim() || r.stderr.trim()) throw fail('blkid found nothing but printed something');
    await checkDevice(host, dev, 'after blkid');
    await provenBlank(host, dev, timeoutMs);
    return { kind: 'empty' };
  }
  throw fail(`blkid exit ${r.code}`);
}
