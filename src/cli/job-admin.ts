/**
 * The operator's view of the volume queue (VOLUME_QUEUE under cfg.queuePrefix): list, show, retry a failed job,
 * clean finished ones. Read-only except retry (failed → waiting, with a fresh set of attempts) and clean.
 */
import { Job, type JobType, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { decodeJobFailure, isLegacyFailure } from '../queue/failure-codec';
import { DriverKeys } from '../state/keys';
import { OpsFailure } from './exit-codes';

export const LIST_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type ListState = (typeof LIST_STATES)[number];
/** Without --state every state is listed, including the two the flag does not offer. */
const ALL_STATES: JobType[] = ['waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'failed', 'completed'];

export const CLEAN_STATES = ['completed', 'failed'] as const;
export type CleanState = (typeof CLEAN_STATES)[number];

export interface JobSummary {
  id: string;
  name: string;
  state: string;
  /** Volume (or snapshot) id from the payload, when it has one. */
  volumeId?: string;
  attemptsMade: number;
  attempts: number;
  createdAt: number;
  processedOn?: number;
  finishedOn?: number;
  /** The failure's message (its JSON envelope, queue/failure-codec.ts, taken off). */
  failedReason?: string;
  /** The failure kind its worker recorded (src/domain/failure.ts). */
  kind?: string;
  /** The CSI code a worker of an earlier version recorded (`[CODE] message` in failedReason). */
  code?: string;
}

export interface JobDetail extends JobSummary {
  data: unknown;
  progress: unknown;
  returnValue: unknown;
  delayMs: number;
  /** For delayed jobs: when they become due. */
  dueAt?: number;
  stacktrace: string[];
  /** Holder of the per-volume lease (`<prefix>:lease:vol:<volumeId>`), when someone holds it. */
  leaseHolder?: string;
}

function summary(job: Job, state: string): JobSummary {
  const data = job.data as { volumeId?: unknown } | undefined;
  const s: JobSummary = {
    id: job.id ?? '',
    name: job.name,
    state,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    createdAt: job.timestamp,
  };
  if (typeof data?.volumeId === 'string' && data.volumeId) s.volumeId = data.volumeId;
  if (job.processedOn) s.processedOn = job.processedOn;
  if (job.finishedOn) s.finishedOn = job.finishedOn;
  if (job.failedReason) {
    const f = decodeJobFailure(job.failedReason);
    s.failedReason = f && !isLegacyFailure(f) ? f.message : job.failedReason;
    if (f && isLegacyFailure(f)) s.code = f.code;
    else if (f) s.kind = f.kind;
  }
  return s;
}

/** Newest first, at most `limit`. */
export async function listJobs(queue: Queue, opts: { state?: ListState; limit: number }): Promise<JobSummary[]> {
  const states: JobType[] = opts.state ? [opts.state] : ALL_STATES;
  const out: JobSummary[] = [];
  for (const state of states) {
    const jobs = await queue.getJobs([state], 0, Math.max(0, opts.limit - 1), false);
    for (const job of jobs) if (job) out.push(summary(job, state));
  }
  out.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  return out.slice(0, opts.limit);
}

export async function showJob(queue: Queue, id: string, lease?: { redis: Redis; prefix: string }): Promise<JobDetail | undefined> {
  const job = await Job.fromId(queue, id);
  if (!job) return undefined;
  const state = await job.getState();
  const d: JobDetail = {
    ...summary(job, state),
    data: job.data,
    progress: job.progress,
    returnValue: job.returnvalue ?? null,
    delayMs: job.delay,
    stacktrace: job.stacktrace ?? [],
  };
  if (state === 'delayed' && job.delay) d.dueAt = job.timestamp + job.delay;
  if (lease && d.volumeId) {
    const holder = await lease.redis.get(new DriverKeys(lease.prefix).lease(d.volumeId));
    if (holder) d.leaseHolder = holder;
  }
  return d;
}

/** Moves a failed job back to waiting with a full set of attempts. OpsFailure when absent or not failed. */
export async function retryJob(queue: Queue, id: string): Promise<JobSummary> {
  const job = await Job.fromId(queue, id);
  if (!job) throw new OpsFailure(`job ${id} not found in queue ${queue.name}`);
  const state = await job.getState();
  if (state !== 'failed') throw new OpsFailure(`job ${id} is ${state}; only a failed job can be retried`);
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return summary(job, 'waiting');
}

/** Removes finished jobs of `state` older than `graceMs` (at most `limit`, 0 = all); returns their ids. */
export async function cleanJobs(queue: Queue, state: CleanState, graceMs: number, limit: number): Promise<string[]> {
  return queue.clean(graceMs, limit, state);
}
