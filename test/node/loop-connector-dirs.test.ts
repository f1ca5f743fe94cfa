import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostPort } from '../../src/host/port';
import type { VolumeTarget } from '../../src/node/connector';
import { LoopConnector } from '../../src/node/loop-connector';
import { BASE_PATH, cleanupDir, describeRoot, loopDevicesUnder, MiB, NQN_PREFIX } from './support';

/**
 * The loop connector over the data dirs of several simulators (all-in-one with two backends, issue 16): a volume's
 * backing file is found in whichever simulator holds it, attached, listed as managed and detached; a slot in no dir
 * is NOT_FOUND as before.
 */
/** `slot` is the volume's RouterOS slot (the node side of issue 16 adds it to VolumeTarget; harmless before). */
const target = (slot: string): VolumeTarget =>
  ({
    volumeId: slot,
    slot,
    nqn: `${NQN_PREFIX}:${slot}`,
    params: { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 },
  }) as VolumeTarget;

describeRoot('LoopConnector with one data dir per simulator', () => {
  let dir: string;
  let a: string;
  let b: string;
  let loop: LoopConnector;
  const volumeFile = (dataDir: string, slot: string): string => {
    const f = path.join(dataDir, BASE_PATH.slice(1), `${slot}.img`);
    writeFileSync(f, '');
    truncateSync(f, 16 * MiB);
    return f;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-loopdirs-'));
    a = path.join(dir, 'rds');
    b = path.join(dir, 'rds-rds-b');
    for (const d of [a, b]) mkdirSync(path.join(d, BASE_PATH.slice(1)), { recursive: true });
    loop = new LoopConnector({ host: hostPort(), nqnPrefix: NQN_PREFIX, dataDir: a, moreDataDirs: [b], basePath: BASE_PATH, toolTimeoutMs: 10000 });
  });
  afterAll(() => cleanupDir(dir));

  it.each([
    { where: 'the first (primary) simulator', slot: 'pvc-on-a', dataDir: () => a },
    { where: 'the second simulator', slot: 'pvc-on-b', dataDir: () => b },
  ])('attaches, finds, lists and detaches a volume whose file is on $where', async ({ slot, dataDir }) => {
    const file = volumeFile(dataDir(), slot);
    const nqn = `${NQN_PREFIX}:${slot}`;
    const dev = await loop.attach(target(slot), Date.now() + 10000);
    expect(loopDevicesUnder(path.dirname(file))).toEqual([path.basename(dev.path)]);
    expect((await loop.find(nqn))?.path).toBe(dev.path);
    expect((await loop.listManaged()).map((m) => m.nqn)).toContain(nqn);
    await loop.detach(nqn);
    expect(loopDevicesUnder(dir)).toEqual([]);
    expect(await loop.find(nqn)).toBeUndefined();
  });

  it('a slot on no simulator is not found (its file would be in the first dir)', async () => {
    await expect(loop.attach(target('pvc-nowhere'), Date.now() + 5000)).rejects.toMatchObject({
      message: expect.stringContaining(path.join(a, BASE_PATH.slice(1), 'pvc-nowhere.img')) as unknown,
    });
  });
});
