import { Command } from 'commander';
import {
  addOpsOptions,
  openRedis,
  opsContext,
  OpsFailure,
  parseCount,
  print,
  printJson,
  runOps,
  UsageError,
  usageExit2,
  EXIT_FAILED,
  EXIT_OK,
  type OpsFlags,
} from '../operator';
import { attachedText, bytes, table } from '../format';
import { listVolumes } from '../../state/listing';
import { detachVolumesOfNode } from '../detach-command';
import { healthText } from '../force-detach';
import { diskOwners, ownerText } from './volume-owners';

/**
 * `rds-csi volumes list`: the volume records in Redis with state, size and attachments. Exit 0, 1 Redis unreachable,
 * 2 bad config. `rds-csi volumes detach --node NODE [--force]` (force-detach.ts): exit 0 every volume detached (or
 * none attached), 1 refused (node Ready without --force), a job failed or not finished in --wait-ms, Redis or
 * Kubernetes unreachable; 2 bad usage.
 */
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
  volumes.addCommand(
    addOpsOptions(new Command('detach'))
      .description(
        'force-detach after a node is lost: unpublish every volume attached to NODE through the fence.detach jobs the controller uses ' +
          "(a worker must be running); with storage-side fencing the node's host NQN leaves the disks. Refused while Kubernetes shows NODE Ready, unless --force",
      )
      .requiredOption('--node <node>', 'the node id (Kubernetes node name)')
      .option('--force', 'detach even though Kubernetes shows the node Ready (or there is no Kubernetes to ask)')
      .option('--wait-ms <ms>', "how long to wait for each volume's fence.detach job", '60000')
      .action((flags: OpsFlags & { node: string; force?: boolean; waitMs?: string }) =>
        runOps(async () => {
          if (!flags.node.trim()) throw new UsageError('--node: a node id is required');
          const waitMs = parseCount(flags.waitMs, '--wait-ms', 60000, 1);
          const ctx = opsContext(flags);
          const res = await detachVolumesOfNode(ctx, flags.node, { force: !!flags.force, waitMs });
          if (flags.json) {
            printJson(res);
          } else {
            print(`${healthText(flags.node, res.health)}${res.forced ? ' (--force)' : ''}`);
            if (res.refused) throw new OpsFailure(`refused: ${res.refused}`);
            if (res.outcomes.length === 0) print(`no volume is attached to node ${flags.node}: nothing to do`);
            else
              print(
                table(
                  ['VOLUME', 'RESULT', 'DETAIL'],
                  res.outcomes.map((o) => [o.volumeId, o.result, o.detail]),
                ),
              );
          }
          if (res.refused) return EXIT_FAILED;
          return res.outcomes.some((o) => o.result === 'failed') ? EXIT_FAILED : EXIT_OK;
        }),
      ),
  );
  return usageExit2(volumes);
}
