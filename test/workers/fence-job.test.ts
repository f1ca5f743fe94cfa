import { Redis } from 'ioredis';
import { Failure } from '../../src/domain/failure';
import { createLogger } from '../../src/log/logger';
import type { FenceAttachData, FenceDetachData } from '../../src/queue/jobs';
import { driverState, type DriverState } from '../../src/state/stores';
import { memorySteps, type ProcessorContext } from '../../src/workers/context';
import { NO_HOST } from '../../src/workers/processors/allowed-hosts';
import { fenceAttach } from '../../src/workers/processors/fence-attach';
import { fenceDetach } from '../../src/workers/processors/fence-detach';
import { startHarness, type Harness } from '../rds/support';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * fence.attach / fence.detach run as a worker runs them: the attachment records in a private redis-server, the disk's
 * allowed hosts on the simulator over TCP, the events, metrics and migration.timeout scheduling recorded as calls
 * (mutation tier, issue 19 item 2). Every refusal with its exact message, event and metric; every migration outcome.
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';

describe('fence.attach / fence.detach processors', () => {
  let h: Harness;
  let redis: TestRedis;
  let conn: Redis;
  let state: DriverState;
  let n = 0;
  const seen: string[] = [];
  const fresh = async (): Promise<string> => {
    const id = `pvc-fj-${++n}`;
    await h.rds.addDisk({ slot: id, filePath: `${BASE}/${id}.img`, fileSizeBytes: 4 * MiB });
    return id;
  };

  beforeAll(async () => {
    [h, redis] = await Promise.all([startHarness(), startRedis()]);
    conn = new Redis(redis.url);
    state = driverState(conn, 'fj:');
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
    await h?.stop();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  function ctx(storageSide = false): ProcessorContext<'fence.attach'> & ProcessorContext<'fence.detach'> {
    const rec = (s: string) => Promise.resolve(void seen.push(s));
    return {
      rds: h.rds,
      basePath: BASE,
      volumePrefix: 'pvc-',
      steps: memorySteps(),
      log: createLogger('silent'),
      fencing: {
        attachments: state.attachments,
        storageSide,
        hostNqn: (node: string) => `nqn.host:${node}`,
        events: {
          emit: (pvc, type, reason, message) => rec(`event ${pvc?.name ?? '-'} ${type} ${reason}: ${message}`),
          emitDriver: () => rec('driver'),
        },
        metrics: {
          conflict: (kind) => void seen.push(`conflict ${kind}`),
          migrationEnded: (outcome, seconds) => void seen.push(`ended ${outcome} ${seconds >= 0 && seconds < 60}`),
          reconcile: () => undefined,
        },
        scheduleTimeout: (v, startedAt, ms) => rec(`schedule ${v} ${startedAt > Date.now() - 60000} ${ms}`),
        cancelTimeout: (v, startedAt) => rec(`cancel ${v} ${startedAt > Date.now() - 60000}`),
        enqueueDetach: () => rec('detach'),
        nodes: {} as never,
        vaSource: {} as never,
      },
    };
  }
  const attach = (over: Partial<FenceAttachData> & { volumeId: string; nodeId: string }, storageSide = false) =>
    fenceAttach(
      {
        slot: over.volumeId,
        readonly: false,
        sharing: 'single',
        migrationWindowSeconds: 30,
        publishContext: { node: over.nodeId },
        pvc: { name: 'claim', namespace: 'ns' },
        ...over,
      },
      ctx(storageSide),
    );
  const detach = (over: Partial<FenceDetachData> & { volumeId: string; nodeId: string }, storageSide = false) =>
    fenceDetach({ slot: over.volumeId, reason: 'unpublish', ...over }, ctx(storageSide));
  async function outcome(p: Promise<unknown>): Promise<string> {
    try {
      return `ok ${JSON.stringify(await p)}`;
    } catch (e) {
      return e instanceof Failure ? `${e.kind}: ${e.message}` : `other: ${String(e)}`;
    }
  }
  const allowed = async (slot: string) => (await h.rds.getDisk(slot))?.allowHostName;

  it('same node again answers its first publish context; another readonly is a conflict', async () => {
    const v = await fresh();
    expect(await outcome(attach({ volumeId: v, nodeId: 'n1' }))).toBe('ok {"publishContext":{"node":"n1"}}');
    expect(await outcome(attach({ volumeId: v, nodeId: 'n1', publishContext: { other: 'x' } }))).toBe('ok {"publishContext":{"node":"n1"}}');
    expect(await outcome(attach({ volumeId: v, nodeId: 'n1', readonly: true }))).toBe(
      `conflict: volume ${v} is already published to node n1 with readonly=false`,
    );
    expect(Object.keys((await state.attachments.get(v))!.nodes)).toEqual(['n1']);
    expect(seen).toEqual([]);
    // Without storage-side fencing the disk's allowed hosts are left alone, on attach and on detach.
    await detach({ volumeId: v, nodeId: 'n1' });
    expect(h.sim.disks().find((d) => d.slot === v)?.nvmeTcpServerAllowHostName ?? '').toBe('');
  });

  it('a single-node volume on another node is refused with an event and a metric', async () => {
    const v = await fresh();
    await attach({ volumeId: v, nodeId: 'n1' });
    expect(await outcome(attach({ volumeId: v, nodeId: 'n2' }))).toBe(
      `precondition: volume ${v} is published to node n1 (single-node access mode); unpublish it there first`,
    );
    expect(seen).toEqual(['conflict single-node', `event claim Warning AttachmentConflict: volume ${v} is attached to node n1; refused node n2`]);
    expect(Object.keys((await state.attachments.get(v))!.nodes)).toEqual(['n1']);
  });

  it('RWX block: a second node starts a migration window, a third is refused, the source leaving completes it', async () => {
    const v = await fresh();
    await attach({ volumeId: v, nodeId: 'n1', sharing: 'migrate' });
    expect(seen).toEqual([]);
    await attach({ volumeId: v, nodeId: 'n2', sharing: 'migrate' });
    expect(seen).toEqual([`schedule ${v} true 30000`, `event claim Normal MigrationStarted: live migration of ${v} from n1 to n2; window 30s`]);
    expect((await state.attachments.get(v))!.migration).toMatchObject({ from: 'n1', to: 'n2', windowSeconds: 30 });
    seen.length = 0;
    expect(await outcome(attach({ volumeId: v, nodeId: 'n3', sharing: 'migrate' }))).toBe(
      `precondition: volume ${v} is attached to two nodes (n1, n2): at most 2 during a live migration`,
    );
    expect(seen).toEqual([
      'conflict third-node',
      `event claim Warning AttachmentConflict: volume ${v} is already attached to n1 and n2; refused a third node n3`,
    ]);
    seen.length = 0;
    expect(await outcome(detach({ volumeId: v, nodeId: 'n1' }))).toBe('ok {"detached":true}');
    expect(seen).toEqual([
      `cancel ${v} true`,
      'ended completed true',
      expect.stringMatching(new RegExp(`^event claim Normal MigrationCompleted: live migration of ${v} to n2 completed in \\d+\\.\\ds$`)),
    ]);
    expect(await state.attachments.get(v)).toMatchObject({ nodes: { n2: expect.anything() } });
    expect((await state.attachments.get(v))!.migration).toBeUndefined();
  });

  it.each([
    { what: 'the target leaving aborts the migration', leaves: 'n2', timedOut: false, ended: 'aborted' },
    { what: 'a side leaving after the window failed it ends it as failed', leaves: 'n2', timedOut: true, ended: 'failed' },
  ])('$what', async ({ leaves, timedOut, ended }) => {
    const v = await fresh();
    await attach({ volumeId: v, nodeId: 'n1', sharing: 'migrate' });
    await attach({ volumeId: v, nodeId: 'n2', sharing: 'migrate' });
    if (timedOut) {
      const rec = (await state.attachments.get(v))!;
      await state.attachments.put({ ...rec, migration: { ...rec.migration!, timedOut: true } });
      expect(await outcome(attach({ volumeId: v, nodeId: 'n3', sharing: 'migrate' }))).toBe(
        `precondition: volume ${v}: the migration from n1 to n2 outlived its window; no new attachment until one side detaches`,
      );
      expect(seen).toContain('conflict migration-expired');
    }
    seen.length = 0;
    await detach({ volumeId: v, nodeId: leaves });
    expect(seen).toEqual([
      `cancel ${v} true`,
      `ended ${ended} true`,
      expect.stringMatching(
        new RegExp(`^event claim Normal MigrationAborted: live migration of ${v} to n2 ended after \\d+\\.\\ds: ${leaves} detached$`),
      ),
    ]);
  });

  it('detach: not attached is a no-op; a node that is no migration side ends nothing; a deleted node gets an event', async () => {
    const v = await fresh();
    expect(await outcome(detach({ volumeId: v, nodeId: 'n1' }))).toBe('ok {"detached":false}');
    await attach({ volumeId: v, nodeId: 'n1', sharing: 'readers' });
    await attach({ volumeId: v, nodeId: 'n2', sharing: 'readers' });
    expect(await outcome(detach({ volumeId: v, nodeId: 'n3' }))).toBe('ok {"detached":false}');
    // Readers are not limited to two nodes (that limit is the live migration's).
    expect(await outcome(attach({ volumeId: v, nodeId: 'n3', sharing: 'readers' }))).toBe('ok {"publishContext":{"node":"n3"}}');
    await detach({ volumeId: v, nodeId: 'n3' });
    expect(await outcome(detach({ volumeId: v, nodeId: 'n2', reason: 'node-deleted' }))).toBe('ok {"detached":true}');
    expect(seen).toEqual([`event claim Warning StaleAttachmentCleared: node n2 no longer exists; its attachment of ${v} was cleared`]);
    expect(Object.keys((await state.attachments.get(v))!.nodes)).toEqual(['n1']);
  });

  it('storage-side fencing: the allowed hosts follow the attached nodes (sorted), the placeholder when none', async () => {
    const v = await fresh();
    await attach({ volumeId: v, nodeId: 'nb', sharing: 'migrate' }, true);
    expect(await allowed(v)).toBe('nqn.host:nb');
    await attach({ volumeId: v, nodeId: 'na', sharing: 'migrate' }, true);
    expect(await allowed(v)).toBe('nqn.host:na,nqn.host:nb');
    await detach({ volumeId: v, nodeId: 'nb' }, true);
    expect(await allowed(v)).toBe('nqn.host:na');
    await detach({ volumeId: v, nodeId: 'na' }, true);
    expect(await allowed(v)).toBe(NO_HOST);
    // Already right: no /disk set (one for the value set here by hand, one for the detach).
    const before = h.sim.stats()['/disk/set'] ?? 0;
    await h.rds.setAllowedHosts((await h.rds.getDisk(v))!.id, 'nqn.host:na');
    await attach({ volumeId: v, nodeId: 'na' }, true);
    await detach({ volumeId: v, nodeId: 'na' }, true);
    await detach({ volumeId: v, nodeId: 'na' }, true);
    expect((h.sim.stats()['/disk/set'] ?? 0) - before).toBe(2);
    expect(await outcome(attach({ volumeId: 'pvc-fj-gone', nodeId: 'n1' }, true))).toBe('not-found: disk pvc-fj-gone does not exist on RDS');
  });
});
