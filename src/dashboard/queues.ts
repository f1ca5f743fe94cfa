import { VOLUME_QUEUE } from '../queue/jobs';

/**
 * Every BullMQ queue of the driver, by name (without the configured prefix). The job dashboard shows exactly these;
 * a new queue (e.g. one for reconcilers) is added here and appears on the dashboard with no other change.
 */
export const DRIVER_QUEUES: readonly string[] = [VOLUME_QUEUE];
