import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { hostPort } from '../../src/host/port';
import { runTool, type ToolResult, type ToolRunner } from '../../src/host/run';
import { probeDevice } from '../../src/node/probe';
import { codeOf } from '../support/csi-client';
import { blkidType, describeRoot, isMountPoint, MiB, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * Format safety on real devices: a device that holds a file system or a partition table is never formatted, and
 * a probe that fails in any way (timeout, usage error, ambivalent result, "nothing found" with noise) never leads
 * to mkfs. The runner records every tool; blkid can be replaced by a scripted failure.
 */

const calls: string[] = [];
let blkidOverride: ((r: Omit<ToolResult, 'code' | 'stdout' | 'stderr' | 'timedOut'>) => ToolResult) | undefined;
let ddFails = false;
const runner: ToolRunner = async (cmd, args, opts) => {
  calls.push(cmd);
  if (cmd === 'dd' && ddFails)
    return { command: cmd, args, signal: null, durationMs: 1, code: 1, stdout: '', stderr: 'dd: error reading: Input/output error', timedOut: false };
  if (cmd === 'blkid' && blkidOverride) return blkidOverride({ command: cmd, args, signal: null, durationMs: 1 });
  return runTool(cmd, args, opts);
};

function firstBytes(file: string, n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  readSync(fd, b, 0, n, 0);
  closeSync(fd);
  return b;
}

describeRoot('format safety', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv({}, hostPort({ run: runner }));
  });
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(() => {
    calls.length = 0;
    blkidOverride = undefined;
  });

  const stage = (id: string, fsType: string): Promise<{ code?: number; details?: string }> =>
    codeOf(
      env.client.nodeCall('NodeStageVolume', {
        volumeId: id,
        stagingTargetPath: path.join(env.dir, `st-${id}`),
        volumeCapability: MOUNT_CAP(fsType),
        volumeContext: env.volumeContext(id),
      }),
    );

  test('a device with another file system is not reformatted (xfs on disk, ext4 asked)', async () => {
    const id = 'vol-has-xfs';
    const file = env.createVolume(id, 320 * MiB);
    execFileSync('mkfs.xfs', ['-q', file]);
    const r = await stage(id, 'ext4');
    expect(r.code).toBe(9);
    expect(r.details).toMatch(/already holds xfs/);
    expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(blkidType(file)).toBe('xfs');
  });

  test('a device with a partition table is neither formatted nor mounted', async () => {
    const id = 'vol-has-mbr';
    const file = env.createVolume(id, 16 * MiB);
    const mbr = Buffer.alloc(512);
    Buffer.from([0, 0, 0, 0, 0x83, 0, 0, 0]).copy(mbr, 446);
    mbr.writeUInt32LE(2048, 454);
    mbr.writeUInt32LE(8192, 458);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const fd = openSync(file, 'r+');
    writeSync(fd, mbr, 0, 512, 0);
    closeSync(fd);
    const r = await stage(id, 'ext4');
    expect(r.code).toBe(9);
    expect(r.details).toMatch(/dos partition table/);
    expect(calls.filter((c) => c.startsWith('mkfs') || c === 'mount')).toEqual([]);
    expect(firstBytes(file, 512).equals(mbr)).toBe(true);
    expect(isMountPoint(path.join(env.dir, `st-${id}`))).toBe(false);
  });

  test.each<[string, (base: Omit<ToolResult, 'code' | 'stdout' | 'stderr' | 'timedOut'>) => ToolResult]>([
    ['timed out and killed', (b) => ({ ...b, code: null, signal: 'SIGKILL', stdout: '', stderr: '', timedOut: true })],
    ['usage error (exit 4)', (b) => ({ ...b, code: 4, stdout: '', stderr: 'blkid: bad usage', timedOut: false })],
    ['ambivalent result (exit 8)', (b) => ({ ...b, code: 8, stdout: '', stderr: '', timedOut: false })],
    [
      '"nothing found" with an I/O error on stderr',
      (b) => ({ ...b, code: 2, stdout: '', stderr: 'blkid: error: /dev/loop9: Input/output error', timedOut: false }),
    ],
    ['exit 0 without TYPE or PTTYPE', (b) => ({ ...b, code: 0, stdout: 'DEVNAME=/dev/loop9\n', stderr: '', timedOut: false })],
  ])('a failing probe (%s) never leads to mkfs', async (_name, fake) => {
    const id = `vol-probe-${calls.length}-${Math.random().toString(16).slice(2, 8)}`;
    const file = env.createVolume(id, 16 * MiB);
    blkidOverride = fake;
    const r = await stage(id, 'ext4');
    expect(r.code).toBe(13);
    expect(r.details).toMatch(/refusing to format/);
    expect(calls).toContain('blkid');
    expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(blkidType(file)).toBe('');
    blkidOverride = undefined;
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: path.join(env.dir, `st-${id}`) });
  });

  test('blkid says "nothing found" (exit 2) for a path that does not exist; the probe does not believe it', async () => {
    const ghost = path.join(env.dir, 'no-such-device');
    const raw = await runTool('blkid', ['-p', '-o', 'export', ghost], { timeoutMs: 5000 });
    expect(raw.code).toBe(2); // the trap: same answer as an empty device
    const host = hostPort();
    await expect(probeDevice(host, { name: 'ghost', path: ghost, major: 7, minor: 0, sizeBytes: 1 }, 5000)).rejects.toThrow(/not a block device/);
    // A real device node with the wrong numbers for the volume is refused as well.
    const id = 'vol-probe-rdev';
    env.createVolume(id, 16 * MiB);
    await stage(id, 'ext4');
    const dev = await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`);
    expect(dev).toBeDefined();
    if (!dev) return;
    await expect(probeDevice(host, { ...dev, minor: dev.minor + 1000 }, 5000)).rejects.toThrow(/expected/);
    await expect(probeDevice(host, dev, 5000)).resolves.toEqual({ kind: 'filesystem', type: 'ext4' });
  });

  test('an unambiguously empty device is formatted once; the second stage does not probe-and-format again', async () => {
    const id = 'vol-empty';
    const file = env.createVolume(id, 16 * MiB);
    expect((await stage(id, 'ext4')).code).toBeUndefined();
    expect(calls.filter((c) => c === 'mkfs.ext4')).toHaveLength(1);
    expect(blkidType(file)).toBe('ext4');
    calls.length = 0;
    expect((await stage(id, 'ext4')).code).toBeUndefined();
    expect(calls).toEqual([]); // already staged: decided from mountinfo and sysfs, no tool run at all
  });

  test('data blkid cannot name (non-zero bytes, no signature) is never formatted', async () => {
    const id = 'vol-unknown-data';
    const file = env.createVolume(id, 16 * MiB);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('application data without a filesystem signature'), 0, 47, 8192);
    closeSync(fd);
    const r = await stage(id, 'ext4');
    expect(r.code).toBe(9); // FAILED_PRECONDITION
    expect(r.details).toMatch(/holds data blkid does not recognise/);
    expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(
      firstBytes(file, 8192 + 47)
        .subarray(8192)
        .toString(),
    ).toBe('application data without a filesystem signature');
  });

  test('a device that cannot be read is never "empty", whatever blkid says', async () => {
    const id = 'vol-unreadable';
    env.createVolume(id, 16 * MiB);
    // As for an NVMe path that is down: blkid finds "nothing", and the O_DIRECT read fails with EIO.
    ddFails = true;
    try {
      const r = await stage(id, 'ext4');
      expect(r.code).toBe(14); // UNAVAILABLE: retried later, never formatted
      expect(r.details).toMatch(/cannot be read.*refusing to format/);
      expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    } finally {
      ddFails = false;
    }
  });
});
