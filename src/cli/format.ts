/** Human output of the operator CLI: aligned tables, sizes, ages, attachments. `--json` output never goes through here. */
import type { AttachmentRecord } from '../state/attachment-record';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** `12s`, `5m`, `3h`, `2d` since `ms` (epoch ms); `-` when unknown. */
export function age(ms: number | undefined, now = Date.now()): string {
  if (!ms) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function iso(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString() : '-';
}

export function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= max ? one : one.slice(0, max - 1) + '…';
}

/** `node-a, node-b (ro)`, plus a migration in progress; `-` when unpublished. */
export function attachedText(a: AttachmentRecord | undefined): string {
  if (!a) return '-';
  const nodes = Object.entries(a.nodes)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([node, n]) => (n.readonly ? `${node} (ro)` : node));
  const text = nodes.length ? nodes.join(', ') : '-';
  if (!a.migration) return text;
  return `${text} [migrating ${a.migration.from} -> ${a.migration.to}${a.migration.timedOut ? ', timed out' : ''}]`;
}
