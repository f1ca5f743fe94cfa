import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCsi } from '../../src/grpc/proto';
import { startServer, type RunningServer } from '../../src/grpc/server';
import { buildHandlers } from '../../src/grpc/service';
import { invalid } from '../../src/domain/failure';
import { createLogger } from '../../src/log/logger';
import { CsiClient, codeOf } from '../support/csi-client';

/** The one logging interceptor: every RPC logged once with outcome and duration, secrets never in the output. */
describe('RPC logging', () => {
  const lines: Array<Record<string, unknown>> = [];
  /** The JSON text as written: JSON.parse keeps only the last of two equal keys, the text shows both. */
  const raw: string[] = [];
  let server: RunningServer;
  let client: CsiClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-log-'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) {
          raw.push(l);
          lines.push(JSON.parse(l) as Record<string, unknown>);
        }
        cb();
      },
    });
    const log = createLogger('info', 'test', sink);
    const csi = loadCsi().csi.v1;
    const controller = {
      CreateVolume: () => Promise.reject(invalid('bad request')),
      DeleteVolume: () => Promise.resolve({}),
      ListVolumes: () => Promise.reject(new Error('boom with internals at /secret/path')),
      ControllerGetVolume: (req: { volumeId: string }) => Promise.reject(invalid(`no volume ${req.volumeId}`)),
      ValidateVolumeCapabilities: (req: { volumeId: string }) => Promise.reject(new Error(`unexpected ${req.volumeId}`)),
    };
    server = await startServer(`unix://${path.join(dir, 's.sock')}`, [
      { definition: csi.Controller.service, handlers: buildHandlers(csi.Controller.service, 'Controller', controller, log) },
    ]);
    client = new CsiClient(server.endpoint);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['DeleteVolume', { volumeId: 'v', secrets: { password: 'hunter2' } }, grpc.status.OK, 'OK'],
    ['CreateVolume', { name: 'x', secrets: { token: 'hunter2' } }, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['ListVolumes', {}, grpc.status.INTERNAL, 'INTERNAL'],
    ['ControllerExpandVolume', { volumeId: 'v', secrets: { k: 'hunter2' } }, grpc.status.UNIMPLEMENTED, 'UNIMPLEMENTED'],
  ])('%s is logged once with its code and duration, without secrets', async (method, req, code, codeName) => {
    lines.length = 0;
    raw.length = 0;
    const res = await codeOf(client.ctl(method, req));
    expect(res.code ?? grpc.status.OK).toBe(code);
    const mine = lines.filter((l) => l.method === `Controller.${method}`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ code: codeName });
    expect(typeof mine[0].durationMs).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    const text = raw.filter((l) => l.includes(`"Controller.${method}"`));
    expect(text).toHaveLength(1);
    expect(text[0]?.match(/"method":/g)).toHaveLength(1); // once: the call's child logger carries it
  });

  const MiB = 1024 * 1024;
  const big = 'v'.repeat(4 * MiB - 1024); // as large as the server's 4 MiB receive limit lets through
  const manyFlags = Array.from({ length: 20000 }, (_, i) => `flag${i}`);
  const manyParams = Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`key${i}`, 'x'.repeat(300)]));
  it.each([
    ['a 4 MiB volume_id', 'DeleteVolume', { volumeId: big, secrets: { password: 'hunter2' } }, [`${'v'.repeat(256)}…(${big.length} bytes)`]],
    ['a 4 MiB volume_id quoted by an error', 'ControllerGetVolume', { volumeId: big }, [`…(${big.length} bytes)`, '"error":"no volume vvv']],
    [
      'a 4 MiB volume_id in an unexpected error',
      'ValidateVolumeCapabilities',
      { volumeId: big, volumeCapabilities: [{ block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } }] },
      ['unexpected vvv'],
    ],
    [
      '20000 mount flags',
      'CreateVolume',
      {
        name: 'x',
        volumeCapabilities: [{ mount: { mountFlags: manyFlags }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }],
        secrets: { token: 'hunter2' },
      },
      ['"flag31","…(20000 items)"]'],
    ],
    [
      '10000 parameters of 300 characters',
      'CreateVolume',
      { name: 'x', parameters: manyParams, secrets: { token: 'hunter2' } },
      [`"key0":"${'x'.repeat(256)}…(300 bytes)"`, '"…":"(10000 keys)"'],
    ],
  ])('%s is cut to a bounded log line that says how much there was, secrets still redacted', async (_name, method, req, expected) => {
    lines.length = 0;
    const res = await codeOf(client.ctl(method, req));
    expect(res.code).not.toBe(grpc.status.DEADLINE_EXCEEDED);
    const mine = lines.filter((l) => l.method === `Controller.${method}`);
    expect(mine).toHaveLength(1);
    const line = JSON.stringify(mine[0]);
    expect(line.length).toBeLessThan(32 * 1024);
    for (const e of expected) expect(line).toContain(e);
    expect(line).not.toContain('hunter2');
  });

  it('never sends an internal error message or stack to the caller', async () => {
    const res = await codeOf(client.ctl('ListVolumes', {}));
    expect(res.details).not.toMatch(/boom|secret|at /);
  });
});
