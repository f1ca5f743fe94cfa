/**
 * Module groups of the mutation tier (stryker.config.mjs, jest.stryker.config.js, scripts/mutation.js): what is
 * mutated, and the in-process test files that can kill its mutants. Tests that spawn the compiled CLI (dist/) run
 * code Stryker never instruments, so they cannot kill a mutant and only cost time; they are left out.
 */
module.exports = {
  lease: { mutate: ['src/queue/lease.ts'], tests: ['test/queue/lease-holds.test.ts'] },
  'job-runner': {
    mutate: ['src/queue/job-runner.ts', 'src/queue/job-waiter.ts'],
    tests: [
      'test/queue/job-runner.test.ts',
      'test/queue/job-runner-outcomes.test.ts',
      'test/queue/job-runner-run.test.ts',
      'test/queue/job-waiter-first-read.test.ts',
      'test/queue/failure-round-trip.test.ts',
      'test/queue/job-waiter-costs.test.ts',
    ],
  },
  breaker: { mutate: ['src/rds/circuit-breaker.ts'], tests: ['test/rds/circuit-breaker.test.ts', 'test/rds/circuit-breaker-edges.test.ts'] },
  auth: { mutate: ['src/dashboard/auth.ts'], tests: ['test/dashboard/auth.test.ts', 'test/dashboard/auth-principal.test.ts'] },
  'ops-orphans': {
    mutate: ['src/reconcile/orphans.ts'],
    tests: ['test/reconcile/orphans.test.ts', 'test/rds/files-disk-root.test.ts'],
  },
  reconcilers: {
    // The reconcile.state job is a thin processor; its rules (base path, "records exist -> return") are in src/reconcile/state.ts.
    mutate: ['src/workers/processors/reconcile-*.ts', 'src/reconcile/state.ts'],
    tests: [
      'test/workers/reconcile-orphans.test.ts',
      'test/workers/reconcile-orphans-job.test.ts',
      'test/workers/reconcile-state.test.ts',
      'test/reconcile/state.test.ts',
    ],
  },
  // src/reconcile/state.ts alone against its in-process test (seconds per mutant, not a worker start per mutant).
  'reconcile-state': { mutate: ['src/reconcile/state.ts'], tests: ['test/reconcile/state.test.ts'] },
  // Processors: split so that each run stays bounded (disk.create is one job now: disk-create + ensure-disk +
  // pool-space; target.export stays for jobs enqueued by an older controller).
  'processors-fence': {
    mutate: ['src/workers/processors/fence-attach.ts', 'src/workers/processors/fence-detach.ts', 'src/workers/processors/allowed-hosts.ts'],
    tests: ['test/workers/fence-job.test.ts', 'test/api/fencing.test.ts'],
  },
  'processors-delete': {
    mutate: [
      'src/workers/processors/disk-delete.ts',
      'src/workers/processors/delete-guard.ts',
      'src/workers/processors/disk-expand.ts',
      'src/workers/processors/migration-timeout.ts',
    ],
    tests: [
      'test/workers/delete-job.test.ts',
      'test/workers/forged-delete.test.ts',
      'test/workers/rds-outage.test.ts',
      'test/api/controller.test.ts',
      'test/api/fencing.test.ts',
    ],
  },
  'processors-create': {
    mutate: [
      'src/workers/processors/disk-create.ts',
      'src/workers/processors/ensure-disk.ts',
      'src/workers/processors/target-export.ts',
      'src/workers/processors/snapshot-create.ts',
      'src/workers/processors/index.ts',
      'src/workers/pool-space.ts',
    ],
    tests: [
      'test/workers/disk-create.test.ts',
      'test/workers/ensure-disk-edges.test.ts',
      'test/workers/pool-space.test.ts',
      'test/workers/target-export.test.ts',
      'test/api/upgrade-create.test.ts',
      'test/workers/rds-outage.test.ts',
      'test/api/controller.test.ts',
      'test/api/snapshots.test.ts',
    ],
  },
  // The node modules one group each: their tests mount real filesystems, so a mutant costs seconds, not milliseconds.
  // node-probe runs only the two files that call the probe for its decisions (a fake blkid/dd, one stage per case):
  // with the 10 node files every probe mutant restaged volumes in all of them (round 5: node-stage's dry run alone
  // passed 5 min).
  ...Object.fromEntries(
    ['stage', 'unstage', 'publish', 'probe', 'mounter', 'ownership'].map((m) => [
      `node-${m}`,
      {
        mutate: [`src/node/${m}.ts`],
        tests: [
          'test/node/units.test.ts',
          'test/node/ownership.test.ts',
          'test/node/format-safety.test.ts',
          'test/node/node-fs.test.ts',
          'test/node/node-block.test.ts',
          'test/node/node-errors.test.ts',
          'test/node/node-safety.test.ts',
          'test/node/node-confine.test.ts',
          'test/node/volume-content-refusals.test.ts',
          'test/node/stage-unstage-refusals.test.ts',
        ],
      },
    ]),
  ),
  'node-probe': { mutate: ['src/node/probe.ts'], tests: ['test/node/format-safety.test.ts', 'test/node/probe.test.ts'] },
  // node-stage (round 7b): stage.test.ts drives NodeStageVolume's decisions in-process (fake NVMe sysfs, scripted tools,
  // the real connector, probe, mounter and attribution): ~0.2 s per case. With the 10 real-mount files the dry run
  // alone passed Stryker's 5 min limit (round 5).
  'node-stage': { mutate: ['src/node/stage.ts'], tests: ['test/node/stage.test.ts'] },
  // node-mounter (round 6b): test/node/mounter.test.ts drives the mounter over a scripted host (command lines, error
  // kinds, the unmount loop) and real files (removal); every real-mount node file also runs it, each mutant for minutes.
  'node-mounter': { mutate: ['src/node/mounter.ts'], tests: ['test/node/mounter.test.ts'] },
  // node-publish, node-unstage (round 7a): their decisions in-process over a fake NVMe sysfs and a scripted mount
  // table (publish-decisions.test.ts, unstage-decisions.test.ts: seconds per mutant); the 10 real-mount files cost
  // 50–110 s per mutant and decide nothing these files do not.
  'node-publish': { mutate: ['src/node/publish.ts'], tests: ['test/node/publish-decisions.test.ts'] },
  'node-unstage': { mutate: ['src/node/unstage.ts'], tests: ['test/node/unstage-decisions.test.ts'] },
  // node-ownership (round 6b): the attribution rule is decided in-process over a fake sysfs (ownership.test.ts,
  // crypt-ownership.test.ts: milliseconds per case); node-safety.test.ts is the one real-mount file whose stale and
  // foreign mounts go through unmountOwned; ownership-unmount.test.ts (round 7d) drives unmountOwned in-process (its
  // warning for stale layers). The other node files add minutes per mutant and no other decision.
  'node-ownership': {
    mutate: ['src/node/ownership.ts'],
    tests: [
      'test/node/ownership.test.ts',
      'test/node/ownership-unmount.test.ts',
      'test/node/crypt-ownership.test.ts',
      'test/node/node-safety.test.ts',
    ],
  },
};
