import { Command } from 'commander';
import { addOpsOptions, openRedis, opsContext, print, printJson, runOps, usageExit2, EXIT_OK, type OpsFlags } from '../operator';
import { attachedText, bytes, table } from '../format';
import { listVolumes } from '../../state/listing';
import { diskOwners, ownerText } from './volume-owners';

/** `rds-csi volumes list`: the volume records in Redis with state, size and attachments. Exit 0, 1 Redis unreachable, 2 bad config. */
export function volumesCommand(): Command {
  const volumes = new Command('volumes').description('the volumes the driver knows (records in Redis)');
  volumes.addCommand(
    addOpsOptions(new Command('list'))
      .description('every volume record with state, size, access type, PVC and the nodes it is published to')
      .option('--rds', "also read each disk's ownership comment on RDS (one /disk/print): OWNER column")
      .action((flags: OpsFlags & { rds?: boolean }) =>
        runOps(async () => {
          const ctx = opsContext(flags);
          const conn = await openRedis(ctx);
          try {
            const list = await listVolumes(conn, ctx.cfg.queuePrefix);
            const owners = flags.rds ? await diskOwners(ctx.cfg) : undefined;
            if (flags.json) {
              printJson(
                list.map((v) => ({ ...v.volume, attachment: v.attachment ?? null, ...(owners ? { owner: owners.get(v.volume.slot) ?? null } : {}) })),
              );
            } else if (list.length === 0) {
              print('no volumes');
            } else {
              print(
                table(
                  ['ID', 'STATE', 'SIZE', 'ACCESS', 'PVC', 'ATTACHED', 'CREATED', ...(owners ? ['OWNER'] : [])],
                  list.map(({ volume: v, attachment }) => [
                    v.id,
                    v.state,
                    bytes(v.capacityBytes),
                    v.accessType,
                    v.pvcName ? `${v.pvcNamespace ?? ''}/${v.pvcName}` : '-',
                    attachedText(attachment),
                    v.createdAt,
                    ...(owners ? [ownerText(owners, v.slot)] : []),
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
