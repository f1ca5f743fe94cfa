/**
 * The one port through which the node plugin touches the host: tools (with enforced timeouts), sysfs under a
 * configurable root, the live mount table, and where device nodes live. Production uses hostPort(); tests give
 * a fake sysfs root, a fake dev root, or a recording tool runner.
 */
import { type MountTable, readMountTable } from './mountinfo';
import { runTool, type ToolRunner } from './run';
import { Sysfs } from './sysfs';

export interface HostPort {
  run: ToolRunner;
  sysfs: Sysfs;
  /** Directory holding block device nodes (`/dev`). */
  devRoot: string;
  mounts(): Promise<MountTable>;
}

export interface HostPortOptions {
  sysfsRoot?: string;
  devRoot?: string;
  mountInfoFile?: string;
  run?: ToolRunner;
}

export function hostPort(opts: HostPortOptions = {}): HostPort {
  const file = opts.mountInfoFile ?? '/proc/self/mountinfo';
  return {
    run: opts.run ?? runTool,
    sysfs: new Sysfs(opts.sysfsRoot ?? '/sys'),
    devRoot: opts.devRoot ?? '/dev',
    mounts: () => readMountTable(file),
  };
}
