/** RDS port: the driver's only way to talk to RDS. See docs/ARCHITECTURE.md#rds-port. */
import type { RdsPort } from './port';
import { RouterOsRds, type RouterOsRdsDeps, type RouterOsRdsOptions } from './routeros-rds';

export type { RdsPort, RdsDisk, RdsFile, PoolCapacity, AddDiskSpec, ExportSpec } from './port';
export { RouterOsRds, type RouterOsRdsOptions, type RouterOsRdsDeps } from './routeros-rds';
export { RouterOsClient, type RouterOsClientOptions, type RouterOsTlsOptions, type RosCaller, type CallOutcome } from './routeros-client';
export { CircuitBreaker, type CircuitBreakerOptions, type BreakerState } from './circuit-breaker';
export { RdsError, RosTransportError, RosTrapError, classifyRdsError, type TransportFailure } from './errors';
export { applyEmptyReplyPatch, isEmptyReplyPatchApplied } from './empty-reply-patch';
export { applyTrapReplyPatch, isTrapReplyPatchApplied } from './trap-reply-patch';
export { TRAP_TEXTS, TRAP_CATEGORIES, trapMeaning } from './trap-table';

export function createRdsPort(opts: RouterOsRdsOptions, deps?: RouterOsRdsDeps): RdsPort {
  return new RouterOsRds(opts, deps);
}
