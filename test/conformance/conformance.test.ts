/**
 * RouterOS conformance of the simulator, checked by an independent client: test/conformance/routeros_conformance.py
 * (Debian's python3-librouteros plus raw sockets) against a spawned `rds-csi simulator`. Every case of the script
 * cites its source (MikroTik documentation or a capture, see src/simulator/ROUTEROS-FACTS.md); any mismatch fails
 * this test with the script's report. Outside CI a machine without librouteros skips it with a message; in CI
 * (`CI` set) a missing librouteros fails. The 256 MiB word of the 5-byte length case runs only with
 * RDS_CSI_CONFORMANCE_HUGE=1 (`npm run test:conformance`); the CI run takes a few seconds.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { spawnCli, type CliProcess } from '../support/processes';
import { tempDir } from '../simulator/helpers';

// Debian's python: librouteros lives in its dist-packages, not in a pyenv python. RDS_CSI_PYTHON overrides it.
const PYTHON = process.env.RDS_CSI_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, 'routeros_conformance.py');
const hasLibrouteros = spawnSync(PYTHON, ['-c', 'import librouteros'], { stdio: 'ignore' }).status === 0;
const inCi = Boolean(process.env.CI);
const huge = process.env.RDS_CSI_CONFORMANCE_HUGE === '1';

if (!hasLibrouteros && !inCi) {
  console.warn(`RouterOS conformance skipped: ${PYTHON} cannot import librouteros (apt-get install python3-librouteros)`);
}

(hasLibrouteros || inCi ? describe : describe.skip)('RouterOS conformance of the simulator (python3-librouteros)', () => {
  let dir: string;
  let sim: CliProcess;
  let port: number;

  beforeAll(async () => {
    expect(hasLibrouteros).toBe(true); // in CI a missing client is a failure, not a skip
    dir = tempDir();
    sim = await spawnCli(['simulator', '--data-dir', dir, '--port', '0', '--quiet', '--pool-size', '1G'], {}, /"listening"/);
    const line = sim
      .output()
      .split('\n')
      .find((l) => l.includes('"listening"'));
    port = (JSON.parse(line ?? '{}') as { listening: { port: number } }).listening.port;
  });

  afterAll(async () => {
    await sim?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes every documented or captured case', () => {
    const args = [SCRIPT, '--port', String(port), ...(huge ? [] : ['--skip-huge'])];
    const run = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: huge ? 600_000 : 30_000 });
    const report = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) throw new Error(`conformance script exited ${run.status ?? run.signal}:\n${report}`);
    expect(report).toMatch(/\d+ cases, 0 failed/);
  }, 660_000);
});
