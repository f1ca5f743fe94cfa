/** `/file remove` never deletes through a mount or under a loop device on the simulator's host. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attrsOf, WireClient } from '../support/wire-client';
import { startHarness, type SimHarness } from './helpers';
import { describeIf, IS_ROOT, ROOT_REASON } from '../support/prereq';

describeIf(IS_ROOT, ROOT_REASON)('/file remove with something of the host in the way', () => {
  let h: SimHarness;
  let c: WireClient;
  const undo: Array<() => void> = [];
  beforeAll(async () => {
    h = await startHarness();
    c = await h.client();
  });
  afterAll(async () => {
    for (const u of undo.splice(0).reverse()) u();
    await h.stop();
  });

  const idOf = async (name: string): Promise<string> => WireClient.rows(await c.call(['/file/print', `?name=${name}`], 'f'))[0]?.['.id'] ?? '';

  it.each([
    [
      'a tmpfs mounted in the directory',
      'mounted',
      (dir: string): string => {
        const mnt = join(dir, 'mnt');
        mkdirSync(mnt, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
        undo.push(() => execFileSync('umount', [mnt]));
        writeFileSync(join(mnt, 'precious'), 'data');
        return join(mnt, 'precious');
      },
    ],
    [
      'a loop device on a file in the directory',
      'looped',
      (dir: string): string => {
        mkdirSync(dir, { recursive: true });
        const img = join(dir, 'orphan.img');
        writeFileSync(img, 'data');
        truncateSync(img, 1024 * 1024);
        const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
        undo.push(() => execFileSync('losetup', ['-d', dev]));
        return img;
      },
    ],
  ])('refuses %s and removes nothing', async (_name, sub, setUp) => {
    const survivor = setUp(join(h.dir, 'pool', sub));
    const r = await c.call(['/file/remove', `=.id=${await idOf(`pool/${sub}`)}`], 'r');
    expect(r[0]?.[0]).toBe('!trap');
    expect(attrsOf(r[0] ?? []).message).toMatch(/in use on the simulator's host/);
    expect(readFileSync(survivor).subarray(0, 4).toString()).toBe('data');
    for (const u of undo.splice(0).reverse()) u();
    expect(await c.call(['/file/remove', `=.id=${await idOf(`pool/${sub}`)}`], 'r2')).toEqual([['!done', '.tag=r2']]);
    expect(existsSync(join(h.dir, 'pool', sub))).toBe(false);
  });
});
