import { buildSummary, physicalIdealSeconds } from '../../bench/summary';

/** The bench's summary table (issue 14, "What must be shown"): rows from whatever parts ran, the physical ideal. */
describe('bench summary', () => {
  it('computes the storm ideal from the minimal 3 commands, not from what the driver sent', () => {
    expect(physicalIdealSeconds(500, 20, 32)).toBeCloseTo(0.9375, 4);
    const storm = {
      volumes: 500,
      latencyMs: 20,
      concurrency: 32,
      commands: 3500,
      wallSeconds: 1.875,
      ok: 500,
      analysis: { jobs: 1000 },
      simulator: { lockHeldSeconds: 0.375 },
      memory: { afterStorm: { controller: { rssBytes: 100 * 1048576 }, worker: { rssBytes: 90 * 1048576 } } },
    };
    const s = buildSummary({ storm, stormIdealRds: storm });
    expect(s.physicalIdealStormSeconds).toBeCloseTo(0.9375, 4);
    const ideal = s.rows.find((r) => r.what.includes('ideal RDS'));
    expect(ideal).toMatchObject({ met: false, now: expect.stringContaining('2.00x physical') });
    const sim = s.rows.find((r) => r.what.includes('against the simulator'));
    expect(sim).toMatchObject({ met: true, now: expect.stringContaining('lock held 20%') });
    expect(s.rows.find((r) => r.what.includes('jobs'))?.now).toBe('2.00');
  });

  it.each([
    { floor: undefined, text: '0.94 s (3 x 20 ms x 500 / 32)' },
    {
      floor: { seconds: 1.11 },
      text: '0.94 s (3 x 20 ms x 500 / 32); floor here 1.11 s = 1.18x (whole rounds of 32, none before its request reached a no-op gRPC server)',
    },
  ])('the ideal-RDS storm row names the floor measured here beside the physical ideal: $text', ({ floor, text }) => {
    const storm = { volumes: 500, latencyMs: 20, concurrency: 32, commands: 1500, wallSeconds: 1.4, ok: 500, analysis: { jobs: 500 }, floor };
    expect(buildSummary({ stormIdealRds: storm }).rows.find((r) => r.what.includes('ideal RDS'))?.ideal).toBe(text);
  });

  it.each([
    { cold: undefined, text: 'one BullMQ job round trip: 1.4 ms p50 here' },
    {
      cold: { shapeFloorMs: { separateWorker: 6.04, inProcessWorker: 4.5 } },
      text: 'one BullMQ job round trip: 1.4 ms p50 here; shape floor 6.0 ms (gRPC + job after idle + claim, lease, ready)',
    },
  ])("the overhead row's ideal names the shape floor when part (a) measured it: $text", ({ cold, text }) => {
    const overhead = {
      topology: 'separate-worker',
      latencyMs: 5,
      overheadByPercentile: { p50: 8, p99: 11 },
      commandsPerCreate: { queue: 3, byCommand: { queue: {} } },
      diagnostics: { bullmqNoopJobMs: { p50: 1.4 }, cold },
    };
    const row = buildSummary({ overhead: [overhead] }).rows.find((r) => r.what.startsWith('queue overhead'));
    expect(row).toMatchObject({ ideal: text, met: false });
  });

  it.each([
    { results: {}, idle: 'not measured', met: undefined },
    {
      results: {
        nodeRss: [
          { nodeOptions: '', idleRssBytes: 70 * 1048576 },
          { nodeOptions: '--x', idleRssBytes: 40 * 1048576 },
        ],
      },
      idle: '40.0 MiB',
      met: true,
    },
    { results: { nodeRss: [{ nodeOptions: '', idleRssBytes: 55 * 1048576 }] }, idle: '55.0 MiB', met: false },
    {
      results: { nodeRss: [{ nodeOptions: '--x', startupRssBytes: 51 * 1048576, idleRssBytes: 47.5 * 1048576 }] },
      idle: '47.5 MiB (3 s after ready: 51.0 MiB)',
      met: true,
    },
    { results: { nodeRss: [{ nodeOptions: '', skipped: 'not root' }] }, idle: 'not measured', met: undefined },
  ])('node plugin RSS from a part that may not have run: $idle', ({ results, idle, met }) => {
    const row = buildSummary(results).rows.find((r) => r.what === 'node plugin RSS, idle');
    expect(row).toMatchObject({ now: idle, met });
  });

  it("the idle row's ideal is the floor part (m) measured, when it did", () => {
    const run = { nodeOptions: '--x', idleRssBytes: 53 * 1048576, floorRssBytes: 51.5 * 1048576, bareNodeRssBytes: 38.5 * 1048576 };
    const row = buildSummary({ nodeRss: [run] }).rows.find((r) => r.what === 'node plugin RSS, idle');
    expect(row?.ideal).toContain('Node.js floor measured here: 51.5 MiB');
    expect(row?.ideal).toContain('bare node 38.5 MiB');
  });

  it('every issue row is present, each with a goal and an ideal, even when nothing ran', () => {
    const rows = buildSummary({}).rows;
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const r of rows) {
      expect(r.goal).not.toBe('');
      expect(r.ideal).not.toBe('');
    }
  });
});
