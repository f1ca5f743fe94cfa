import { status } from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import type { RdsPort } from '../rds/port';
import type { JobData, JobName, JobResult } from '../queue/jobs';

/** What every processor gets: the RDS port, the base path it may touch, and a logger. */
export interface ProcessorContext {
  rds: RdsPort;
  basePath: string;
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
