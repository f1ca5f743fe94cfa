import { isFailureKind, type FailureKind } from '../domain/failure';

/**
 * A Failure across the job queue. A worker that fails a job for good throws BullMQ's UnrecoverableError whose
 * message (the job's failedReason in Redis) is this JSON, so any controller that awaits the job, or finds it failed
 * later, raises the same kind with the same message. Workers of earlier versions wrote `[CODE] message` (a gRPC
 * status name as a prefix); decodeJobFailure reads that too, so jobs failed by them during a rolling upgrade keep
 * their codes.
 */
export interface EncodedFailure {
  kind: FailureKind;
  message: string;
}

/** The failure as written by an earlier worker: a gRPC status name, mapped to a kind by the reader. */
export interface LegacyFailure {
  code: string;
  message: string;
}

const MARK = 'rds-csi-failure';

export function encodeJobFailure(f: EncodedFailure): string {
  return JSON.stringify({ [MARK]: 1, kind: f.kind, message: f.message });
}

/** The failure a reason carries; a legacy `[CODE] message`; or undefined for a plain message (a transient fault). */
export function decodeJobFailure(reason: string): EncodedFailure | LegacyFailure | undefined {
  if (reason.startsWith('{')) {
    try {
      const v = JSON.parse(reason) as unknown;
      if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        if (o[MARK] === 1 && isFailureKind(o.kind) && typeof o.message === 'string') return { kind: o.kind, message: o.message };
      }
    } catch {
      /* not ours: a plain message that starts with a brace */
    }
    return undefined;
  }
  const m = /^\[([A-Z_]+)\] ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1], message: m[2] } : undefined;
}

export function isLegacyFailure(f: EncodedFailure | LegacyFailure): f is LegacyFailure {
  return 'code' in f;
}
