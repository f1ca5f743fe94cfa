/**
 * The standalone `rds-csi simulator` (built CLI) stays up while its own `down` fault holds the listener closed, and
 * `down-for-ms` brings it back as documented (issue 11, item 13: it used to exit with code 0 instead).
 */
import { rmSync } from 'node:fs';
import { spawnCli, type CliProcess } from '../support/processes';
import { WireClient } from '../support/wire-client';
import { tempDir } from './helpers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portOf(proc: CliProcess): number {
  const line = proc
    .output()
    .split('\n')
    .find((l) => l.includes('"listening"'));
  return (JSON.parse(line ?? '{}') as { listening: { port: number } }).listening.port;
}

async function answers(port: number): Promise<boolean> {
  try {
    const c = await WireClient.connect(port);
    try {
      await c.login('admin', '');
      const r = await c.call(['/disk/print', '=count-only='], 'n');
      return r[0]?.[0] === '!done';
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

async function setFault(port: number, words: string[]): Promise<void> {
  const c = await WireClient.connect(port);
  await c.login('admin', '');
  expect((await c.call(['/simulator/fault/set', ...words], 'f'))[0][0]).toBe('!done');
  c.close();
}

describe('rds-csi simulator with its own down fault', () => {
  const dirs: string[] = [];
  const procs: CliProcess[] = [];
  const start = async (): Promise<CliProcess> => {
    const dir = tempDir();
    dirs.push(dir);
    const proc = await spawnCli(['simulator', '--data-dir', dir, '--port', '0', '--quiet'], {}, /"listening"/);
    procs.push(proc);
    return proc;
  };
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('down-for-ms: stays alive while down and answers again afterwards', async () => {
    const proc = await start();
    const port = portOf(proc);
    expect(await answers(port)).toBe(true);
    await setFault(port, ['=down-for-ms=1500']);
    await sleep(400);
    expect(await answers(port)).toBe(false); // down: connections refused
    await sleep(1600);
    expect(proc.child.exitCode).toBeNull();
    expect(proc.child.signalCode).toBeNull();
    const until = Date.now() + 5000;
    while (!(await answers(port)) && Date.now() < until) await sleep(100);
    expect(await answers(port)).toBe(true);
  });

  it('down=yes: stays alive until a signal, then exits cleanly', async () => {
    const proc = await start();
    const port = portOf(proc);
    await setFault(port, ['=down=yes']);
    await sleep(1000);
    expect(await answers(port)).toBe(false);
    expect(proc.child.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => proc.child.once('exit', (code) => r(code)));
    proc.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
