import { status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FS_MIN_BYTES } from '../../src/domain/sizes';
import { codeOf } from '../support/csi-client';
import { blkidType, describeRoot, isMountPoint, MiB, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * What the fuzzer found (issue 11 follow-up): conditions of the volume itself — too small for the file system asked,
 * smaller than NodeExpandVolume's required_bytes, a file system the kernel will not mount as asked — were answered
 * INTERNAL or UNAVAILABLE. Each is FAILED_PRECONDITION with a message that says what to do, and nothing is
 * formatted or unmounted on the way. Real loop devices, mkfs and mounts.
 */

const XFS_MIN = FS_MIN_BYTES.xfs ?? 0;
const OK: number = status.OK;

describeRoot('volume content refusals (real devices)', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv({ deviceWaitMs: 1500 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const nqnOf = (id: string): string => `${env.cfg.nqnPrefix}:${id}`;
  const stageReq = (id: string, staging: string, cap: object = MOUNT_CAP()): object => ({
    volumeId: id,
    stagingTargetPath: staging,
    volumeCapability: cap,
    volumeContext: env.volumeContext(id),
  });
  const devOf = async (id: string): Promise<string> => (await env.app.connector.find(nqnOf(id)))?.path ?? '';

  test('the xfs minimum is what the installed mkfs.xfs enforces: one byte less is refused, the minimum is made', () => {
    expect(XFS_MIN).toBe(300 * MiB);
  });

  // [name, volume bytes, fsType, expected code, details]
  const formatCases: Array<[string, number, string, number, RegExp]> = [
    [
      'xfs on 16 MiB',
      16 * MiB,
      'xfs',
      status.FAILED_PRECONDITION,
      new RegExp(`the volume is ${16 * MiB} bytes, xfs needs at least ${XFS_MIN}: use ext4 or a larger volume`),
    ],
    [
      'xfs on one 4 KiB block less than the minimum',
      XFS_MIN - 4096,
      'xfs',
      status.FAILED_PRECONDITION,
      new RegExp(`the volume is ${XFS_MIN - 4096} bytes, xfs needs at least ${XFS_MIN}`),
    ],
    // A failure of mkfs itself on the volume's own device (no minimum of ours applies): mkfs's words, not INTERNAL.
    [
      'ext4 on 32 KiB (mkfs.ext4 refuses)',
      32 * 1024,
      'ext4',
      status.FAILED_PRECONDITION,
      /mkfs\.ext4 on \/dev\/loop\d+ exited 1: .*Not enough space to build proposed filesystem.*; the volume was not formatted/,
    ],
    ['xfs at exactly the minimum', XFS_MIN, 'xfs', OK, /^$/],
  ];

  test.each(formatCases)('stage: %s', async (name, bytes, fsType, code, details) => {
    const id = `vol-fmt-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 60);
    const staging = path.join(env.dir, `st-${id}`);
    env.createVolume(id, bytes);
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(id, staging, MOUNT_CAP(fsType)), 60000));
    expect(r.code ?? OK).toBe(code);
    expect(r.details ?? '').toMatch(details);
    const dev = await devOf(id);
    if (code === OK) {
      expect(blkidType(dev)).toBe(fsType);
      expect(isMountPoint(staging)).toBe(true);
    } else {
      expect(blkidType(dev)).toBe(''); // refused before mkfs wrote anything: no partial format
      expect(isMountPoint(staging)).toBe(false);
    }
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test('expand beyond the device size: FAILED_PRECONDITION after a bounded wait (ControllerExpandVolume first), then OK once grown', async () => {
    const id = 'vol-expand-short';
    const staging = path.join(env.dir, 'st-expand-short');
    const target = path.join(env.dir, 'pods', 'expand-short');
    env.createVolume(id, 16 * MiB);
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    const req = { volumeId: id, volumePath: target, capacityRange: { requiredBytes: String(128 * MiB) } };
    const started = Date.now();
    const r = await codeOf(env.client.nodeCall('NodeExpandVolume', req));
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.code).toBe(status.FAILED_PRECONDITION);
    expect(r.details).toMatch(
      new RegExp(`has ${16 * MiB} bytes after a rescan, ${128 * MiB} required: ControllerExpandVolume must grow the volume first`),
    );
    expect(isMountPoint(target)).toBe(true);

    truncateSync(env.fileOf(id), 128 * MiB); // what ControllerExpandVolume does to the simulator's file
    const ok = await codeOf(env.client.nodeCall('NodeExpandVolume', req, 60000));
    // Online ext4 grow needs CAP_SYS_RESOURCE; without it the device part still succeeded (the error names the grow).
    if (ok.code !== undefined) {
      expect(ok.code).toBe(status.FAILED_PRECONDITION);
      expect(ok.details).toMatch(/CAP_SYS_RESOURCE/);
    }
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test("expand naming another volume's mount: NOT_FOUND before any rescan or wait; the mount stays", async () => {
    const [a, b] = ['vol-expand-owner-a', 'vol-expand-owner-b'];
    env.createVolume(a, 16 * MiB);
    env.createVolume(b, 16 * MiB);
    const stA = path.join(env.dir, 'st-expand-owner-a');
    const stB = path.join(env.dir, 'st-expand-owner-b');
    const tA = path.join(env.dir, 'pods', 'expand-owner-a');
    await env.client.nodeCall('NodeStageVolume', stageReq(a, stA));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(a, stA), targetPath: tA });
    writeFileSync(path.join(tA, 'a.txt'), 'A');
    // B connected (its device exists) and B not connected: both NOT_FOUND, whatever size is asked.
    for (const connected of [false, true]) {
      if (connected) await env.client.nodeCall('NodeStageVolume', stageReq(b, stB));
      for (const requiredBytes of ['0', String(128 * MiB)]) {
        const started = Date.now();
        const r = await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: b, volumePath: tA, capacityRange: { requiredBytes } }));
        expect(r.code).toBe(status.NOT_FOUND);
        expect(r.details).toMatch(new RegExp(`volume ${b} is not at ${tA}: device .* belongs to ${nqnOf(a)}`));
        expect(Date.now() - started).toBeLessThan(1000); // answered before the rescan's wait
      }
    }
    expect(isMountPoint(tA)).toBe(true);
    expect(readFileSync(path.join(tA, 'a.txt'), 'utf8')).toBe('A');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: a, targetPath: tA });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: a, stagingTargetPath: stA });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: b, stagingTargetPath: stB });
  });

  const RO = { mount: { mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_READER_ONLY' } };

  test('read-only stage of a blank volume: FAILED_PRECONDITION, not formatted', async () => {
    const id = 'vol-ro-blank';
    const staging = path.join(env.dir, 'st-ro-blank');
    env.createVolume(id, 16 * MiB);
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(id, staging, RO)));
    expect(r.code).toBe(status.FAILED_PRECONDITION);
    expect(r.details).toMatch(/holds no file system and the access mode is read-only/);
    expect(blkidType(await devOf(id))).toBe('');
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test('read-only stage while the file system is still mounted read-write at a publish target: FAILED_PRECONDITION with mount’s reason', async () => {
    const id = 'vol-ro-busy';
    const staging = path.join(env.dir, 'st-ro-busy');
    const target = path.join(env.dir, 'pods', 'ro-busy');
    env.createVolume(id, 16 * MiB);
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    writeFileSync(path.join(target, 'keep.txt'), 'kept');
    // The staging mount gone while the read-write bind at the target stays (the fuzzer got there with a
    // NodeUnpublishVolume naming the staging path; an operator's umount does the same).
    execFileSync('umount', [staging]);
    expect(isMountPoint(target)).toBe(true);
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(id, staging, RO)));
    expect(r.code).toBe(status.FAILED_PRECONDITION);
    expect(r.details).toMatch(/mount -t ext4 -o ro .* exited 32: .*already mounted/);
    expect(isMountPoint(staging)).toBe(false);
    expect(readFileSync(path.join(target, 'keep.txt'), 'utf8')).toBe('kept');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });
});
