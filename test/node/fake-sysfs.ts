import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A fake sysfs tree shaped like the kernel's NVMe classes, and a fake /dev with device nodes of the same numbers
 * (made with mknod when root; the numbers need not belong to a real device because nothing opens them).
 *
 *   class/nvme-subsystem/nvme-subsysX/{subsysnqn, nvmeXnZ/}
 *   class/nvme/nvmeY/{subsysnqn, state, transport, address, nvmeXcYnZ/ | nvmeYnZ/}
 *   class/block/<name>/{dev, size}   and   dev/block/M:m/{size, holders/}
 */

export interface FakeNamespace {
  /** Block device name, nvmeXnZ. */
  device: string;
  major: number;
  minor: number;
  sectors: number;
}

export class FakeSysfs {
  readonly root: string;
  readonly sys: string;
  readonly dev: string;

  constructor() {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-sysfs-'));
    this.sys = path.join(this.root, 'sys');
    this.dev = path.join(this.root, 'dev');
    mkdirSync(this.dev, { recursive: true });
  }

  private write(rel: string, content: string): void {
    const p = path.join(this.sys, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, `${content}\n`);
  }

  subsystem(instance: number, nqn: string): this {
    this.write(`class/nvme-subsystem/nvme-subsys${instance}/subsysnqn`, nqn);
    return this;
  }

  controller(ctrl: number, nqn: string, state = 'live', address = 'traddr=10.0.0.1,trsvcid=4420'): this {
    const base = `class/nvme/nvme${ctrl}`;
    this.write(`${base}/subsysnqn`, nqn);
    this.write(`${base}/state`, state);
    this.write(`${base}/transport`, 'tcp');
    this.write(`${base}/address`, address);
    this.write(`${base}/fast_io_fail_tmo`, 'off'); // the kernel's attribute (written by the connector)
    this.write(`${base}/ctrl_loss_tmo`, 'off'); // −1 reads back as "off" (lowered on a node shutdown)
    return this;
  }

  /** A namespace reached through controller `ctrl` of subsystem `subsys`: multipath (hidden nvmeXcYnZ) or not. */
  namespace(subsys: number, ctrl: number, nsid: number, ns: Omit<FakeNamespace, 'device'>, multipath = true): FakeNamespace {
    const device = multipath ? `nvme${subsys}n${nsid}` : `nvme${ctrl}n${nsid}`;
    if (multipath) {
      mkdirSync(path.join(this.sys, `class/nvme/nvme${ctrl}/nvme${subsys}c${ctrl}n${nsid}`), { recursive: true });
      mkdirSync(path.join(this.sys, `class/nvme-subsystem/nvme-subsys${subsys}/${device}`), { recursive: true });
    } else {
      mkdirSync(path.join(this.sys, `class/nvme/nvme${ctrl}/${device}`), { recursive: true });
    }
    this.write(`class/block/${device}/dev`, `${ns.major}:${ns.minor}`);
    this.write(`class/block/${device}/size`, String(ns.sectors));
    this.write(`dev/block/${ns.major}:${ns.minor}/size`, String(ns.sectors));
    mkdirSync(path.join(this.sys, `dev/block/${ns.major}:${ns.minor}/holders`), { recursive: true });
    if (process.getuid?.() === 0) {
      try {
        execFileSync('mknod', [path.join(this.dev, device), 'b', String(ns.major), String(ns.minor)], { stdio: 'ignore' });
      } catch {
        /* already there */
      }
    }
    return { device, ...ns };
  }

  /** A block device no NVMe subsystem lists (a local disk such as sda): live, tied to no NQN. */
  disk(name: string, major: number, minor: number, sectors = 2048): this {
    this.write(`class/block/${name}/dev`, `${major}:${minor}`);
    this.write(`class/block/${name}/size`, String(sectors));
    this.write(`dev/block/${major}:${minor}/size`, String(sectors));
    return this;
  }

  setSize(ns: FakeNamespace, sectors: number): void {
    this.write(`class/block/${ns.device}/size`, String(sectors));
    this.write(`dev/block/${ns.major}:${ns.minor}/size`, String(sectors));
  }
}
