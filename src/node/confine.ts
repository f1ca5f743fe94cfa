import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { failedPrecondition, invalid, notFound } from '../domain/failure';
import { lstatOrUndefined } from '../host/fs';

/**
 * Confinement of request paths to kubelet's directory (issue 18 item 1). kubelet hands out staging paths
 * (`<kubeletDir>/plugins/kubernetes.io/csi/…/globalmount`) and target paths (`<kubeletDir>/pods/<uid>/volumes/…`)
 * only under its root dir, so a path elsewhere cannot be one a CO gave this driver for a volume, and the node
 * plugin — privileged, with the host's mount namespace — must not act on it. The rule, checked after the request's
 * shape (validate.ts) and before anything is mounted, unmounted, created or removed:
 *
 *  - the kubelet dir is taken by its real path (it may itself be a symlink, e.g. /var/lib/kubelet → /data/kubelet);
 *  - the real path of the parent directory must be that dir or lie under it, compared by path components
 *    (/var/lib/kubelet2 is not under /var/lib/kubelet). When the parent does not exist yet (NodePublish creates the
 *    target with mkdir -p), the deepest existing ancestor is resolved instead: the missing components are created
 *    as plain directories below it, so the created chain stays where that ancestor is. An ancestor that exists but
 *    does not resolve (a dangling symlink) is refused; a symlink loop keeps its errno (errno.ts: INVALID_ARGUMENT);
 *  - a symlink as the last component is refused, never followed.
 *
 * Codes. stage/publish/unstage/unpublish ('act'): a path whose real location is outside kubelet's dir is
 * INVALID_ARGUMENT — the request names a place the driver never acts on, whatever is there; a symlink at the path
 * is FAILED_PRECONDITION — the path itself is acceptable but what the host has there is not (gRPC's definition:
 * the system is not in the state the operation needs, fixed by removing the link, not by retrying the request),
 * the same code as "exists and is not a directory" (publish.ts). NodeGetVolumeStats / NodeExpandVolume ('lookup'):
 * both are NOT_FOUND — the driver never publishes a volume outside kubelet's dir or at a symlink, so no volume is
 * at such a path (the spec's row for these RPCs; validate.requireVolumePath answers relative paths the same way).
 * A kubelet dir that does not exist on the node is a misconfiguration: FAILED_PRECONDITION naming the option.
 *
 * The returned path has the resolved parent and is what the handler works on from then on, so a later swap of a
 * link outside the checked chain does not redirect it.
 */

export type PathRole = 'act' | 'lookup';

/** Is `p` the directory `root` itself or inside it? Both absolute and normalized; compared component by component. */
export function isWithin(root: string, p: string): boolean {
  const r = root.split('/').filter(Boolean);
  const c = p.split('/').filter(Boolean);
  return c.length >= r.length && r.every((part, i) => c[i] === part);
}

async function realKubeletDir(kubeletDir: string): Promise<string> {
  try {
    return await fsp.realpath(kubeletDir);
  } catch (err) {
    throw failedPrecondition(
      `the kubelet directory ${kubeletDir} does not resolve on this node (${(err as NodeJS.ErrnoException).code ?? 'error'}); set --kubelet-dir (chart: node.kubeletDir) to kubelet's root dir`,
    );
  }
}

/** Real path of the deepest existing ancestor of `dir` (itself included) and the components below it that are missing. */
async function resolveExisting(dir: string): Promise<{ real: string; missing: string[] } | { dangling: string }> {
  const missing: string[] = [];
  for (let a = dir; ; a = path.dirname(a)) {
    if (a === '/' || (await lstatOrUndefined(a))) {
      try {
        return { real: await fsp.realpath(a), missing };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return { dangling: a };
        throw err; // ELOOP and the like: errno.ts gives them their clean code (a symlink loop: INVALID_ARGUMENT)
      }
    }
    missing.unshift(path.basename(a));
  }
}

/**
 * The request path `p` (already shape-checked: absolute, normalized, no "..") confined to `kubeletDir`; returns it
 * with its parent resolved. Throws the role's code when it is not confined (see above). Only reads the file system.
 */
export async function confinePath(kubeletDir: string, name: string, p: string, role: PathRole): Promise<string> {
  const root = await realKubeletDir(kubeletDir);
  const outside = (why: string): Error => {
    const msg = `${name} ${JSON.stringify(p.slice(0, 300))} ${why}; the node plugin acts only on paths under kubelet's directory ${kubeletDir}${root === kubeletDir ? '' : ` (${root})`}`;
    return role === 'act' ? invalid(msg) : notFound(`no volume at ${msg}`);
  };
  const base = path.basename(p);
  if (p === '/' || !base) throw outside('is the root directory');
  const parent = await resolveExisting(path.dirname(p));
  if ('dangling' in parent) throw outside(`has an ancestor ${parent.dangling} that does not resolve (a dangling symlink)`);
  if (!isWithin(root, parent.real)) {
    const which = parent.missing.length
      ? `its deepest existing ancestor resolves to ${parent.real}`
      : `its parent directory resolves to ${parent.real}`;
    throw outside(`is outside: ${which}`);
  }
  const resolved = path.join(parent.real, ...parent.missing, base);
  if (!parent.missing.length && (await lstatOrUndefined(resolved))?.isSymbolicLink()) {
    const msg = `${name} ${JSON.stringify(p.slice(0, 300))} is a symbolic link; the node plugin never follows a link at a staging or target path`;
    throw role === 'act' ? failedPrecondition(`${msg}; remove it`) : notFound(`no volume at ${msg}`);
  }
  return resolved;
}
