/**
 * The node-routeros `!trap` adapter (src/rds/trap-reply-patch.ts) keeps the trap's category, which RouterOS sends "on
 * some occasions" (MikroTik API manual, !trap), and the classifier uses it: over real TCP against the simulator.
 */
import { status } from '@grpc/grpc-js';
import { RdsError, RosTrapError } from '../../src/rds';
import { statusOf } from '../../src/grpc/errors';
import { RouterOsClient } from '../../src/rds/routeros-client';
import { isTrapReplyPatchApplied, parseTrapWords } from '../../src/rds/trap-reply-patch';
import { GiB, startHarness, type Harness } from './support';

describe('!trap category through node-routeros', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const add = (slot: string): Promise<unknown> =>
    h.rds.addDisk({ slot, filePath: `/pool/vols/${slot}.img`, fileSizeBytes: GiB }).catch((e: unknown) => e);

  it('is applied by loading the client', () => {
    expect(isTrapReplyPatchApplied()).toBe(true);
  });

  it('rejects with the message and the category RouterOS sent', async () => {
    const client = new RouterOsClient({
      host: '127.0.0.1',
      port: h.sim.port,
      user: 'admin',
      password: 'secret',
      connectTimeoutMs: 1000,
      callTimeoutMs: 2000,
    });
    try {
      h.sim.faults.trapNext('/disk/add', 'failure: a=b', 1, 4);
      const err = await client.write('/disk/add', ['=type=file']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RosTrapError);
      expect(err).toMatchObject({ message: 'failure: a=b', category: 4 });
      h.sim.faults.trapNext('/disk/add', 'no category here');
      const bare = await client.write('/disk/add', ['=type=file']).catch((e: unknown) => e);
      expect(bare).toBeInstanceOf(RosTrapError);
      expect((bare as RosTrapError).category).toBeUndefined();
      // The simulator's own traps carry documented categories: an unknown .id is category 0 `no such item`.
      const missing = await client.write('/disk/remove', ['=.id=*FFFF']).catch((e: unknown) => e);
      expect(missing).toMatchObject({ message: 'no such item', category: 0 });
      expect(await client.write('/disk/print', ['=count-only=', '?type=file'])).toEqual([{ ret: '0' }]); // connection still fine
    } finally {
      await client.close();
    }
  });

  it.each<[string, number, status, RdsError['kind']]>([
    ['value of zorb out of range', 1, status.INVALID_ARGUMENT, 'invalid'],
    ['command stopped', 2, status.UNAVAILABLE, 'unavailable'],
    ['no such zorb', 0, status.NOT_FOUND, 'not-found'],
  ])('classifies an unknown text by its category: "%s" category %d', async (message, category, code, kind) => {
    h.sim.faults.trapNext('/disk/add', message, 1, category);
    const err = await add('pvc-cat');
    expect(err).toBeInstanceOf(RdsError);
    expect(err).toMatchObject({ kind });
    expect(statusOf(err)).toBe(code);
    expect((err as RdsError).message).toContain(`"${message}" (trap category ${category}`);
  });

  it('still refuses a bad login as a login failure', async () => {
    const bad = h.make({ password: 'wrong' });
    await expect(bad.ping()).rejects.toMatchObject({ kind: 'precondition', message: expect.stringMatching(/login|password/) as unknown });
  });

  it.each<[string[], { message: string; category?: number }]>([
    [
      ['=category=1', '=message=input does not match any value of interface'],
      { message: 'input does not match any value of interface', category: 1 },
    ],
    [['=message=a=b=c'], { message: 'a=b=c' }],
    [['=category=9', '=message=x'], { message: 'x' }],
    [['=category=', '=message='], { message: '' }],
    [['.tag=5', '=message=y', '=category=2'], { message: 'y', category: 2 }],
  ])('parses trap words %j', (words, expected) => {
    expect(parseTrapWords(words)).toEqual(expected);
  });
});
