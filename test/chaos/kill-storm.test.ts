import { reportTable, runKillStorm, type ChaosReport } from './run';

/**
 * The kill-storm soak, bounded for `npm test` (about 1.5 minutes): volume lifecycles on 8 lanes for 50 s against two
 * controllers and two workers that are SIGKILLed every 1–3 s, Redis SIGKILLed once and restarted on its AOF, then
 * every RouterOS fault of the simulator once (RDS down 5 s instead of the soak's 20 s). `npm run test:chaos` runs it
 * for as long as CHAOS_DURATION_S says (README "Kill-storm soak").
 */
describe('kill-storm (bounded)', () => {
  let report: ChaosReport;

  beforeAll(async () => {
    report = await runKillStorm({
      durationS: 50,
      volumes: 0, // as many as the storm's time allows (about 60–80): lanes stay busy through the fault phase
      lanes: 8,
      latencyMs: 150,
      jitterMs: 150,
      downMs: 5000,
      faultScale: 0.5,
      callTimeoutMs: 5000,
      opGiveUpMs: 120000,
      drainTimeoutMs: 60000,
      log: process.env.CHAOS_VERBOSE ? (m) => console.log(m) : undefined,
    });
    console.log(reportTable(report));
  }, 300000);

  it('storms: processes were killed, Redis once, every RouterOS fault ran', () => {
    expect(report.kills.controller + report.kills.worker).toBeGreaterThan(5);
    expect(report.kills.redis).toBeGreaterThanOrEqual(1);
    expect(report.faults.length).toBeGreaterThanOrEqual(8);
    expect(report.volumes).toBeGreaterThan(0);
  });

  it('no process died unless killed', () => {
    expect(report.kills.crashes).toEqual([]);
  });

  it('every operation got a final answer and no job is stuck', () => {
    expect(report.unanswered).toBe(0);
    expect(report.queue.stuck).toEqual([]);
  });

  it('the simulator holds exactly what the driver answered: nothing lost, leaked, duplicated, mis-sized or unexported', () => {
    const a = report.audit;
    expect({
      lost: a.lost,
      leaked: a.leaked,
      duplicated: a.duplicated,
      wrongSize: a.wrongSize,
      wrongExport: a.wrongExport,
      wireMismatch: a.wireMismatch,
    }).toEqual({
      lost: [],
      leaked: [],
      duplicated: [],
      wrongSize: [],
      wrongExport: [],
      wireMismatch: [],
    });
  });
});
