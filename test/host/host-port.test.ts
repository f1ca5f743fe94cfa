import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitDev } from '../../src/host/fs';
import { MountTable, parseMountInfo, parseMountInfoLine } from '../../src/host/mountinfo';
import { describeResult, runTool, ToolStartError } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';

/** The host port's pieces: mountinfo parsing, the tool runner's enforced timeout, sysfs reads, dev_t decoding. */

describe('mountinfo parser', () => {
  const SAMPLE = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
    '40 22 259:3 / /var/lib/kubelet/plugins/kubernetes.io/csi/rds/abc/globalmount rw,relatime shared:20 master:3 - xfs /dev/nvme3n1 rw,nouuid',
    '41 22 259:3 / /var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount rw,relatime shared:20 - xfs /dev/nvme3n1 rw,nouuid',
    '42 41 259:3 / /var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount ro,relatime - xfs /dev/nvme3n1 rw,nouuid',
    '50 22 0:45 /sub /mnt/with\\040space\\011tab rw - tmpfs tmpfs rw',
    'garbage line',
  ].join('\n');

  test('parses fields, optional fields and the separator', () => {
    const e = parseMountInfoLine(SAMPLE.split('\n')[1] ?? '');
    expect(e).toMatchObject({ mountId: 40, parentId: 22, major: 259, minor: 3, root: '/', fsType: 'xfs', source: '/dev/nvme3n1' });
    expect(e?.options).toEqual(['rw', 'relatime']);
    expect(e?.superOptions).toEqual(['rw', 'nouuid']);
  });

  test('unescapes octal sequences in paths and skips malformed lines', () => {
    const all = parseMountInfo(SAMPLE);
    expect(all).toHaveLength(5);
    expect(all[4]?.mountPoint).toBe('/mnt/with space\ttab');
    expect(all[4]?.root).toBe('/sub');
  });

  test('MountTable: stacked mounts, top of stack, mounts of a device', () => {
    const t = new MountTable(parseMountInfo(SAMPLE));
    const target = '/var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount';
    expect(t.at(target)).toHaveLength(2);
    expect(t.top(target)?.options).toContain('ro');
    expect(t.isMountPoint('/var/lib/kubelet')).toBe(false);
    expect(t.ofDevice(259, 3).map((m) => m.mountId)).toEqual([40, 41, 42]);
  });
});

describe('tool runner', () => {
  test('captures stdout, stderr and the exit code', async () => {
    const r = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 });
    expect(r).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect(describeResult(r)).toBe('sh -c echo out; echo err >&2; exit 3 exited 3: err');
  });

  test.each([
    ['NUL bytes (dd of a device)', 'printf "a\\000\\000b" >&2; exit 1', 'a\\x00\\x00b'],
    ['a terminal escape', 'printf "x\\033[31my" >&2; exit 1', 'x\\x1b[31my'],
    ['a carriage return (a tab stays)', 'printf "p\\tq\\rz" >&2; exit 1', 'p\tq\\x0dz'],
  ])('an error message never carries control characters from the output: %s', async (_what, script, shown) => {
    const r = await runTool('sh', ['-c', script], { timeoutMs: 5000 });
    const text = describeResult(r);
    expect(text.endsWith(`exited 1: ${shown}`)).toBe(true);
    expect([...text].some((c) => c !== '\t' && c.charCodeAt(0) < 0x20)).toBe(false);
  });

  test('kills a tool that outlives its timeout', async () => {
    const started = Date.now();
    const r = await runTool('sleep', ['30'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
    expect(r.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(describeResult(r)).toMatch(/timed out after \d+ ms and was killed/);
  });

  test('stdin is closed (no tool can wait for an answer) unless input is given', async () => {
    expect((await runTool('cat', [], { timeoutMs: 5000 })).stdout).toBe('');
    expect((await runTool('cat', [], { timeoutMs: 5000, input: 'y\n' })).stdout).toBe('y\n');
  });

  test('a tool that cannot be started rejects with ToolStartError', async () => {
    await expect(runTool('/nonexistent/tool', [], { timeoutMs: 1000 })).rejects.toBeInstanceOf(ToolStartError);
  });
});

describe('sysfs reader and dev_t', () => {
  test('missing entries read as absent; sizes are in 512-byte sectors', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-sysfs-unit-'));
    try {
      mkdirSync(path.join(root, 'dev/block/7:3/holders'), { recursive: true });
      writeFileSync(path.join(root, 'dev/block/7:3/size'), '2048\n');
      const s = new Sysfs(root);
      expect(await s.blockSize(7, 3)).toBe(1024 * 1024);
      expect(await s.blockSize(7, 4)).toBeUndefined();
      expect(await s.blockHolders(7, 3)).toEqual([]);
      expect(await s.read('class', 'nvme', 'nvme0', 'subsysnqn')).toBeUndefined();
      expect(await s.list('class', 'nvme')).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('splitDev decodes Linux dev_t (small and large minors)', () => {
    expect(splitDev(0x0703n)).toEqual({ major: 7, minor: 3 });
    expect(splitDev((259n << 8n) | 1n)).toEqual({ major: 259, minor: 1 });
    // minor 300 = 0x12c: low byte in bits 0-7, the rest from bit 20
    expect(splitDev((0x1n << 20n) | (259n << 8n) | 0x2cn)).toEqual({ major: 259, minor: 300 });
  });
});
