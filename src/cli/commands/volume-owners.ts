/**
 * `rds-csi volumes list --rds`: each volume's disk owner as its RouterOS comment names it (src/domain/ownership.ts),
 * read with one `/disk/print` per RDS backend read (issue 16: a volume's disk is looked up on its own backend only,
 * the one its id names; the same slot may exist on two backends).
 */
import { parseOwner, type OwnerTag } from '../../domain/ownership';
import type { Backend } from '../../rds/backends';
import type { Config } from '../../config/schema';
import { chooseBackends } from '../backend-choice';
import { OpsFailure } from '../exit-codes';

/** A disk's owner: parsed from its comment, `none` (no comment), `foreign` (someone's note) or `missing` (no disk). */
export type DiskOwnerView = (OwnerTag & { kind: 'owner' }) | { kind: 'none' | 'foreign' };

/** Each backend's disks by slot, by backend name. */
export type DiskOwners = Map<string, Map<string, DiskOwnerView>>;

export async function diskOwners(backends: readonly Backend[], volumePrefix: string, several: boolean): Promise<DiskOwners> {
  const out: DiskOwners = new Map();
  for (const b of backends) {
    try {
      const disks = await b.rds.listDisks(volumePrefix);
      out.set(
        b.name,
        new Map(
          disks.map((d): [string, DiskOwnerView] => {
            const tag = parseOwner(d.comment);
            return [d.slot, tag ? { kind: 'owner', ...tag } : { kind: d.comment ? 'foreign' : 'none' }];
          }),
        ),
      );
    } catch (err) {
      throw new OpsFailure(`cannot read the disks on RDS${several ? ` backend ${b.name}` : ''}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The disk owners on every configured backend, or on the one `backend` names; the RouterOS connections are closed after. */
export async function readDiskOwners(cfg: Config, backend: string | undefined): Promise<DiskOwners> {
  const choice = chooseBackends(cfg, backend);
  try {
    return await diskOwners(choice.chosen, cfg.volumePrefix, choice.several);
  } finally {
    await choice.all.close();
  }
}

/** The owner of `slot` on `backend`, or undefined (no such disk, or a backend that was not read). */
export function ownerOf(owners: DiskOwners, backend: string | undefined, slot: string): DiskOwnerView | undefined {
  return backend === undefined ? undefined : owners.get(backend)?.get(slot);
}

/** `cluster=<id> pvc=<ns>/<name>`, `no comment (adopted on next operation)`, `not an rds-csi comment`, `no disk`. */
export function ownerText(owners: DiskOwners, backend: string | undefined, slot: string): string {
  if (backend !== undefined && !owners.has(backend)) return `backend ${backend} is not configured`;
  const o = ownerOf(owners, backend, slot);
  if (!o) return 'no disk on RDS';
  if (o.kind !== 'owner') return o.kind === 'none' ? 'no comment (adopted on next operation)' : 'not an rds-csi comment';
  const pvc = o.pvc ? ` pvc=${o.pvc.namespace}/${o.pvc.name}` : '';
  return `cluster=${o.cluster}${pvc}`;
}
