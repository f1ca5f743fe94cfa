import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MountTable, parseMountInfo } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import { ToolStartError, type ToolRunner } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { formatDoctor, runDoctor } from '../../src/node/doctor';
import { FakeSysfs } from './fake-sysfs';

/** `doctor` on a fake host: every failing prerequisite is named with its fix; a healthy host passes. */

const MOUNTS_SHARED = '1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n2 1 8:1 /kubelet /var/lib/kubelet rw shared:5 - ext4 /dev/sda1 rw\n';
const MOUNTS_PRIVATE = '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n';

function host(f: FakeSysfs, missing: string[], mounts: string, nvmeOut = 'nvme version 2.3 (git 2.3)'): HostPort {
  const run: ToolRunner = (cmd, args) => {
    if (missing.includes(cmd)) return Promise.reject(new ToolStartError(cmd, new Error('spawn ENOENT')));
    const stdout = cmd === 'nvme' ? nvmeOut : `${cmd} 1.0`;
    return Promise.resolve({ command: cmd, args, code: 0, signal: null, stdout, stderr: '', timedOut: false, durationMs: 1 });
  };
  return { run, sysfs: new Sysfs(f.sys), devRoot: f.dev, mounts: () => Promise.resolve(new MountTable(parseMountInfo(mounts))) };
}

describe('doctor', () => {
  let f: FakeSysfs;
  let status: string;
  beforeEach(() => {
    f = new FakeSysfs();
    status = path.join(f.root, 'status');
    writeFileSync(status, 'CapEff:\t000001ffffffffff\n');
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  test('a healthy host passes every check', async () => {
    mkdirSync(path.join(f.sys, 'module/nvme_tcp'), { recursive: true });
    mkdirSync(path.join(f.sys, 'class/misc/nvme-fabrics'), { recursive: true });
    const checks = await runDoctor({
      host: host(f, [], MOUNTS_SHARED),
      nvmeCommand: 'nvme',
      hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:1',
      kubeletDir: '/var/lib/kubelet/plugins',
      procStatusFile: status,
    });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(formatDoctor(checks)).toMatch(/all checks passed$/);
  });

  test('names each missing prerequisite and what to do', async () => {
    writeFileSync(status, 'CapEff:\t000001fffeffffff\n');
    const checks = await runDoctor({
      host: host(f, ['mkfs.xfs', 'cryptsetup'], MOUNTS_PRIVATE, 'nvme version 1.16'),
      nvmeCommand: 'nvme',
      hostNqn: 'bad',
      kubeletDir: '/var/lib/kubelet',
      procStatusFile: status,
    });
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c.fix]));
    expect(Object.keys(failed).sort()).toEqual([
      'CAP_SYS_RESOURCE',
      'cryptsetup',
      'host NQN',
      'kubelet dir propagation',
      'mkfs.xfs',
      'nvme-cli',
      'nvme-fabrics',
      'nvme-tcp module',
    ]);
    expect(failed['nvme-tcp module']).toMatch(/modprobe nvme-tcp/);
    expect(failed['mkfs.xfs']).toMatch(/xfsprogs/);
    expect(failed.cryptsetup).toMatch(/cryptsetup-bin \(encrypted volumes\)/);
    expect(failed['kubelet dir propagation']).toMatch(/Bidirectional/);
    expect(formatDoctor(checks)).toMatch(/8 check\(s\) failed$/);
  });
});
