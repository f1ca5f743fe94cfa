import { Command } from 'commander';
import {
  addOpsOptions,
  openRedis,
  opsContext,
  OpsFailure,
  print,
  printJson,
  runOps,
  UsageError,
  usageExit2,
  EXIT_FAILED,
  EXIT_OK,
  type OpsContext,
  type OpsFlags,
} from '../operator';
import { bytes, table } from '../format';
import { deleteOrphans, findOrphans, OrphanDeleteRefused, rawFileLister, type OrphanReport } from '../../reconcile/orphans';
import { snapshotStore, volumeStore } from '../../state/listing';
import type { RdsPort } from '../../rds/port';
import { rdsFromConfig } from '../../rds/factory';
import type { Redis } from 'ioredis';
import { clusterIdFromConfig } from '../../runtime/cluster-factory';

/**
 * `rds-csi orphans list|delete`: a thin stub over findOrphans (src/reconcile/orphans.ts). `delete` is the minimal
 * operator delete (needs --yes; no grace period); the scheduled reconcile.orphans job is separate.
 * Exit 0 ok (list: also when orphans exist), 1 Redis/RDS unreachable or a deletion failed/refused, 2 bad usage.
 */

async function withSources<T>(ctx: OpsContext, fn: (conn: Redis, rds: RdsPort) => Promise<T>): Promise<T> {
  const conn = await openRedis(ctx);
  let rds: RdsPort | undefined;
  try {
    rds = rdsFromConfig(ctx.cfg.rds);
    return await fn(conn, rds);
  } finally {
    await rds?.close().catch(() => undefined);
    conn.disconnect();
  }
}

async function scan(ctx: OpsContext, conn: Redis, rds: RdsPort): Promise<OrphanReport> {
  const prefix = ctx.cfg.queuePrefix;
  const cluster = await clusterIdFromConfig(ctx.cfg).catch((err: Error) => {
    throw new OpsFailure(`cannot tell this cluster's id: ${err.message}`);
  });
  return findOrphans(
    { rds, volumes: volumeStore(conn, prefix), snapshots: snapshotStore(conn, prefix), listFiles: rawFileLister(rds) },
    { basePath: ctx.cfg.rds.basePath, slotPrefix: ctx.cfg.volumePrefix, owner: { driver: ctx.cfg.driverName, cluster } },
  ).catch((err: Error) => {
    throw new OpsFailure(`cannot scan for orphans: ${err.message}`);
  });
}

function reportText(r: OrphanReport): string {
  const rows = [
    ...r.disks.map((d) => ['disk', d.filePath, d.slot, bytes(d.sizeBytes), d.exported ? 'yes' : 'no']),
    ...r.unowned.map((d) => ['unowned disk', d.filePath, d.slot, bytes(d.sizeBytes), d.exported ? 'yes' : 'no']),
    ...r.files.map((f) => ['file', f.path, '-', bytes(f.sizeBytes), '-']),
  ];
  const head = rows.length ? table(['KIND', 'PATH', 'SLOT', 'SIZE', 'EXPORTED'], rows) + '\n' : '';
  const files = r.filesChecked ? `${r.files.length} orphan file(s)` : 'backing files NOT checked (this RDS port cannot list files)';
  const unowned = r.unowned.length
    ? `; ${r.unowned.length} unowned disk(s) (no ownership comment: never deleted, see README "Ownership on RDS")`
    : '';
  const others = r.otherOwners ? `; ${r.otherOwners} disk(s) of other clusters left alone` : '';
  return (
    `${head}${r.disks.length} orphan disk(s) of cluster ${r.owner.cluster}, ${files} under ${r.basePath} ` +
    `(${r.known.volumes} volume and ${r.known.snapshots} snapshot record(s) known)${unowned}${others}`
  );
}

export function orphansCommand(): Command {
  const orphans = new Command('orphans').description('disks and backing files under the base path that the driver no longer knows');
  orphans.addCommand(
    addOpsOptions(new Command('list'))
      .description('report orphan disks (driver slot, under the base path, no record) and unused backing files')
      .action((flags: OpsFlags) =>
        runOps(async () => {
          const ctx = opsContext(flags);
          const report = await withSources(ctx, (conn, rds) => scan(ctx, conn, rds));
          if (flags.json) printJson(report);
          else print(reportText(report));
          return EXIT_OK;
        }),
      ),
  );
  orphans.addCommand(
    addOpsOptions(new Command('delete'))
      .description('MINIMAL delete of what `orphans list` reports, under the base path only (needs --yes; exported disks need --include-exported)')
      .option('--yes', 'really delete')
      .option('--include-exported', 'also delete orphan disks that are exported over NVMe/TCP')
      .option('--even-if-redis-is-empty', 'delete even when Redis holds no record at all (normally a sign that Redis lost its data)')
      .action((flags: OpsFlags & { yes?: boolean; includeExported?: boolean; evenIfRedisIsEmpty?: boolean }) =>
        runOps(async () => {
          if (!flags.yes) throw new UsageError('orphans delete removes disks and files on RDS: run `rds-csi orphans list` first, then add --yes');
          const ctx = opsContext(flags);
          const { report, outcomes } = await withSources(ctx, async (conn, rds) => {
            const report = await scan(ctx, conn, rds);
            const prefix = ctx.cfg.queuePrefix;
            const outcomes = await deleteOrphans({ rds, volumes: volumeStore(conn, prefix), snapshots: snapshotStore(conn, prefix) }, report, {
              includeExported: flags.includeExported,
              evenIfRedisIsEmpty: flags.evenIfRedisIsEmpty,
            }).catch((err: unknown) => {
              if (err instanceof OrphanDeleteRefused)
                throw new OpsFailure(`${err.message}, or pass --even-if-redis-is-empty if these disks really are leftovers`);
              throw err;
            });
            return { report, outcomes };
          });
          const failed = outcomes.filter((o) => o.result === 'failed').length;
          if (flags.json) {
            printJson({ filesChecked: report.filesChecked, outcomes });
          } else {
            if (outcomes.length)
              print(
                table(
                  ['KIND', 'PATH', 'RESULT', 'DETAIL'],
                  outcomes.map((o) => [o.kind, o.path, o.result, o.detail]),
                ),
              );
            const deleted = outcomes.filter((o) => o.result === 'deleted').length;
            print(
              `${deleted} deleted, ${outcomes.length - deleted - failed} skipped, ${failed} failed${report.filesChecked ? '' : ' (backing files NOT checked)'}`,
            );
          }
          return failed ? EXIT_FAILED : EXIT_OK;
        }),
      ),
  );
  return usageExit2(orphans);
}
