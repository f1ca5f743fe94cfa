import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { Metrics } from '../../src/metrics/registry';
import { orphanCounter, timedRunner } from '../../src/node/metrics';
import { itIf } from '../support/prereq';

/**
 * The chart's PrometheusRule (helm/files/prometheus-rules.yaml through templates/prometheusrule.yaml) and Grafana
 * dashboard (helm/dashboards/rds-csi.json, optionally a ConfigMap): both off by default; rendered with real helm they
 * parse; every PromQL expression is well formed as far as a parser without promtool can tell (balanced brackets,
 * known functions and keywords) and names only metrics the driver registers, collected from the registries
 * themselves (the process Metrics, plus the node plugin's own); every alert has a runbook paragraph in the README.
 */
type Obj = Record<string, unknown>;
const ROOT = path.resolve(__dirname, '../..');
const CHART = path.join(ROOT, 'helm');

/**
 * Metrics another change of the same round adds (issue 15 item 5: the volume-condition metric): accepted by name
 * until they are registered; delete an entry once `registered()` has it (the last test says when).
 */
const PENDING: string[] = [];

/** Every series name the driver's registries expose (histograms as _bucket/_count/_sum). */
async function registered(): Promise<Set<string>> {
  const m = new Metrics('test');
  timedRunner(
    (command, args) => Promise.resolve({ command, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 0 }),
    m,
  );
  orphanCounter(m);
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(metric.name + s);
  }
  return names;
}

const FUNCTIONS = new Set([
  'abs',
  'absent',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp_min',
  'clamp_max',
  'delta',
  'deriv',
  'floor',
  'histogram_quantile',
  'increase',
  'irate',
  'label_replace',
  'max_over_time',
  'min_over_time',
  'rate',
  'resets',
  'round',
  'scalar',
  'sort',
  'sort_desc',
  'sum_over_time',
  'time',
  'timestamp',
  'vector',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'topk',
  'bottomk',
  'quantile',
  'stddev',
  'group',
  'count_values',
  'label_values',
]);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** The metric names an expression selects, or throws where it is not well formed. */
export function metricsOf(expr: string): string[] {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quoted = false;
  for (const ch of expr) {
    if (ch === '"') quoted = !quoted;
    if (quoted) continue;
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) throw new Error(`unbalanced ${ch} in ${expr}`);
  }
  if (quoted || stack.length) throw new Error(`unbalanced brackets or quotes in ${expr}`);
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const name = m[0].replace(/\s*\($/, '');
    if (KEYWORDS.has(name)) continue;
    if (m[1]) {
      if (!FUNCTIONS.has(name)) throw new Error(`unknown function ${name} in ${expr}`);
    } else if (!KEYWORDS.has(name) && !/^(e|Inf|NaN)$/i.test(name)) {
      out.push(name);
    }
  }
  if (out.length === 0) throw new Error(`no metric in ${expr}`);
  return out;
}

const rulesFile = parse(readFileSync(path.join(CHART, 'files/prometheus-rules.yaml'), 'utf8')) as { groups: Array<{ name: string; rules: Obj[] }> };
const rules = rulesFile.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(path.join(CHART, 'dashboards/rds-csi.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string; legendFormat?: string }> }>;
  templating: { list: Array<{ name: string; definition?: string; includeAll?: boolean; multi?: boolean }> };
};
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('alerts and dashboard: expressions name only metrics the driver registers', () => {
  let known: Set<string>;
  beforeAll(async () => {
    known = await registered();
  });

  it('the PromQL checker catches what it should', () => {
    expect(metricsOf('sum by (type) (rate(rds_csi_job_failures_total{kind=~"a|b"}[5m])) > 0')).toEqual(['rds_csi_job_failures_total']);
    expect(metricsOf('max(a) > 0 and on () (sum(rate(b[15m])) or on () vector(0)) == 0')).toEqual(['a', 'b']);
    expect(() => metricsOf('sum(rate(x[5m])')).toThrow(/unbalanced/);
    expect(() => metricsOf('frobnicate(x)')).toThrow(/unknown function/);
  });

  it.each(rules.map((r) => [r.alert as string, r]))('%s: expr, severity, annotations and its runbook paragraph', (name, rule) => {
    const names = metricsOf(rule.expr as string);
    for (const n of names) expect(known.has(n) || PENDING.includes(n) ? n : `${n} (not registered)`).toBe(n);
    expect(['critical', 'warning', 'info']).toContain((rule.labels as Obj).severity);
    const ann = rule.annotations as Obj;
    expect(ann.summary).toEqual(expect.any(String));
    expect(ann.description).toMatch(new RegExp(`Runbook: README.md, Alerts and runbooks, ${name}\\.`));
    const anchor = name.toLowerCase();
    expect(ann.runbook_url).toBe(`RUNBOOK_BASE_URL#${anchor}`);
    expect(readme).toMatch(new RegExp(`^#### ${name}$`, 'm'));
  });

  it('covers what an operator needs: RDS unreachable, breaker, jobs failing and stuck, migration, orphans, volume condition, node tools', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'RdsCsiJobsFailing',
        'RdsCsiJobsStuck',
        'RdsCsiMigrationTimedOut',
        'RdsCsiNodeToolFailures',
        'RdsCsiOrphansFound',
        'RdsCsiRdsBreakerOpen',
        'RdsCsiRdsUnreachable',
        'RdsCsiVolumeConditionAbnormal',
      ].sort(),
    );
  });

  it.each(dashboardExprs.map((t) => [t.panel, t.expr]))('dashboard panel %s: %s', (_panel, expr) => {
    const names = metricsOf(expr.replace(/\$__rate_interval/g, '5m').replace(/\$job/g, 'x'));
    for (const n of names) expect(known.has(n) || PENDING.includes(n) ? n : `${n} (not registered)`).toBe(n);
  });

  it('the dashboard covers every driver metric family', () => {
    const used = new Set(
      dashboardExprs.flatMap((t) => metricsOf(t.expr.replace(/\$__rate_interval/g, '5m'))).map((n) => n.replace(/_(bucket|count|sum)$/, '')),
    );
    const families = [...known].filter((n) => n.startsWith('rds_csi_') && !/_(bucket|count|sum)$/.test(n));
    expect(families.filter((f) => !used.has(f))).toEqual([]);
  });

  it('PENDING lists only metrics not registered yet', () => {
    expect(PENDING.filter((n) => known.has(n))).toEqual([]);
  });
});

/**
 * Issue 16 item 4: the metrics of one RDS carry its backend's name, so the alerts fire per backend (naming it in the
 * summary) and the dashboard filters and splits by backend. A single RDS is backend="default".
 */
const PER_RDS = [
  'rds_csi_rds_connected',
  'rds_csi_rds_breaker_open',
  'rds_csi_rds_backend_up',
  'rds_csi_pool_bytes',
  'rds_csi_routeros_call_duration_seconds',
];
const perRds = (expr: string): boolean =>
  metricsOf(expr.replace(/\$__rate_interval/g, '5m')).some((n) => PER_RDS.includes(n.replace(/_(bucket|count|sum)$/, '')));
/** The label lists of every `by (...)` in an expression. */
const groupings = (expr: string): string[][] => [...expr.matchAll(/\bby \(([^)]*)\)/g)].map((m) => m[1].split(',').map((l) => l.trim()));

describe('alerts and dashboard per RDS backend', () => {
  it('every per-RDS metric is registered with the backend label', () => {
    const m = new Metrics('test');
    for (const name of PER_RDS) {
      const metric = m.registry.getSingleMetric(name) as unknown as { labelNames: string[] } | undefined;
      expect([name, metric?.labelNames.includes('backend')]).toEqual([name, true]);
    }
  });

  const rdsRules = rules.filter((r) => perRds(r.expr as string));
  it('the RDS alerts are the unreachable and breaker ones', () => {
    expect(rdsRules.map((r) => r.alert).sort()).toEqual(['RdsCsiRdsBreakerOpen', 'RdsCsiRdsUnreachable']);
  });

  it.each(rdsRules.map((r) => [r.alert as string, r]))('%s fires per backend and names it in its summary and description', (_name, rule) => {
    const by = groupings(rule.expr as string);
    expect(by.length).toBeGreaterThan(0);
    for (const labels of by) expect(labels).toContain('backend');
    expect((rule.annotations as Obj).summary).toContain('{{ $labels.backend }}');
    expect((rule.annotations as Obj).description).toContain('{{ $labels.backend }}');
  });

  it('the dashboard has a multi-select backend variable from the backend label', () => {
    expect(dashboard.templating.list.find((v) => v.name === 'backend')).toMatchObject({
      definition: 'label_values(rds_csi_rds_connected, backend)',
      includeAll: true,
      multi: true,
    });
  });

  const rdsPanels = dashboard.panels.flatMap((p) => (p.targets ?? []).filter((t) => perRds(t.expr)).map((t) => [p.title, t] as const));
  it('the RDS panels: health, connection, breaker, pool and RouterOS calls', () => {
    expect(rdsPanels.map(([title]) => title)).toEqual(
      expect.arrayContaining(['RDS connected', 'Backend up', 'Circuit breaker open', 'Pool by backend', 'RouterOS calls by backend and outcome']),
    );
  });

  it.each(rdsPanels)('dashboard panel %s: filtered by $backend, split by backend', (_title, t) => {
    expect(t.expr).toMatch(/\bbackend=~"\$backend"/);
    for (const labels of groupings(t.expr)) expect(labels).toContain('backend');
    expect(t.legendFormat).toContain('{{backend}}');
  });
});

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const withHelm = itIf(!helm.error && helm.status === 0, 'helm on PATH (scripts/install-helm.sh installs the pinned helm 4)');
const required = ['--set', 'rds.host=rds.example.lan', '--set', 'rds.credentials.password=secret', '--set', 'rds.tls.pinCA=false'];

function render(extra: string[]): Obj[] {
  const r = spawnSync('helm', ['template', 'rds-csi', CHART, '--namespace', 'rds-csi', ...required, ...extra], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Obj => typeof d === 'object' && d !== null);
}

describe('the chart renders them (helm template)', () => {
  withHelm('off by default', () => {
    const docs = render([]);
    expect(docs.filter((d) => d.kind === 'PrometheusRule')).toEqual([]);
    expect(docs.filter((d) => d.kind === 'ConfigMap' && String((d.metadata as Obj).name).endsWith('-dashboard'))).toEqual([]);
  });

  withHelm('on: the PrometheusRule carries the rules with labels and runbook URLs; the ConfigMap carries the dashboard', () => {
    const docs = render([
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'metrics.prometheusRule.labels.release=kube-prometheus-stack',
      '--set',
      'metrics.prometheusRule.runbookBaseUrl=https://git.example.lan/rds-csi/blob/main/README.md',
      '--set',
      'metrics.grafanaDashboard.enabled=true',
      '--set',
      'metrics.grafanaDashboard.namespace=monitoring',
    ]);
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    expect(rule).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { namespace: 'rds-csi', labels: { release: 'kube-prometheus-stack' } },
    });
    const groups = (rule?.spec as { groups: Array<{ rules: Obj[] }> }).groups;
    const renderedRules = groups.flatMap((g) => g.rules);
    expect(renderedRules.map((r) => r.expr)).toEqual(rules.map((r) => r.expr));
    renderedRules.forEach((r, i) => {
      expect((r.annotations as Obj).runbook_url).toBe(`https://git.example.lan/rds-csi/blob/main/README.md#${String(r.alert).toLowerCase()}`);
      // Prometheus's own templates ({{ $labels.x }}) reach it untouched by helm.
      expect((r.annotations as Obj).description).toBe((rules[i].annotations as Obj).description);
    });
    expect(renderedRules.some((r) => String((r.annotations as Obj).description).includes('{{ $labels.'))).toBe(true);
    const cm = docs.find((d) => d.kind === 'ConfigMap' && String((d.metadata as Obj).name).endsWith('-dashboard'));
    expect(cm).toMatchObject({ metadata: { namespace: 'monitoring', labels: { grafana_dashboard: '1' } } });
    expect(JSON.parse((cm?.data as Record<string, string>)['rds-csi.json'])).toEqual(dashboard);
  });
});
