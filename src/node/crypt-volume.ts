import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { failedPrecondition, invalid } from '../domain/failure';
import { lstatOrUndefined, splitDev } from '../host/fs';
import { ok } from '../host/run';
import { type BlockDevice, HostError, volumeIdOfNqn } from './connector';
import {
  EXIT_BAD_PASSPHRASE,
  PENDING_LABEL,
  READY_LABEL,
  cryptArgs,
  cryptFailure,
  cryptsetup,
  encryptionOf,
  luksLabel,
  mappingName,
  passphraseOf,
  PASSPHRASE_KEY,
} from './crypt';
import type { NodeDeps } from './deps';
import { blockDeviceOf } from './device';
import type { Ownership, Shown } from './ownership';
import { probeDevice } from './probe';

/**
 * The LUKS2 mapping of an encrypted volume on this node (crypt.ts has the commands). One hook per RPC: stage opens
 * (formats only a device probe.ts proves empty), publish and stats use the mapping instead of the NVMe device,
 * unstage closes it after the unmount, expand resizes it. A mapping is this volume's only when its device-mapper
 * name is mappingName(volume id) AND every device under it (sysfs `slaves`) belongs to the volume's NQN (the
 * connector's deviceOwner); anything else is refused, never closed.
 */

export interface Mapping {
  name: string;
  /** The mapping as a block device: `<devRoot>/mapper/<name>` when that node has its numbers, else `<devRoot>/dm-N`. */
  device: BlockDevice;
  slaves: Array<{ name: string; major: number; minor: number }>;
}

const DM = /^dm-\d+$/;

async function numbersOf(d: NodeDeps, kernelName: string): Promise<{ major: number; minor: number } | undefined> {
  const m = (await d.host.sysfs.read('class', 'block', kernelName, 'dev'))?.match(/^(\d+):(\d+)$/);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

async function mappingAt(d: NodeDeps, kernelName: string, name: string): Promise<Mapping | undefined> {
  const dev = await blockDeviceOf(d.host.sysfs, d.host.devRoot, kernelName);
  if (!dev) return undefined;
  const named = path.join(d.host.devRoot, 'mapper', name);
  // /dev/mapper/<name> may be a node or a symlink to ../dm-N (udev); either way it must resolve to these numbers.
  const nst = (await lstatOrUndefined(named)) ? await fsp.stat(named, { bigint: true }).catch(() => undefined) : undefined;
  if (nst?.isBlockDevice()) {
    const n = splitDev(nst.rdev);
    if (n.major === dev.major && n.minor === dev.minor) dev.path = named;
  }
  const slaves = [];
  for (const s of await d.host.sysfs.list('class', 'block', kernelName, 'slaves')) {
    const n = await numbersOf(d, s);
    if (n) slaves.push({ name: s, ...n });
  }
  return { name, device: dev, slaves };
}

/** The open mapping with this device-mapper name, or undefined. */
export async function findMapping(d: NodeDeps, name: string): Promise<Mapping | undefined> {
  for (const k of await d.host.sysfs.list('class', 'block')) {
    if (DM.test(k) && (await d.host.sysfs.read('class', 'block', k, 'dm', 'name')) === name) return mappingAt(d, k, name);
  }
  return undefined;
}

/** Why the devices under a mapping are not (all) the volume's, or undefined when they are. */
async function foreignSlaves(d: NodeDeps, nqn: string, m: Mapping): Promise<string | undefined> {
  if (m.slaves.length === 0) return `mapping ${m.name} has no device under it`;
  for (const s of m.slaves) {
    const owner = await d.connector.deviceOwner(s.major, s.minor);
    if (owner.kind !== 'live' || owner.nqn !== nqn)
      return `mapping ${m.name} lies over ${s.name} (${s.major}:${s.minor}), which is not a device of ${nqn}`;
  }
  return undefined;
}

const over = (m: Mapping, dev: BlockDevice): boolean => m.slaves.length === 1 && m.slaves[0]?.major === dev.major && m.slaves[0]?.minor === dev.minor;

async function mappingInUse(d: NodeDeps, m: Mapping): Promise<boolean> {
  if ((await d.host.mounts()).ofDevice(m.device.major, m.device.minor).length) return true;
  return (await d.host.sysfs.blockHolders(m.device.major, m.device.minor)).length > 0;
}

async function closeIt(d: NodeDeps, m: Mapping): Promise<void> {
  const r = await cryptsetup(d.host, cryptArgs.close(m.name), undefined, d.opts.toolTimeoutMs);
  if (!ok(r)) throw cryptFailure(`closing mapping ${m.name}`, r);
}

/** A fresh header's mapping reads as noise: zero its first and last MiB so the probe can prove it empty, then mark it ready. */
async function finishFresh(d: NodeDeps, dev: BlockDevice, m: Mapping): Promise<void> {
  const size = (await d.host.sysfs.blockSize(m.device.major, m.device.minor)) ?? m.device.sizeBytes;
  const mib = 2048; // 512-byte sectors
  const sectors = Math.floor(size / 512);
  for (const seek of [...new Set([0, Math.max(0, sectors - mib)])]) {
    const count = Math.min(mib, sectors - seek);
    const r = await d.host.run(
      'dd',
      ['if=/dev/zero', `of=${m.device.path}`, 'bs=512', `count=${count}`, `seek=${seek}`, 'conv=fsync,notrunc', 'status=none'],
      { timeoutMs: d.opts.formatTimeoutMs },
    );
    if (!ok(r)) throw cryptFailure(`zeroing the new mapping ${m.name}`, r);
  }
  const r = await cryptsetup(d.host, cryptArgs.relabel(dev.path, READY_LABEL), undefined, d.opts.toolTimeoutMs);
  if (!ok(r)) throw cryptFailure(`labelling the LUKS header of ${dev.path}`, r);
}

/**
 * NodeStageVolume's hook around the connect (the key is checked first): the device to stage (the mapping when encrypted). Decision
 * on the raw device: proven empty → luksFormat, a LUKS header → open, anything else → FAILED_PRECONDITION (a volume
 * made without encryption is never formatted over). Wrong key → INVALID_ARGUMENT, and nothing is written.
 */
export async function stageEncrypted(
  d: NodeDeps,
  req: { volumeContext?: Record<string, string>; secrets?: Record<string, string> },
  t: { volumeId: string; nqn: string },
  readOnly: boolean,
  attach: () => Promise<BlockDevice>,
): Promise<BlockDevice> {
  if (!encryptionOf(req.volumeContext)) return attach();
  const key = passphraseOf(req.secrets, 'node-stage'); // before anything is connected
  const dev = await attach();
  const name = mappingName(t.volumeId);
  let m = await findMapping(d, name);
  if (m && !over(m, dev)) {
    // Left from before a reconnect that renamed the device, or not ours at all.
    const foreign = await foreignSlaves(d, t.nqn, m);
    if (foreign) throw failedPrecondition(`${foreign}; the driver does not touch it`);
    if (await mappingInUse(d, m))
      throw failedPrecondition(`mapping ${name} is open over a stale device of volume ${t.volumeId} and still in use; unstage first`);
    d.log.warn({ volumeId: t.volumeId, mapping: name }, 'closing a stale mapping of the volume');
    await closeIt(d, m);
    m = undefined;
  }
  if (!m) {
    const probe = await probeDevice(d.host, dev, d.opts.toolTimeoutMs);
    if (probe.kind === 'empty') {
      if (readOnly) throw failedPrecondition(`${dev.path} holds nothing and the access mode is read-only; not formatting it`);
      d.log.info({ device: dev.path, mapping: name }, 'probe found nothing on the device; writing a LUKS2 header');
      const r = await cryptsetup(d.host, cryptArgs.format(dev.path, d.opts.luksIterTimeMs), key, d.opts.formatTimeoutMs);
      if (!ok(r)) throw cryptFailure(`luksFormat of ${dev.path}`, r);
    } else if (!(probe.kind === 'other' && probe.type === 'crypto_LUKS')) {
      const what = probe.kind === 'filesystem' ? probe.type : probe.kind === 'partitioned' ? `a ${probe.ptType} partition table` : probe.type;
      throw failedPrecondition(
        `${dev.path} holds ${what}, not a LUKS header, but the volume asks for encryption: not formatting it (a volume made without encryption stays as it is)`,
      );
    }
    const r = await cryptsetup(d.host, cryptArgs.open(dev.path, name), key, d.opts.formatTimeoutMs);
    if (r.code === EXIT_BAD_PASSPHRASE && !r.timedOut)
      throw invalid(
        `the ${PASSPHRASE_KEY} secret does not unlock the LUKS2 header of volume ${t.volumeId} (cryptsetup exit 2: no key slot matches); nothing was opened or formatted`,
      );
    if (!ok(r)) throw cryptFailure(`opening ${dev.path} as ${name}`, r);
    m = await findMapping(d, name);
    if (!m || !over(m, dev)) throw new HostError(`cryptsetup opened ${name} but the mapping over ${dev.path} cannot be found in sysfs`, 'internal');
  }
  if ((await luksLabel(d.host, dev.path, d.opts.toolTimeoutMs)) === PENDING_LABEL) await finishFresh(d, dev, m);
  return m.device;
}

/** NodePublishVolume's hook: the staged device to publish (the open mapping when encrypted). */
export async function publishedDevice(
  d: NodeDeps,
  volumeContext: Record<string, string> | undefined,
  volumeId: string,
  dev: BlockDevice | undefined,
): Promise<BlockDevice | undefined> {
  if (!dev || !encryptionOf(volumeContext)) return dev;
  const m = await findMapping(d, mappingName(volumeId));
  if (!m || !over(m, dev))
    throw failedPrecondition(`the encrypted mapping of volume ${volumeId} is not open over ${dev.path}; NodeStageVolume first`);
  return m.device;
}

/** For stats and unstage (no volume_context there): the volume's mapping when it alone holds the device, else the device. */
export async function stagedDevice(d: NodeDeps, volumeId: string, dev: BlockDevice | undefined): Promise<BlockDevice | undefined> {
  if (!dev) return dev;
  const holders = await d.host.sysfs.blockHolders(dev.major, dev.minor);
  if (holders.length !== 1 || !DM.test(holders[0] ?? '')) return dev;
  const name = mappingName(volumeId);
  if ((await d.host.sysfs.read('class', 'block', holders[0] ?? '', 'dm', 'name')) !== name) return dev;
  const m = await mappingAt(d, holders[0] ?? '', name);
  return m && over(m, dev) ? m.device : dev;
}

/** NodeUnstageVolume's hook, after the unmount: close the volume's mapping (only one attributable to it). */
export async function closeMapping(d: NodeDeps, volumeId: string, nqn: string): Promise<void> {
  const m = await findMapping(d, mappingName(volumeId));
  if (!m) return;
  const foreign = await foreignSlaves(d, nqn, m);
  if (foreign) throw failedPrecondition(`${foreign}; not closing it`);
  if (await mappingInUse(d, m)) throw failedPrecondition(`mapping ${m.name} of volume ${volumeId} is still mounted or held; not unstaging`);
  await closeIt(d, m);
}

/** ownership.ts's hook: a device-mapper device is the volume's only as its own mapping; undefined for other devices. */
export async function mappingOwnership(d: NodeDeps, nqn: string, shown: Shown): Promise<Ownership | undefined> {
  const dmName = await d.host.sysfs.read('dev', 'block', `${shown.major}:${shown.minor}`, 'dm', 'name');
  if (dmName === undefined) return undefined;
  const volumeId = volumeIdOfNqn(d.nqnPrefix, nqn);
  if (!volumeId || dmName !== mappingName(volumeId)) return { ours: false, why: `device-mapper device ${dmName} is not the mapping of ${nqn}` };
  const m = await findMapping(d, dmName);
  const foreign = m ? await foreignSlaves(d, nqn, m) : `mapping ${dmName} went away`;
  return foreign ? { ours: false, why: foreign } : { ours: true, how: 'current' };
}

/**
 * NodeExpandVolume's hook, after the NVMe device has its new size: resize the volume's open mapping and return it
 * (the device whose file system is grown). LUKS2 keeps the volume key in the kernel keyring by default, and then
 * `cryptsetup resize` must unlock a key slot again (cryptsetup(8) resize: "If cryptsetup detected volume key for
 * active device loaded in kernel keyring service, resize action would first try to retrieve the key using a token.
 * Only if it failed, it'd ask for a passphrase"): the passphrase comes from NodeExpandVolume's secrets
 * (csi.storage.k8s.io/node-expand-secret-*); without it resize is tried keyless, which works when the key is in the
 * dm table, and otherwise says which secret to set.
 */
export async function expandEncrypted(
  d: NodeDeps,
  volumeId: string,
  dev: BlockDevice,
  secrets: Record<string, string> | undefined,
): Promise<BlockDevice> {
  const m = await stagedDevice(d, volumeId, dev);
  if (!m || m === dev) return dev;
  const name = mappingName(volumeId);
  const key = secrets?.[PASSPHRASE_KEY] || undefined;
  const r = await cryptsetup(d.host, cryptArgs.resize(name, key !== undefined), key, d.opts.formatTimeoutMs);
  if (r.code === EXIT_BAD_PASSPHRASE && !r.timedOut && key !== undefined)
    throw invalid(`the ${PASSPHRASE_KEY} secret does not unlock volume ${volumeId} for resize (cryptsetup exit 2)`);
  if (!ok(r)) {
    if (key === undefined) passphraseOf(secrets, 'node-expand'); // the likely reason: say which secret is missing
    throw cryptFailure(`resizing mapping ${name}`, r);
  }
  return (await stagedDevice(d, volumeId, dev)) ?? dev;
}
