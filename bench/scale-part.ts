import { runScale, type ScaleResult } from './scale';
import { mib, ms, table } from './support/stats';

/** Part (s) as main.ts runs it: the scale run (scale.ts) and its printed tables. */

export interface ScalePartOptions {
  dir: string;
  redisUrl: string;
  volumes: number;
  real: number;
  concurrency: number;
}

export function scaleDefaults(volumes: number): { snapshots: number } {
  return { snapshots: Math.max(1, Math.round(volumes / 10)) };
}

export async function runScalePart(o: ScalePartOptions): Promise<ScaleResult> {
  const r = await runScale({ ...o, real: Math.min(o.real, o.volumes), snapshots: scaleDefaults(o.volumes).snapshots });
  printScale(r);
  return r;
}

export function printScale(r: ScaleResult): void {
  console.log(
    `\n(s) Scale: ${r.volumes} volumes and ${r.snapshots} snapshots (${r.real.volumes} volumes and ${r.real.snapshots} snapshots created over gRPC ` +
      `in ${r.real.seconds.toFixed(1)} s, the rest copied from them in ${r.loadSeconds.toFixed(1)} s); job history kept: ${r.retention.jobsKept} jobs ` +
      `(removeOnComplete ${JSON.stringify(r.retention.removeOnComplete)}), event stream ${r.retention.eventStreamEntries} entries; ` +
      `controller and worker run with the chart's NODE_OPTIONS=${r.nodeOptions}`,
  );
  if (Object.keys(r.real.errors).length) console.log(`errors in the real creates: ${JSON.stringify(r.real.errors)}`);
  console.log(
    `per real CreateVolume: ${r.perCreate.commands.toFixed(2)} RouterOS commands ${JSON.stringify(r.perCreate.byCommand)}, ` +
      `${r.perCreate.jobs.toFixed(2)} jobs ${JSON.stringify(r.perCreate.jobsByName)}`,
  );
  const mem = (label: string, m: ScaleResult['memory']['afterLoad']): string[] => [
    label,
    mib(m.controller.rssBytes),
    m.worker ? mib(m.worker.rssBytes) : '-',
    mib(m.controller.peakRssBytes),
    m.worker ? mib(m.worker.peakRssBytes) : '-',
  ];
  console.log(
    table(
      ['MiB (goal <= 120 each)', 'controller', 'worker', 'controller peak', 'worker peak'],
      [
        mem('after load (restarted on it, idle)', r.memory.afterLoad),
        mem('after the lists and reconcilers', r.memory.afterListsAndReconcile),
        mem('after reconcile.state rebuilt every record', r.memory.afterRebuild),
      ],
    ),
  );
  const red = r.redis;
  console.log(
    `Redis: ${(red.bytesPerVolume / 1024).toFixed(2)} KiB per volume (INFO used_memory delta / N, job history included; goal <= 2 KiB), ` +
      `${Number.isFinite(red.bytesPerSnapshot) ? (red.bytesPerSnapshot / 1024).toFixed(2) : '-'} KiB per snapshot; ` +
      `one record ${red.recordBytes.toFixed(0)} B (MEMORY USAGE + index share), its jobs ${red.jobBytesPerVolume.toFixed(0)} B; ${red.keys} keys`,
  );
  const list = (label: string, l: ScaleResult['listVolumes']): string[] => [
    label,
    String(l.items),
    String(l.pages),
    ms(l.totalMs),
    ms(l.page.p50),
    ms(l.page.p99),
  ];
  const rec = (label: string, x: { ms: number; result: unknown }): string[] => [label, JSON.stringify(x.result), '1', ms(x.ms), '', ''];
  console.log(
    table(
      ['', 'items', 'pages', 'total ms', 'page p50', 'page p99'],
      [
        list('ListVolumes over gRPC, max_entries 0', r.listVolumes),
        list('ListSnapshots over gRPC, max_entries 0', r.listSnapshots),
        rec('reconcile.orphans (job run time)', r.reconcile.orphans),
        rec('reconcile.state, records present', r.reconcile.stateNoop),
        rec('reconcile.state, rebuild after Redis lost them', r.reconcile.stateRebuild),
      ],
    ),
  );
  console.log(
    `RouterOS prints are one reply each (no paging in the API): /disk/print ${ms(r.rdsPrintMs.disks)} ms for ${r.rdsPrintMs.disksListed} disks, ` +
      `/file/print ${ms(r.rdsPrintMs.files)} ms for ${r.rdsPrintMs.filesListed} files; load average at the end ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
  );
}
