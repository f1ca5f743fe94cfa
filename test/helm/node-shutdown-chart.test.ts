import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { nodeCommand } from '../../src/cli/commands/node';
import { itIf } from '../support/prereq';

/**
 * The chart's wiring of the safe node shutdown (issue 15 item 1, README "Node shutdown"): the preStop hook runs
 * `rds-csi node shutdown --if-node-shutting-down` with the configured bound, the plugin gets the same bound as a
 * flag, the host's D-Bus sockets are mounted read-only; `node.shutdown.enabled=false` removes hook and mounts.
 */

type Obj = Record<string, unknown>;
const CHART = path.resolve(__dirname, '../../helm');
const required = ['--set', 'rds.host=rds.example.lan', '--set', 'rds.credentials.password=secret', '--set', 'rds.tls.pinCA=false'];
const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const withHelm = itIf(!helm.error && helm.status === 0, 'helm on PATH (scripts/install-helm.sh installs the pinned helm 4)');

function nodePlugin(extra: string[]): { c: Obj; spec: Obj } {
  const r = spawnSync('helm', ['template', 'rds-csi', CHART, '--namespace', 'rds-csi', ...required, ...extra], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const ds = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj)
    .find((d) => d?.kind === 'DaemonSet');
  const spec = ((ds?.spec as Obj).template as Obj).spec as Obj;
  const c = (spec.containers as Obj[]).find((x) => x.name === 'rds-csi') as Obj;
  return { c, spec };
}

describe('chart: node shutdown', () => {
  withHelm('preStop hook with the bound, the flag on the plugin, D-Bus sockets read-only', () => {
    const { c, spec } = nodePlugin(['--set', 'node.shutdown.ctrlLossTmo=15']);
    const cmd = (((c.lifecycle as Obj).preStop as Obj).exec as Obj).command as string[];
    expect(cmd).toEqual(['rds-csi', 'node', 'shutdown', '--if-node-shutting-down', '--shutdown-ctrl-loss-tmo', '15']);
    // the hook's arguments are ones the CLI accepts
    const sub = nodeCommand().commands.find((x) => x.name() === 'shutdown');
    expect(() => sub?.exitOverride().parseOptions(cmd.slice(3))).not.toThrow();
    const args = c.args as string[];
    expect(args[args.indexOf('--shutdown-ctrl-loss-tmo') + 1]).toBe('15');
    const mounts = c.volumeMounts as Obj[];
    for (const [name, at] of [
      ['host-dbus', '/run/dbus'],
      ['host-systemd', '/run/systemd'],
    ]) {
      expect(mounts.find((m) => m.name === name)).toEqual({ name, mountPath: at, readOnly: true });
      expect((spec.volumes as Obj[]).find((v) => v.name === name)).toEqual({ name, hostPath: { path: at, type: 'DirectoryOrCreate' } });
    }
  });

  withHelm('disabled: no hook, no host D-Bus mounts', () => {
    const { c, spec } = nodePlugin(['--set', 'node.shutdown.enabled=false']);
    expect(c.lifecycle).toBeUndefined();
    expect((spec.volumes as Obj[]).map((v) => v.name)).not.toEqual(expect.arrayContaining(['host-dbus']));
  });

  withHelm.each(['-1', '3601'])('node.shutdown.ctrlLossTmo=%s is refused by the schema', (v) => {
    const r = spawnSync('helm', ['template', 'rds-csi', CHART, ...required, '--set', `node.shutdown.ctrlLossTmo=${v}`], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ctrlLossTmo/);
  });
});
