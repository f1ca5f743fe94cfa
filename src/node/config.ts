import { z } from 'zod';

/**
 * Options of the node plugin. The parts shared with the controller (driver name, NQN prefix, RDS base path) come
 * from the main Config; these are the node's own. Defaults are the production values: ctrl_loss_tmo −1 keeps
 * mounts alive across RDS restarts (the kernel never gives up reconnecting).
 */

const int = z.coerce.number().int();

export const connectDefaultsSchema = z.object({
  /** Seconds; −1 = reconnect forever. */
  ctrlLossTmo: int.min(-1).default(-1),
  reconnectDelay: int.min(1).max(3600).default(5),
  keepAliveTmo: int.min(1).max(3600).default(15),
  /** Seconds after which I/O fails while reconnecting; unset = kernel default (wait for ctrl_loss_tmo). */
  fastIoFailTmo: int.min(-1).max(3600).optional(),
});

export const nodeOptionsSchema = z
  .object({
    nodeId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'node id: letters, digits, ".", "_", "-"'),
    /** The node's host NQN for `nvme connect --hostnqn`; derived from the node id when unset (stable). */
    hostNqn: z.string().regex(/^nqn\.\d{4}-\d{2}\.[^\s]{1,200}$/).optional(),
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
     * (confine.ts); the chart passes `node.kubeletDir`, tests and all-in-one their temp root.
     */
    kubeletDir: z.string().startsWith('/').default('/var/lib/kubelet'),
    nvmeCommand: z.string().min(1).default('nvme'),
    /** Timeout of every ordinary host tool; the process is killed after it. */
    toolTimeoutMs: int.positive().default(30000),
    /** mkfs and resize of big volumes take longer. */
    formatTimeoutMs: int.positive().default(600000),
    /** How long to wait for the connected NQN's device to appear with a non-zero size. */
    deviceWaitMs: int.positive().default(20000),
    /** How long a call on a busy volume waits for the volume's lock before ABORTED. */
    busyWaitMs: int.min(0).default(2000),
    /** 0 = orphan cleanup only at start-up. */
    orphanIntervalMs: int.min(0).default(300000),
    connect: connectDefaultsSchema.default({ ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 }),
  })
  .refine((o) => o.connector !== 'loop' || o.loopDataDir !== undefined, { message: 'the loop connector needs loopDataDir', path: ['loopDataDir'] });

export type NodeOptionsInput = z.input<typeof nodeOptionsSchema>;
export type NodeOptions = z.infer<typeof nodeOptionsSchema>;
export type ConnectDefaults = z.infer<typeof connectDefaultsSchema>;

export function parseNodeOptions(input: NodeOptionsInput): NodeOptions {
  const r = nodeOptionsSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid node options: ${msg}`);
  }
  return r.data;
}
