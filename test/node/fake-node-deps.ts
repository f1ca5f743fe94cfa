import { MountTable } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolRunner } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { createLogger } from '../../src/log/logger';
import { parseNodeOptions } from '../../src/config/load';
import type { NodeDeps } from '../../src/node/deps';
import { mounter } from '../../src/node/mounter';
import { nodeTopology } from '../../src/node/node-topology';
import { NvmeTcpConnector } from '../../src/node/nvme-connector';
import { VolumeLocks } from '../../src/node/volume-lock';
import type { FakeSysfs } from './fake-sysfs';

/**
 * The node's dependencies over a fake NVMe sysfs tree (fake-sysfs.ts): the real NvmeTcpConnector, mounter and
 * locks, an empty mount table, and the given tool runner. For the attribution tests (ownership, crypt-ownership).
 */
export function nodeDepsOnFakeSysfs(f: FakeSysfs, nqnPrefix: string, run: ToolRunner): NodeDeps {
  const host: HostPort = { run, sysfs: new Sysfs(f.sys), devRoot: f.dev, mounts: () => Promise.resolve(new MountTable([])) };
  const connector = new NvmeTcpConnector({
    host,
    nqnPrefix,
    hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:x',
    nvmeCommand: 'nvme',
    toolTimeoutMs: 1000,
  });
  return {
    opts: parseNodeOptions({ nodeId: 'n' }),
    nqnPrefix,
    host,
    connector,
    mounter: mounter(host),
    locks: new VolumeLocks(0),
    log: createLogger('silent'),
    topology: nodeTopology('rds.csi.mikrotik.com', 'default', ''),
  };
}
