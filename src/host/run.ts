import { spawn } from 'node:child_process';

/**
 * Running a host tool (nvme, blkid, mkfs, mount, losetup, …) with an enforced timeout: when the time is up the
 * process gets SIGKILL (a hung `nvme connect` or `mount` must not hold a CSI call forever), and the result says
 * so. Output is captured and bounded. The runner never throws for a non-zero exit: callers read the typed result
 * and decide; it rejects only when the tool cannot be started at all (ENOENT, EACCES).
 */

export interface ToolResult {
  command: string;
  args: readonly string[];
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  /** Written to stdin; stdin is /dev/null otherwise (no tool may wait for an answer). */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export type ToolRunner = (command: string, args: readonly string[], opts: RunOptions) => Promise<ToolResult>;

const MAX_OUTPUT = 1024 * 1024;

export class ToolStartError extends Error {
  constructor(
    readonly command: string,
    override readonly cause: Error,
  ) {
    super(`cannot run ${command}: ${cause.message}`);
    this.name = 'ToolStartError';
  }
}

export const runTool: ToolRunner = (command, args, opts) =>
  new Promise<ToolResult>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, [...args], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? { ...process.env, LC_ALL: 'C' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const append = (cur: string, chunk: Buffer): string => (cur.length >= MAX_OUTPUT ? cur : cur + chunk.toString('utf8'));
    child.stdout?.on('data', (c: Buffer) => (stdout = append(stdout, c)));
    child.stderr?.on('data', (c: Buffer) => (stderr = append(stderr, c)));
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      Math.max(1, opts.timeoutMs),
    );
    child.on('error', (err) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new ToolStartError(command, err));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve({ command, args, code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the tool may exit without reading
      child.stdin.end(opts.input);
    }
  });

/** One line for logs and error messages: `mount -t ext4 … exited 32: <stderr>`. */
export function describeResult(r: ToolResult): string {
  const cmd = [r.command, ...r.args].join(' ');
  const how = r.timedOut
    ? `timed out after ${r.durationMs} ms and was killed`
    : r.code === null
      ? `was killed by ${r.signal ?? 'a signal'}`
      : `exited ${r.code}`;
  const out = printable((r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ')).slice(0, 500);
  return out ? `${cmd} ${how}: ${out}` : `${cmd} ${how}`;
}

/**
 * A tool's output as it may appear in an error message, a log line or a Kubernetes event: control characters (dd of a
 * device prints its NUL bytes; a terminal escape from a tool would reach the operator's terminal) become `\xNN`; a tab stays.
 */
function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += (code < 0x20 && ch !== '\t') || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

export function ok(r: ToolResult): boolean {
  return !r.timedOut && r.code === 0;
}
