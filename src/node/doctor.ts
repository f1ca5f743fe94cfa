import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { hostPort, type HostPort } from '../host/port';
import { ToolStartError } from '../host/run';
import { parseNodeOptions } from '../config/load';
import type { NodeConfig, NodeOptionsInput } from '../config/schema';
import { hostNqnForNode } from '../domain/host-nqn';

/**
 * `rds-csi doctor`: the node's prerequisites, each with what to fix. Checks run through the same host port as the
 * plugin (so they see the same sysfs and tools) and never change anything.
 */

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  host: HostPort;
  nvmeCommand: string;
  hostNqn: string;
  kubeletDir: string;
  /** Skip the NVMe checks (loop connector). */
  loop?: boolean;
  procStatusFile?: string;
}

async function tool(host: HostPort, cmd: string, args: string[]): Promise<{ found: boolean; out: string; code: number | null }> {
  try {
    const r = await host.run(cmd, args, { timeoutMs: 5000 });
    return { found: true, out: `${r.stdout}\n${r.stderr}`.trim(), code: r.code };
  } catch (err) {
    if (err instanceof ToolStartError) return { found: false, out: err.message, code: null };
    throw err;
  }
}

async function nvmeChecks(o: DoctorOptions): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const v = await tool(o.host, o.nvmeCommand, ['version']);
  const m = /nvme version (\d+)\.(\d+)/.exec(v.out);
  if (!v.found) out.push({ name: 'nvme-cli', ok: false, detail: v.out, fix: 'install nvme-cli 2.x in the node image' });
  else if (!m || Number(m[1]) < 2)
    out.push({
      name: 'nvme-cli',
      ok: false,
      detail: `unrecognised or old version: ${v.out.split('\n')[0] ?? ''}`,
      fix: 'use nvme-cli 2.x (--hostnqn, --ctrl-loss-tmo=-1)',
    });
  else out.push({ name: 'nvme-cli', ok: true, detail: `version ${m[1]}.${m[2]}` });
  const tcp = await o.host.sysfs.exists('module', 'nvme_tcp');
  out.push(
    tcp
      ? { name: 'nvme-tcp module', ok: true, detail: 'loaded' }
      : { name: 'nvme-tcp module', ok: false, detail: 'not loaded', fix: 'modprobe nvme-tcp on the host (and add it to /etc/modules-load.d)' },
  );
  const fabrics = await o.host.sysfs.exists('class', 'misc', 'nvme-fabrics');
  if (!fabrics)
    out.push({
      name: 'nvme-fabrics',
      ok: false,
      detail: `${o.host.devRoot}/nvme-fabrics is not available`,
      fix: 'modprobe nvme-fabrics; mount the host /sys and /dev into the plugin container',
    });
  const nqnOk = /^nqn\.\d{4}-\d{2}\.[^\s]+$/.test(o.hostNqn) && o.hostNqn.length <= 223;
  out.push({ name: 'host NQN', ok: nqnOk, detail: o.hostNqn, fix: nqnOk ? undefined : 'set a valid hostNqn or node id' });
  return out;
}

export async function capSysResource(file = '/proc/self/status'): Promise<boolean | undefined> {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(await fsp.readFile(file, 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n : undefined;
  } catch {
    return undefined;
  }
}

async function propagation(o: DoctorOptions): Promise<DoctorCheck> {
  const table = await o.host.mounts();
  let dir = path.resolve(o.kubeletDir);
  for (;;) {
    const top = table.top(dir);
    if (top) {
      const shared = top.optional.some((f) => f.startsWith('shared:'));
      return shared
        ? { name: 'kubelet dir propagation', ok: true, detail: `${o.kubeletDir} is under ${dir}, a shared mount` }
        : {
            name: 'kubelet dir propagation',
            ok: false,
            detail: `${dir} (holding ${o.kubeletDir}) is not a shared mount`,
            fix: 'mount the kubelet dir into the plugin with mountPropagation: Bidirectional (and make it rshared on the host)',
          };
    }
    if (dir === '/')
      return {
        name: 'kubelet dir propagation',
        ok: false,
        detail: 'no mount found for the kubelet dir',
        fix: 'mount the kubelet dir into the plugin container',
      };
    dir = path.dirname(dir);
  }
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = o.loop ? [] : await nvmeChecks(o);
  const tools: Array<[string, string[], string]> = [
    ['blkid', ['-V'], 'util-linux'],
    ['mkfs.ext4', ['-V'], 'e2fsprogs'],
    ['resize2fs', ['-P', '/dev/null'], 'e2fsprogs'],
    ['mkfs.xfs', ['-V'], 'xfsprogs'],
    ['xfs_growfs', ['-V'], 'xfsprogs'],
    ['mount', ['-V'], 'util-linux'],
    ['umount', ['-V'], 'util-linux'],
    ['mknod', ['--version'], 'coreutils'],
    // Encrypted volumes (StorageClass `encryption: luks2`) are opened by cryptsetup on the node (src/node/crypt.ts);
    // the image ships it (Dockerfile: cryptsetup-bin), so a node without it has a broken image.
    ['cryptsetup', ['--version'], 'cryptsetup-bin (encrypted volumes)'],
  ];
  if (o.loop) tools.push(['losetup', ['-V'], 'util-linux']);
  for (const [cmd, args, pkg] of tools) {
    const t = await tool(o.host, cmd, args);
    checks.push(
      t.found ? { name: cmd, ok: true, detail: 'found' } : { name: cmd, ok: false, detail: t.out, fix: `install ${pkg} in the node image` },
    );
  }
  const cap = await capSysResource(o.procStatusFile ?? '/proc/self/status');
  if (cap === false)
    checks.push({
      name: 'CAP_SYS_RESOURCE',
      ok: false,
      detail: 'missing: online ext4 resize (resize2fs on a mounted volume) will fail',
      fix: 'run the node plugin container privileged',
    });
  else if (cap === true) checks.push({ name: 'CAP_SYS_RESOURCE', ok: true, detail: 'present' });
  checks.push(await propagation(o));
  return checks;
}

export function formatDoctor(checks: DoctorCheck[]): string {
  const lines = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.ok || !c.fix ? '' : `\n     fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed ? `${failed} check(s) failed` : 'all checks passed');
  return lines.join('\n');
}

/** What `rds-csi doctor` runs: the node options as for `rds-csi node`, the real host; ok=false → exit non-zero. */
export async function nodeDoctor(input: NodeOptionsInput | NodeConfig): Promise<{ ok: boolean; text: string; checks: DoctorCheck[] }> {
  const o = parseNodeOptions(input);
  const kubeletDir = o.kubeletDir;
  const host = hostPort({ sysfsRoot: o.sysfsRoot, devRoot: o.devRoot, mountInfoFile: o.mountInfoFile });
  const checks = await runDoctor({
    host,
    nvmeCommand: o.nvmeCommand,
    hostNqn: o.hostNqn ?? hostNqnForNode(o.nodeId),
    kubeletDir,
    loop: o.connector === 'loop',
  });
  return { ok: checks.every((c) => c.ok), text: formatDoctor(checks), checks };
}
