import { runInThisContext } from 'node:vm';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * Many RPCs at once wait for their jobs at once. Each wait must not add a listener to the shared Queue (bullmq's
 * Job.waitUntilFinished adds a 'closing' listener per call: 11 concurrent waits printed
 * `MaxListenersExceededWarning: 11 closing listeners added to [Queue]`).
 */
// Jest gives each test file a copy of `process`; Node emits warnings on the real one, the main context's global.
const realProcess = runInThisContext('process') as NodeJS.Process;

describe('20 concurrent CreateVolume RPCs', () => {
  let h: Harness;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  beforeAll(async () => {
    // RouterOS latency keeps every job in flight while the others are waited for.
    h = await startHarness({ sim: { faults: { latencyMs: 40 } } });
    realProcess.on('warning', onWarning);
  });
  afterAll(async () => {
    realProcess.off('warning', onWarning);
    await h.stop();
  });

  it('emit no MaxListenersExceededWarning', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `concurrent-${i}`);
    const results = await Promise.all(
      names.map((name) =>
        h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(16 * 1024 * 1024) }, volumeCapabilities: [MOUNT_RWO] }, 60000),
      ),
    );
    expect(results.map((r: { volume: { volumeId: string } }) => r.volume.volumeId)).toHaveLength(20);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });
});
