import { rmSync } from 'node:fs';
import { MountTable } from '../../src/host/mountinfo';
import type { ToolRunner } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { createLogger } from '../../src/log/logger';
import { NvmeTcpConnector } from '../../src/node/nvme-connector';
import { cleanOrphans } from '../../src/node/orphans';
import { VolumeLocks } from '../../src/node/volume-lock';
import { FakeSysfs } from './fake-sysfs';

/**
 * Orphan cleanup against a fake sysfs tree and a recording nvme runner: only connections under the managed prefix
 * that have no namespace are disconnected. Outside the prefix — the node's boot disk, another driver, a prefix
 * look-alike — nothing is touched even when it has no namespace either; a busy volume is skipped.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const log = createLogger('silent');

describe('orphan cleanup', () => {
  let f: FakeSysfs;
  let disconnects: string[];
  let connector: NvmeTcpConnector;

  beforeEach(() => {
    f = new FakeSysfs();
    disconnects = [];
    const run: ToolRunner = (cmd, args) => {
      if (args[0] === 'disconnect') disconnects.push(String(args[2]));
      return Promise.resolve({ command: cmd, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 1 });
    };
    connector = new NvmeTcpConnector({
      host: { run, sysfs: new Sysfs(f.sys), devRoot: f.dev, mounts: () => Promise.resolve(new MountTable([])) },
      nqnPrefix: P,
      hostNqn: 'h',
      nvmeCommand: 'nvme',
      toolTimeoutMs: 1000,
    });
    // Orphans of ours: connected, no namespace.
    f.subsystem(0, `${P}:vol-orphan-1`).controller(0, `${P}:vol-orphan-1`, 'live');
    f.subsystem(1, `${P}:vol-orphan-2`).controller(1, `${P}:vol-orphan-2`, 'connecting').controller(2, `${P}:vol-orphan-2`, 'connecting');
    // Ours with a namespace: a staged volume (block volumes have no mount), never an orphan.
    f.subsystem(3, `${P}:vol-staged`).controller(3, `${P}:vol-staged`);
    f.namespace(3, 3, 1, { major: 259, minor: 3, sectors: 100 });
    // Not ours, all without namespace: the boot disk's subsystem mid-reconnect, another driver, a look-alike prefix.
    f.subsystem(4, 'nqn.2014-08.org.example:boot-disk').controller(4, 'nqn.2014-08.org.example:boot-disk', 'connecting');
    f.subsystem(5, 'nqn.2020-01.io.other-driver:pvc-1').controller(5, 'nqn.2020-01.io.other-driver:pvc-1');
    f.subsystem(6, `${P}-legacy:vol-orphan-3`).controller(6, `${P}-legacy:vol-orphan-3`);
    f.subsystem(7, `${P}`).controller(7, `${P}`);
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  test('disconnects only managed connections without a device; never anything outside the prefix', async () => {
    const report = await cleanOrphans(connector, P, new VolumeLocks(100), log);
    expect(report.disconnected.sort()).toEqual([`${P}:vol-orphan-1`, `${P}:vol-orphan-2`]);
    expect(disconnects.sort()).toEqual([`${P}:vol-orphan-1`, `${P}:vol-orphan-2`]);
    expect(disconnects.every((n) => n.startsWith(`${P}:`))).toBe(true);
    expect(report.failed).toEqual([]);
  });

  test('the listing itself never reports connections outside the prefix', async () => {
    const nqns = (await connector.listManaged()).map((c) => c.nqn).sort();
    expect(nqns).toEqual([`${P}:vol-orphan-1`, `${P}:vol-orphan-2`, `${P}:vol-staged`]);
  });

  test('a volume with a call in progress is skipped (a stage that has just connected has no device yet)', async () => {
    const locks = new VolumeLocks(100);
    let release!: () => void;
    const held = locks.run('vol-orphan-1', () => new Promise<void>((r) => (release = r)));
    const report = await cleanOrphans(connector, P, locks, log);
    expect(report.skippedBusy).toEqual([`${P}:vol-orphan-1`]);
    expect(disconnects).toEqual([`${P}:vol-orphan-2`]);
    release();
    await held;
  });

  test("with a different managed prefix, this driver's connections are foreign and untouched", async () => {
    const report = await cleanOrphans(connector, 'nqn.2020-01.io.other-driver', new VolumeLocks(100), log);
    expect(report.disconnected).toEqual([]);
    expect(disconnects).toEqual([]);
  });
});
