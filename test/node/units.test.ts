import { status } from '@grpc/grpc-js';
import { Failure } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { parseNodeOptions } from '../../src/config/load';
import { isManagedNqn, volumeIdOfNqn } from '../../src/node/connector';
import { checkMountFlags, stagingMountOptions } from '../../src/node/filesystem';
import { hostNqnForNode } from '../../src/domain/host-nqn';
import { parseExport } from '../../src/node/probe';
import { connectParams, requireVolumeId, volumeTarget } from '../../src/node/validate';
import { VolumeLocks } from '../../src/node/volume-lock';

/** Pure pieces of the node plugin: lock, NQN filter, mount flags, connect parameters, host NQN, options. */

const D = { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('per-volume lock', () => {
  test('serialises calls on one volume; other volumes run in parallel', async () => {
    const locks = new VolumeLocks(1000);
    const order: string[] = [];
    const a1 = locks.run('a', async () => (await sleep(50), order.push('a1')));
    const a2 = locks.run('a', () => Promise.resolve(order.push('a2')));
    const b = locks.run('b', () => Promise.resolve(order.push('b')));
    await Promise.all([a1, a2, b]);
    expect(order).toEqual(['b', 'a1', 'a2']);
    expect(locks.isBusy('a')).toBe(false);
  });

  test('a waiter that gives up gets ABORTED and does not let a later caller overtake the holder', async () => {
    const locks = new VolumeLocks(30);
    let release!: () => void;
    let holderDone = false;
    const holder = locks.run('v', () => new Promise<void>((r) => (release = r))).then(() => (holderDone = true));
    const err = await locks.run('v', () => Promise.resolve()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Failure);
    expect(statusOf(err)).toBe(status.ABORTED);
    expect(locks.isBusy('v')).toBe(true); // still held by the first caller
    const late = locks.run('v', () => Promise.resolve(holderDone), 1000);
    release();
    expect(await late).toBe(true);
    await holder;
  });

  test('a failing operation releases the lock', async () => {
    const locks = new VolumeLocks(100);
    await expect(locks.run('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.run('x', () => Promise.resolve(1))).toBe(1);
  });
});

describe('NQN prefix filter', () => {
  const P = 'nqn.2026-11.com.mikrotik.rds-csi';
  test.each([
    [`${P}:vol-a`, true],
    [`${P}:pvc-0b8e1c2a-1111-2222-3333-444455556666`, true],
    [`${P}`, false],
    [`${P}:`, false],
    [`${P}x:vol-a`, false],
    [`${P}-legacy:vol-a`, false],
    ['nqn.2014-08.org.nvmexpress:uuid:1234', false],
  ])('%s managed = %s', (nqn, managed) => {
    expect(isManagedNqn(P, nqn)).toBe(managed);
  });
  test('volume id of an NQN', () => {
    expect(volumeIdOfNqn(P, `${P}:vol-a`)).toBe('vol-a');
    expect(volumeIdOfNqn(P, `${P}:../x`)).toBeUndefined();
  });
});

describe('mount flags and options', () => {
  test('passes ordinary flags, splits commas, refuses the deny list and odd characters', () => {
    expect(checkMountFlags(['noatime', 'discard,nodiratime', 'rw'])).toEqual({ flags: ['noatime', 'discard', 'nodiratime'] });
    expect(checkMountFlags(['bind']).error).toMatch(/not allowed/);
    expect(checkMountFlags(['remount,ro']).error).toMatch(/not allowed/);
    expect(checkMountFlags(['rshared']).error).toMatch(/not allowed/);
    expect(checkMountFlags(['noatime;rm -rf']).error).toMatch(/characters/);
  });
  test('xfs gets nouuid; read-only adds ro', () => {
    expect(stagingMountOptions('xfs', ['noatime'], false)).toEqual(['noatime', 'nouuid']);
    expect(stagingMountOptions('ext4', ['ro'], true)).toEqual(['ro']);
  });
});

describe('connect parameters', () => {
  test('defaults, overridden by volume_context, overridden by publish_context', () => {
    expect(connectParams(D)).toEqual(D);
    expect(connectParams(D, { ctrlLossTmo: '600', reconnectDelay: '2' }, { reconnectDelay: '3', fastIoFailTmo: '20' })).toEqual({
      ctrlLossTmo: 600,
      reconnectDelay: 3,
      keepAliveTmo: 15,
      fastIoFailTmo: 20,
    });
  });
  test.each([
    ['ctrlLossTmo', '-2'],
    ['ctrlLossTmo', '1.5'],
    ['reconnectDelay', '0'],
    ['keepAliveTmo', '99999'],
    ['fastIoFailTmo', 'x'],
  ])('%s=%s is INVALID_ARGUMENT', (k, v) => {
    expect(() => connectParams(D, { [k]: v })).toThrow(Failure);
  });
  test('target: address and port validated, default port 4420 for nvme-tcp', () => {
    const P = 'nqn.x';
    expect(volumeTarget(requireVolumeId('vol-a'), P, D, { nqn: `${P}:vol-a`, targetAddress: '10.1.2.3' }, {}, true)).toMatchObject({
      address: '10.1.2.3',
      port: 4420,
    });
    expect(volumeTarget(requireVolumeId('vol-a'), P, D, { nqn: `${P}:vol-a`, targetAddress: 'fd00::1', targetPort: '4421' }, {}, true)).toMatchObject(
      {
        address: 'fd00::1',
        port: 4421,
      },
    );
    expect(() => volumeTarget(requireVolumeId('vol-a'), P, D, { nqn: `${P}:vol-a`, targetAddress: 'a b' }, {}, true)).toThrow(/not a host name/);
    expect(() => volumeTarget(requireVolumeId('vol-a'), P, D, { nqn: `${P}:vol-a` }, {}, true)).toThrow(/targetAddress is required/);
  });
});

describe('host NQN and node options', () => {
  test('host NQN is stable per node id, distinct across nodes, in the standard UUID form', () => {
    const a = hostNqnForNode('worker-1');
    expect(a).toBe(hostNqnForNode('worker-1'));
    expect(a).not.toBe(hostNqnForNode('worker-2'));
    expect(a).toMatch(/^nqn\.2014-08\.org\.nvmexpress:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  test('options: production defaults; the loop connector needs its data dir', () => {
    const o = parseNodeOptions({ nodeId: 'n1' });
    expect(o).toMatchObject({ connector: 'nvme-tcp', sysfsRoot: '/sys', devRoot: '/dev', connect: { ctrlLossTmo: -1 } });
    expect(() => parseNodeOptions({ nodeId: 'n1', connector: 'loop' })).toThrow(/loopDataDir/);
    expect(() => parseNodeOptions({ nodeId: 'bad id' })).toThrow(/node id/);
  });
  test('blkid export output', () => {
    expect(parseExport('DEVNAME=/dev/loop0\nTYPE=ext4\nUUID=a=b\n')).toEqual({ DEVNAME: '/dev/loop0', TYPE: 'ext4', UUID: 'a=b' });
  });
});
