/** Moved to src/rds/shared-result.ts (the per-backend status cache, src/rds/backend-health.ts, uses it too). */
export { sharedResult } from '../rds/shared-result';
