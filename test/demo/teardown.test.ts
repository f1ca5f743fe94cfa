import { Teardown } from '../../src/demo/steps';

/** The demo's teardown: last set up, first undone; every undo attempted even when one fails. */
describe('demo Teardown', () => {
  it('undoes in reverse order, attempts every step after a failure, and reports the failure', async () => {
    const done: string[] = [];
    const t = new Teardown();
    for (const k of ['create', 'attach', 'stage', 'publish']) {
      t.add(k, () => (k === 'stage' ? Promise.reject(new Error('device busy')) : Promise.resolve(done.push(k))));
    }
    const out: string[] = [];
    expect(await t.runAll((l) => out.push(l))).toBe(false);
    expect(done).toEqual(['publish', 'attach', 'create']);
    expect(out).toContain('    FAILED to undo stage: device busy');
    expect(t.pending).toBe(0);
  });

  it('a step undone on the normal path is not undone again; a failed one stays for the final teardown', async () => {
    const calls: string[] = [];
    let fail = true;
    const t = new Teardown();
    t.add('a', () => Promise.resolve(calls.push('a')));
    t.add('b', () => (fail ? Promise.reject(new Error('no')) : Promise.resolve(calls.push('b'))));
    await t.run('a');
    await expect(t.run('b')).rejects.toThrow('no');
    fail = false;
    expect(await t.runAll(() => undefined)).toBe(true);
    expect(calls).toEqual(['a', 'b']);
  });
});
