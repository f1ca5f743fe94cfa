/**
 * `rds-csi volumes list --rds`: each volume's disk owner as its RouterOS comment names it (src/domain/ownership.ts),
 * read with one `/disk/print`.
 */
import type { Config } from '../../config/schema';
import { parseOwner, type OwnerTag } from '../../domain/ownership';
import { rdsFromConfig } from '../../rds/factory';
import { OpsFailure } from '../exit-codes';

/** A disk's owner: parsed from its comment, `none` (no comment), `foreign` (someone's note) or `missing` (no disk). */
export type DiskOwnerView = (OwnerTag & { kind: 'owner' }) | { kind: 'none' | 'foreign' };

export async function diskOwners(cfg: Config): Promise<Map<string, DiskOwnerView>> {
  const rds = rdsFromConfig(cfg.rds);
  try {
    const disks = await rds.listDisks(cfg.volumePrefix);
    return new Map(
      disks.map((d): [string, DiskOwnerView] => {
        const tag = parseOwner(d.comment);
        return [d.slot, tag ? { kind: 'owner', ...tag } : { kind: d.comment ? 'foreign' : 'none' }];
      }),
    );
  } catch (err) {
    throw new OpsFailure(`cannot read the disks on RDS: ${(err as Error).message}`);
  } finally {
    await rds.close().catch(() => undefined);
  }
}

/** `cluster=<id> pvc=<ns>/<name>`, `no comment (adopted on next operation)`, `not an rds-csi comment`, `no disk`. */
export function ownerText(owners: Map<string, DiskOwnerView>, slot: string): string {
  const o = owners.get(slot);
  if (!o) return 'no disk on RDS';
  if (o.kind !== 'owner') return o.kind === 'none' ? 'no comment (adopted on next operation)' : 'not an rds-csi comment';
  const pvc = o.pvc ? ` pvc=${o.pvc.namespace}/${o.pvc.name}` : '';
  return `cluster=${o.cluster}${pvc}`;
}
