import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { spawnCli } from '../support/processes';

/** `rds-csi all-in-one` without --data-dir makes its simulator dir in the temp dir and removes it when it stops. */
describe('all-in-one without --data-dir', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-aio-tmp-'));
  });
  afterAll(() => removeDirSafely(tmp));

  it('removes its rds-csi-sim-* directory on SIGTERM', async () => {
    const c = path.join(tmp, 'c.sock');
    const n = path.join(tmp, 'n.sock');
    // TMPDIR points os.tmpdir() of the child at a directory of this test's own.
    const aio = await spawnCli(
      ['all-in-one', '--controller-endpoint', `unix://${c}`, '--node-endpoint', `unix://${n}`, '--log-level', 'warn'],
      { TMPDIR: tmp },
      /^READY$/m,
    );
    const sims = readdirSync(tmp).filter((e) => e.startsWith('rds-csi-sim-'));
    expect(sims).toHaveLength(1);
    const exited = new Promise<number | null>((r) => aio.child.once('exit', (code) => r(code)));
    aio.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
