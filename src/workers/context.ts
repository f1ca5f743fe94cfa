import { status } from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import type { RdsPort } from '../rds/port';
import type { JobData, JobName, JobResult } from '../queue/jobs';

/**
 * Steps a job has passed, kept in the job's progress in Redis so an attempt after a crash knows what an earlier
 * attempt already asked RDS to do (e.g. an add whose reply never came).
 */
export interface JobSteps {
  has(step: string): boolean;
  mark(step: string): Promise<void>;
}

/** What every processor gets: the RDS port, the base path it may touch, its job's steps, and a logger. */
export interface ProcessorContext {
  rds: RdsPort;
  basePath: string;
  steps: JobSteps;
  log: Logger;
}

export type Processor<N extends JobName> = (data: JobData<N>, ctx: ProcessorContext) => Promise<JobResult<N>>;

/** A fault that retrying cannot fix: the job fails at once with this CSI code. */
export class PermanentError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** Steps kept in memory only: for callers outside a queue job (benchmarks, direct calls). */
export function memorySteps(): JobSteps {
  const done = new Set<string>();
  return {
    has: (step) => done.has(step),
    mark: (step) => {
      done.add(step);
      return Promise.resolve();
    },
  };
}
