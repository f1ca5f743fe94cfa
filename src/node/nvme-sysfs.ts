import type { Sysfs } from '../host/sysfs';

/**
 * NQN → NVMe block device name, read from sysfs on every use.
 *
 * - `<sys>/class/nvme-subsystem/nvme-subsysX/subsysnqn` names a subsystem; with native multipath its namespaces
 *   appear there as `nvmeXnZ` (X = subsystem instance).
 * - `<sys>/class/nvme/nvmeY/subsysnqn` names a controller. Under it a namespace appears either as `nvmeYnZ`
 *   (no multipath: the block device itself) or as the hidden per-path node `nvmeXcYnZ`, whose block device is
 *   `nvmeXnZ` — X the subsystem instance, not the controller's. Using `nvmeYnZ` there would pick another volume.
 *
 * Several controllers (paths) of one subsystem map to one device; a subsystem whose namespace is gone maps to
 * none. With several namespaces the lowest namespace id wins (RDS exports one namespace per subsystem).
 */

export interface NvmeController {
  /** nvmeY */
  name: string;
  nqn: string;
  state?: string;
  transport?: string;
  address?: string;
}

export interface NvmeSubsystemView {
  nqn: string;
  controllers: NvmeController[];
  /** Block device names (nvmeXnZ), lowest namespace id first. */
  devices: string[];
}

const CTRL = /^nvme\d+$/;
const NS = /^nvme(\d+)n(\d+)$/;
const PATH = /^nvme(\d+)c(\d+)n(\d+)$/;

function nsid(name: string): number {
  const m = NS.exec(name);
  return m ? Number(m[2]) : Number.MAX_SAFE_INTEGER;
}

async function controllers(sysfs: Sysfs): Promise<NvmeController[]> {
  const out: NvmeController[] = [];
  for (const name of await sysfs.list('class', 'nvme')) {
    if (!CTRL.test(name)) continue;
    const nqn = await sysfs.read('class', 'nvme', name, 'subsysnqn');
    if (!nqn) continue;
    out.push({
      name,
      nqn,
      state: await sysfs.read('class', 'nvme', name, 'state'),
      transport: await sysfs.read('class', 'nvme', name, 'transport'),
      address: await sysfs.read('class', 'nvme', name, 'address'),
    });
  }
  return out;
}

async function namespacesOfController(sysfs: Sysfs, ctrl: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await sysfs.list('class', 'nvme', ctrl)) {
    const p = PATH.exec(entry);
    if (p) out.push(`nvme${p[1]}n${p[3]}`);
    else if (NS.test(entry)) out.push(entry);
  }
  return out;
}

async function subsystemDevices(sysfs: Sysfs): Promise<Map<string, string[]>> {
  const byNqn = new Map<string, string[]>();
  for (const sub of await sysfs.list('class', 'nvme-subsystem')) {
    const nqn = await sysfs.read('class', 'nvme-subsystem', sub, 'subsysnqn');
    if (!nqn) continue;
    const devs = (await sysfs.list('class', 'nvme-subsystem', sub)).filter((e) => NS.test(e));
    byNqn.set(nqn, [...(byNqn.get(nqn) ?? []), ...devs]);
  }
  return byNqn;
}

/** Every subsystem the kernel knows, by NQN, with its controllers and block devices. */
export async function nvmeSubsystems(sysfs: Sysfs): Promise<NvmeSubsystemView[]> {
  const views = new Map<string, { controllers: NvmeController[]; devices: Set<string> }>();
  const view = (nqn: string): { controllers: NvmeController[]; devices: Set<string> } => {
    let v = views.get(nqn);
    if (!v) views.set(nqn, (v = { controllers: [], devices: new Set() }));
    return v;
  };
  for (const c of await controllers(sysfs)) {
    const v = view(c.nqn);
    v.controllers.push(c);
    for (const d of await namespacesOfController(sysfs, c.name)) v.devices.add(d);
  }
  for (const [nqn, devs] of await subsystemDevices(sysfs)) {
    const v = view(nqn);
    for (const d of devs) v.devices.add(d);
  }
  return [...views.entries()].map(([nqn, v]) => ({
    nqn,
    controllers: v.controllers,
    devices: [...v.devices].sort((a, b) => nsid(a) - nsid(b) || a.localeCompare(b)),
  }));
}

export async function nvmeSubsystem(sysfs: Sysfs, nqn: string): Promise<NvmeSubsystemView | undefined> {
  return (await nvmeSubsystems(sysfs)).find((s) => s.nqn === nqn);
}

/** Block devices that really exist as block devices in sysfs (a listed name may be mid-removal). */
export async function existingDevices(sysfs: Sysfs, names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) if (await sysfs.exists('class', 'block', n, 'dev')) out.push(n);
  return out;
}
