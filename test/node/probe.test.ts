import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Failure } from '../../src/domain/failure';
import { hostPort } from '../../src/host/port';
import type { ToolResult, ToolRunner } from '../../src/host/run';
import type { BlockDevice } from '../../src/node/connector';
import { parseExport, probeDevice } from '../../src/node/probe';
import { describeRoot } from './support';

/**
 * probeDevice's decisions, one by one (mutation tier, issue 19 item 2; format-safety.test.ts covers them end to end
 * through NodeStageVolume on loop devices). The device is a real block device node made with mknod (never opened),
 * its size a file in a fake sysfs, and blkid and dd scripted answers recorded with their arguments: each case
 * checks the answer (kind and exact message) and which tools ran how.
 */
type Answer = Partial<ToolResult>;
const MAJOR = 7;
const MINOR = 200;

describeRoot('probeDevice', () => {
  let dir: string;
  let devPath: string;
  let sizeFile: string;
  let calls: Array<{ cmd: string; args: readonly string[]; timeoutMs?: number }>;
  let blkid: Answer;
  let dd: (skip: number) => Answer;
  let duringBlkid: (() => void) | undefined;

  const run: ToolRunner = (cmd, args, opts) => {
    calls.push({ cmd, args, timeoutMs: opts?.timeoutMs });
    let a: Answer;
    if (cmd === 'blkid') {
      duringBlkid?.();
      a = blkid;
    } else if (cmd === 'dd') a = dd(Number(/^skip=(\d+)$/.exec(args.find((x) => x.startsWith('skip=')) ?? '')?.[1]));
    else throw new Error(`unexpected tool ${cmd}`);
    return Promise.resolve({ command: cmd, args, signal: null, durationMs: 1, code: 0, stdout: '', stderr: '', timedOut: false, ...a });
  };
  const dev = (over: Partial<BlockDevice> = {}): BlockDevice => ({
    name: 'probe0',
    path: devPath,
    major: MAJOR,
    minor: MINOR,
    sizeBytes: 0,
    ...over,
  });
  const mknod = (minor: number): void => {
    rmSync(devPath, { force: true });
    execFileSync('mknod', [devPath, 'b', String(MAJOR), String(minor)]);
  };
  const setSize = (bytes: number | undefined): void => {
    if (bytes === undefined) rmSync(sizeFile, { force: true });
    else writeFileSync(sizeFile, `${bytes / 512}\n`);
  };
  const probe = (d = dev()) => probeDevice(hostPort({ run, sysfsRoot: path.join(dir, 'sys') }), d, 4321);
  const failure = (p: Promise<unknown>): Promise<[string, string]> =>
    p.then(
      (v) => {
        throw new Error(`resolved with ${JSON.stringify(v)}`);
      },
      (e: Failure) => [e.kind, e.message],
    );
  const zeros = (n: number): string => '\0'.repeat(n);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rds-csi-probe-'));
    devPath = path.join(dir, 'probe0');
    const block = path.join(dir, 'sys', 'dev', 'block', `${MAJOR}:${MINOR}`);
    mkdirSync(block, { recursive: true });
    sizeFile = path.join(block, 'size');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true }); // a device node and plain files only: nothing is ever mounted here
  });
  beforeEach(() => {
    mknod(MINOR);
    setSize(1024 * 1024);
    calls = [];
    blkid = { code: 2 };
    dd = (skip) => ({ stdout: zeros(skip === 0 ? 65536 : 65536) });
    duringBlkid = undefined;
  });

  it('parseExport: KEY=value lines, trimmed, the first "=" splits; lines without a key are skipped', () => {
    expect(parseExport(' TYPE = ext4 \nPTTYPE=dos\n=orphan\nno equals sign\nLABEL=a=b\n\n')).toEqual({ TYPE: 'ext4', PTTYPE: 'dos', LABEL: 'a=b' });
  });

  it.each<[string, Answer, unknown]>([
    ['a partition table (it wins over TYPE)', { stdout: 'DEVNAME=x\nTYPE=ext4\nPTTYPE=gpt\n' }, { kind: 'partitioned', ptType: 'gpt' }],
    ['a file system without USAGE', { stdout: 'TYPE=xfs\n' }, { kind: 'filesystem', type: 'xfs' }],
    ['a file system with USAGE=filesystem', { stdout: 'TYPE=ext4\nUSAGE=filesystem\n' }, { kind: 'filesystem', type: 'ext4' }],
    ['a LUKS header (USAGE=crypto)', { stdout: 'TYPE=crypto_LUKS\nUSAGE=crypto\n' }, { kind: 'other', type: 'crypto_LUKS' }],
    ['a RAID member (USAGE=raid)', { stdout: 'TYPE=linux_raid_member\nUSAGE=raid\n' }, { kind: 'other', type: 'linux_raid_member' }],
  ])('blkid exit 0 with %s', async (_what, answer, expected) => {
    blkid = { code: 0, ...answer };
    await expect(probe()).resolves.toEqual(expected);
    expect(calls).toEqual([{ cmd: 'blkid', args: ['-p', '-o', 'export', devPath], timeoutMs: 4321 }]);
  });

  it.each<[string, Answer, string]>([
    ['timed out', { code: null, signal: 'SIGKILL', timedOut: true }, 'probe did not finish'],
    ['killed by a signal', { code: null, signal: 'SIGTERM' }, 'probe did not finish'],
    // The timer fired as blkid exited by itself (runTool reports code 0 and timedOut): its answer is not believed.
    ['timed out while exiting 0 with TYPE', { code: 0, stdout: 'TYPE=ext4\n', timedOut: true }, 'probe did not finish'],
    ['exit 0 without TYPE or PTTYPE', { code: 0, stdout: 'DEVNAME=/dev/x\nUSAGE=filesystem\n' }, 'blkid succeeded without TYPE or PTTYPE'],
    ['exit 2 printing on stdout', { code: 2, stdout: 'TYPE=ext4\n' }, 'blkid found nothing but printed something'],
    ['exit 2 printing on stderr', { code: 2, stderr: 'blkid: error: Input/output error' }, 'blkid found nothing but printed something'],
    ['exit 4', { code: 4 }, 'blkid exit 4'],
    ['exit 8 (ambivalent)', { code: 8 }, 'blkid exit 8'],
    ['exit 1', { code: 1 }, 'blkid exit 1'],
  ])('blkid %s: INTERNAL, never empty, nothing read', async (_what, answer, why) => {
    blkid = answer;
    const [kind, message] = await failure(probe());
    expect(kind).toBe('internal');
    expect(message).toMatch(
      new RegExp(
        `^cannot tell whether ${devPath} holds data \\(${why.replace(/[()]/g, '\\$&')}\\); refusing to format: blkid -p -o export ${devPath} `,
      ),
    );
    expect(calls.map((c) => c.cmd)).toEqual(['blkid']);
  });

  it.each<[string, () => void, string]>([
    ['not a block device', () => (unlinkSync(devPath), writeFileSync(devPath, '')), 'is not a block device'],
    ['another minor', () => mknod(MINOR + 1), `is ${MAJOR}:${MINOR + 1}, expected ${MAJOR}:${MINOR}`],
    ['size 0', () => setSize(0), 'has size 0 (device not ready)'],
    ['no size in sysfs', () => setSize(undefined), 'has size 0 (device not ready)'],
  ])('before blkid, %s: UNAVAILABLE and blkid never runs', async (_what, change, msg) => {
    change();
    await expect(failure(probe())).resolves.toEqual(['unavailable', `probe before blkid: ${devPath} ${msg}`]);
    expect(calls).toEqual([]);
  });

  it('a device of another major is refused too', async () => {
    await expect(failure(probe(dev({ major: MAJOR + 1 })))).resolves.toEqual([
      'unavailable',
      `probe before blkid: ${devPath} is ${MAJOR}:${MINOR}, expected ${MAJOR + 1}:${MINOR}`,
    ]);
  });

  it('"nothing found" while the node was replaced: checked again after blkid, UNAVAILABLE, nothing read', async () => {
    duringBlkid = () => mknod(MINOR + 2);
    await expect(failure(probe())).resolves.toEqual([
      'unavailable',
      `probe after blkid: ${devPath} is ${MAJOR}:${MINOR + 2}, expected ${MAJOR}:${MINOR}`,
    ]);
    expect(calls.map((c) => c.cmd)).toEqual(['blkid']);
  });

  it('"nothing found" and all zeros at both ends: empty; reads the first and the last 16 blocks with O_DIRECT', async () => {
    setSize(20 * 4096 + 512); // 20 whole blocks and a sector: the last span starts at block 4
    await expect(probe()).resolves.toEqual({ kind: 'empty' });
    const ddArgs = (skip: number) => [`if=${devPath}`, 'bs=4096', 'count=16', `skip=${skip}`, 'iflag=direct', 'status=none'];
    expect(calls.slice(1)).toEqual([
      { cmd: 'dd', args: ddArgs(0), timeoutMs: 4321 },
      { cmd: 'dd', args: ddArgs(4), timeoutMs: 4321 },
    ]);
  });

  it('a device of at most 16 blocks is read once, and must yield all of its bytes', async () => {
    setSize(10 * 4096);
    dd = () => ({ stdout: zeros(10 * 4096) });
    await expect(probe()).resolves.toEqual({ kind: 'empty' });
    expect(calls.map((c) => c.args.find((a) => a.startsWith('skip=')))).toEqual([undefined, 'skip=0']);
    calls = [];
    dd = () => ({ stdout: zeros(10 * 4096 - 1) });
    await expect(failure(probe())).resolves.toEqual([
      'unavailable',
      `${devPath} at block 0: short read (${10 * 4096 - 1} of ${10 * 4096} bytes); refusing to format`,
    ]);
  });

  it.each<[string, (skip: number) => Answer, [string, string]]>([
    [
      'the first span cannot be read (EIO)',
      (skip) => (skip === 0 ? { code: 1, stderr: 'dd: error reading: Input/output error' } : { stdout: zeros(65536) }),
      [
        'unavailable',
        `${'DEV'} at block 0 cannot be read (dd if=DEV bs=4096 count=16 skip=0 iflag=direct status=none exited 1: dd: error reading: Input/output error); blkid's "nothing found" is not trusted: refusing to format`,
      ],
    ],
    [
      'the last span times out',
      (skip) => (skip === 0 ? { stdout: zeros(65536) } : { code: null, signal: 'SIGKILL', timedOut: true }),
      [
        'unavailable',
        `DEV at block 240 cannot be read (dd if=DEV bs=4096 count=16 skip=240 iflag=direct status=none timed out after 1 ms and was killed); blkid's "nothing found" is not trusted: refusing to format`,
      ],
    ],
    [
      'the last span timed out as dd exited 0',
      (skip) => (skip === 0 ? { stdout: zeros(65536) } : { code: 0, timedOut: true }),
      [
        'unavailable',
        `DEV at block 240 cannot be read (dd if=DEV bs=4096 count=16 skip=240 iflag=direct status=none timed out after 1 ms and was killed); blkid's "nothing found" is not trusted: refusing to format`,
      ],
    ],
    [
      'the last span is short',
      (skip) => ({ stdout: zeros(skip === 0 ? 65536 : 65535) }),
      ['unavailable', 'DEV at block 240: short read (65535 of 65536 bytes); refusing to format'],
    ],
    [
      'one non-zero byte in the last span',
      (skip) => ({ stdout: skip === 0 ? zeros(65536) : `${zeros(40000)}x${zeros(25535)}` }),
      ['precondition', 'DEV holds data blkid does not recognise (non-zero bytes at block 240); refusing to format it. Inspect the volume'],
    ],
    [
      'a non-zero byte at the very start',
      () => ({ stdout: `\u0001${zeros(65535)}` }),
      ['precondition', 'DEV holds data blkid does not recognise (non-zero bytes at block 0); refusing to format it. Inspect the volume'],
    ],
  ])('"nothing found" but %s: never empty', async (_what, answer, [kind, message]) => {
    dd = answer;
    await expect(failure(probe())).resolves.toEqual([kind, message.replaceAll('DEV', devPath)]);
  });
});
