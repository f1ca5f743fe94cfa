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
import { deleteOrphans, findOrphans, OrphanDeleteRefused, rawFileLister, refuseDeleteReason, type OrphanReport } from '../../reconcile/orphans';
import { snapshotStore, volumeStore } from '../../state/listing';
import type { Backend } from '../../rds/backends';
import type { Redis } from 'ioredis';
import { clusterIdFromConfig } from '../../runtime/cluster-factory';
import { addBackendOption, chooseBackends, type BackendChoice } from '../backend-choice';

/**
 * `rds-csi orphans list|delete`: a thin stub over findOrphans (src/reconcile/orphans.ts). `delete` is the minimal
 * operator delete (needs --yes; no grace period); the scheduled reconcile.orphans job is separate.
 * Several RDS backends (issue 16): every configured backend (or the one `--backend` names) is scanned on its own,
 * against the records of its own volumes and snapshots only (findOrphans' scope.backend, as the worker's
 * reconcile.orphans job does); with more than one configured, the text has a section per backend and --json an array.
 * Exit 0 ok (list: also when orphans exist), 1 Redis/RDS unreachable or a deletion failed/refused, 2 bad usage.
 */

type Flags = OpsFlags & { backend?: string };

async function withSources<T>(ctx: OpsContext, name: string | undefined, fn: (conn: Redis, choice: BackendChoice) => Promise<T>): Promise<T> {
  const choice = chooseBackends(ctx.cfg, name);
  try {
    const conn = await openRedis(ctx);
    try {
      return await fn(conn, choice);
    } finally {
      conn.disconnect();
    }
  } finally {
    await choice.all.close();
  }
}

/** One backend's scan, or why it could not be made. */
type Scan = { backend: Backend; report: OrphanReport; error?: undefined } | { backend: Backend; report?: undefined; error: string };

async function scanAll(ctx: OpsContext, conn: Redis, choice: BackendChoice): Promise<Scan[]> {
  const prefix = ctx.cfg.queuePrefix;
  const cluster = await clusterIdFromConfig(ctx.cfg).catch((err: Error) => {
    throw new OpsFailure(`cannot tell this cluster's id: ${err.message}`);
  });
  const owner = { driver: ctx.cfg.driverName, cluster };
  // One backend after the other: each judged against its own records only (scope.backend; absent = the primary).
  const out: Scan[] = [];
  for (const backend of choice.chosen) {
    const { rds } = backend;
    const scope = {
      basePath: backend.config.rds.basePath,
      slotPrefix: ctx.cfg.volumePrefix,
      owner,
      ...(backend.primary ? {} : { backend: backend.name }),
    };
    try {
      out.push({
        backend,
        report: await findOrphans(
          { rds, volumes: volumeStore(conn, prefix), snapshots: snapshotStore(conn, prefix), listFiles: rawFileLister(rds) },
          scope,
        ),
      });
    } catch (err) {
      out.push({ backend, error: `cannot scan for orphans${choice.several ? ` on backend ${backend.name}` : ''}: ${(err as Error).message}` });
    }
  }
  return out;
}

/** More than one RDS backend is configured: output names each backend (even when --backend narrows to one). */
function severalConfigured(ctx: OpsContext): boolean {
  return ctx.cfg.backends.length > 0;
}

const EMPTY_REDIS_HINT = ', or pass --even-if-redis-is-empty if these disks really are leftovers';

/** The scans' failures as one OpsFailure (exit 1), or nothing. */
function failureOf(scans: Scan[]): OpsFailure | undefined {
  const errors = scans.flatMap((s) => (s.error === undefined ? [] : [s.error]));
  return errors.length ? new OpsFailure(errors.join('; ')) : undefined;
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
    addBackendOption(addOpsOptions(new Command('list')), '(a section each)')
      .description('report orphan disks (driver slot, under the base path, no record) and unused backing files')
      .action((flags: Flags) =>
        runOps(async () => {
          const ctx = opsContext(flags);
          const scans = await withSources(ctx, flags.backend, (conn, choice) => scanAll(ctx, conn, choice));
          if (!severalConfigured(ctx)) {
            const failure = failureOf(scans);
            if (failure) throw failure;
            if (flags.json) printJson(scans[0].report);
            else print(reportText(scans[0].report!));
            return EXIT_OK;
          }
          if (flags.json)
            printJson(scans.map((s) => ({ ...s.report, backend: s.backend.name, ...(s.error === undefined ? {} : { error: s.error }) })));
          else print(scans.flatMap((s) => (s.report ? [`backend ${s.backend.name}:\n${reportText(s.report)}`] : [])).join('\n\n'));
          const failure = failureOf(scans);
          if (failure) throw failure;
          return EXIT_OK;
        }),
      ),
  );
  orphans.addCommand(
    addBackendOption(addOpsOptions(new Command('delete')), '(each on its own)')
      .description('MINIMAL delete of what `orphans list` reports, under the base path only (needs --yes; exported disks need --include-exported)')
      .option('--yes', 'really delete')
      .option('--include-exported', 'also delete orphan disks that are exported over NVMe/TCP')
      .option('--even-if-redis-is-empty', 'delete even when Redis holds no record at all (normally a sign that Redis lost its data)')
      .action((flags: Flags & { yes?: boolean; includeExported?: boolean; evenIfRedisIsEmpty?: boolean }) =>
        runOps(async () => {
          if (!flags.yes) throw new UsageError('orphans delete removes disks and files on RDS: run `rds-csi orphans list` first, then add --yes');
          const ctx = opsContext(flags);
          const several = severalConfigured(ctx);
          const on = (b: Backend): string => (several ? `backend ${b.name}: ` : '');
          const results = await withSources(ctx, flags.backend, async (conn, choice) => {
            const scans = await scanAll(ctx, conn, choice);
            // Every chosen backend is scanned, and passes the "Redis looks empty" guard on its own records, before
            // anything is deleted on any of them: one backend's refusal (or failed scan) deletes nothing anywhere.
            const failure = failureOf(scans);
            if (failure) throw failure;
            const reports = scans.map((s) => ({ backend: s.backend, report: s.report! }));
            const refused = flags.evenIfRedisIsEmpty
              ? []
              : reports.flatMap(({ backend, report }) => {
                  const why = refuseDeleteReason(report);
                  return why ? [`${on(backend)}${why}${EMPTY_REDIS_HINT}`] : [];
                });
            if (refused.length) throw new OpsFailure(refused.join('; '));
            const prefix = ctx.cfg.queuePrefix;
            const done = [];
            for (const { backend, report } of reports) {
              // deleteOrphans keeps its own guards per backend: the Redis re-count, the per-item re-checks against
              // this backend's records (report.backend), the base path and the exported-disk rule.
              const outcomes = await deleteOrphans(
                { rds: backend.rds, volumes: volumeStore(conn, prefix), snapshots: snapshotStore(conn, prefix) },
                report,
                { includeExported: flags.includeExported, evenIfRedisIsEmpty: flags.evenIfRedisIsEmpty },
              ).catch((err: unknown) => {
                if (err instanceof OrphanDeleteRefused) throw new OpsFailure(`${on(backend)}${err.message}${EMPTY_REDIS_HINT}`);
                throw err;
              });
              done.push({ backend: backend.name, filesChecked: report.filesChecked, outcomes });
            }
            return done;
          });
          const outcomes = results.flatMap((r) => r.outcomes.map((o) => ({ ...o, backend: r.backend })));
          const failed = outcomes.filter((o) => o.result === 'failed').length;
          const filesChecked = results.every((r) => r.filesChecked);
          if (flags.json) {
            if (several) printJson(results);
            else printJson({ filesChecked, outcomes: results[0].outcomes });
          } else {
            if (outcomes.length)
              print(
                table(
                  [...(several ? ['BACKEND'] : []), 'KIND', 'PATH', 'RESULT', 'DETAIL'],
                  outcomes.map((o) => [...(several ? [o.backend] : []), o.kind, o.path, o.result, o.detail]),
                ),
              );
            const deleted = outcomes.filter((o) => o.result === 'deleted').length;
            print(
              `${deleted} deleted, ${outcomes.length - deleted - failed} skipped, ${failed} failed${filesChecked ? '' : ' (backing files NOT checked)'}`,
            );
          }
          return failed ? EXIT_FAILED : EXIT_OK;
        }),
      ),
  );
  return usageExit2(orphans);
}
