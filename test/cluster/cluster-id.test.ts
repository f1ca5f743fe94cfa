import { spawn } from 'node:child_process';
import path from 'node:path';
import { staticClusterId } from '../../src/cluster/cluster-id';
import { startHarness, type Harness } from '../support/controller-harness';
import { FakeKube } from '../support/fake-kube';
import { CLI, TEST_ENV } from '../support/processes';

/**
 * Issue 15 item 3: the cluster id in the ownership comment, configured or derived. The Kubernetes path runs in a
 * spawned `rds-csi orphans list` against the fake API server over HTTP (@kubernetes/client-node is ESM-only and is
 * loaded by the real binary, not by jest).
 */
function orphansList(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'orphans', 'list', ...args], {
      env: { ...process.env, ...TEST_ENV, RDS_CSI_RDS_PASSWORD: 'secret' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (status) => resolve({ status, out }));
  });
}

describe('cluster id', () => {
  let kube: FakeKube;
  let h: Harness;
  let conn: string[];
  beforeAll(async () => {
    h = await startHarness({ controller: false });
    kube = new FakeKube();
    await kube.start();
    kube.writeKubeconfig(path.join(h.dir, 'kubeconfig'));
    conn = ['--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--kubeconfig', path.join(h.dir, 'kubeconfig')];
  });
  afterAll(async () => {
    await kube.stop();
    await h.stop();
  });

  it('with Kubernetes: the kube-system namespace UID, unless configured; a clear error when it cannot be read', async () => {
    kube.kubeSystemUid = '5b0d5c1e-0f6a-4a43-9c1e-6f1f2d7c9a10';
    expect((await orphansList([...conn, '--kubernetes', 'on'])).out).toMatch(/of cluster 5b0d5c1e-0f6a-4a43-9c1e-6f1f2d7c9a10,/);
    expect((await orphansList([...conn, '--kubernetes', 'on', '--cluster-id', 'prod-eu-1'])).out).toMatch(/of cluster prod-eu-1,/);
    kube.kubeSystemUid = undefined;
    const failed = await orphansList([...conn, '--kubernetes', 'on']);
    expect(failed.status).toBe(1);
    expect(failed.out).toMatch(
      /cannot read the kube-system namespace to derive the cluster id \(HTTP 404\); grant get on namespaces or set clusterId/,
    );
  });

  it('standalone: the configured id or "standalone"; an invalid id is refused', async () => {
    expect(staticClusterId(undefined)).toBe('standalone');
    expect(staticClusterId('lab-1')).toBe('lab-1');
    expect(() => staticClusterId('Lab 1')).toThrow(/not a DNS-1123 label/);
    expect((await orphansList([...conn, '--kubernetes', 'off'])).out).toMatch(/of cluster standalone,/);
    const bad = await orphansList([...conn, '--kubernetes', 'off', '--cluster-id', 'Lab 1']);
    expect(bad.status).toBe(2);
    expect(bad.out).toMatch(/clusterId must be a DNS-1123 label/);
  });
});
