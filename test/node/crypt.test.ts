import { status } from '@grpc/grpc-js';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Failure } from '../../src/domain/failure';
import { hostPort } from '../../src/host/port';
import { runTool, type ToolRunner } from '../../src/host/run';
import { createLogger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import { cryptArgs, encryptionOf, mappingName, passphraseOf, PBKDF_MEMORY_KIB } from '../../src/node/crypt';
import { type NodeApp, startNode } from '../../src/runtime/node-app';
import { codeOf, CsiClient } from '../support/csi-client';
import { describeIf } from '../support/prereq';
import { BASE_PATH, blkidType, cleanupDir, IS_ROOT, loopDevicesUnder, MiB, MOUNT_CAP, NQN_PREFIX, testConfig, BLOCK_CAP } from './support';

/**
 * Encryption at rest on the node (issue 15 item 2), on this host: validation, the key's path (stdin only, never argv,
 * never a log line) and the stage decision table with the real probe and the real cryptsetup on loop devices. This
 * host has no device-mapper, so `cryptsetup open` cannot make a mapping here; the VM tier (test/vm/scenarios/luks.sh)
 * proves open/close/resize, the data path and outages on a real kernel.
 */

const KEY = 'correct horse battery staple \u00e9 7c1f';
const WRONG = 'not the passphrase 41d2';

describe('crypt rules', () => {
  it.each([
    ['pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', 'rds-csi-pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'],
    ['vol-a', 'rds-csi-vol-a'],
    ['vol-a@rack-b', 'rds-csi-vol-a'], // another backend's volume (issue 16): the slot's name
    ['Vol/../../x', /^rds-csi-[0-9a-f]{32}$/],
    ['a'.repeat(101), /^rds-csi-[0-9a-f]{32}$/],
    ['-leading-dash', /^rds-csi-[0-9a-f]{32}$/],
    ['x y;rm -rf', /^rds-csi-[0-9a-f]{32}$/],
  ])('mapping name of %j is bounded and safe', (id, want) => {
    const name = mappingName(id);
    if (typeof want === 'string') expect(name).toBe(want);
    else expect(name).toMatch(want);
    expect(name.length).toBeLessThan(128); // DM_NAME_LEN
    expect(name).toMatch(/^[a-z0-9-]+$/);
  });

  it('distinct ids that need hashing get distinct names', () => {
    expect(mappingName('A')).not.toBe(mappingName('B'));
  });

  it.each([
    [undefined, undefined],
    [{}, undefined],
    [{ encryption: '' }, undefined],
    [{ encryption: 'luks2' }, 'luks2'],
  ])('encryptionOf(%j) = %s', (ctx, want) => {
    expect(encryptionOf(ctx)).toBe(want);
  });

  it.each(['luks1', 'LUKS2', 'plain', 'true'])('encryption %s is INVALID_ARGUMENT', (v) => {
    expect(() => encryptionOf({ encryption: v })).toThrow(expect.objectContaining({ kind: 'invalid' }) as Failure);
  });

  it.each([[undefined], [{}], [{ encryptionPassphrase: '' }], [{ passphrase: KEY }]])(
    'passphrase missing in %j is INVALID_ARGUMENT naming the secret',
    (s) => {
      let err: unknown;
      try {
        passphraseOf(s, 'node-stage');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Failure);
      expect((err as Failure).kind).toBe('invalid');
      expect((err as Failure).message).toMatch(/csi\.storage\.k8s\.io\/node-stage-secret-name/);
    },
  );

  it('no command line carries a key: it is read from stdin (--key-file -)', () => {
    const all = [cryptArgs.format('/dev/x'), cryptArgs.open('/dev/x', 'n'), cryptArgs.resize('n', true)];
    for (const args of all) expect(args.join(' ')).toMatch(/--key-file -( |$)/);
    expect(cryptArgs.format('/dev/x')).toEqual(expect.arrayContaining(['--type', 'luks2', '--pbkdf-memory', String(PBKDF_MEMORY_KIB)]));
    expect(cryptArgs.resize('n', false)).toEqual(['resize', 'n']);
    expect(cryptArgs.format('/dev/x', 250).slice(0, 3)).toEqual(['luksFormat', '--iter-time', '250']);
    expect(cryptArgs.format('/dev/x')).not.toContain('--iter-time');
  });
});

const HAS_CRYPTSETUP = spawnSync('cryptsetup', ['--version']).status === 0;
/** Device-mapper in this kernel? Not on the CI host (cryptsetup may still mknod /dev/mapper/control); the VM tier has it. */
const HAS_DM = existsSync('/sys/class/misc/device-mapper');

interface Call {
  cmd: string;
  args: readonly string[];
  input?: string;
}

describeIf(IS_ROOT && HAS_CRYPTSETUP, 'root and cryptsetup (apt-get install cryptsetup-bin)')('encrypted stage on loop devices', () => {
  const calls: Call[] = [];
  /**
   * The real tools, recorded. Without device-mapper `cryptsetup open` fails before it reads the key ("Cannot initialize
   * device-mapper", exit 1), so here it is run as `open --test-passphrase` — the real cryptsetup checking the key
   * against the real header, exit 2 for a wrong one — and a key that unlocks answers what open answers on this host.
   */
  const runner: ToolRunner = async (cmd, args, opts) => {
    calls.push({ cmd, args, input: opts.input });
    if (HAS_DM || cmd !== 'cryptsetup' || args[0] !== 'open') return runTool(cmd, args, opts);
    const test = await runTool(cmd, ['open', '--test-passphrase', ...args.slice(1, -1)], opts);
    if (test.code !== 0) return test;
    return { ...test, code: 1, stderr: 'Cannot initialize device-mapper. Is dm_mod kernel module loaded?' };
  };
  const logText: string[] = [];
  let dir: string;
  let volumesDir: string;
  let app: NodeApp;
  let client: CsiClient;

  const fileOf = (id: string): string => path.join(volumesDir, `${id}.img`);
  const create = (id: string, bytes = 32 * MiB): string => {
    const f = fileOf(id);
    writeFileSync(f, '');
    truncateSync(f, bytes);
    return f;
  };
  const head = (f: string, n = 4 * MiB): Buffer => {
    const b = Buffer.alloc(n);
    const fd = openSync(f, 'r');
    readSync(fd, b, 0, n, 0);
    closeSync(fd);
    return b;
  };
  const stage = (
    id: string,
    secrets: Record<string, string> | undefined,
    extra: Record<string, string> = { encryption: 'luks2' },
    cap = MOUNT_CAP(),
  ) =>
    client.nodeCall(
      'NodeStageVolume',
      {
        volumeId: id,
        stagingTargetPath: path.join(dir, 'staging', id),
        volumeCapability: cap,
        volumeContext: { nqn: `${NQN_PREFIX}:${id}`, accessType: 'block' in cap ? 'block' : 'mount', ...extra },
        secrets,
      },
      120000,
    );
  const formats = (): Call[] => calls.filter((c) => c.cmd === 'cryptsetup' && c.args[0] === 'luksFormat');
  /** Unlocks the header of `file` with `key`? (cryptsetup --test-passphrase needs no device-mapper). */
  const unlocks = (file: string, key: string): number | null =>
    spawnSync('cryptsetup', ['open', '--test-passphrase', '--key-file', '-', file], { input: key }).status;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-crypt-'));
    const dataDir = path.join(dir, 'rds');
    volumesDir = path.join(dataDir, BASE_PATH.slice(1));
    mkdirSync(volumesDir, { recursive: true });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText.push(chunk.toString());
        cb();
      },
    });
    const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
    app = await startNode(
      testConfig(),
      {
        endpoint,
        host: hostPort({ run: runner }),
        metrics: new Metrics('crypt-test'),
        node: { nodeId: 'node-a', connector: 'loop', loopDataDir: dataDir, kubeletDir: dir, orphanIntervalMs: 0, busyWaitMs: 300 },
      },
      createLogger('trace', 'crypt-test', sink),
    );
    client = new CsiClient(endpoint);
  });
  afterAll(async () => {
    client.close();
    await app.close();
    cleanupDir(dir);
  });
  beforeEach(() => (calls.length = 0));

  it('no passphrase: INVALID_ARGUMENT before anything is connected', async () => {
    create('enc-nokey');
    for (const secrets of [undefined, {}, { other: 'x' }] as Array<Record<string, string> | undefined>) {
      const err = await codeOf(stage('enc-nokey', secrets));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/encryptionPassphrase/);
    }
    expect(loopDevicesUnder(dir)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('an unknown encryption value is INVALID_ARGUMENT', async () => {
    create('enc-bad');
    const err = await codeOf(stage('enc-bad', { encryptionPassphrase: KEY }, { encryption: 'luks1' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it('a proven-empty volume gets a LUKS2 header made with the secret, the key only on stdin; the next stage opens it, never formats again', async () => {
    const f = create('enc-blank');
    const res = await codeOf(stage('enc-blank', { encryptionPassphrase: KEY }));
    if (!HAS_DM) expect(res).toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringMatching(/device-mapper/) as string });
    expect(formats()).toHaveLength(1);
    expect(formats()[0]?.input).toBe(KEY);
    // The probe ran first and proved the device blank (blkid, then O_DIRECT reads of both ends).
    const order = calls.map((c) => (c.cmd === 'cryptsetup' ? `cryptsetup ${c.args[0]}` : c.cmd));
    expect(order.slice(0, order.indexOf('cryptsetup luksFormat'))).toEqual(expect.arrayContaining(['blkid', 'dd']));
    expect(order).toContain('cryptsetup open');
    for (const c of calls) expect(c.args.join(' ')).not.toContain(KEY);
    expect(blkidType(f)).toBe('crypto_LUKS');
    expect(unlocks(f, KEY)).toBe(0);
    expect(unlocks(f, WRONG)).toBe(2);
    expect(execFileSync('cryptsetup', ['luksDump', f], { encoding: 'utf8' })).toMatch(/Version:\s*2[\s\S]*Label:\s*rds-csi-pending/);

    const before = head(f, 16 * MiB);
    calls.length = 0;
    await stage('enc-blank', { encryptionPassphrase: KEY }).catch(() => undefined);
    expect(formats()).toEqual([]);
    expect(head(f, 16 * MiB).equals(before)).toBe(true);
  });

  it('a wrong key: INVALID_ARGUMENT saying so, nothing formatted or changed', async () => {
    const f = create('enc-wrong');
    execFileSync(
      'cryptsetup',
      ['luksFormat', '--type', 'luks2', '--batch-mode', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', '-', f],
      {
        input: KEY,
      },
    );
    const before = head(f, 16 * MiB);
    const err = await codeOf(stage('enc-wrong', { encryptionPassphrase: WRONG }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/does not unlock the LUKS2 header.*exit 2.*nothing was opened or formatted/);
    expect(formats()).toEqual([]);
    expect(head(f, 16 * MiB).equals(before)).toBe(true);
  });

  it.each([
    ['an ext4 file system', (f: string) => execFileSync('mkfs.ext4', ['-q', f]), /holds ext4, not a LUKS header/],
    [
      'unrecognised data',
      (f: string) => {
        const fd = openSync(f, 'r+');
        writeSync(fd, Buffer.from('some user data that blkid cannot name'), 0, 37, 8192);
        closeSync(fd);
      },
      /holds data blkid does not recognise/,
    ],
    [
      'a partition table',
      (f: string) => {
        // An MBR with one Linux partition (sector 2048, 2048 sectors) and the 0x55AA signature.
        const mbr = Buffer.alloc(512);
        mbr[450] = 0x83;
        mbr.writeUInt32LE(2048, 454);
        mbr.writeUInt32LE(2048, 458);
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        const fd = openSync(f, 'r+');
        writeSync(fd, mbr, 0, 512, 0);
        closeSync(fd);
      },
      /holds a dos partition table/,
    ],
  ])('a volume holding %s is never formatted: FAILED_PRECONDITION, unchanged (filesystem and block)', async (what, fill, message) => {
    for (const [i, cap] of [MOUNT_CAP(), BLOCK_CAP()].entries()) {
      const id = `enc-full-${what.replace(/\W+/g, '-')}-${i}`;
      const f = create(id);
      fill(f);
      const before = head(f);
      const err = await codeOf(stage(id, { encryptionPassphrase: KEY }, { encryption: 'luks2' }, cap));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toMatch(message);
      expect(formats()).toEqual([]);
      expect(head(f).equals(before)).toBe(true);
    }
  });

  it('the passphrase is in no log line, although every request was logged', () => {
    const text = logText.join('');
    expect(text).toMatch(/NodeStageVolume/);
    expect(text).toMatch(/"secrets":"\[REDACTED\]"/);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(WRONG);
    expect(text).not.toContain('correct horse');
  });
});
