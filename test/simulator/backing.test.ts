/** Backing-file helpers: sparse creation, growth, and the hole-skipping copy fallback. */
import { openSync, readFileSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { copyChunks, copySparse, createSparse, existingSize, growTo } from '../../src/simulator/model/backing';
import { MiB, tempDir } from './helpers';

describe('backing files', () => {
  const dir = tempDir();

  it('creates a sparse file with parents and grows it without shrinking', async () => {
    const f = join(dir, 'a', 'b', 'x.img');
    await createSparse(f, 64 * MiB);
    expect(statSync(f).size).toBe(64 * MiB);
    expect(statSync(f).blocks * 512).toBeLessThan(MiB);
    await growTo(f, 128 * MiB);
    await growTo(f, MiB);
    expect(await existingSize(f)).toBe(128 * MiB);
    expect(await existingSize(join(dir, 'a'))).toBe('dir');
    expect(await existingSize(join(dir, 'nope'))).toBeNull();
    await expect(createSparse(f, 1)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it.each([
    ['copyChunks', copyChunks],
    ['copySparse', copySparse],
  ])('%s copies data and keeps holes', async (name, copy) => {
    const src = join(dir, `${name}-src.img`);
    await createSparse(src, 32 * MiB + 5);
    const fd = openSync(src, 'r+');
    writeSync(fd, Buffer.from('head'), 0, 4, 0);
    writeSync(fd, Buffer.from('tail!'), 0, 5, 32 * MiB);
    closeSync(fd);
    const dst = join(dir, 'copies', `${name}.img`);
    await copy(src, dst);
    const st = statSync(dst);
    expect(st.size).toBe(32 * MiB + 5);
    expect(st.blocks * 512).toBeLessThan(8 * MiB);
    const data = readFileSync(dst);
    expect(data.subarray(0, 4).toString()).toBe('head');
    expect(data.subarray(32 * MiB).toString()).toBe('tail!');
  });

  it.each([
    ['copyChunks', copyChunks],
    ['copySparse', copySparse],
  ])('%s with overwrite replaces an existing file entirely (no stale data in the holes)', async (name, copy) => {
    const src = join(dir, `${name}-ow-src.img`);
    await createSparse(src, 4 * MiB);
    const fd = openSync(src, 'r+');
    writeSync(fd, Buffer.from('new'), 0, 3, 0);
    closeSync(fd);
    const dst = join(dir, `${name}-ow-dst.img`);
    writeFileSync(dst, Buffer.alloc(6 * MiB, 0x55));
    await copy(src, dst, { overwrite: true });
    const data = readFileSync(dst);
    expect(data.length).toBe(4 * MiB);
    expect(data.equals(readFileSync(src))).toBe(true);
  });

  it('stops a copy when its signal aborts', async () => {
    const src = join(dir, 'abort-src.img');
    await createSparse(src, 4 * MiB);
    const ctl = new AbortController();
    ctl.abort(new Error('closing'));
    await expect(copyChunks(src, join(dir, 'abort-dst.img'), { signal: ctl.signal })).rejects.toThrow('closing');
    await expect(copySparse(src, join(dir, 'abort-dst2.img'), { overwrite: true, signal: ctl.signal })).rejects.toThrow('closing');
  });
});
