import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { conventionProblems, histogram, histogramSeries, parsePrometheusText, value } from './prom-text';

/** The test parser of the Prometheus text format, against hand-written text and against prom-client's own output. */
describe('Prometheus text format parser (test/metrics/prom-text.ts)', () => {
  it('parses HELP, TYPE, escaped label values, special values and timestamps', () => {
    const f = parsePrometheusText(
      [
        '# HELP a_total A counter with a \\\\ backslash\\nand a newline',
        '# TYPE a_total counter',
        'a_total{path="C:\\\\dir",quote="say \\"hi\\"",nl="x\\ny",} 3 1700000000000',
        'a_total{path="other"} 1.5e3',
        '# a plain comment',
        '',
        '# TYPE g gauge',
        'g +Inf',
        'g{x="1"} -Inf',
        'g{x="2"} NaN',
        'g{x="3"} -0.25',
        'g{x="4"} Nan',
      ].join('\n'),
    );
    expect(f.get('a_total')?.help).toBe('A counter with a \\ backslash\nand a newline');
    expect(f.get('a_total')?.samples[0]).toEqual({
      name: 'a_total',
      labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'x\ny' },
      value: 3,
      timestamp: 1700000000000,
    });
    expect(value(f, 'a_total', { path: 'other' })).toBe(1500);
    expect(() => value(f, 'g', {})).toThrow(/matches 5 samples/);
    expect(value(f, 'g', { x: '1' })).toBe(-Infinity);
    expect(value(f, 'g', { x: '2' })).toBeNaN();
    expect(value(f, 'g', { x: '3' })).toBe(-0.25);
    expect(value(f, 'g', { x: '4' })).toBeNaN(); // prom-client's spelling; Prometheus reads NaN in any case
    expect(value(f, 'g', { x: '9' })).toBeUndefined();
    expect(value(f, 'absent')).toBeUndefined();
  });

  it('refuses malformed text with the line number', () => {
    const bad: [string, RegExp][] = [
      ['x 1', /line 1: sample x has no # TYPE/],
      ['# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2', /line 3: duplicate sample/],
      ['# TYPE x gauge\nx{a="1} 1', /unterminated value/],
      ['# TYPE x gauge\nx{a=1} 1', /not quoted/],
      ['# TYPE x gauge\nx{a="\\t"} 1', /bad escape/],
      ['# TYPE x gauge\nx{1a="v"} 1', /bad label name/],
      ['# TYPE x gauge\nx{a="v",a="w"} 1', /given twice/],
      ['# TYPE x gauge\nx one', /not a number/],
      ['# TYPE x gauge\nx 1 2 3', /expected "value \[timestamp\]"/],
      ['# TYPE x gauge\nx 1 1.5', /bad timestamp/],
      ['# TYPE x gauge\nx', /line 2: sample without a value/],
      ['# TYPE x wibble', /unknown type/],
      ['# TYPE x gauge\n# TYPE x counter', /second TYPE/],
      ['# TYPE x gauge\nx 1\n# HELP x late help is fine\n# HELP x twice is not', /second HELP/],
      ['# TYPE 1x gauge', /bad metric name/],
    ];
    for (const [text, error] of bad) expect(() => parsePrometheusText(text)).toThrow(error);
  });

  it("reads prom-client's own output: histogram buckets, sum and count, counters, gauges, default metrics", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ component: 'unit' });
    collectDefaultMetrics({ register: registry });
    const h = new Histogram({ name: 'rds_csi_unit_duration_seconds', help: 'h', labelNames: ['op'], buckets: [0.1, 1, 10], registers: [registry] });
    h.observe({ op: 'a' }, 0.05);
    h.observe({ op: 'a' }, 0.5);
    h.observe({ op: 'a' }, 50);
    h.observe({ op: 'b "quoted"' }, 1);
    new Counter({ name: 'rds_csi_unit_things_total', help: 'c', registers: [registry] }).inc(7);
    new Gauge({ name: 'rds_csi_unit_bytes', help: 'g', labelNames: ['kind'], registers: [registry] }).set({ kind: 'free' }, 123456789012);

    const f = parsePrometheusText(await registry.metrics());
    const a = histogramSeries(f, 'rds_csi_unit_duration_seconds', { op: 'a' });
    expect(a).toEqual({
      labels: { op: 'a', component: 'unit' },
      buckets: [
        { le: 0.1, count: 1 },
        { le: 1, count: 2 },
        { le: 10, count: 2 },
        { le: Infinity, count: 3 },
      ],
      sum: 50.55,
      count: 3,
    });
    expect(histogramSeries(f, 'rds_csi_unit_duration_seconds', { op: 'b "quoted"' })?.count).toBe(1);
    expect(histogram(f, 'rds_csi_unit_duration_seconds')).toHaveLength(2);
    expect(value(f, 'rds_csi_unit_duration_seconds_count', { op: 'a' })).toBe(3);
    expect(value(f, 'rds_csi_unit_things_total')).toBe(7);
    expect(value(f, 'rds_csi_unit_bytes', { kind: 'free' })).toBe(123456789012);
    expect(f.get('rds_csi_unit_things_total')?.type).toBe('counter');
    expect(conventionProblems(f, 'unit')).toEqual([]);
  });

  it('finds what breaks the naming conventions and broken histograms', () => {
    const f = parsePrometheusText(
      [
        '# HELP rds_csi_calls counter without _total',
        '# TYPE rds_csi_calls counter',
        'rds_csi_calls{component="x"} 1',
        '# HELP rds_csi_wait_ms histogram in ms',
        '# TYPE rds_csi_wait_ms histogram',
        'rds_csi_wait_ms_bucket{component="x",le="1"} 2',
        'rds_csi_wait_ms_bucket{component="x",le="+Inf"} 1',
        'rds_csi_wait_ms_sum{component="x"} 1',
        'rds_csi_wait_ms_count{component="x"} 1',
        '# TYPE other_metric gauge',
        'other_metric{component="y"} 1',
        '# HELP rds_csi_live_total gauge named like a counter',
        '# TYPE rds_csi_live_total gauge',
        '# HELP rds_csi_request_duration a duration without unit',
        '# TYPE rds_csi_request_duration gauge',
        '# HELP rds_csi_bytes_free bytes not as suffix',
        '# TYPE rds_csi_bytes_free gauge',
      ].join('\n'),
    );
    const problems = conventionProblems(f, 'x').join('\n');
    for (const p of [
      /rds_csi_calls: a counter not ending in _total/,
      /rds_csi_wait_ms: a histogram without a base unit/,
      /rds_csi_wait_ms: not a base unit/,
      /buckets not cumulative/,
      /other_metric: neither rds_csi_ nor a default process metric/,
      /other_metric: no HELP/,
      /other_metric\{"component":"y"\}: component label is not x/,
      /rds_csi_live_total: _total on a gauge/,
      /rds_csi_request_duration: a duration not in _seconds/,
      /rds_csi_bytes_free: bytes not as the unit suffix/,
      /default metric process_cpu_seconds_total missing/,
    ]) {
      expect(problems).toMatch(p);
    }
    expect(() =>
      histogram(parsePrometheusText('# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_sum 1\nh_seconds_count 1'), 'h_seconds'),
    ).toThrow(/no le="\+Inf" bucket/);
    expect(() =>
      histogram(parsePrometheusText('# TYPE h_seconds histogram\nh_seconds_bucket{le="+Inf"} 2\nh_seconds_sum 1\nh_seconds_count 1'), 'h_seconds'),
    ).toThrow(/\+Inf bucket 2 != _count 1/);
  });
});
