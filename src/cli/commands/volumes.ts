import { Command } from 'commander';
import { addOpsOptions, openRedis, opsContext, print, printJson, runOps, usageExit2, EXIT_OK, type OpsFlags } from '../operator';
import { attachedText, bytes, table } from '../format';
import { listVolumes } from '../../state/listing';

/** `rds-csi volumes list`: the volume records in Redis with state, size and attachments. Exit 0, 1 Redis unreachable, 2 bad config. */
export function volumesCommand(): Command {
  const volumes = new Command('volumes').description('the volumes the driver knows (records in Redis)');
  volumes.addCommand(
    addOpsOptions(new Command('list'))
      .description('every volume record with state, size, access type, PVC and the nodes it is published to')
      .action((flags: OpsFlags) =>
        runOps(async () => {
          const ctx = opsContext(flags);
          const conn = await openRedis(ctx);
          try {
            const list = await listVolumes(conn, ctx.cfg.queuePrefix);
            if (flags.json) {
              printJson(list.map((v) => ({ ...v.volume, attachment: v.attachment ?? null })));
            } else if (list.length === 0) {
              print('no volumes');
            } else {
              print(
                table(
                  ['ID', 'STATE', 'SIZE', 'ACCESS', 'PVC', 'ATTACHED', 'CREATED'],
                  list.map(({ volume: v, attachment }) => [
                    v.id,
                    v.state,
                    bytes(v.capacityBytes),
                    v.accessType,
                    v.pvcName ? `${v.pvcNamespace ?? ''}/${v.pvcName}` : '-',
                    attachedText(attachment),
                    v.createdAt,
                  ]),
                ),
              );
            }
            return EXIT_OK;
          } finally {
            conn.disconnect();
          }
        }),
      ),
  );
  return usageExit2(volumes);
}
