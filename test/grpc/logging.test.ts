import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCsi } from '../../src/grpc/proto';
import { startServer, type RunningServer } from '../../src/grpc/server';
import { buildHandlers } from '../../src/grpc/service';
import { invalid } from '../../src/grpc/errors';
import { createLogger } from '../../src/log/logger';
import { CsiClient, codeOf } from '../support/csi-client';

/** The one logging interceptor: every RPC logged once with outcome and duration, secrets never in the output. */
describe('RPC logging', () => {
  const lines: Array<Record<string, unknown>> = [];
  let server: RunningServer;
  let client: CsiClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-log-'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const log = createLogger('info', 'test', sink);
    const csi = loadCsi().csi.v1;
    const controller = {
      CreateVolume: () => Promise.reject(invalid('bad request')),
      DeleteVolume: () => Promise.resolve({}),
      ListVolumes: () => Promise.reject(new Error('boom with internals at /secret/path')),
    };
    server = await startServer(`unix://${path.join(dir, 's.sock')}`, [{ definition: csi.Controller.service, handlers: buildHandlers(csi.Controller.service, 'Controller', controller, log) }]);
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
    const res = await codeOf(client.ctl(method, req));
    expect(res.code ?? grpc.status.OK).toBe(code);
    const mine = lines.filter((l) => l.method === `Controller.${method}`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ code: codeName });
    expect(typeof mine[0].durationMs).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('never sends an internal error message or stack to the caller', async () => {
    const res = await codeOf(client.ctl('ListVolumes', {}));
    expect(res.details).not.toMatch(/boom|secret|at /);
  });
});
