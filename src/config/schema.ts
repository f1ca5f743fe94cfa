import { z } from 'zod';
import { bool, extraBackendSchema, labelValue, parseJsonList, rdsSchema } from './rds-schema';

export { extraBackendSchema, rdsSchema };

/**
 * The one typed, validated configuration object of rds-csi. Every process (controller, worker, node, all-in-one)
 * reads the part it needs from it; a YAML file, RDS_CSI_* environment variables and flags feed it (load.ts); the flags
 * are declared in options.ts.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** Where the job dashboard listens unless told: loopback only (issue 18 item 5). */
export const DEFAULT_DASHBOARD_LISTEN = '127.0.0.1:9810';

const nqnPart = /^[a-z0-9][a-z0-9.:-]*$/;

/** How to reach Redis beyond its URL: TLS CA for rediss://, or Redis Sentinel for HA. */
export const redisSchema = z.object({
  /** `host:port,host:port`: connect through Redis Sentinel instead of the URL's host. */
  sentinels: z.string().optional(),
  /** The master group name the sentinels monitor (`sentinel monitor <name> …`). */
  sentinelName: z.string().min(1).optional(),
  sentinelPassword: z.string().optional(),
  /** CA bundle (PEM) for rediss://. */
  caFile: z.string().min(1).optional(),
  /**
   * Replicas that must hold each record write before it counts (Redis WAIT). Replication is asynchronous: on a
   * failover the promoted replica can miss writes the old master acknowledged (a disk with no record, a record
   * with no disk). 1 with Sentinel: a write the replica did not confirm answers UNAVAILABLE and the sidecar's
   * retry redoes it on the new master. Unset = 0, for a standalone Redis, which has no replica to wait for.
   */
  waitReplicas: z.coerce.number().int().min(0).max(16).optional(),
  /** How long one WAIT may take, default 1000 (below the fast connection's 5 s command timeout). */
  waitTimeoutMs: z.coerce.number().int().min(10).max(4000).optional(),
});

const int = z.coerce.number().int();
const nodeId = z
  .string({ error: (iss) => (iss.input === undefined ? 'required to run the node plugin' : undefined) })
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'node id: letters, digits, ".", "_", "-"');

/**
 * Defaults of `nvme connect` for every volume. ctrl_loss_tmo −1 keeps mounts alive across RDS restarts (the kernel
 * never gives up reconnecting).
 */
export const connectDefaultsSchema = z.object({
  /** Seconds; −1 = reconnect forever. */
  ctrlLossTmo: int.min(-1).default(-1),
  reconnectDelay: int.min(1).max(3600).default(5),
  keepAliveTmo: int.min(1).max(3600).default(15),
  /** Seconds after which I/O fails while reconnecting; unset = kernel default (wait for ctrl_loss_tmo). */
  fastIoFailTmo: int.min(-1).max(3600).optional(),
});

/**
 * Safe node shutdown (src/node/shutdown.ts, README "Node shutdown"): on a real node shutdown the managed controllers'
 * ctrl_loss_tmo is lowered to `ctrlLossTmo` seconds so an unreachable RDS cannot hold the shutdown forever. Whether
 * the node is shutting down is asked of logind and systemd over D-Bus (src/node/shutdown-signal.ts) through the host
 * sockets below, as mounted in the plugin's container.
 */
export const shutdownSchema = z.object({
  ctrlLossTmo: int.min(0).max(3600).default(10),
  dbusSend: z.string().min(1).default('dbus-send'),
  systemBus: z.string().startsWith('/').default('/run/dbus/system_bus_socket'),
  systemdPrivate: z.string().startsWith('/').default('/run/systemd/private'),
  /** Per D-Bus question (two at most). */
  detectTimeoutMs: int.min(200).max(30000).default(3000),
});

/**
 * The node plugin's own options (`node:` in the YAML file, RDS_CSI_NODE_* in the environment, the flags of
 * `rds-csi node`). The parts shared with the controller (driver name, NQN prefix, RDS base path) are top-level keys.
 * nodeId is required only by the node plugin: parseNodeOptions (load.ts) checks it and the loop connector's data dir.
 */
export const nodeSchema = z.object({
  nodeId: nodeId.optional(),
  /** The node's host NQN for `nvme connect --hostnqn`; derived from the node id when unset (stable). */
  hostNqn: z
    .string()
    .regex(/^nqn\.\d{4}-\d{2}\.[^\s]{1,200}$/)
    .optional(),
  /** 0 = not reported (no limit). */
  maxVolumesPerNode: int.min(0).max(100000).default(0),
  connector: z.enum(['nvme-tcp', 'loop']).default('nvme-tcp'),
  /** loop connector: the simulator's data dir; a volume's file is `<dir>/<basePath>/<volumeId>.img`. */
  loopDataDir: z.string().startsWith('/').optional(),
  sysfsRoot: z.string().startsWith('/').default('/sys'),
  devRoot: z.string().startsWith('/').default('/dev'),
  mountInfoFile: z.string().startsWith('/').default('/proc/self/mountinfo'),
  /**
   * kubelet's root directory. Every staging and target path of a request must lie under its real path
   * (src/node/confine.ts); the chart passes `node.kubeletDir`, tests and all-in-one their temp root.
   */
  kubeletDir: z.string().startsWith('/').default('/var/lib/kubelet'),
  nvmeCommand: z.string().min(1).default('nvme'),
  /** Timeout of every ordinary host tool; the process is killed after it. */
  toolTimeoutMs: int.positive().default(30000),
  /** mkfs and resize of big volumes take longer. */
  formatTimeoutMs: int.positive().default(600000),
  /**
   * Unlock time of a new LUKS2 key slot (`cryptsetup luksFormat --iter-time`, encryption at rest): the argon2id cost is
   * benchmarked to take this long on this node. Unset: cryptsetup's default (2000 ms for LUKS2). Lower means faster
   * stages and cheaper guessing of a weak passphrase.
   */
  luksIterTimeMs: int.positive().optional(),
  /** How long to wait for the connected NQN's device to appear with a non-zero size. */
  deviceWaitMs: int.positive().default(20000),
  /** How long a call on a busy volume waits for the volume's lock before ABORTED. */
  busyWaitMs: int.min(0).default(2000),
  /** 0 = orphan cleanup only at start-up. */
  orphanIntervalMs: int.min(0).default(300000),
  /**
   * The RDS backends this node may use (issue 16): comma-separated `name=host:port`, the NVMe/TCP address of each.
   * Checked by src/config/node-backends.ts (syntax, names, ports) and, at start-up, by a TCP connect to each port
   * (src/node/backend-reach.ts); NodeGetInfo reports the segments of those reached. Empty: the primary's segment
   * only, no check (a single-RDS node).
   */
  backends: z.string().default(''),
  /** Bound of each backend's start-up TCP connect check; 0 = no check (every listed backend is reported). */
  backendReachMs: int.min(0).max(60000).default(1500),
  connect: connectDefaultsSchema.default({ ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 }),
  shutdown: shutdownSchema.default(shutdownSchema.parse({})),
});

/** What the node plugin runs with: the `node:` block with a node id, and a data dir when the connector is loop. */
export const nodeOptionsSchema = nodeSchema
  .extend({ nodeId })
  .refine((o) => o.connector !== 'loop' || o.loopDataDir !== undefined, { message: 'the loop connector needs loopDataDir', path: ['loopDataDir'] });

export const configSchema = z.object({
  driverName: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'driver name must be a DNS-1123 subdomain of at most 63 characters')
    .default('rds.csi.mikrotik.com'),
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  redis: redisSchema.default({}),
  /** BullMQ prefix; may carry a Redis Cluster hash tag, e.g. `{rds-csi}`. */
  queuePrefix: z.string().min(1).default('rds-csi'),
  /** Volume ids are `<volumePrefix><name-derived>`; also the slot prefix the orphan reconciler owns. */
  volumePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,15}$/)
    .default(''),
  nqnPrefix: z.string().regex(nqnPart).default('nqn.2026-11.com.mikrotik.rds-csi'),
  /**
   * This cluster's id in the ownership comment of every disk (src/domain/ownership.ts): only disks of this cluster
   * are orphans or rebuilt records of it. Unset: the kube-system namespace UID with Kubernetes, `standalone` without
   * (src/cluster/cluster-id.ts). A DNS-1123 label.
   */
  clusterId: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'clusterId must be a DNS-1123 label: a-z, 0-9, "-", at most 63 characters')
    .optional(),
  /**
   * Volume health reported by ListVolumes and ControllerGetVolume (src/api/volume-health.ts); the pool reading is the
   * controller's cached one (rds.statusCacheMs).
   */
  health: z
    .object({
      /** The pool counts as nearly full (every volume abnormal) at this used percentage. */
      poolFullPercent: z.coerce.number().min(1).max(100).default(95),
    })
    .default({ poolFullPercent: 95 }),
  rds: rdsSchema.default(rdsSchema.parse({})),
  /** More RDS appliances (issue 16; src/config/backends.ts): names unique and not the primary's `rds.backend`. */
  backends: z.preprocess((v) => (typeof v === 'string' ? parseJsonList(v) : v), z.array(extraBackendSchema)).default([]),
  /**
   * The primary backend's zone and per-worker job limit (the `zone` and `concurrency` of an extra backend), for
   * placement by zone and per-backend concurrency when `backends` is used.
   */
  primaryBackend: z.object({ zone: labelValue.optional(), concurrency: z.coerce.number().int().min(1).max(256).optional() }).default({}),
  volumes: z
    .object({
      minBytes: z.coerce
        .number()
        .int()
        .positive()
        .default(1 * MiB),
      maxBytes: z.coerce
        .number()
        .int()
        .positive()
        .default(64 * TiB),
      defaultBytes: z.coerce
        .number()
        .int()
        .positive()
        .default(1 * GiB),
    })
    .default({ minBytes: 1 * MiB, maxBytes: 64 * TiB, defaultBytes: 1 * GiB }),
  worker: z
    .object({
      concurrency: z.coerce.number().int().min(1).max(256).default(16),
      attempts: z.coerce.number().int().min(1).max(100).default(10),
      backoffMs: z.coerce.number().int().positive().default(500),
      /** Ceiling of the backoff between attempts (src/queue/backoff.ts): an RDS that answers again is used within it. */
      backoffMaxMs: z.coerce.number().int().positive().default(5000),
      /** Per-volume lease; renewed while a job runs, so it only expires when the worker is gone. */
      leaseMs: z.coerce.number().int().positive().default(10000),
      /** BullMQ job lock; a worker that dies loses its jobs to another after this long. */
      lockMs: z.coerce.number().int().positive().default(15000),
      stalledIntervalMs: z.coerce.number().int().positive().default(5000),
      /**
       * How long a worker reuses one reading of the pool's free space for its free-space check before an add
       * (src/workers/pool-space.ts), subtracting the bytes of its own adds since: a create costs no pool print.
       */
      poolReadingTtlMs: z.coerce.number().int().min(0).default(3000),
    })
    .default({
      concurrency: 16,
      attempts: 10,
      backoffMs: 500,
      backoffMaxMs: 5000,
      leaseMs: 10000,
      lockMs: 15000,
      stalledIntervalMs: 5000,
      poolReadingTtlMs: 3000,
    }),
  api: z
    .object({
      /** Answer ABORTED this long before the caller's deadline so the reply still arrives in time. */
      deadlineMarginMs: z.coerce.number().int().min(0).default(500),
      /** How long to await a job when the call carries no deadline. */
      defaultWaitMs: z.coerce.number().int().positive().default(30000),
    })
    .default({ deadlineMarginMs: 500, defaultWaitMs: 30000 }),
  kubernetes: z
    .object({
      /** auto = use the cluster when running in a pod (KUBERNETES_SERVICE_HOST) or when a kubeconfig is given. */
      mode: z.enum(['auto', 'on', 'off']).default('auto'),
      kubeconfig: z.string().optional(),
    })
    .default({ mode: 'auto' }),
  /** Standalone mode (no Kubernetes): the node ids that exist. Comma-separated in env/flags. */
  nodes: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : v,
      z.array(z.string().min(1)),
    )
    .default([]),
  fencing: z
    .object({
      /**
       * Set each disk's nvme-tcp-server-allow-host-name to the host NQNs of the nodes it is published to. RouterOS's
       * semantics of that property are not documented (docs/ARCHITECTURE.md RouterOS §2.6), so this is off by default.
       */
      storageSide: bool.default(false),
      defaultMigrationWindowSeconds: z.coerce.number().int().min(10).max(3600).default(300),
      reconcileIntervalMs: z.coerce.number().int().min(1000).default(60000),
    })
    .default({ storageSide: false, defaultMigrationWindowSeconds: 300, reconcileIntervalMs: 60000 }),
  /**
   * Job dashboard (bull-board) under /dashboard on a listen address of its own (not the metrics port). On only when
   * a credential is configured (basic auth and/or bearer token, each read from a file such as a mounted Secret), or
   * when insecureNoAuth is set explicitly. See src/dashboard/.
   */
  dashboard: z
    .object({
      /** File holding `user:password`. */
      basicAuthFile: z.string().min(1).optional(),
      /** Basic auth from two files (e.g. a kubernetes.io/basic-auth Secret's `username` and `password`). */
      basicAuthUserFile: z.string().min(1).optional(),
      basicAuthPasswordFile: z.string().min(1).optional(),
      /** File holding a bearer token (`Authorization: Bearer <token>`). */
      tokenFile: z.string().min(1).optional(),
      /** No retry, clean, remove, pause, add from the dashboard. */
      readOnly: bool.default(true),
      /** Serve the dashboard with no authentication at all. Never the default; logged as a warning. */
      insecureNoAuth: bool.default(false),
      /**
       * host:port of the dashboard's own HTTP server. Loopback by default: reached with `kubectl port-forward`, never
       * from another pod; the metrics port (--http-listen) does not serve it.
       */
      listen: z
        .string()
        .regex(/^(\S*:)?\d{1,5}$/, 'expected host:port')
        .default(DEFAULT_DASHBOARD_LISTEN),
    })
    .default({ readOnly: true, insecureNoAuth: false, listen: DEFAULT_DASHBOARD_LISTEN }),
  orphans: z
    .object({
      /** How often reconcile.orphans looks for disks and backing files nothing knows. */
      intervalMs: z.coerce.number().int().min(10000).default(3600000),
      /** Delete orphans (off: report only). Only under the base path, never exported disks. */
      delete: bool.default(false),
      /** An orphan is deleted only this long after it was first seen. */
      graceMs: z.coerce
        .number()
        .int()
        .min(0)
        .default(24 * 3600 * 1000),
    })
    .default({ intervalMs: 3600000, delete: false, graceMs: 24 * 3600 * 1000 }),
  node: nodeSchema.default(nodeSchema.parse({})),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;
export type RdsConfig = z.infer<typeof rdsSchema>;
export type ExtraBackendConfig = z.infer<typeof extraBackendSchema>;
/** The `node:` block as the config holds it (node id optional). */
export type NodeConfig = z.infer<typeof nodeSchema>;
export type NodeOptionsInput = z.input<typeof nodeOptionsSchema>;
export type NodeOptions = z.infer<typeof nodeOptionsSchema>;
export type ConnectDefaults = z.infer<typeof connectDefaultsSchema>;
export type ShutdownConfig = z.infer<typeof shutdownSchema>;
