import type { Queue } from 'bullmq';
import { Command, Option } from 'commander';
import type { Redis } from 'ioredis';
import {
  addOpsOptions,
  openQueue,
  openRedis,
  opsContext,
  OpsFailure,
  parseCount,
  print,
  printJson,
  runOps,
  usageExit2,
  EXIT_OK,
  type OpsContext,
  type OpsFlags,
} from '../operator';
import { age, clip, iso, table } from '../format';
import { CLEAN_STATES, cleanJobs, LIST_STATES, listJobs, retryJob, showJob, type CleanState, type JobDetail, type ListState } from '../job-admin';
import { VOLUME_QUEUE } from '../../queue/jobs';

/**
 * `rds-csi jobs list|show|retry|clean`: the BullMQ queue of volume jobs (`<queuePrefix>:volumes`).
 * Exit 0 ok, 1 job not found / not retryable / Redis unreachable, 2 bad usage or config.
 */

async function withQueue<T>(flags: OpsFlags, fn: (queue: Queue, ctx: OpsContext, conn: Redis) => Promise<T>): Promise<T> {
  const ctx = opsContext(flags);
  const conn = await openRedis(ctx);
  const queue = openQueue(ctx, conn);
  try {
    return await fn(queue, ctx, conn);
  } finally {
    await queue.close().catch(() => undefined);
    conn.disconnect();
  }
}

function detailText(j: JobDetail): string {
  const lines = [
    `id:          ${j.id}`,
    `name:        ${j.name}`,
    `state:       ${j.state}`,
    `volume:      ${j.volumeId ?? '-'}`,
    `attempts:    ${j.attemptsMade} of ${j.attempts}`,
    `created:     ${iso(j.createdAt)}`,
    `processed:   ${iso(j.processedOn)}`,
    `finished:    ${iso(j.finishedOn)}`,
  ];
  if (j.dueAt) lines.push(`due:         ${iso(j.dueAt)}`);
  if (j.failedReason) lines.push(`failed:      ${j.failedReason}`);
  if (j.leaseHolder) lines.push(`lease:       held by ${j.leaseHolder}`);
  lines.push(`progress:    ${JSON.stringify(j.progress)}`);
  lines.push(`data:        ${JSON.stringify(j.data)}`);
  lines.push(`result:      ${JSON.stringify(j.returnValue)}`);
  if (j.stacktrace.length) lines.push(`stacktrace:  ${j.stacktrace[j.stacktrace.length - 1].split('\n').join('\n             ')}`);
  return lines.join('\n');
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description(`inspect and manage the volume job queue (BullMQ queue "${VOLUME_QUEUE}" under the queue prefix)`);

  jobs.addCommand(
    addOpsOptions(new Command('list'))
      .description('jobs, newest first')
      .addOption(new Option('--state <state>', 'only jobs in this state').choices([...LIST_STATES]))
      .option('--limit <n>', 'at most this many jobs', '50')
      .action((flags: OpsFlags & { state?: ListState; limit: string }) =>
        runOps(async () => {
          const limit = parseCount(flags.limit, '--limit', 50, 1);
          const list = await withQueue(flags, (q) => listJobs(q, { state: flags.state, limit }));
          if (flags.json) printJson(list);
          else if (list.length === 0) print(flags.state ? `no ${flags.state} jobs` : 'no jobs');
          else
            print(
              table(
                ['ID', 'NAME', 'STATE', 'ATTEMPTS', 'AGE', 'REASON'],
                list.map((j) => [
                  j.id,
                  j.name,
                  j.state,
                  `${j.attemptsMade}/${j.attempts}`,
                  age(j.createdAt),
                  j.failedReason ? clip(j.failedReason, 80) : '',
                ]),
              ),
            );
          return EXIT_OK;
        }),
      ),
  );

  jobs.addCommand(
    addOpsOptions(new Command('show'))
      .description('one job: data, state, attempts, failure, progress, timestamps, lease holder')
      .argument('<id>', 'job id (as `jobs list` prints it)')
      .action((id: string, flags: OpsFlags) =>
        runOps(async () => {
          const job = await withQueue(flags, (q, ctx, conn) => showJob(q, id, { redis: conn, prefix: ctx.cfg.queuePrefix }));
          if (!job) throw new OpsFailure(`job ${id} not found in queue ${VOLUME_QUEUE}`);
          if (flags.json) printJson(job);
          else print(detailText(job));
          return EXIT_OK;
        }),
      ),
  );

  jobs.addCommand(
    addOpsOptions(new Command('retry'))
      .description('move a failed job back to waiting with a fresh set of attempts')
      .argument('<id>', 'job id')
      .action((id: string, flags: OpsFlags) =>
        runOps(async () => {
          const job = await withQueue(flags, (q) => retryJob(q, id));
          if (flags.json) printJson({ retried: job.id, name: job.name, state: job.state });
          else print(`job ${job.id} (${job.name}) moved to waiting`);
          return EXIT_OK;
        }),
      ),
  );

  jobs.addCommand(
    addOpsOptions(new Command('clean'))
      .description('remove finished jobs older than the grace period (a CSI retry of a removed job simply runs it again)')
      .addOption(new Option('--state <state>', 'which finished jobs').choices([...CLEAN_STATES]).makeOptionMandatory())
      .option('--grace-ms <ms>', 'keep jobs finished less than this long ago', '60000')
      .option('--limit <n>', 'at most this many (0 = all)', '0')
      .action((flags: OpsFlags & { state: CleanState; graceMs: string; limit: string }) =>
        runOps(async () => {
          const grace = parseCount(flags.graceMs, '--grace-ms', 60000);
          const limit = parseCount(flags.limit, '--limit', 0);
          const removed = await withQueue(flags, (q) => cleanJobs(q, flags.state, grace, limit));
          if (flags.json) printJson({ state: flags.state, graceMs: grace, removed });
          else print(`removed ${removed.length} ${flags.state} job(s) finished more than ${grace} ms ago`);
          return EXIT_OK;
        }),
      ),
  );
  return usageExit2(jobs);
}
