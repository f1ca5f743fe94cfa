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
import { readDiskOwners, ownerOf, ownerText, type DiskOwners } from './volume-owners';
import { addBackendOption, checkBackendName } from '../backend-choice';
import { backendOfId } from '../../domain/backend-id';

/**
 * `rds-csi volumes list`: the volume records in Redis with state, size and attachments. Exit 0, 1 Redis unreachable,
 * 2 bad config. `rds-csi volumes detach --node NODE [--force]` (force-detach.ts): exit 0 every volume detached (or
 * none attached), 1 refused (node Ready without --force), a job failed or not finished in --wait-ms, Redis or
 * Kubernetes unreachable; 2 bad usage. Several RDS backends (issue 16): a BACKEND column (the backend each id names),
 * `--backend NAME` lists that backend's volumes only, and `--rds` reads each volume's disk on its own backend.
 */
export function volumesCommand(): Command {
  const volumes = new Command('volumes').description('the volumes the driver knows (records in Redis)');
  volumes.addCommand(
    addBackendOption(addOpsOptions(new Command('list')), '')
      .description('every volume record with state, size, access type, PVC and the nodes it is published to')
      .option('--rds', "also read each disk's ownership comment on RDS (one /disk/print per backend): OWNER column")
      .action((flags: OpsFlags & { rds?: boolean; backend?: string }) =>
        runOps(async () => {
          const ctx = opsContext(flags);
          const primary = ctx.cfg.rds.backend;
          // --backend is checked before Redis is asked anything; RDS is read only with --rds.
          const { several } = checkBackendName(ctx.cfg, flags.backend);
          const conn = await openRedis(ctx);
          try {
            const list = (await listVolumes(conn, ctx.cfg.queuePrefix)).filter(
              (v) => flags.backend === undefined || backendOfId(v.volume.id, primary) === flags.backend,
            );
            const owners: DiskOwners | undefined = flags.rds ? await readDiskOwners(ctx.cfg, flags.backend) : undefined;
            const backendOf = (id: string): string | undefined => backendOfId(id, primary);
            if (flags.json) {
              printJson(
                list.map((v) => ({
                  ...v.volume,
                  ...(several ? { backend: backendOf(v.volume.id) ?? null } : {}),
                  attachment: v.attachment ?? null,
                  ...(owners ? { owner: ownerOf(owners, backendOf(v.volume.id), v.volume.slot) ?? null } : {}),
                })),
              );
            } else if (list.length === 0) {
              print('no volumes');
            } else {
              print(
                table(
                  ['ID', ...(several ? ['BACKEND'] : []), 'STATE', 'SIZE', 'ACCESS', 'PVC', 'ATTACHED', 'CREATED', ...(owners ? ['OWNER'] : [])],
                  list.map(({ volume: v, attachment }) => [
                    v.id,
                    ...(several ? [backendOf(v.id) ?? '?'] : []),
                    v.state,
                    bytes(v.capacityBytes),
                    v.accessType,
                    v.pvcName ? `${v.pvcNamespace ?? ''}/${v.pvcName}` : '-',
                    attachedText(attachment),
                    v.createdAt,
                    ...(owners ? [ownerText(owners, backendOf(v.id), v.slot)] : []),
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
