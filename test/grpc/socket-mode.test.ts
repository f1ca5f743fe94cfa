import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCsi } from '../../src/grpc/proto';
import { startServer } from '../../src/grpc/server';
import { buildHandlers } from '../../src/grpc/service';
import { createLogger } from '../../src/log/logger';
import { CsiClient } from '../support/csi-client';

/** Issue 18 item 7: the CSI socket's mode (and that of directories made for it) is set explicitly, not by the umask. */
describe('CSI unix socket modes', () => {
  let dir: string;
  let umask: number;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-sockmode-'));
    // The widest umask, so the modes cannot come from it.
    umask = process.umask(0);
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  const identity = (): Parameters<typeof startServer>[1] => {
    const csi = loadCsi().csi.v1;
    const handlers = { GetPluginInfo: () => Promise.resolve({ name: 'rds.csi.mikrotik.com', vendorVersion: '0' }) };
    return [{ definition: csi.Identity.service, handlers: buildHandlers(csi.Identity.service, 'Identity', handlers, createLogger('silent')) }];
  };
  const mode = (p: string): number => statSync(p).mode & 0o777;

  it.each([
    ['in directories it creates (made 0700)', ['new-a', 'new-b'], true],
    ['in a directory that exists (left as it is)', ['exists'], false],
  ])('the socket is 0600 %s', async (_what, parts, creates) => {
    const existing = path.join(dir, 'exists');
    mkdirSync(existing, { recursive: true, mode: 0o755 });
    const sockDir = path.join(dir, ...parts);
    const sock = path.join(sockDir, 'csi.sock');
    const server = await startServer(`unix://${sock}`, identity());
    const client = new CsiClient(`unix://${sock}`);
    try {
      expect((await client.id('GetPluginInfo')).name).toBe('rds.csi.mikrotik.com');
      expect(mode(sock).toString(8)).toBe('600');
      if (creates) {
        for (let d = sockDir; d !== dir; d = path.dirname(d)) expect(mode(d).toString(8)).toBe('700');
      } else {
        expect(mode(existing).toString(8)).toBe('755');
      }
    } finally {
      client.close();
      await server.close();
    }
  });
});
