import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/load';
import { removeDirSafely } from '../../src/host/safe-remove';
import { createLogger } from '../../src/log/logger';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { fastTestSettings } from '../support/controller-harness';
import { CsiClient, MOUNT_RWO } from '../support/csi-client';
import { hasRedisSentinel, MASTER_NAME, redisCall, startTopology, type Topology } from './sentinel-topology';

/**
 * Redis failover through Sentinel (issue 12, tier 3). Real processes on loopback: master + replica + three
 * redis-sentinel (quorum 2), the controller with an in-process worker reaching Redis only through the sentinels,
 * the RouterOS simulator over TCP. A create/delete workload runs with the sidecars' retry rule (the same request
 * again on ABORTED, UNAVAILABLE, DEADLINE_EXCEEDED); the master is SIGKILLed mid-workload. The driver must follow
 * the promoted replica without a restart, every operation must end OK, and the simulator's disks and the records
 * in the new master must agree with what the client was told. Bounded: the whole file stays under 90 s.
 *
 * Figures (recovery time = master killed → first OK of an RPC sent after the kill; records missing = acknowledged
 * writes the failover lost) are printed for the README and the issue's closing note.
 */

const MiB = 1024 * 1024;
const VOLUMES = 24;
const CONCURRENCY = 4;
const KILL_AFTER_OPS = 8;
const RETRYABLE = new Set<number>([status.ABORTED, status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);
const PREFIX = 'rds-csi';

const inCi = !!process.env.CI;
const present = hasRedisSentinel();
if (!present && !inCi) {
  // The reason the tier did not run, where a developer sees it.
  console.warn('test/failover/sentinel.test.ts skipped: redis-sentinel is not installed (apt-get install -y redis-sentinel); in CI it is required');
}
const describeIf = present || inCi ? describe : describe.skip;

interface Stack {
  topo: Topology;
  sim: RunningSimulator;
  client: CsiClient;
  stop(): Promise<void>;
}

/** The topology, the simulator and a controller with an in-process worker that reaches Redis only through the sentinels. */
async function startStack(waitReplicas: number, replicaCount = 1): Promise<Stack> {
  if (!present) throw new Error('redis-sentinel is not installed: .ci/run installs it (apt-get install -y redis-sentinel)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-failover-'));
  const topo = await startTopology(replicaCount);
  // Latency per RouterOS command keeps jobs in flight when the master dies.
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    dataDir: path.join(dir, 'rds'),
    user: 'admin',
    password: 'secret',
    faults: { latencyMs: 30 },
  });
  const cfg = loadConfig(
    {
      // With sentinels the URL's host and port are ignored: only the sentinels say where the master is.
      redisUrl: 'redis://unused.invalid:1',
      'redis.sentinels': topo.sentinelList,
      'redis.sentinelName': MASTER_NAME,
      'redis.waitReplicas': waitReplicas,
      'redis.waitTimeoutMs': 300,
      queuePrefix: PREFIX,
      ...fastTestSettings(sim),
      logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    },
    {},
  );
  const endpoint = `unix://${path.join(dir, 'controller.sock')}`;
  const controller: ControllerApp = await startController(cfg, { endpoint, withWorker: true }, createLogger(cfg.logLevel));
  const client = new CsiClient(endpoint);
  return {
    topo,
    sim,
    client,
    stop: async () => {
      client.close();
      await controller.close();
      await sim.close();
      await topo.stop();
      removeDirSafely(dir);
    },
  };
}

/** The sidecars' rule: the same request again on ABORTED/UNAVAILABLE/DEADLINE_EXCEEDED, after a short pause. */
async function retried(client: CsiClient, method: string, req: object, until: number): Promise<Record<string, unknown>> {
  for (;;) {
    try {
      return (await client.ctl(method, req, 5000)) as Record<string, unknown>;
    } catch (err) {
      const e = err as ServiceError;
      if (!RETRYABLE.has(e.code) || Date.now() > until)
        throw new Error(`${method} ${JSON.stringify(req)}: ${status[e.code]} ${e.details}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Volume ids the current master holds records for. */
async function recordIds(topo: Topology): Promise<string[]> {
  return ((await redisCall(await topo.currentMasterPort(), 'ZRANGE', `${PREFIX}:state:vols`, '0', '-1')) as string[]).sort();
}

describeIf('Redis failover through Sentinel', () => {
  let stack: Stack | undefined;
  let topo: Topology;
  let sim: RunningSimulator;
  let client: CsiClient;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('follows the promoted replica, completes every operation and leaves RDS and the records consistent', async () => {
    stack = await startStack(0);
    ({ topo, sim, client } = stack);
    const testDeadline = Date.now() + 60000;
    let killedAt = 0;
    let firstOkAfterKill = 0;
    let done = 0;
    let retries = 0;
    const codesSeen = new Map<string, number>();
    const failures: string[] = [];

    /** The sidecars' rule: the same request again on ABORTED/UNAVAILABLE/DEADLINE_EXCEEDED, after a short pause. */
    const call = async (method: string, req: object): Promise<Record<string, unknown>> => {
      for (;;) {
        const sentAt = Date.now();
        try {
          const res = (await client.ctl(method, req, 5000)) as Record<string, unknown>;
          if (killedAt && sentAt >= killedAt && !firstOkAfterKill) firstOkAfterKill = Date.now();
          done++;
          if (done === KILL_AFTER_OPS && !killedAt) {
            topo.master.child.kill('SIGKILL');
            killedAt = Date.now();
          }
          return res;
        } catch (err) {
          const e = err as ServiceError;
          const name = status[e.code] ?? String(e.code);
          codesSeen.set(name, (codesSeen.get(name) ?? 0) + 1);
          if (!RETRYABLE.has(e.code) || Date.now() > testDeadline)
            throw new Error(`${method} ${JSON.stringify(req)}: ${name} ${e.details}`, { cause: err });
          retries++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };

    const sizes = new Map<string, number>();
    const deleted = new Set<string>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < VOLUMES) {
        const i = next++;
        try {
          const res = await call('CreateVolume', {
            name: `pvc-failover-${i}`,
            capacityRange: { requiredBytes: String((1 + (i % 3)) * MiB) },
            volumeCapabilities: [MOUNT_RWO],
          });
          const vol = res.volume as { volumeId: string; capacityBytes: string };
          sizes.set(vol.volumeId, Number(vol.capacityBytes));
          if (i % 2 === 0) {
            await call('DeleteVolume', { volumeId: vol.volumeId });
            deleted.add(vol.volumeId);
          }
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));

    const newMasterPort = await topo.currentMasterPort();
    const recovery = firstOkAfterKill - killedAt;
    // Acknowledged writes the failover lost: a live volume whose record the new master does not hold.
    const live = [...sizes.keys()].filter((id) => !deleted.has(id)).sort();
    const recordIds = ((await redisCall(newMasterPort, 'ZRANGE', `${PREFIX}:state:vols`, '0', '-1')) as string[]).sort();
    const missingRecords = live.filter((id) => !recordIds.includes(id));
    const strayRecords = recordIds.filter((id) => !live.includes(id));
    // The figures the README and the issue report.
    console.log(
      `sentinel failover: ${done} operations OK, ${retries} retries (${JSON.stringify(Object.fromEntries(codesSeen))}), ` +
        `master killed after ${KILL_AFTER_OPS} ops, recovery ${recovery} ms, records missing after failover: ${missingRecords.length}, stray: ${strayRecords.length}`,
    );

    expect(failures).toEqual([]);
    expect(killedAt).toBeGreaterThan(0);
    // The driver follows the promoted replica: no restart, and the new master is the old replica.
    expect(newMasterPort).toBe(topo.replica.port);
    expect(firstOkAfterKill).toBeGreaterThan(0);
    expect(sizes.size).toBe(VOLUMES);

    // RDS, read from the simulator directly: every live volume once, with its size and export; nothing else.
    const disks = sim.disks();
    expect(disks.map((d) => d.slot).sort()).toEqual(live);
    for (const d of disks) {
      expect(d.fileSize).toBe(sizes.get(d.slot));
      expect(d.nvmeTcpExport).toBe(true);
    }
    // The records agree with RDS (a lost record would be a disk the driver no longer knows).
    expect(missingRecords).toEqual([]);
    expect(strayRecords).toEqual([]);
    // Nothing stuck in the queue.
    const active = Number(await redisCall(newMasterPort, 'LLEN', `${PREFIX}:volumes:active`));
    expect(active).toBe(0);
  }, 80000);

  // Regression: replication is asynchronous, so a record write the old master acknowledged can be missing on the
  // promoted replica. Forced here for certain: the replicas are stopped and cut off, a CreateVolume and a
  // DeleteVolume run, the master dies. Without redis.waitReplicas the client is told OK and the new master has no
  // record of the created disk (ControllerPublish/GetVolume answer NOT_FOUND for a disk that exists) and still
  // lists the deleted one. With WAIT for one replica the unconfirmed writes answer UNAVAILABLE, the retries redo
  // them on the new master, and the records agree with RDS again.
  it('does not acknowledge a record write no replica confirmed, so a failover loses none (redis.waitReplicas 1)', async () => {
    stack = await startStack(1, 2);
    ({ topo, sim, client } = stack);
    const until = Date.now() + 40000;
    const create = (name: string): Promise<Record<string, unknown>> =>
      retried(client, 'CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] }, until);
    const keep = ((await create('pvc-keep')).volume as { volumeId: string }).volumeId;
    const gone = ((await create('pvc-gone')).volume as { volumeId: string }).volumeId;

    for (const r of topo.replicas) r.child.kill('SIGSTOP');
    await redisCall(topo.master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    const created = create('pvc-late');
    const deleted = retried(client, 'DeleteVolume', { volumeId: gone }, until);
    await new Promise((r) => setTimeout(r, 700));
    topo.master.child.kill('SIGKILL');
    for (const r of topo.replicas) r.child.kill('SIGCONT');
    const late = ((await created).volume as { volumeId: string }).volumeId;
    await deleted;

    // Without WAIT both calls were answered before the kill: wait for the promotion before reading the new master.
    const replicaPorts = topo.replicas.map((r) => r.port);
    while (!replicaPorts.includes(await topo.currentMasterPort()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(replicaPorts).toContain(await topo.currentMasterPort());
    const live = [keep, late].sort();
    expect(
      sim
        .disks()
        .map((d) => d.slot)
        .sort(),
    ).toEqual(live);
    expect(await recordIds(topo)).toEqual(live);
    expect(await client.ctl('ControllerGetVolume', { volumeId: late })).toMatchObject({ volume: { volumeId: late } });
  }, 45000);
});
