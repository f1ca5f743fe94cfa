/**
 * The job catalog (DESIGN.md §2) as types: each job name with its payload and its result. Payloads carry
 * everything a processor needs, so a worker never depends on controller memory.
 */
export const VOLUME_QUEUE = 'volumes';

export interface DiskCreateData {
  volumeId: string;
  slot: string;
  filePath: string;
  sizeBytes: number;
}
export interface DiskCreateResult {
  sizeBytes: number;
}

export interface TargetExportData {
  volumeId: string;
  slot: string;
  nqn: string;
  port: number;
}
export interface TargetExportResult {
  nqn: string;
  port: number;
}

export interface DiskDeleteData {
  volumeId: string;
  slot: string;
  filePath: string;
}
export interface DiskDeleteResult {
  removedDisk: boolean;
  removedFile: boolean;
}

export interface JobTypes {
  'disk.create': { data: DiskCreateData; result: DiskCreateResult };
  'target.export': { data: TargetExportData; result: TargetExportResult };
  'disk.delete': { data: DiskDeleteData; result: DiskDeleteResult };
}

export type JobName = keyof JobTypes;
export type JobData<N extends JobName> = JobTypes[N]['data'];
export type JobResult<N extends JobName> = JobTypes[N]['result'];

/** Every job touches exactly one volume; the per-volume lease is keyed on it. */
export interface VolumeScoped {
  volumeId: string;
}

/** Deterministic job id: a retry of the same request finds the same job. BullMQ forbids ':' in ids. */
export function jobId(name: JobName, volumeId: string, gen: string): string {
  return `${name}-${volumeId}-${gen}`;
}

/**
 * A job's failure reason carries the CSI code it maps to as a `[CODE] ` prefix, so any controller that awaits the
 * job (or finds it failed later) answers with the same code.
 */
export function encodeFailure(code: string, message: string): string {
  return `[${code}] ${message}`;
}

export function decodeFailure(reason: string): { code?: string; message: string } {
  const m = /^\[([A-Z_]+)\] ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1], message: m[2] } : { message: reason };
}
