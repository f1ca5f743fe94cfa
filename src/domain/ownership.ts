/**
 * Ownership of a disk on RDS (issue 15 item 3): the RouterOS `comment` of every disk the driver creates names the
 * driver, the cluster and, when the provisioner passed it, the PVC:
 *
 *   rds-csi/v1;driver=<driver name>;cluster=<cluster id>[;pvc=<namespace>/<name>]
 *
 * `comment` is a free-text property every RouterOS menu item has, set with `add`/`set` and cleared with an empty
 * value (docs/ARCHITECTURE.md RouterOS §1: `=comment=` may be empty; `?>comment=` = "has a comment"). RouterOS
 * documents no length limit for it; the comment is bounded here by construction (every part is validated to its
 * Kubernetes length, so at most MAX_OWNER_COMMENT characters) and contains only `[a-z0-9.-/;=]`, so nothing needs
 * quoting on the API or the CLI. A PVC name or namespace that is not a valid Kubernetes name (hostile, too long) is
 * left out rather than escaped: the ownership part is what matters, the PVC part is a convenience.
 */

export const OWNER_COMMENT_PREFIX = 'rds-csi/v1';

/** DNS-1123 subdomain (a CSI driver name, a PVC name): at most 253, `[a-z0-9.-]`, alphanumeric at both ends. */
const SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
/** DNS-1123 label (a namespace, a cluster id): at most 63, `[a-z0-9-]`, alphanumeric at both ends. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** The driver name is a CSI plugin name: a subdomain of at most 63 characters (config/schema.ts). */
const DRIVER = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** prefix + `;driver=` 63 + `;cluster=` 63 + `;pvc=` 63 `/` 253. */
export const MAX_OWNER_COMMENT = OWNER_COMMENT_PREFIX.length + 8 + 63 + 9 + 63 + 5 + 63 + 1 + 253;

export interface DiskOwner {
  /** The CSI driver name (cfg.driverName). */
  driver: string;
  /** This cluster's id (cfg.clusterId, else derived: runtime/cluster-factory.ts). */
  cluster: string;
}

export interface OwnerTag extends DiskOwner {
  pvc?: { namespace: string; name: string };
}

export function isClusterId(id: string): boolean {
  return LABEL.test(id);
}

/** The PVC part when both names are valid Kubernetes names, else undefined (never escaped, never truncated). */
export function pvcPart(namespace: string | undefined, name: string | undefined): OwnerTag['pvc'] {
  if (!namespace || !name || !LABEL.test(namespace) || !SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/** The comment for a disk of `owner`; throws on an invalid driver or cluster id (a configuration error). */
export function encodeOwner(owner: DiskOwner, pvc?: { namespace?: string; name?: string }): string {
  if (!DRIVER.test(owner.driver)) throw new Error(`driver name ${JSON.stringify(owner.driver)} cannot name a disk's owner`);
  if (!LABEL.test(owner.cluster)) throw new Error(`cluster id ${JSON.stringify(owner.cluster)} must be a DNS-1123 label (a-z, 0-9, '-', at most 63)`);
  const part = pvcPart(pvc?.namespace, pvc?.name);
  return `${OWNER_COMMENT_PREFIX};driver=${owner.driver};cluster=${owner.cluster}${part ? `;pvc=${part.namespace}/${part.name}` : ''}`;
}

/** The owner a comment names, or undefined when it is not a well-formed rds-csi comment (absent, someone's note). */
export function parseOwner(comment: string | undefined): OwnerTag | undefined {
  if (!comment || comment.length > MAX_OWNER_COMMENT) return undefined;
  const parts = comment.split(';');
  if (parts[0] !== OWNER_COMMENT_PREFIX) return undefined;
  const fields = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq <= 0) return undefined;
    const key = p.slice(0, eq);
    if (fields.has(key)) return undefined;
    fields.set(key, p.slice(eq + 1));
  }
  const driver = fields.get('driver') ?? '';
  const cluster = fields.get('cluster') ?? '';
  if (!DRIVER.test(driver) || !LABEL.test(cluster)) return undefined;
  for (const k of fields.keys()) if (k !== 'driver' && k !== 'cluster' && k !== 'pvc') return undefined;
  const tag: OwnerTag = { driver, cluster };
  const pvc = fields.get('pvc');
  if (pvc !== undefined) {
    const slash = pvc.indexOf('/');
    const part = slash > 0 ? pvcPart(pvc.slice(0, slash), pvc.slice(slash + 1)) : undefined;
    if (!part) return undefined;
    tag.pvc = part;
  }
  return tag;
}

/**
 * Whose disk this is, for `me`:
 * - `mine`: an rds-csi comment of this driver and cluster;
 * - `other`: an rds-csi comment of another cluster (or another driver name): never touched;
 * - `none`: no comment at all (made before ownership comments, or by hand): never deleted as an orphan, adopted by
 *   the next operation of a volume this cluster has a record of;
 * - `foreign`: a comment that is not ours (an operator's note): treated like `none`, but never overwritten.
 */
export type Ownership = 'mine' | 'other' | 'none' | 'foreign';

export function ownershipOf(comment: string | undefined, me: DiskOwner): Ownership {
  if (!comment) return 'none';
  const tag = parseOwner(comment);
  if (!tag) return 'foreign';
  return tag.driver === me.driver && tag.cluster === me.cluster ? 'mine' : 'other';
}
