import { Command } from 'commander';
import { nodeDoctor } from '../../node/doctor';
import { addNodeOptions, nodeOptionsFromFlags, type NodeFlags } from './node';

/** `rds-csi doctor node`: the node's prerequisites, each with what to fix. Exit 0 when all pass, 1 otherwise. */
export function doctorCommand(): Command {
  const doctor = new Command('doctor').description('check prerequisites and say what to fix');
  doctor.addCommand(
    addNodeOptions(new Command('node'))
      .description('nvme-cli, nvme-tcp module, host NQN, mkfs/blkid/resize tools, kubelet dir propagation')
      .option('--kubelet-dir <dir>', 'kubelet root dir', '/var/lib/kubelet')
      .option('--json', 'machine-readable output')
      .action(async (flags: NodeFlags & { kubeletDir: string; json?: boolean }) => {
        const res = await nodeDoctor(nodeOptionsFromFlags(flags), flags.kubeletDir);
        process.stdout.write(flags.json ? JSON.stringify(res.checks, null, 2) + '\n' : res.text + '\n');
        process.exitCode = res.ok ? 0 : 1;
      }),
  );
  return doctor;
}
