import type { Config } from '../../src/config/schema';
import { staticClusterId } from '../../src/cluster/cluster-id';
import { encodeOwner, type DiskOwner } from '../../src/domain/ownership';

/** The owner a standalone test stack writes on its disks (runtime/cluster-factory.ts without Kubernetes). */
export function ownerOf(cfg: Pick<Config, 'driverName' | 'clusterId'>): DiskOwner {
  return { driver: cfg.driverName, cluster: staticClusterId(cfg.clusterId) };
}

/** The ownership comment of that owner, for disks a test adds directly on RDS as if the driver had made them. */
export function ownerCommentOf(cfg: Pick<Config, 'driverName' | 'clusterId'>, pvc?: { namespace: string; name: string }): string {
  return encodeOwner(ownerOf(cfg), pvc);
}
