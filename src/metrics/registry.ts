import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per process with the default process metrics, and the driver's own metrics
 * (`rds_csi_` prefix). Each component takes the Metrics object it is given; nothing registers globally.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly rpcDuration: Histogram<'method' | 'code'>;
  readonly jobDuration: Histogram<'type' | 'outcome'>;
  readonly jobAttempts: Counter<'type'>;
  readonly jobFailures: Counter<'type' | 'kind'>;
  readonly routerosCallDuration: Histogram<'command' | 'outcome'>;
  readonly rdsConnected: Gauge;
  readonly queueDepth: Gauge<'state'>;
  readonly poolBytes: Gauge<'kind'>;
  readonly attachmentConflicts: Counter<'kind'>;
  readonly migrationDuration: Histogram<'outcome'>;
  readonly migrationsActive: Gauge;
  readonly reconcileActions: Counter<'action'>;

  constructor(component: string) {
    this.registry.setDefaultLabels({ component });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const fast = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.rpcDuration = new Histogram({ name: 'rds_csi_rpc_duration_seconds', help: 'CSI RPC duration by method and gRPC code', labelNames: ['method', 'code'], buckets: fast, registers });
    this.jobDuration = new Histogram({ name: 'rds_csi_job_duration_seconds', help: 'Job processing duration by type and outcome', labelNames: ['type', 'outcome'], buckets: fast, registers });
    this.jobAttempts = new Counter({ name: 'rds_csi_job_attempts_total', help: 'Job attempts started by type', labelNames: ['type'], registers });
    this.jobFailures = new Counter({ name: 'rds_csi_job_failures_total', help: 'Job attempts that failed, by type and kind (transient, permanent)', labelNames: ['type', 'kind'], registers });
    this.routerosCallDuration = new Histogram({ name: 'rds_csi_routeros_call_duration_seconds', help: 'RouterOS API call duration by command and outcome', labelNames: ['command', 'outcome'], buckets: fast, registers });
    this.rdsConnected = new Gauge({ name: 'rds_csi_rds_connected', help: '1 when the RouterOS API connection is up', registers });
    this.queueDepth = new Gauge({ name: 'rds_csi_queue_jobs', help: 'Jobs in the queue by state', labelNames: ['state'], registers });
    this.attachmentConflicts = new Counter({ name: 'rds_csi_attachment_conflicts_total', help: 'Attachments refused by the fencing rules, by kind', labelNames: ['kind'], registers });
    this.migrationDuration = new Histogram({ name: 'rds_csi_migration_duration_seconds', help: 'Live migrations by outcome (completed, aborted, failed) and duration', labelNames: ['outcome'], buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600], registers });
    this.migrationsActive = new Gauge({ name: 'rds_csi_migrations_active', help: 'Volumes attached to two nodes for a live migration', registers });
    this.reconcileActions = new Counter({ name: 'rds_csi_reconcile_actions_total', help: 'Reconciler actions by kind', labelNames: ['action'], registers });
    this.poolBytes = new Gauge({ name: 'rds_csi_pool_bytes', help: 'RDS pool capacity by kind (size, free)', labelNames: ['kind'], registers });
  }
}
