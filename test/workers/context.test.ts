import { createLogger } from '../../src/log/logger';
import type { JobName } from '../../src/queue/jobs';
import type { RdsPort } from '../../src/rds/port';
import {
  memorySteps,
  type BaseContext,
  type FencingContext,
  type OrphanPolicy,
  type ProcessorContext,
  type Records,
} from '../../src/workers/context';
import { processors } from '../../src/workers/processors';
import { depsOf, type WorkerDeps } from '../../src/workers/worker-deps';
import type { PoolSpace } from '../../src/workers/pool-space';

/**
 * Typed processor contexts (issue 13 item 2): each job declares what it needs besides the BaseContext
 * (context.ts JobDeps), and the worker host hands it exactly that (worker-deps.ts depsOf). A processor whose worker
 * lacks a dependency is a compile error, not a run-time "this worker was started without …".
 */
describe('processor contexts', () => {
  // Tokens standing in for the real objects: depsOf only picks them, it never calls them.
  const records = { volumes: {}, snapshots: {} } as Records;
  const fencing = { attachments: {}, events: {}, metrics: {} } as FencingContext;
  const orphans = {} as OrphanPolicy;
  const space = {} as PoolSpace;
  const deps: WorkerDeps = {
    rds: {} as RdsPort,
    basePath: '/pool/rds-csi',
    volumePrefix: 'pvc-',
    nqnPrefix: 'nqn.test',
    owner: { driver: 'rds.csi.mikrotik.com', cluster: 'test' },
    records,
    fencing,
    orphans,
    space,
  };

  it('every job has a processor and a deps slice', () => {
    expect(Object.keys(depsOf).sort()).toEqual(Object.keys(processors).sort());
  });

  const expected: Record<JobName, Record<string, unknown>> = {
    'disk.create': { space, storageSide: fencing.storageSide },
    'target.export': {},
    'disk.expand': {},
    'snapshot.create': { space },
    'disk.delete': { records, attachments: fencing.attachments },
    'snapshot.delete': { records, attachments: fencing.attachments },
    'fence.attach': { fencing },
    'fence.detach': { fencing },
    'migration.timeout': { fencing },
    'reconcile.attachments': { fencing },
    'reconcile.state': { records, nqnPrefix: 'nqn.test', metrics: fencing.metrics },
    'reconcile.orphans': { records, orphans, events: fencing.events, metrics: fencing.metrics },
  };
  it.each(Object.keys(expected) as JobName[])('%s gets exactly its declared deps', (name) => {
    const slice = depsOf[name](deps) as Record<string, unknown>;
    expect(Object.keys(slice).sort()).toEqual(Object.keys(expected[name]).sort());
    for (const [k, v] of Object.entries(expected[name])) expect(slice[k]).toBe(v);
  });

  it('a context without the declared deps does not compile (checked by tsc, which builds test/)', () => {
    const base: BaseContext = {
      rds: deps.rds,
      basePath: deps.basePath,
      volumePrefix: deps.volumePrefix,
      steps: memorySteps(),
      log: createLogger('silent'),
    };
    // @ts-expect-error reconcile.orphans declares records, orphans, events and metrics
    const orphansCtx: ProcessorContext<'reconcile.orphans'> = base;
    // @ts-expect-error fence.attach declares fencing
    const attachCtx: ProcessorContext<'fence.attach'> = base;
    // @ts-expect-error disk.create declares the free-space check and storageSide
    const createCtx: ProcessorContext<'disk.create'> = base;
    const expandCtx: ProcessorContext<'disk.expand'> = base;
    // @ts-expect-error disk.expand declares no records: it cannot reach them
    expect(expandCtx.records).toBeUndefined();
    expect([orphansCtx, attachCtx, createCtx]).toHaveLength(3);
  });
});
