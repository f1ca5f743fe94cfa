import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectoryInUseError, holdersUnder, removeDirSafely } from '../../src/host/safe-remove';
import { describeIf, IS_ROOT, ROOT_REASON } from '../support/prereq';

/**
 * removeDirSafely refuses a tree with a live mount or an attached loop device in it, and touches nothing then:
 * real tmpfs mounts and real loop devices (the tests run as root).
 */
const d = describeIf(IS_ROOT, ROOT_REASON);

d('removeDirSafely', () => {
  let dir: string;
  const cleanups: Array<() => void> = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-saferm-'));
  });
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
    removeDirSafely(dir);
  });

  const mountTmpfs = (at: string): void => {
    mkdirSync(at, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at]);
    cleanups.push(() => execFileSync('umount', [at]));
  };

  test.each([
    ['a mount deep under the directory', 'a/b/mnt'],
    ['a mount at the directory itself', '.'],
  ])('refuses %s and the files under the mount survive', (_name, rel) => {
    const mnt = path.join(dir, rel);
    mountTmpfs(mnt);
    writeFileSync(path.join(mnt, 'precious'), 'data');
    writeFileSync(path.join(dir, 'sibling'), 'x');
    let err: unknown;
    try {
      removeDirSafely(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DirectoryInUseError);
    expect((err as Error).message).toContain(`tmpfs tmpfs is mounted at ${path.resolve(mnt)}`);
    expect(readFileSync(path.join(mnt, 'precious'), 'utf8')).toBe('data');
    expect(existsSync(path.join(dir, 'sibling'))).toBe(true);
  });

  test('refuses a directory holding the backing file of a loop device', () => {
    const img = path.join(dir, 'pool', 'disk.img');
    mkdirSync(path.dirname(img));
    writeFileSync(img, '');
    truncateSync(img, 1024 * 1024);
    const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
    cleanups.push(() => execFileSync('losetup', ['-d', dev]));
    expect(holdersUnder(dir)).toEqual([`${dev} is attached to ${img}`]);
    expect(() => removeDirSafely(dir)).toThrow(`${dev} is attached to ${img}`);
    expect(existsSync(img)).toBe(true);
  });

  test('a mount next to the directory (a shared name prefix) does not count; the directory is removed', () => {
    const twin = `${dir}-twin`;
    cleanups.push(() => removeDirSafely(twin));
    mountTmpfs(twin);
    mkdirSync(path.join(dir, 'x', 'y'), { recursive: true });
    removeDirSafely(dir);
    expect(existsSync(dir)).toBe(false);
  });

  test('a missing directory is nothing to do', () => {
    expect(() => removeDirSafely(path.join(dir, 'gone'))).not.toThrow();
  });
});
