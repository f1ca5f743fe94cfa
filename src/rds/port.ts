/**
 * The one port through which the driver talks to RDS. Workers and read-only RPCs depend on this interface only;
 * src/rds/routeros-rds.ts implements it over the RouterOS API. Sizes are bytes as JS numbers (exact up to 8 PiB).
 */

/** A `type=file` disk on RDS, as `/disk print` reports it. */
export interface RdsDisk {
  /** RouterOS item id (`*1F`); not stable across RDS reboots, so never stored: key on `slot`. */
  id: string;
  slot: string;
  /** Backing file path as RouterOS prints it (leading `/`). */
  filePath: string;
  /** `file-size` in bytes. */
  fileSizeBytes: number;
  nvmeTcpExport: boolean;
  nvmeTcpPort?: number;
  nvmeTcpNqn?: string;
  /** `nvme-tcp-server-allow-host-name`; empty string = everyone. */
  allowHostName?: string;
  /** `comment`: the driver's ownership tag (src/domain/ownership.ts); undefined when the disk has none. */
  comment?: string;
}

/** A `/file` item. RouterOS names have no leading `/`. */
export interface RdsFile {
  id: string;
  name: string;
  sizeBytes: number;
  type: string;
}

export interface PoolCapacity {
  sizeBytes: number;
  freeBytes: number;
}

export interface AddDiskSpec {
  slot: string;
  /** Absolute path under the configured base path. */
  filePath: string;
  /** Required for a new empty disk; with copyFromId, omitted means the source's size. */
  fileSizeBytes?: number;
  /** `copy-from`: RouterOS id of the disk whose data the new disk starts with (snapshots, restores, clones). */
  copyFromId?: string;
  /** Deadline of the add itself; a copy takes time proportional to the data. */
  timeoutMs?: number;
  /**
   * Create the disk already exported over NVMe/TCP, in the same `/disk add` (RouterOS §2.3: one add with
   * `nvme-tcp-export=yes nvme-tcp-server-port nvme-tcp-server-nqn` is how the Go rds-csi driver creates volumes on
   * hardware, 3whiskeywhiskey/rds-csi pkg/rds/commands.go).
   */
  export?: ExportSpec;
  /** `comment` set in the same `/disk add`: the ownership tag (src/domain/ownership.ts). */
  comment?: string;
}

export interface ExportSpec {
  port: number;
  nqn: string;
  /** `nvme-tcp-server-allow-host-name` set with the export (storage-side fencing); omitted = left as it is. */
  allowHostName?: string;
}

export interface RdsPort {
  /** Undefined when no disk has this slot. */
  getDisk(slot: string): Promise<RdsDisk | undefined>;
  /** Every `type=file` disk whose slot starts with `slotPrefix` (all file disks when omitted). */
  listDisks(slotPrefix?: string): Promise<RdsDisk[]>;
  /** `/disk add type=file`, exported only when `spec.export` says so. Returns the disk as printed after the add. */
  addDisk(spec: AddDiskSpec): Promise<RdsDisk>;
  /** Grows `file-size` (RouterOS refuses to shrink; callers never ask it to). */
  resizeDisk(id: string, fileSizeBytes: number): Promise<void>;
  /** Turns on the NVMe/TCP export of a disk (by RouterOS id), with its allowed hosts when given: one `/disk set`. */
  setExport(id: string, spec: ExportSpec): Promise<void>;
  /** `comment` (the ownership tag of a disk made before ownership comments): one `/disk set`. */
  setComment(id: string, comment: string): Promise<void>;
  /** `nvme-tcp-server-allow-host-name` (storage-side fencing). */
  setAllowedHosts(id: string, value: string): Promise<void>;
  /** `/disk remove`; the backing file stays (RouterOS semantics). */
  removeDisk(id: string): Promise<void>;
  /** `path` with or without the leading `/`. Undefined when absent or not a file (a directory or disk root). */
  getFile(path: string): Promise<RdsFile | undefined>;
  removeFile(id: string): Promise<void>;
  /**
   * Removes the file at `path` (with or without the leading `/`), addressed by its name where RDS accepts that (one
   * command), else looked up and removed by id. False when there was no such file. Only for a path known to be a
   * file (a disk's file-path): by name RouterOS would remove a directory as well.
   */
  removeFileAt(path: string): Promise<boolean>;
  /** Every `/file` item that is a file with a size (the orphan reconciler looks for backing files no disk uses). */
  listFiles(): Promise<RdsFile[]>;
  poolCapacity(): Promise<PoolCapacity>;
  /** Cheapest call that proves RDS answers (used by Probe and the circuit breaker). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
