import { status } from '@grpc/grpc-js';

/**
 * The answers a CSI RPC may give, from the spec's error tables
 * (github.com/container-storage-interface/spec/blob/v1.12.0/spec.md: "Error Scheme" and each RPC's "Errors" table).
 * The general table applies to every RPC. Anything else — UNKNOWN, INTERNAL, a DEADLINE_EXCEEDED (the driver answers
 * ABORTED before a deadline), UNAVAILABLE (the simulator is up) — fails.
 */

const {
  INVALID_ARGUMENT,
  PERMISSION_DENIED,
  ABORTED,
  UNIMPLEMENTED,
  UNAUTHENTICATED,
  NOT_FOUND,
  ALREADY_EXISTS,
  FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED,
  OUT_OF_RANGE,
} = status;

/** "Error Scheme", general table: missing/invalid field, permission, operation pending, not implemented, not authenticated. */
const GENERAL = [status.OK, INVALID_ARGUMENT, PERMISSION_DENIED, ABORTED, UNIMPLEMENTED, UNAUTHENTICATED];

const PER_RPC: Record<string, number[]> = {
  Probe: [FAILED_PRECONDITION],
  CreateVolume: [NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED, OUT_OF_RANGE],
  DeleteVolume: [FAILED_PRECONDITION],
  ControllerPublishVolume: [NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED],
  ControllerUnpublishVolume: [NOT_FOUND],
  ValidateVolumeCapabilities: [NOT_FOUND],
  ControllerGetVolume: [NOT_FOUND],
  ControllerModifyVolume: [NOT_FOUND],
  // The table lists ALREADY_EXISTS and RESOURCE_EXHAUSTED; a missing source volume has no row of its own — NOT_FOUND
  // is what every other RPC answers for "volume does not exist" and what external-snapshotter treats as final.
  CreateSnapshot: [ALREADY_EXISTS, RESOURCE_EXHAUSTED, NOT_FOUND],
  DeleteSnapshot: [FAILED_PRECONDITION],
  GetSnapshot: [NOT_FOUND],
  ControllerExpandVolume: [NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE],
  NodeStageVolume: [NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION],
  NodeUnstageVolume: [NOT_FOUND],
  NodePublishVolume: [NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION],
  NodeUnpublishVolume: [NOT_FOUND],
  NodeGetVolumeStats: [NOT_FOUND],
  NodeExpandVolume: [NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE],
  CreateVolumeGroupSnapshot: [ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED],
  DeleteVolumeGroupSnapshot: [FAILED_PRECONDITION],
  GetVolumeGroupSnapshot: [NOT_FOUND],
};

/**
 * Conditions no table row covers, answered with the canonical gRPC code for them. The Error Scheme makes the tables
 * the codes that MUST be used for the conditions they list, not the only codes: "Each RPC defines a set of gRPC
 * error codes that MUST be returned by the plugin when specified conditions are encountered." Kept narrow: only
 * a path that holds a mount which is not the named volume's (issue 11 item 1: refused and left alone), and an
 * unstage while the volume's device is still in use (the CO skipped NodeUnpublishVolume).
 */
const UNLISTED: Record<string, Array<[number, RegExp]>> = {
  NodeUnpublishVolume: [[FAILED_PRECONDITION, /which is not volume \S+'s/]],
  // "The CO MUST guarantee that this RPC is called after all NodeUnpublishVolume have been called" (spec,
  // NodeUnstageVolume); the fuzzer does not, and unstaging from under a publish target is refused, untouched.
  NodeUnstageVolume: [
    [FAILED_PRECONDITION, /which is not volume \S+'s/],
    [FAILED_PRECONDITION, /of volume \S+ is (still mounted at|held by) .*; not unstaging$/],
  ],
};

/** gRPC itself refuses a message over the server's receive limit with RESOURCE_EXHAUSTED before any handler runs. */
const OVERSIZED = /larger than max/i;

export function allowedAnswer(rpc: string, code: number, details: string): boolean {
  if (GENERAL.includes(code) || (PER_RPC[rpc] ?? []).includes(code)) return true;
  if ((UNLISTED[rpc] ?? []).some(([c, text]) => c === code && text.test(details))) return true;
  return code === (RESOURCE_EXHAUSTED as number) && OVERSIZED.test(details);
}

/** A client-side failure to encode the request (e.g. an int64 beyond 64 bits): nothing reached the plugin. */
export function notSent(details: string): boolean {
  return /serialization failure/i.test(details);
}
