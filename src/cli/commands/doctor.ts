import { Command } from 'commander';
import { nodeDoctor } from '../../node/doctor';
import { addOpsOptions, opsContext, print, printJson, runOps, usageExit2, EXIT_FAILED, EXIT_OK, type OpsFlags } from '../operator';
import { controllerDoctor } from '../controller-doctor';
import { addConfigOptions } from '../../config/options';
import { configFromFlags, type CommonFlags } from '../common';

/**
 * `rds-csi doctor node|controller`: prerequisites, each with what to fix. Exit 0 when no check fails (warnings
 * allowed), 1 otherwise; `doctor controller` exits 2 on bad usage or config.
 */
export function doctorCommand(): Command {
  const doctor = new Command('doctor').description('check prerequisites and say what to fix');
  doctor.addCommand(
    addConfigOptions(new Command('node'), 'doctor-node')
      .description('nvme-cli, nvme-tcp module, host NQN, mkfs/blkid/resize tools, kubelet dir propagation')
      .option('--json', 'machine-readable output')
      .action(async (flags: CommonFlags & { json?: boolean }) => {
        const res = await nodeDoctor(configFromFlags('doctor-node', flags).node);
        process.stdout.write(flags.json ? JSON.stringify(res.checks, null, 2) + '\n' : res.text + '\n');
        process.exitCode = res.ok ? 0 : 1;
      }),
  );
  doctor.addCommand(
    usageExit2(
      addOpsOptions(new Command('controller'))
        .description(
          'Redis (reachable, noeviction, persistence, version, role, prefix), the queue and workers, and every RDS backend: RouterOS API (TLS, credentials), pool capacity, disks',
        )
        .action((flags: OpsFlags) =>
          runOps(async () => {
            const res = await controllerDoctor(opsContext(flags));
            if (flags.json) printJson({ ok: res.ok, backends: res.backends, checks: res.checks });
            else print(res.text);
            return res.ok ? EXIT_OK : EXIT_FAILED;
          }),
        ),
    ),
  );
  return doctor;
}
