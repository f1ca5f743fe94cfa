/**
 * End to end (controller, queue, worker, RouterOS simulator over TCP): a trap RouterOS has never been seen to send
 * on /disk/add fails CreateVolume at once with FAILED_PRECONDITION quoting RouterOS, and the job is not retried
 * (issue 11, item 14: "a clear error that quotes RouterOS, never a silent retry loop").
 */
import { status } from '@grpc/grpc-js';
import { codeOf, MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

const MiB = 1024 * 1024;
const TEXT = 'failure: zorb controller refused the layout';

describe('an unknown trap on /disk/add', () => {
  let h: Harness;
  beforeAll(async () => {
    // Many attempts, short backoff: a transient classification would show up as more /disk/add calls.
    h = await startHarness({ overrides: { 'worker.attempts': 10, 'worker.backoffMs': 200 } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each<[string, number | undefined]>([
    ['without a category', undefined],
    ['with category 4 (general failure)', 4],
  ])('%s: CreateVolume answers FAILED_PRECONDITION promptly, quotes RouterOS, no retry', async (_name, category) => {
    h.sim.faults.clear();
    h.sim.faults.trapNext('/disk/add', TEXT, Infinity, category);
    const before = h.sim.stats()['/disk/add'] ?? 0;
    const disks = h.sim.disks().length;
    const name = `unknown-trap-${category ?? 'none'}`;
    const started = Date.now();
    const res = await codeOf(
      h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] }, 20000),
    );
    const elapsed = Date.now() - started;
    expect(res.code).toBe(status.FAILED_PRECONDITION);
    expect(res.details).toContain(`RouterOS said "${TEXT}"`);
    if (category !== undefined) expect(res.details).toContain('trap category 4: general failure');
    expect(elapsed).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 1500)); // several backoff periods
    expect((h.sim.stats()['/disk/add'] ?? 0) - before).toBe(1);
    expect(h.sim.disks()).toHaveLength(disks);
    h.sim.faults.clear();
  });
});
