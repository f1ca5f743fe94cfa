import { status } from '@grpc/grpc-js';
import { UnrecoverableError, type Job } from 'bullmq';
import { FAILURE_KINDS, Failure } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { cappedBackoffStrategy } from '../../src/queue/backoff';
import type { JobRunner } from '../../src/queue/job-runner';
import { toJobFailure } from '../../src/workers/failure';
import { startQueueHarness, type QueueHarness } from '../support/queue-harness';

/**
 * A Failure raised in a worker reaches the controller's JobRunner through a real Redis and a real BullMQ Worker
 * with its kind and message intact (src/queue/failure-codec.ts), and a job failed by a worker of an earlier version
 * (`[CODE] message`) keeps its code during a rolling upgrade.
 */
describe('a Failure across the job queue', () => {
  const prefix = 'failure-rt';
  let h: QueueHarness;
  let runner: JobRunner;
  /** What the processor throws next, by job id. */
  const raise = new Map<string, () => unknown>();

  beforeAll(async () => {
    h = await startQueueHarness({
      prefix,
      policy: { attempts: 2, backoffMs: 10 },
      process: (job: Job) => {
        const thrown = raise.get(job.id ?? '')?.();
        // What worker-host does with a processor's error.
        return Promise.reject(thrown instanceof UnrecoverableError ? thrown : toJobFailure(thrown).error);
      },
      worker: { settings: { backoffStrategy: cappedBackoffStrategy(20, 10) } },
    });
    runner = h.runner;
  });
  afterAll(() => h.stop());

  const data = { volumeId: 'v1', slot: 'v1', filePath: '/pool/v1.img', sizeBytes: 1 };
  const failureOf = (id: string, thrown: () => unknown): Promise<unknown> => {
    raise.set(id, thrown);
    return runner.run('disk.create', id, data, 15000).then(
      () => new Error('the job succeeded'),
      (e: unknown) => e,
    );
  };

  // Transient kinds are retried by the queue; after the attempts they answer UNAVAILABLE (below).
  const permanent = FAILURE_KINDS.filter((k) => !new Failure(k, '').transient);

  it.each(permanent)('kind %s keeps its kind and message', async (kind) => {
    const message = `refusing [${kind}] "pvc-1": {"not": "a prefix"}\nline 2`;
    const err = await failureOf(`rt-${kind}`, () => new Failure(kind, message));
    expect(err).toBeInstanceOf(Failure);
    expect({ kind: (err as Failure).kind, message: (err as Failure).message }).toEqual({ kind, message });
  });

  it('a transient failure is retried, then answered UNAVAILABLE with its last message', async () => {
    const err = await failureOf('rt-transient', () => new Failure('unavailable', 'RDS unreachable (test)'));
    expect(statusOf(err)).toBe(status.UNAVAILABLE);
    expect((err as Error).message).toBe('disk.create failed after all retries: RDS unreachable (test); the request can be retried');
  });

  it.each<[string, status, string]>([
    ['[NOT_FOUND] disk v1 does not exist on RDS', status.NOT_FOUND, 'disk v1 does not exist on RDS'],
    ['[RESOURCE_EXHAUSTED] pool full', status.RESOURCE_EXHAUSTED, 'pool full'],
    ['[ALREADY_EXISTS] exists', status.ALREADY_EXISTS, 'exists'],
    ['[NO_SUCH_CODE] odd', status.UNAVAILABLE, 'disk.create failed after all retries: odd; the request can be retried'],
  ])('a job an older worker failed with "%s" keeps its code', async (reason, code, message) => {
    const err = await failureOf(`legacy-${code}-${reason.length}`, () => new UnrecoverableError(reason));
    expect(err).toBeInstanceOf(Failure);
    expect({ code: statusOf(err), message: (err as Error).message }).toEqual({ code, message });
  });
});
