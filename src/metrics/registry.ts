import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Where scrape-time gauges read their values (the controller sets them; other processes leave them unset and the
 * gauges stay empty). Each source failing only leaves its gauge stale for that scrape.
 */
export interface ScrapeSources {
  queueCounts?: () => Promise<Record<string, number>>;
  /**
   * One process-wide pool reading, labelled backend=`poolBackend` (default "default"): the single-RDS wiring.
   * Superseded by `pools` (one reading per backend); when both are set, `pools` wins.
   */
  pool?: () => Promise<{ sizeBytes: number; freeBytes: number }>;
  poolBackend?: string;
  /** Each backend's pool (issue 16); a backend whose reading failed is left out, so only its gauge goes stale. */
  pools?: () => Promise<BackendPool[]>;
  /** Whether each backend answered its (cached) ping: rds_csi_rds_backend_up. */
  backendsUp?: () => Promise<Array<{ backend: string; up: boolean }>>;
  managed?: () => Promise<{ volumes: number; snapshots: number; migrations: number }>;
}

export interface BackendPool {
  backend: string;
  sizeBytes: number;
  freeBytes: number;
}

/** The label of every per-RDS metric: the backend's name (rds.backend, "default" unless set; or backends[].name). */
export type BackendLabel = 'backend';

/**
 * One prom-client registry per process with the default process metrics, and the driver's own metrics
 * (`rds_csi_` prefix). Each component takes the Metrics object it is given; nothing registers globally.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly rpcDuration: Histogram<'method' | 'code'>;
  /** `backend`: the job's RDS backend, where the worker knows it (issue 16); absent on jobs of no one backend. */
  readonly jobDuration: Histogram<'type' | 'outcome' | BackendLabel>;
  readonly jobAttempts: Counter<'type' | BackendLabel>;
  readonly jobFailures: Counter<'type' | 'kind' | BackendLabel>;
  readonly routerosCallDuration: Histogram<'command' | 'outcome' | BackendLabel>;
  readonly rdsConnected: Gauge<BackendLabel>;
  readonly rdsBreakerOpen: Gauge<BackendLabel>;
  readonly rdsBackendUp: Gauge<BackendLabel>;
  readonly queueDepth: Gauge<'state'>;
  readonly poolBytes: Gauge<'kind' | BackendLabel>;
  readonly attachmentConflicts: Counter<'kind'>;
  readonly migrationDuration: Histogram<'outcome'>;
  readonly reconcileActions: Counter<'action'>;
  readonly managed: Gauge<'kind'>;
  readonly volumeConditionReports: Counter<'condition'>;
  readonly volumesByCondition: Gauge<'condition'>;
  private sources: ScrapeSources = {};

  /** Lets the gauges that are read at scrape time (queue depth, pool, managed objects) find their values. */
  setScrapeSources(sources: ScrapeSources): void {
    this.sources = sources;
  }

  constructor(component: string) {
    this.registry.setDefaultLabels({ component });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const fast = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.rpcDuration = new Histogram({
      name: 'rds_csi_rpc_duration_seconds',
      help: 'CSI RPC duration by method and gRPC code',
      labelNames: ['method', 'code'],
      buckets: fast,
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'rds_csi_job_duration_seconds',
      help: 'Job processing duration by type, outcome and RDS backend',
      labelNames: ['type', 'outcome', 'backend'],
      buckets: fast,
      registers,
    });
    this.jobAttempts = new Counter({
      name: 'rds_csi_job_attempts_total',
      help: 'Job attempts started by type and RDS backend',
      labelNames: ['type', 'backend'],
      registers,
    });
    this.jobFailures = new Counter({
      name: 'rds_csi_job_failures_total',
      help: 'Job attempts that failed, by type, kind (transient, permanent) and RDS backend',
      labelNames: ['type', 'kind', 'backend'],
      registers,
    });
    this.routerosCallDuration = new Histogram({
      name: 'rds_csi_routeros_call_duration_seconds',
      help: 'RouterOS API call duration by backend, command and outcome',
      labelNames: ['command', 'outcome', 'backend'],
      buckets: fast,
      registers,
    });
    this.rdsConnected = new Gauge({
      name: 'rds_csi_rds_connected',
      help: "1 when the backend's RouterOS API connection is up",
      labelNames: ['backend'],
      registers,
    });
    this.rdsBreakerOpen = new Gauge({
      name: 'rds_csi_rds_breaker_open',
      help: "1 while the backend's RDS circuit breaker refuses calls (open, or half-open awaiting its probe), 0 when closed",
      labelNames: ['backend'],
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const self = this;
    this.rdsBackendUp = new Gauge({
      name: 'rds_csi_rds_backend_up',
      help: "1 when the backend's RDS answered its last (cached) ping, 0 when it did not (the controller's Probe and /healthz)",
      labelNames: ['backend'],
      registers,
      async collect() {
        const up = await self.sources.backendsUp?.().catch(() => undefined);
        for (const b of up ?? []) this.set({ backend: b.backend }, b.up ? 1 : 0);
      },
    });
    this.queueDepth = new Gauge({
      name: 'rds_csi_queue_jobs',
      help: 'Jobs in the queue by state (BullMQ counts)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await self.sources.queueCounts?.().catch(() => undefined);
        for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
      },
    });
    this.managed = new Gauge({
      name: 'rds_csi_managed_objects',
      help: 'Volumes and snapshots the driver manages, and volumes in a live migration',
      labelNames: ['kind'],
      registers,
      async collect() {
        const m = await self.sources.managed?.().catch(() => undefined);
        if (!m) return;
        this.set({ kind: 'volumes' }, m.volumes);
        this.set({ kind: 'snapshots' }, m.snapshots);
        this.set({ kind: 'migrations' }, m.migrations);
      },
    });
    this.attachmentConflicts = new Counter({
      name: 'rds_csi_attachment_conflicts_total',
      help: 'Attachments refused by the fencing rules, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.migrationDuration = new Histogram({
      name: 'rds_csi_migration_duration_seconds',
      help: 'Live migrations by outcome (completed, aborted, failed) and duration',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.reconcileActions = new Counter({
      name: 'rds_csi_reconcile_actions_total',
      help: 'Reconciler actions by kind',
      labelNames: ['action'],
      registers,
    });
    this.volumeConditionReports = new Counter({
      name: 'rds_csi_volume_condition_reports_total',
      help: 'Volume conditions reported by ListVolumes and ControllerGetVolume, by condition (normal or why abnormal)',
      labelNames: ['condition'],
      registers,
    });
    this.volumesByCondition = new Gauge({
      name: 'rds_csi_volumes_by_condition',
      help: 'Volumes by the condition last reported for each (normal, rds-unreachable, missing, export-off, export-mismatch, pool-unmounted, pool-full, migration-timed-out)',
      labelNames: ['condition'],
      registers,
    });
    this.poolBytes = new Gauge({
      name: 'rds_csi_pool_bytes',
      help: 'RDS pool capacity by backend and kind (size, free)',
      labelNames: ['kind', 'backend'],
      registers,
      async collect() {
        const { pools, pool, poolBackend = 'default' } = self.sources;
        const readings = pools
          ? await pools().catch(() => [])
          : await (pool?.() ?? Promise.resolve(undefined)).then(
              (p) => (p ? [{ backend: poolBackend, ...p }] : []),
              () => [],
            );
        for (const p of readings) {
          this.set({ kind: 'size', backend: p.backend }, p.sizeBytes);
          this.set({ kind: 'free', backend: p.backend }, p.freeBytes);
        }
      },
    });
  }
}
