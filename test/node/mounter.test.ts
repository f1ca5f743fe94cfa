import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MountTable, type MountEntry } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import { Sysfs } from '../../src/host/sysfs';
import { mounter } from '../../src/node/mounter';
import { toolResult, type Reply } from './scripted-node';

/**
 * mounter.ts in-process (issue 19 item 2, node-mounter mutants): the exact mount/umount command lines, how a tool's
 * failure becomes an error kind (exit 32 of a mount: precondition; timeout: unavailable; anything else: internal),
 * the unmount loop over a stacked mount table (each layer vetted first, a refusal stops it, a bound of 64), and
 * removal that never recurses (real files in a temp dir). The host's tools are scripted and recorded; the mount table
 * is a list the scripted umount pops — nothing on this machine is mounted.
 */

function entry(mountPoint: string, minor: number): MountEntry {
  return {
    mountId: 100 + minor,
    parentId: 1,
    major: 7,
    minor,
    root: '/',
    mountPoint,
    options: ['rw'],
    optional: [],
    fsType: 'ext4',
    source: `/dev/loop${minor}`,
    superOptions: ['rw'],
  };
}

function scripted(reply: (cmd: string, args: readonly string[]) => Reply = () => ({})) {
  const calls: string[] = [];
  const table: MountEntry[] = [];
  /** What a successful umount does: pops the top mount at its path (false: the mount stays, as a stuck one would). */
  let umountPops = true;
  const host: HostPort = {
    sysfs: new Sysfs('/nonexistent-sysfs'),
    devRoot: '/dev',
    mounts: () => Promise.resolve(new MountTable([...table])),
    run: (command, args, opts) => {
      calls.push([command, ...args].join(' '));
      const r = reply(command, args);
      const code = r.code === undefined ? 0 : r.code;
      if (command === 'umount' && code === 0 && !r.timedOut && umountPops) {
        const at = table.map((e) => e.mountPoint).lastIndexOf(args[0] ?? '');
        if (at >= 0) table.splice(at, 1);
      }
      return Promise.resolve(toolResult(command, args, r, opts.timeoutMs));
    },
  };
  return { host, calls, table, stick: () => (umountPops = false), m: mounter(host) };
}

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'rds-csi-mounter-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('mount and bind: command lines', () => {
  test('mount passes the type, the options joined by commas, the source and the target', async () => {
    const s = scripted();
    await s.m.mount('/dev/loop3', '/t', 'xfs', ['nouuid', 'ro'], 1000);
    await s.m.mount('/dev/loop3', '/t', 'ext4', [], 1000);
    expect(s.calls).toEqual(['mount -t xfs -o nouuid,ro /dev/loop3 /t', 'mount -t ext4 /dev/loop3 /t']);
  });

  test('bind read-write is one mount; read-only remounts the bind with ro', async () => {
    const s = scripted();
    await s.m.bind('/s', '/t', false, 1000);
    expect(s.calls).toEqual(['mount --bind /s /t']);
    await s.m.bind('/s', '/u', true, 1000);
    expect(s.calls.slice(1)).toEqual(['mount --bind /s /u', 'mount -o remount,bind,ro /u']);
  });

  test('a failed bind is not followed by the read-only remount', async () => {
    const s = scripted(() => ({ code: 1, stderr: 'no such dir' }));
    await expect(s.m.bind('/s', '/t', true, 1000)).rejects.toThrow('bind mount of /s at /t failed: mount --bind /s /t exited 1: no such dir');
    expect(s.calls).toEqual(['mount --bind /s /t']);
  });
});

describe('a failing tool: the error kind', () => {
  // [what, reply, mount's kind, bind's kind]: only mount's exit 32 is the volume's condition (precondition).
  test.each<[string, Reply, string, string]>([
    ['exit 32 (mount failure)', { code: 32, stderr: 'wrong fs type' }, 'precondition', 'internal'],
    ['exit 1 (usage)', { code: 1, stderr: 'bad usage' }, 'internal', 'internal'],
    ['a timeout', { code: 0, timedOut: true }, 'unavailable', 'unavailable'],
    ['a timeout as it exits 32', { code: 32, timedOut: true }, 'unavailable', 'unavailable'],
  ])('%s', async (_what, reply, mountKind, bindKind) => {
    const s = scripted(() => reply);
    const mountErr = await s.m.mount('/dev/loop3', '/t', 'ext4', [], 1000).catch((e: unknown) => e);
    expect(mountErr).toMatchObject({ name: 'HostError', kind: mountKind });
    expect((mountErr as Error).message).toMatch(/^mounting \/dev\/loop3 at \/t failed: mount -t ext4 \/dev\/loop3 \/t /);
    const bindErr = await s.m.bind('/s', '/t', false, 1000).catch((e: unknown) => e);
    expect(bindErr).toMatchObject({ name: 'HostError', kind: bindKind });
  });
});

describe('unmountAll', () => {
  test('unmounts layer by layer, top first, each vetted before its umount; returns the count', async () => {
    const s = scripted();
    const t = path.join(dir, 'target');
    s.table.push(entry('/elsewhere', 9), entry(t, 1), entry(t, 2), entry(t, 3));
    const vetted: number[] = [];
    const n = await s.m.unmountAll(t, 1000, (top) => {
      vetted.push(top.minor);
      expect(s.calls.length).toBe(vetted.length - 1); // vetted before its umount ran
      return Promise.resolve();
    });
    expect(n).toBe(3);
    expect(vetted).toEqual([3, 2, 1]);
    expect(s.calls).toEqual([`umount ${t}`, `umount ${t}`, `umount ${t}`]);
    expect(s.table.map((e) => e.mountPoint)).toEqual(['/elsewhere']);
    expect(await s.m.unmountAll(t, 1000, () => Promise.resolve())).toBe(0);
  });

  test('the path is matched as the mount table spells it (parent resolved)', async () => {
    const s = scripted();
    mkdirSync(path.join(dir, 'real'));
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const t = path.join(dir, 'real', 'target');
    s.table.push(entry(t, 4));
    expect(await s.m.mountAt(path.join(dir, 'link', 'target'))).toMatchObject({ minor: 4 });
    expect(await s.m.unmountAll(path.join(dir, 'link', 'target'), 1000, () => Promise.resolve())).toBe(1);
    expect(s.calls).toEqual([`umount ${t}`]);
  });

  test('a refused layer stops everything: it and what is under it stay mounted', async () => {
    const s = scripted();
    const t = path.join(dir, 'target');
    s.table.push(entry(t, 1), entry(t, 2), entry(t, 3));
    const err = await s.m
      .unmountAll(t, 1000, (top) => (top.minor === 2 ? Promise.reject(new Error('not ours')) : Promise.resolve()))
      .catch((e: unknown) => e);
    expect(err).toEqual(new Error('not ours'));
    expect(s.calls).toEqual([`umount ${t}`]);
    expect(s.table.map((e) => e.minor)).toEqual([1, 2]);
  });

  test.each<[string, Reply, string]>([
    ['umount exits non-zero', { code: 32, stderr: 'target is busy' }, 'internal'],
    ['umount times out', { code: 0, timedOut: true }, 'unavailable'],
  ])('%s with the path still a mountpoint: an error naming it', async (_what, reply, kind) => {
    const s = scripted(() => reply);
    const t = path.join(dir, 'target');
    s.table.push(entry(t, 1));
    const err = await s.m.unmountAll(t, 1000, () => Promise.resolve()).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'HostError', kind });
    expect((err as Error).message).toMatch(new RegExp(`^unmount of ${t} failed: umount ${t} `));
  });

  test('umount exits non-zero but the path is no longer a mountpoint (gone meanwhile): counted, not an error', async () => {
    const s = scripted(() => ({ code: 32, stderr: 'not mounted' }));
    const t = path.join(dir, 'target');
    s.table.push(entry(t, 1));
    const n = await s.m.unmountAll(t, 1000, () => {
      s.table.pop(); // someone else unmounted it between the vet and our umount
      return Promise.resolve();
    });
    expect(n).toBe(1);
  });

  test('a mount that never goes away: stops after 64 unmounts with an error', async () => {
    const s = scripted();
    s.stick();
    const t = path.join(dir, 'target');
    s.table.push(entry(t, 1));
    const err = await s.m.unmountAll(t, 1000, () => Promise.resolve()).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'HostError', kind: 'internal', message: `${t} is still a mountpoint after 64 unmounts` });
    expect(s.calls).toHaveLength(64);
  });
});

describe('removeNonRecursive (real files)', () => {
  test.each<[string, (p: string) => void, 'removed' | 'absent' | 'left', boolean]>([
    ['absent', () => undefined, 'absent', false],
    ['an empty directory', (p) => mkdirSync(p), 'removed', false],
    ['a directory with a file in it', (p) => (mkdirSync(p), writeFileSync(path.join(p, 'data'), 'x')), 'left', true],
    ['an empty file', (p) => writeFileSync(p, ''), 'removed', false],
    ['a file with data', (p) => writeFileSync(p, 'data'), 'left', true],
    ['a symlink (its target stays)', (p) => symlinkSync(path.join(dir, 'keep'), p), 'removed', false],
    ['a character device node (root: mknod)', (p) => execFileSync('mknod', [p, 'c', '1', '3']), 'removed', false],
    ['a block device node (root: mknod; never opened)', (p) => execFileSync('mknod', [p, 'b', '7', '250']), 'removed', false],
    ['a fifo', (p) => execFileSync('mkfifo', [p]), 'left', true],
  ])('%s', async (_what, make, want, stays) => {
    writeFileSync(path.join(dir, 'keep'), 'kept');
    const s = scripted();
    const p = path.join(dir, 'target');
    make(p);
    expect(await s.m.removeNonRecursive(p)).toBe(want);
    expect(existsSync(p)).toBe(stays);
    expect(readFileSync(path.join(dir, 'keep'), 'utf8')).toBe('kept');
  });

  test('a path that is still a mountpoint is refused and left', async () => {
    const s = scripted();
    const p = path.join(dir, 'target');
    mkdirSync(p);
    s.table.push(entry(p, 1));
    await expect(s.m.removeNonRecursive(p)).rejects.toMatchObject({
      name: 'HostError',
      kind: 'internal',
      message: `${p} is still a mountpoint; not removing it`,
    });
    expect(existsSync(p)).toBe(true);
  });
});
