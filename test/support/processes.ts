import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Runs the compiled `rds-csi` CLI (dist/, built by `npm test`'s pretest) as a child process, the way it runs in
 * production, and waits until it says it is ready.
 */
export const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The tests talk to the simulator over loopback without TLS: they choose plain API for themselves (the CLI refuses it
 * otherwise); a test of that refusal passes `RDS_CSI_RDS_INSECURE_PLAINTEXT: ''` (empty = unset).
 */
export const TEST_ENV: Record<string, string> = { RDS_CSI_RDS_INSECURE_PLAINTEXT: 'true' };

export async function spawnCli(args: string[], env: Record<string, string>, readyPattern: RegExp, timeoutMs = 20000): Promise<CliProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...TEST_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (readyPattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before it was ready:\n${out}`));
    });
  });
  const proc: CliProcess = {
    child,
    output: () => out,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
  try {
    await ready;
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  }
  return proc;
}

/** What one run of the CLI to its end printed, and its exit status. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled CLI to its end with `env` over this process's environment (nothing else added: a test of the
 * plain-API refusal must be able to leave TEST_ENV out); SIGKILLed and rejected with what it printed after timeoutMs.
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rds-csi ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
