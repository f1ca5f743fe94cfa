import { Command } from 'commander';
import { createLogger } from '../../log/logger';
import { startSimulator } from '../../simulator';
import { runUntilSignal } from '../common';

export function simulatorCommand(): Command {
  return new Command('simulator')
    .description('RouterOS API simulator of an RDS (/disk, /file, pool capacity, fault injection)')
    .requiredOption('--data-dir <dir>', 'where backing files and the simulator state live')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8728')
    .option('--pool-name <name>', 'pool slot / mount point', 'pool')
    .option('--pool-size <bytes>', 'report this pool size instead of the data dir filesystem')
    .option('--user <user>', 'API user', 'admin')
    .option('--password <password>', 'API password (default empty)', '')
    .option('--latency-ms <ms>', 'delay every command', '0')
    .option('--jitter-ms <ms>', 'random extra delay', '0')
    .option('--empty-mode <mode>', "'7.18' (print with no rows answers !empty) or 'legacy'", '7.18')
    .option('--log-level <level>', 'log level', 'info')
    .action(async (f: { dataDir: string; listen: string; poolName: string; poolSize?: string; user: string; password: string; latencyMs: string; jitterMs: string; emptyMode: string; logLevel: string }) => {
      const log = createLogger(f.logLevel, 'rds-csi-simulator');
      const i = f.listen.lastIndexOf(':');
      if (f.emptyMode !== '7.18' && f.emptyMode !== 'legacy') throw new Error(`--empty-mode must be 7.18 or legacy, not ${f.emptyMode}`);
      const sim = await startSimulator({
        host: f.listen.slice(0, i),
        port: Number(f.listen.slice(i + 1)),
        dataDir: f.dataDir,
        poolName: f.poolName,
        poolSizeBytes: f.poolSize ? Number(f.poolSize) : undefined,
        user: f.user,
        password: f.password,
        faults: { latencyMs: Number(f.latencyMs), jitterMs: Number(f.jitterMs), emptyMode: f.emptyMode },
        logger: (obj, msg) => log.info(obj, msg),
      });
      process.stdout.write(`LISTENING ${sim.host}:${sim.port}\n`);
      runUntilSignal(log, () => sim.close());
    });
}
