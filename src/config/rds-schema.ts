import { z } from 'zod';

/**
 * The RDS part of the configuration (config/schema.ts): how to reach one RouterOS appliance and export its disks
 * (`rds`, the primary backend) and the extra backends of issue 16 (`backends`), which repeat those keys by name.
 */

/** Env values are strings: "false" must read as false (z.coerce.boolean would make it true). */
export const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(t)) return false;
  return v;
}, z.boolean());

export const rdsSchema = z.object({
  /** RouterOS API address (host). */
  host: z.string().min(1).default('127.0.0.1'),
  /** 8728 = api, 8729 = api-ssl. */
  port: z.coerce.number().int().min(1).max(65535).default(8728),
  user: z.string().default('admin'),
  password: z.string().default(''),
  /** api-ssl. With caFile, the server certificate must chain to that CA (pinning). */
  tls: bool.default(false),
  caFile: z.string().optional(),
  /**
   * Plain API (no TLS) is an explicit choice: without tls and without this, `rds-csi controller|worker` refuse to
   * start (the RouterOS password would cross the network in clear). With it they start and log a warning.
   * The embedded simulator of all-in-one/demo is on loopback and needs no such choice.
   */
  insecurePlaintext: bool.default(false),
  tlsServerName: z.string().optional(),
  connectTimeoutMs: z.coerce.number().int().positive().default(3000),
  callTimeoutMs: z.coerce.number().int().positive().default(10000),
  /** Consecutive transient failures before calls are refused at once (UNAVAILABLE). */
  breakerThreshold: z.coerce.number().int().positive().default(3),
  breakerOpenMs: z.coerce.number().int().positive().default(5000),
  /**
   * How long /metrics (pool capacity) and /healthz (RDS reachable) reuse one RouterOS answer: HTTP scrapes never
   * make more than one RDS call per this interval, however many arrive (concurrent ones share the call in flight).
   * CSI calls (GetCapacity, Probe) still ask RDS each time.
   */
  statusCacheMs: z.coerce.number().int().min(0).max(300000).default(10000),
  /** The pool (`/disk` item with a mounted file system) that holds the volumes. */
  poolName: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('pool'),
  /** Where backing files live on RDS; every path sent to RDS is checked to be under it. */
  basePath: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/)
    .default('/pool/rds-csi'),
  /** Address nodes connect to for NVMe/TCP (defaults to host). */
  exportAddress: z.string().optional(),
  exportPort: z.coerce.number().int().min(1).max(65535).default(4420),
  /**
   * Name of this RDS as a topology value: segment `<driverName>/backend=<backend>` (src/domain/topology.ts), on the
   * Node labels and every PV's node affinity. A Kubernetes label value; pick it once (PVs keep it).
   */
  backend: z
    .string()
    .max(63)
    .regex(
      /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
      'backend must be a Kubernetes label value: letters, digits, "-", "_", ".", starting and ending with a letter or digit',
    )
    .default('default'),
});

/** `backends` from the environment or a flag: a JSON list (a YAML file gives the list itself). */
export function parseJsonList(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // zod then says "expected array"
  }
}

/** A Kubernetes label value (the backend's name is one: it is a topology value, src/domain/topology.ts). */
export const labelValue = z
  .string()
  .max(63)
  .regex(
    /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    'a backend name must be a Kubernetes label value: letters, digits, "-", "_", ".", starting and ending with a letter or digit',
  );

/**
 * One more RDS behind this driver (issue 16): every RouterOS and NVMe/TCP setting of `rds`, under its own name. The
 * `rds` block stays the primary backend (its name is `rds.backend`, `default` unless set); its volume ids keep the
 * form they always had, the ids of volumes on an extra backend carry its name (src/domain/backend-id.ts).
 */
export const extraBackendSchema = rdsSchema.omit({ backend: true }).extend({
  /** At most 55 characters: its topology key `<driverName>/backend.<name>` must stay a label key (63 after the '/'). */
  name: labelValue.max(55),
  /** The RouterOS password read from this file (a mounted Secret, one per backend); wins over `password`. */
  passwordFile: z.string().min(1).optional(),
  /** The value of the zone key this RDS sits in, for placement spread by zone (StorageClass `placement: zone`). */
  zone: labelValue.optional(),
  /**
   * At most this many of this backend's jobs run at once per worker. Unset: half of worker.concurrency, rounded up
   * (with several backends, so a hung one cannot take every slot; src/workers/backend-set.ts, backendJobLimit).
   */
  concurrency: z.coerce.number().int().min(1).max(256).optional(),
});
