/**
 * Prints that name one item (`?slot=`, `?.id=`, `?file-path=`, `?model=`, `?mount-point=` on /disk; `?name=`,
 * `?.id=` on /file) are answered from indexes: the same rows as a full scan filtered by the same query, while the
 * rows they build do not grow with the number of items. And the model lock covers the change, not its state write.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseSentence, type Command, type CommandResult } from '../../src/simulator/command';
import { DEFAULT_MESSAGES } from '../../src/simulator/messages';
import { diskRow, poolRow } from '../../src/simulator/model/disk-row';
import { diskAdd, diskPrint, diskRemove, diskSet } from '../../src/simulator/model/disks';
import { filePrint } from '../../src/simulator/model/files';
import { SimModel } from '../../src/simulator/model/model';
import { Pool } from '../../src/simulator/model/pool';
import { runPrint } from '../../src/simulator/print';
import { removeDirSafely } from '../../src/host/safe-remove';
import { GiB, tempDir } from './helpers';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.INDEXED_PRINT_RUNS ?? 60);

const cmd = (...words: string[]): Command => parseSentence(words);

/** With a pool size (free = size − allocated, measured by walking the pool) or the host's statfs. */
async function openModel(dir: string, poolSize: number | undefined = 100 * GiB): Promise<SimModel> {
  return SimModel.open(new Pool(dir, 'pool', poolSize, DEFAULT_MESSAGES), DEFAULT_MESSAGES, 'btrfs');
}

/** The old way: every row, then the query. */
async function diskScan(model: SimModel, c: Command): Promise<CommandResult> {
  const rows = [poolRow(model.pool.name, model.poolFs, await model.pool.capacity()), ...model.disks.all().map(diskRow)];
  return runPrint(rows, c);
}

async function fileScan(model: SimModel, c: Command): Promise<CommandResult> {
  return runPrint((await filePrint(model, cmd('/file/print'))).rows, c);
}

const SLOTS = ['a', 'b', 'c', 'd', 'e', '*5', 'x-1'];

describe('indexed prints', () => {
  let dir: string;
  let model: SimModel;
  beforeAll(async () => {
    dir = tempDir();
    model = await openModel(dir);
    // Disks added, one removed, one renamed: the indexes follow add, remove and set slot.
    for (const [i, s] of SLOTS.entries()) {
      await diskAdd(model, cmd('/disk/add', '=type=file', `=slot=${s}`, `=file-path=/pool/${i % 2 ? 'd' : 'e'}/${i}.img`, '=file-size=1M'));
    }
    await diskRemove(model, cmd('/disk/remove', '=numbers=c'));
    await diskSet(model, cmd('/disk/set', '=numbers=d', '=slot=d2', '=comment=renamed'));
    writeFileSync(join(dir, 'pool', 'loose.txt'), 'x');
    mkdirSync(join(dir, 'pool', 'e', 'sub'));
    symlinkSync(join(dir, 'pool', 'd'), join(dir, 'pool', 'link'));
  });
  afterAll(async () => {
    await model.close();
    await model.flush();
    removeDirSafely(dir);
  });

  it('/disk/print by each key of each item finds that item, as a full scan does', async () => {
    const all = (await diskScan(model, cmd('/disk/print'))).rows;
    for (const row of all) {
      for (const prop of ['.id', 'slot', 'file-path', 'model', 'mount-point']) {
        if (row[prop] === undefined) continue;
        const c = cmd('/disk/print', `?${prop}=${row[prop]}`);
        const got = await diskPrint(model, c);
        expect(got).toEqual(await diskScan(model, c));
        expect(got.rows).toContainEqual(row);
      }
    }
  });

  it('/disk/print by a key gives the rows of a full scan filtered by the same query', async () => {
    const ids = model.disks.all().map((d) => d.id);
    const values = [...SLOTS, 'd2', 'pool', 'RAID', '*1', '*2', ...ids, ...ids.map((i) => i.toLowerCase()), 'nope', ''];
    const paths = model.disks.all().map((d) => d.filePath);
    const word = fc.oneof(
      fc
        .tuple(fc.constantFrom('.id', 'slot', 'file-path', 'model', 'mount-point', 'comment'), fc.constantFrom(...values, ...paths), fc.boolean())
        .map(([p, v, eqForm]) => (eqForm ? `?=${p}=${v}` : `?${p}=${v}`)),
      fc.constantFrom('?type=file', '?type=raid', '?-comment', '?comment', '?>size=0', '?<slot=c', '?#!', '?#|', '?#&', '?#0'),
    );
    const proplist = fc.constantFrom(undefined, '.id,slot', 'slot,file-path,model,mount-point,.id', 'size', '.id');
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 4 }), proplist, fc.boolean(), async (words, props, countOnly) => {
        const c = cmd('/disk/print', ...(props === undefined ? [] : [`=.proplist=${props}`]), ...(countOnly ? ['=count-only='] : []), ...words);
        expect(await diskPrint(model, c)).toEqual(await diskScan(model, c));
      }),
      { seed, numRuns },
    );
  });

  it('/file/print by the name or .id of each entry finds that entry, as a full scan does', async () => {
    const all = (await filePrint(model, cmd('/file/print'))).rows;
    for (const row of all) {
      for (const prop of ['name', '.id']) {
        const c = cmd('/file/print', `?${prop}=${row[prop]}`);
        expect((await filePrint(model, c)).rows).toEqual([row]);
      }
    }
  });

  it('/file/print by name or .id gives the rows of a full scan filtered by the same query', async () => {
    const listed = (await filePrint(model, cmd('/file/print'))).rows;
    const names = [
      ...listed.map((r) => r.name),
      'pool/link/1.img',
      'pool/../pool/loose.txt',
      'pool//loose.txt',
      'pool/none',
      '/pool/loose.txt',
      'loose.txt',
      'pool/e/sub/',
    ];
    const ids = [...listed.map((r) => r['.id']), '*FFFF', listed[1]['.id'].toLowerCase()];
    const word = fc.oneof(
      fc
        .tuple(fc.constantFrom('name', '.id'), fc.constantFrom(...names, ...ids), fc.boolean())
        .map(([p, v, eqForm]) => (eqForm ? `?=${p}=${v}` : `?${p}=${v}`)),
      fc.constantFrom('?type=directory', '?type=.img file', '?size', '?-size', '?#!', '?#|'),
    );
    const proplist = fc.constantFrom(undefined, '.id,name,size', 'size', 'name');
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 3 }), proplist, async (words, props) => {
        const c = cmd('/file/print', ...(props === undefined ? [] : [`=.proplist=${props}`]), ...words);
        expect(await filePrint(model, c)).toEqual(await fileScan(model, c));
      }),
      { seed, numRuns },
    );
    // IDs stay as the full listing gave them.
    expect((await filePrint(model, cmd('/file/print'))).rows).toEqual(listed);
  });
});

describe('print cost', () => {
  it.each([10, 200])('with %i disks a print by slot, .id, mount-point or name builds only the row it answers', async (n) => {
    const dir = tempDir();
    const model = await openModel(dir, undefined);
    try {
      for (let i = 0; i < n; i++)
        await diskAdd(model, cmd('/disk/add', '=type=file', `=slot=s${i}`, `=file-path=/pool/v/s${i}.img`, '=file-size=4k'));
      await filePrint(model, cmd('/file/print')); // every file gets its ID
      /** Rows built, and the rows (or count) answered. */
      const cost = async (c: Command): Promise<[number, number]> => {
        const before = model.rowsBuilt;
        const r = c.path === '/file/print' ? await filePrint(model, c) : await diskPrint(model, c);
        return [model.rowsBuilt - before, r.rows.length + Number(r.done?.ret ?? 0)];
      };
      const k = Math.floor(n / 2);
      const id = model.disks.bySlot(`s${k}`)[0].id;
      expect(await cost(cmd('/disk/print', '=.proplist=.id,slot,type', `?slot=s${k}`, '?type=file'))).toEqual([1, 1]);
      expect(await cost(cmd('/disk/print', `?.id=${id}`))).toEqual([1, 1]);
      expect(await cost(cmd('/disk/print', '=count-only=', '?mount-point=pool'))).toEqual([1, 1]);
      expect(await cost(cmd('/file/print', '=.proplist=.id,name,size', `?name=pool/v/s${k}.img`))).toEqual([1, 1]);
      expect(await cost(cmd('/file/print', `?name=pool/v/none.img`))).toEqual([0, 0]);
      // A query that names no single item still builds every row (`?#|`: slot=pool OR true).
      expect(await cost(cmd('/disk/print', '=count-only=', '?slot=pool', '?#|'))).toEqual([n + 1, n + 1]);
    } finally {
      await model.close();
      await model.flush();
      removeDirSafely(dir);
    }
  });
});

describe('lock scope', () => {
  it('the state write after a change (and afterChange) runs outside the lock, yet before the reply', async () => {
    const dir = tempDir();
    const model = await openModel(dir);
    try {
      await diskAdd(model, cmd('/disk/add', '=type=file', '=slot=g', '=file-path=/pool/g.img', '=file-size=4k'));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      model.afterChange = () => gate;
      const events: string[] = [];
      const set = diskSet(model, cmd('/disk/set', '=numbers=g', '=comment=held')).then(() => events.push('set replied'));
      // While the write of the set waits, another command gets the lock and answers (and sees the change).
      const printed = await diskPrint(model, cmd('/disk/print', '?slot=g'));
      events.push('print replied');
      expect(printed.rows[0].comment).toBe('held');
      open();
      await set;
      expect(events).toEqual(['print replied', 'set replied']);
    } finally {
      model.afterChange = undefined;
      await model.close();
      await model.flush();
      removeDirSafely(dir);
    }
  });
});
