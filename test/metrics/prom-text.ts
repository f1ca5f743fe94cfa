/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4, what prom-client serves), for tests that
 * assert on scraped metrics by value instead of grepping: `# HELP` / `# TYPE` lines, samples with escaped label
 * values, special float values and optional timestamps. Anything malformed throws with the line number, so a broken
 * /metrics page fails the test that reads it. prom-client has no parser of its own.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (e.g. `x_bucket` of histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export type Families = Map<string, MetricFamily>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** The sample-name suffixes a family of each type may have, besides its own name. */
const SUFFIXES: Partial<Record<MetricType, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

class ParseError extends Error {
  constructor(lineNo: number, line: string, why: string) {
    super(`metrics line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
  }
}

/**
 * A sample value. Like Prometheus itself (Go's strconv.ParseFloat), NaN and Inf are accepted in any case:
 * prom-client writes NaN as "Nan".
 */
function parseValue(text: string): number {
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2].toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a number: ${text}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` starting at `pos` (just after the name); returns the labels and the index after `}`. */
function parseLabels(line: string, pos: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = pos + 1; // after '{'
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error('label without "="');
    const name = line.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`label ${name} given twice`);
    i = eq + 1;
    if (line[i] !== '"') throw new Error(`label ${name}: value not quoted`);
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`label ${name}: bad escape \\${n ?? ''}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // after the closing quote
    while (line[i] === ' ') i++;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`label ${name}: expected "," or "}"`);
  }
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(families: Families, sampleName: string): MetricFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const [type, suffixes] of Object.entries(SUFFIXES) as [MetricType, readonly string[]][]) {
    for (const suffix of suffixes) {
      if (!sampleName.endsWith(suffix)) continue;
      const f = families.get(sampleName.slice(0, -suffix.length));
      if (f?.type === type) return f;
    }
  }
  return undefined;
}

export function parsePrometheusText(text: string): Families {
  const families: Families = new Map();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.trim();
    if (line === '') return;
    try {
      if (line.startsWith('#')) {
        const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
        if (!m) return; // a plain comment
        const [, kind, name, rest = ''] = m;
        if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`);
        let f = families.get(name);
        if (kind === 'TYPE') {
          const type = rest.trim() as MetricType;
          if (!TYPES.includes(type)) throw new Error(`unknown type ${rest}`);
          if (f?.samples.length) throw new Error(`TYPE of ${name} after its samples`);
          if (f && f.type !== 'untyped') throw new Error(`second TYPE for ${name}`);
          if (f) f.type = type;
          else families.set(name, { name, type, samples: [] });
        } else {
          if (f?.help !== undefined) throw new Error(`second HELP for ${name}`);
          if (!f) {
            f = { name, type: 'untyped', samples: [] };
            families.set(name, f);
          }
          f.help = unescapeHelp(rest);
        }
        return;
      }
      const nameEnd = line.search(/[{\s]/);
      if (nameEnd <= 0) throw new Error('sample without a value');
      const name = line.slice(0, nameEnd);
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`);
      let labels: Record<string, string> = {};
      let pos = nameEnd;
      if (line[pos] === '{') ({ labels, end: pos } = parseLabels(line, pos));
      const fields = line.slice(pos).trim().split(/\s+/);
      if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new Error('expected "value [timestamp]"');
      const value = parseValue(fields[0]);
      const timestamp = fields[1] === undefined ? undefined : Number(fields[1]);
      if (timestamp !== undefined && !Number.isInteger(timestamp)) throw new Error(`bad timestamp ${fields[1]}`);
      const family = familyOf(families, name);
      if (!family) throw new Error(`sample ${name} has no # TYPE line before it`);
      const key = `${name}{${Object.keys(labels)
        .sort()
        .map((k) => `${k}=${JSON.stringify(labels[k])}`)
        .join(',')}}`;
      if (seen.has(key)) throw new Error(`duplicate sample ${key}`);
      seen.add(key);
      family.samples.push({ name, labels, value, ...(timestamp === undefined ? {} : { timestamp }) });
    } catch (err) {
      throw new ParseError(lineNo, raw, (err as Error).message);
    }
  });
  return families;
}

/** True when every label of `want` is on the sample with that value. */
const matches = (s: Sample, want: Record<string, string>): boolean => Object.entries(want).every(([k, v]) => s.labels[k] === v);

export function family(families: Families, name: string): MetricFamily {
  const f = families.get(name);
  if (!f) throw new Error(`no metric family ${name} (have: ${[...families.keys()].join(', ')})`);
  return f;
}

/**
 * The value of the one sample named `sampleName` whose labels include `labels`; undefined when there is none (a
 * labelled metric not observed yet), an error when the selection is ambiguous.
 */
export function value(families: Families, sampleName: string, labels: Record<string, string> = {}): number | undefined {
  const f = familyOf(families, sampleName);
  if (!f) return undefined;
  const hits = f.samples.filter((s) => s.name === sampleName && matches(s, labels));
  if (hits.length > 1) throw new Error(`${sampleName}${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}

export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/**
 * The series of a histogram family, each checked: buckets cumulative in `le` order and ending with +Inf, the +Inf
 * bucket equal to _count, _sum present.
 */
export function histogram(families: Families, name: string): HistogramSeries[] {
  const f = family(families, name);
  if (f.type !== 'histogram') throw new Error(`${name} is a ${f.type}, not a histogram`);
  const series = new Map<string, HistogramSeries>();
  const keyOf = (labels: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  const get = (labels: Record<string, string>): HistogramSeries => {
    const key = keyOf(labels);
    let s = series.get(key);
    if (!s) {
      s = { labels: Object.fromEntries(Object.entries(labels).filter(([k]) => k !== 'le')), buckets: [], sum: NaN, count: NaN };
      series.set(key, s);
    }
    return s;
  };
  for (const s of f.samples) {
    const h = get(s.labels);
    if (s.name === `${name}_bucket`) {
      if (s.labels.le === undefined) throw new Error(`${name}_bucket without le`);
      h.buckets.push({ le: parseValue(s.labels.le), count: s.value });
    } else if (s.name === `${name}_sum`) h.sum = s.value;
    else if (s.name === `${name}_count`) h.count = s.value;
    else throw new Error(`${name}: unexpected sample ${s.name}`);
  }
  for (const h of series.values()) {
    const what = `${name}${JSON.stringify(h.labels)}`;
    h.buckets.sort((a, b) => a.le - b.le);
    if (!h.buckets.length || h.buckets[h.buckets.length - 1].le !== Infinity) throw new Error(`${what}: no le="+Inf" bucket`);
    h.buckets.forEach((b, i) => {
      if (i > 0 && b.count < h.buckets[i - 1].count) throw new Error(`${what}: buckets not cumulative at le=${b.le}`);
    });
    if (Number.isNaN(h.count) || Number.isNaN(h.sum)) throw new Error(`${what}: _count or _sum missing`);
    if (h.buckets[h.buckets.length - 1].count !== h.count)
      throw new Error(`${what}: +Inf bucket ${h.buckets[h.buckets.length - 1].count} != _count ${h.count}`);
  }
  return [...series.values()];
}

/** The one series of a histogram whose labels include `labels` (undefined when not observed yet). */
export function histogramSeries(families: Families, name: string, labels: Record<string, string>): HistogramSeries | undefined {
  const hits = histogram(families, name).filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${hits.length} series`);
  return hits[0];
}

/** Scrapes `url` (a /metrics endpoint) and parses it; the content type must be the text format. */
export async function scrape(url: string): Promise<Families> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^text\/plain;\s*version=0\.0\.4/.test(type)) throw new Error(`GET ${url}: content-type ${type}`);
  return parsePrometheusText(await res.text());
}

/** Default process metrics every process must expose (prom-client's collectDefaultMetrics). */
export const DEFAULT_METRICS = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_open_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_version_info',
  'nodejs_gc_duration_seconds',
];

/**
 * Prometheus naming and shape conventions (https://prometheus.io/docs/practices/naming/): what breaks them, as a list
 * of readable problems (empty = fine). `component` is the default label every sample must carry.
 */
export function conventionProblems(families: Families, component: string): string[] {
  const problems: string[] = [];
  for (const f of families.values()) {
    const n = f.name;
    if (!METRIC_NAME.test(n) || n.includes(':')) problems.push(`${n}: not a valid metric name (colons are for recording rules)`);
    if (!/^(rds_csi|process|nodejs)_/.test(n)) problems.push(`${n}: neither rds_csi_ nor a default process metric`);
    if (!f.help?.trim()) problems.push(`${n}: no HELP`);
    if (f.type === 'untyped') problems.push(`${n}: no TYPE`);
    if (f.type === 'counter' && !n.endsWith('_total')) problems.push(`${n}: a counter not ending in _total`);
    // The driver's own names follow every rule; prom-client's defaults are its own (it has gauges named *_total).
    if (n.startsWith('rds_csi_')) {
      if (f.type !== 'counter' && n.endsWith('_total')) problems.push(`${n}: _total on a ${f.type}`);
      if (f.type === 'histogram' && !/_(seconds|bytes)$/.test(n)) problems.push(`${n}: a histogram without a base unit (_seconds, _bytes)`);
      if (/(^|_)(ms|milliseconds|microseconds|nanoseconds|minutes|hours|days|kb|kib|mb|mib|gb|gib|kilobytes|megabytes)(_|$)/.test(n))
        problems.push(`${n}: not a base unit`);
      if (/duration|latency/.test(n) && !/_seconds(_total)?$/.test(n)) problems.push(`${n}: a duration not in _seconds`);
      if (/(^|_)bytes(_|$)/.test(n) && !/_bytes(_total)?$/.test(n)) problems.push(`${n}: bytes not as the unit suffix`);
    }
    if (f.type === 'histogram') {
      try {
        histogram(families, n);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    for (const s of f.samples) {
      if (s.labels.component !== component) problems.push(`${s.name}${JSON.stringify(s.labels)}: component label is not ${component}`);
      for (const k of Object.keys(s.labels)) if (k.startsWith('__')) problems.push(`${s.name}: reserved label name ${k}`);
      if (f.type === 'counter' && !(s.value >= 0)) problems.push(`${s.name}: counter value ${s.value}`);
    }
  }
  for (const d of DEFAULT_METRICS) if (!families.has(d)) problems.push(`default metric ${d} missing`);
  return problems;
}
