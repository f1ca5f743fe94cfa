import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DriverKeys } from '../../src/state/keys';

/**
 * state/keys.ts is the one place the driver names its Redis keys (issue 13 item 4). The names themselves are a
 * stored format: records written by one release are read by the next, and operators look them up by hand, so the
 * exact strings are pinned here.
 */
describe('DriverKeys', () => {
  const k = new DriverKeys('{rds-csi}');
  it.each([
    ['volume record', k.record('vol', 'pvc-1'), '{rds-csi}:state:vol:pvc-1'],
    ['volume index', k.recordIndex('vol'), '{rds-csi}:state:vols'],
    ['snapshot record', k.record('snap', 'snap-1'), '{rds-csi}:state:snap:snap-1'],
    ['snapshot index', k.recordIndex('snap'), '{rds-csi}:state:snaps'],
    ['attachments', k.attachments, '{rds-csi}:state:attachments'],
    ['orphan sightings', k.orphanSightings, '{rds-csi}:state:orphans-seen'],
    ['volume lease', k.lease('pvc-1'), '{rds-csi}:lease:vol:pvc-1'],
    ['reconciler lease', k.lease('reconcile.orphans'), '{rds-csi}:lease:vol:reconcile.orphans'],
  ])('%s', (_what, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('keeps every key under the prefix (one Cluster slot with a hash-tag prefix)', () => {
    const all = [k.record('vol', 'a'), k.recordIndex('snap'), k.attachments, k.orphanSightings, k.lease('a')];
    for (const key of all) expect(key.startsWith('{rds-csi}:')).toBe(true);
  });
});

/** Source files under src/ (recursively), as [path relative to the repository, text]. */
function sources(dir = path.join(__dirname, '../../src')): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push([path.relative(path.join(__dirname, '../..'), p), readFileSync(p, 'utf8')]);
  }
  return out;
}

describe('one key module, one producer', () => {
  const files = sources();

  it('no Redis key of the driver is built outside src/state/keys.ts', () => {
    // `:state:` and `:lease:` inside a template literal: a key built by hand.
    const built = files.filter(([p, text]) => p !== path.join('src', 'state', 'keys.ts') && /`[^`]*\}:(state|lease):/.test(text)).map(([p]) => p);
    expect(built).toEqual([]);
  });

  it('no job is added to a queue outside src/queue/producer.ts', () => {
    const adders = files
      .filter(([p, text]) => p !== path.join('src', 'queue', 'producer.ts') && /\bqueue\.(add|addBulk|upsertJobScheduler)\(/i.test(text))
      .map(([p]) => p);
    expect(adders).toEqual([]);
  });

  it('every record store is built by src/state/stores.ts', () => {
    const builders = files
      .filter(
        ([p, text]) => p !== path.join('src', 'state', 'stores.ts') && /new (RedisRecordStore|RedisAttachmentStore|OrphanSightings)\b/.test(text),
      )
      .map(([p]) => p);
    expect(builders).toEqual([]);
  });
});
