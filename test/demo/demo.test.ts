import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseMountInfo } from '../../src/host/mountinfo';
import { removeDirSafely } from '../../src/host/safe-remove';
import { cleanupDir, describeRoot, loopDevicesUnder } from '../node/support';

/**
 * `npm run demo` end to end (dist/src/demo/main.js, built by pretest): it passes without mkfs.xfs on PATH (ext4,
 * where online ext4 resize may be refused for want of CAP_SYS_RESOURCE), and when a step fails midway it still
 * tears down everything it set up: nothing of its directory stays mounted or attached, and the directory goes.
 */
const DEMO = path.resolve(__dirname, '../../dist/src/demo/main.js');

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string; dir: string }> {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const dir = /all-in-one in (\S+)/.exec(out)?.[1] ?? '';
  return { code, out, dir };
}

function leftovers(dir: string): string[] {
  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((e) => e.mountPoint)
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  return [...mounts, ...loopDevicesUnder(dir).map((l) => `/dev/${l}`)];
}

/** A directory of symlinks to everything on PATH except the named commands. */
function pathWithout(omit: string[]): string {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-path-'));
  for (const d of (process.env.PATH ?? '').split(':')) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (!omit.includes(n) && !existsSync(path.join(bin, n))) symlinkSync(path.join(d, n), path.join(bin, n));
  }
  return bin;
}

describeRoot('npm run demo', () => {
  const dirs: string[] = [];
  afterAll(() => {
    // Only if a run left something behind (the assertions then have failed already): do not leak it into the host.
    for (const d of dirs) if (d && existsSync(d)) cleanupDir(d);
  });

  it('a step failing midway still unpublishes, unstages, detaches and deletes everything; the directory goes', async () => {
    const r = await runDemo({ RDS_CSI_DEMO_FAIL_AT: 'ControllerExpandVolume' });
    dirs.push(r.dir);
    expect(r.dir).toMatch(/rds-csi-demo-/);
    expect(leftovers(r.dir)).toEqual([]);
    expect(existsSync(r.dir)).toBe(false);
    expect(r.out).toContain('injected failure');
    expect(r.code).toBe(1);
    // Two volumes staged and published and a snapshot taken when the failure hits.
    for (const undo of [
      'demo-restore: NodeUnpublishVolume',
      'demo-restore: NodeUnstageVolume',
      'demo-data: NodeUnstageVolume',
      'demo-data: DeleteVolume',
      'DeleteSnapshot',
    ]) {
      expect(r.out).toContain(`undone: ${undo}`);
    }
    expect(r.out).not.toContain('FAILED to undo');
  }, 120000);

  it('a failure while the rds-b volume is staged still unstages, unpublishes and deletes it on its backend', async () => {
    const r = await runDemo({ RDS_CSI_DEMO_FAIL_AT: 'NodeUnstage + ControllerUnpublish demo-b' });
    dirs.push(r.dir);
    expect(r.out).toContain('injected failure');
    expect(r.code).toBe(1);
    for (const undo of ['demo-b: NodeUnstageVolume', 'demo-b: ControllerUnpublishVolume', 'demo-b: DeleteVolume'])
      expect(r.out).toContain(`undone: ${undo}`);
    expect(r.out).not.toContain('FAILED to undo');
    expect(leftovers(r.dir)).toEqual([]);
    expect(existsSync(r.dir)).toBe(false);
  }, 120000);

  it('passes with mkfs.xfs missing from PATH (ext4) and leaves nothing behind', async () => {
    const bin = pathWithout(['mkfs.xfs']);
    try {
      const r = await runDemo({ PATH: bin });
      dirs.push(r.dir);
      expect(r.out).toContain('320 MiB ext4');
      // The second RDS backend (all-in-one --simulators 2): a volume <slot>@rds-b whose disk only rds-b holds.
      expect(r.out).toMatch(/CreateVolume demo-b .* (vol-demo-b-[0-9a-f]+)@rds-b \(slot \1 on rds-b\)/);
      expect(r.out).toMatch(/its disk is on rds-b's simulator only .* default: no disk; rds-b: disk vol-demo-b-/);
      expect(r.out).toMatch(/GetCapacity per backend segment .* default [\d.]+ GiB free, rds-b [\d.]+ GiB free/);
      expect(r.out).toMatch(/NodeStage demo-b .* ext4 staged at \S+\/staging\/demo-b/); // on the node, over rds-b's backing file
      expect(r.out).toContain('demo finished: every step as expected');
      expect(r.code).toBe(0);
      expect(leftovers(r.dir)).toEqual([]);
      expect(existsSync(r.dir)).toBe(false);
    } finally {
      removeDirSafely(bin);
    }
  }, 120000);
});
