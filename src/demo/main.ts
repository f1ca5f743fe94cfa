/**
 * `npm run demo`: starts `rds-csi all-in-one --simulators 2` (private redis-server + two embedded RouterOS
 * simulators, the primary RDS and a second backend rds-b + controller + worker + node endpoint) as a child process, drives a volume lifecycle over the CSI sockets the way the sidecars
 * would, prints each step with its time, then stops everything with SIGTERM.
 *
 * Whatever happens, it undoes what it set up (unpublish, unstage, detach, delete; see Teardown) before it stops the
 * all-in-one, and removes its directory only when nothing is mounted or attached under it (removeDirSafely).
 * RDS_CSI_DEMO_FAIL_AT=<text> makes the first step whose title contains <text> fail (the teardown test uses it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiGrpcClient } from '../grpc/client';
import { removeDirSafely } from '../host/safe-remove';
import { backendSteps, parseSimulators, type DemoSimulator } from './backend-steps';
import { controllerSteps } from './lifecycle';
import { nodeSteps } from './node-steps';
import { runSteps, Teardown } from './steps';

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-demo-'));
  const controllerEndpoint = `unix://${path.join(dir, 'controller.sock')}`;
  const nodeEndpoint = `unix://${path.join(dir, 'node.sock')}`;
  const cli = path.resolve(__dirname, '../cli/main.js');
  const out = (line: string): void => void process.stdout.write(line + '\n');
  out(`rds-csi demo: all-in-one in ${dir}`);
  const started = Date.now();
  const aio = spawn(
    process.execPath,
    [
      cli,
      'all-in-one',
      '--controller-endpoint',
      controllerEndpoint,
      '--node-endpoint',
      nodeEndpoint,
      '--data-dir',
      path.join(dir, 'rds'),
      '--kubelet-dir',
      dir,
      '--simulators',
      '2',
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const teardown = new Teardown();
  const clients: CsiGrpcClient[] = [];
  let ok: boolean;
  let sims: DemoSimulator[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      aio.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('READY\n')) {
          sims = parseSimulators(buf);
          resolve();
        }
      });
      aio.once('exit', (code) => reject(new Error(`all-in-one exited with ${code} before READY`)));
    });
    out(`all-in-one READY after ${Date.now() - started} ms (redis-server, ${sims.length} simulators, controller, worker, node endpoint)\n`);
    const client = new CsiGrpcClient(controllerEndpoint);
    const node = new CsiGrpcClient(nodeEndpoint);
    clients.push(client, node);
    const failAt = process.env.RDS_CSI_DEMO_FAIL_AT || undefined;
    out('Controller, as external-provisioner drives it:');
    ok = await runSteps(controllerSteps(client, teardown), out, failAt);
    if (ok) {
      out(`\nTwo RDS backends (the second simulator is backend ${sims[1]?.name ?? '?'}):`);
      ok = await runSteps(backendSteps(client, node, sims, teardown, process.getuid?.() === 0 ? { dir } : undefined), out, failAt);
    }
    if (ok && process.getuid?.() === 0) {
      out("\nData path, as kubelet drives the node plugin (loop devices over the simulator's backing files):");
      ok = await runSteps(nodeSteps(client, node, dir, teardown), out, failAt);
    } else if (ok) {
      out('\nData path skipped: the node plugin needs root for loop devices, mkfs and mounts (run the demo as root).');
    }
  } finally {
    if (teardown.pending) {
      out(`\ntearing down what the demo set up (${teardown.pending} step(s), last first):`);
      if (aio.exitCode === null) {
        if (!(await teardown.runAll(out))) ok = false;
      } else {
        out('    the all-in-one is gone; nothing answers the undo calls');
        ok = false;
      }
    }
    for (const c of clients) c.close();
    if (aio.exitCode === null) {
      const exited = new Promise<number | null>((r) => aio.once('exit', (code) => r(code)));
      aio.kill('SIGTERM');
      out(`all-in-one stopped with SIGTERM (exit ${await exited})`);
    }
    try {
      removeDirSafely(dir);
    } catch (err) {
      out(`left ${dir} in place: ${(err as Error).message}`);
      ok = false;
    }
  }
  out(ok ? '\ndemo finished: every step as expected' : '\ndemo FAILED');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    process.exit(1);
  },
);
