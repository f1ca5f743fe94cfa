import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import type { Command } from 'commander';
import { controllerCommand } from '../../src/cli/commands/controller';
import { nodeCommand } from '../../src/cli/commands/node';
import { workerCommand } from '../../src/cli/commands/worker';
import { configEnvNames, loadConfig } from '../../src/config/load';
import { configOverrides } from '../../src/config/options';
import { redisTargetFromConfig } from '../../src/queue/connection';
import { itIf } from '../support/prereq';
import { NODE_PLUGIN_NODE_OPTIONS, SERVER_NODE_OPTIONS } from '../../bench/support/node-options';

/**
 * The Helm chart in helm/, checked without a cluster. What runs everywhere: Chart.yaml, values.yaml and the example
 * values in helm/ci/ against values.schema.json (ajv, draft-07), and every template reduced to its YAML skeleton
 * (template actions replaced by placeholders) parsed as Kubernetes objects; `.Values` paths, helper names and block
 * balance checked against the sources; every rds-csi flag and RDS_CSI_* name against the CLI and the config.
 * `helm lint --strict`, `helm template` and `helm install --dry-run=client` (NOTES.txt) run only where `helm` is on
 * PATH: there the rendered controller and worker are also loaded through the driver's own config loader and CLI
 * option parser, so the chart's settings are exactly what the driver accepts.
 */

type Obj = Record<string, unknown>;

const CHART = path.resolve(__dirname, '../../helm');
const TEMPLATES = path.join(CHART, 'templates');
const PLACEHOLDER = 'TPL';

const read = (file: string): string => readFileSync(file, 'utf8');
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

const values = parse(read(path.join(CHART, 'values.yaml'))) as Obj;
const schema = JSON.parse(read(path.join(CHART, 'values.schema.json'))) as Obj;
const templateFiles = readdirSync(TEMPLATES).sort();
/** Example values (helm/ci/*.yaml, the chart-testing convention), each merged over values.yaml. */
const ciFiles = readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const yamlTemplates = templateFiles.filter((f) => /\.ya?ml$/.test(f));
const sources = new Map(templateFiles.map((f) => [f, read(path.join(TEMPLATES, f))]));

/** Helm's merge of a values file over values.yaml: maps merge, everything else replaces, null deletes. */
function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(b)) out[k] = merge(b, v);
    else out[k] = v;
  }
  return out;
}

function setPath(target: Obj, dotted: string, value: unknown): Obj {
  const keys = dotted.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) node = node[k] as Obj;
  node[keys[keys.length - 1]] = value;
  return target;
}

/** A path like ['rds','tls','enabled'] exists in values.yaml (every step a key of a map). */
function hasPath(root: unknown, keys: string[]): boolean {
  let node = root;
  for (const k of keys) {
    if (!isObj(node) || !Object.prototype.hasOwnProperty.call(node, k)) return false;
    node = node[k];
  }
  return true;
}

function valueAt(root: unknown, keys: string[]): unknown {
  let node = root;
  for (const k of keys) node = isObj(node) ? node[k] : undefined;
  return node;
}

/** The schema of the items of the list at a values path (e.g. ['backends']). */
function itemSchemaOf(keys: string[]): unknown {
  let node: unknown = schema;
  for (const k of keys) node = isObj(node) && isObj(node.properties) ? node.properties[k] : undefined;
  return isObj(node) ? node.items : undefined;
}

/** A path of nested properties in a schema object (e.g. ['tls','enabled']). */
function hasSchemaPath(node: unknown, keys: string[]): boolean {
  for (const k of keys) {
    if (!isObj(node) || !isObj(node.properties) || !(k in node.properties)) return false;
    node = node.properties[k];
  }
  return true;
}

/**
 * The YAML skeleton of a template: a line holding nothing but actions ({{ if }}, {{ end }}, {{ include … | nindent }})
 * is dropped, an action inside a line becomes a placeholder scalar. Both branches of an if/else stay, so keys may
 * repeat; the parser is told to allow that.
 */
function skeleton(text: string): string {
  const MARK = '\uE000'; // a private-use character: never in a template
  return text
    .replace(/\{\{[\s\S]*?\}\}/g, MARK)
    .split('\n')
    .filter((line) => !(line.includes(MARK) && line.split(MARK).join('').trim() === ''))
    .map((line) => line.split(MARK).join(PLACEHOLDER))
    .join('\n');
}

function objectsOf(file: string): Obj[] {
  const docs = parseAllDocuments(skeleton(sources.get(file) ?? ''), { uniqueKeys: false });
  const out: Obj[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = doc.toJS();
    if (js === null || js === undefined) continue;
    if (!isObj(js)) throw new Error(`${file}: a document is not a mapping`);
    out.push(js);
  }
  return out;
}

/**
 * The innermost block action ("if …", "else if …", "with …", "range …") around the first line that contains `needle`,
 * so a test can say under which condition a template emits it.
 */
function guardOf(text: string, needle: string): string | undefined {
  const stack: string[] = [];
  for (const line of text.split('\n')) {
    if (line.includes(needle)) return [...stack].reverse().find((a) => /^(if|else|with|range)\b/.test(a));
    for (const m of line.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)) {
      const action = m[1].trim();
      if (/^(if|with|range|define|block)\b/.test(action)) stack.push(action);
      else if (/^else\b/.test(action)) stack[stack.length - 1] = action;
      else if (/^end\b/.test(action)) stack.pop();
    }
  }
  return undefined;
}

/** Objects of every template that parses (one that does not fails its own test, not the whole suite). */
const allObjects = yamlTemplates.flatMap((file) => {
  try {
    return objectsOf(file).map((o) => ({ file, o }));
  } catch {
    return [];
  }
});
const byKind = (kind: string): Obj[] => allObjects.filter(({ o }) => o.kind === kind).map(({ o }) => o);
const podSpec = (workload: Obj): Obj => ((workload.spec as Obj).template as Obj).spec as Obj;
const containers = (workload: Obj): Obj[] => podSpec(workload).containers as Obj[];
const container = (workload: Obj, name: string): Obj => {
  const c = containers(workload).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};
const workloadRunning = (kind: string, subcommand: string): Obj => {
  const w = byKind(kind).find((d) => containers(d).some((c) => c.name === 'rds-csi' && (c.args as string[])[0] === subcommand));
  if (!w) throw new Error(`no ${kind} running rds-csi ${subcommand}`);
  return w;
};

function validator(): (data: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(schema);
  return (data) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ''}`));
}

describe('Chart.yaml', () => {
  it('is a v2 application chart named rds-csi with SemVer versions', () => {
    const chart = parse(read(path.join(CHART, 'Chart.yaml'))) as Obj;
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('rds-csi');
    expect(chart.type).toBe('application');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(chart.appVersion).toBe((JSON.parse(read(path.resolve(__dirname, '../../package.json'))) as { version: string }).version);
  });
});

describe('values.schema.json', () => {
  const errorsOf = validator();

  it('is draft-07 and accepts values.yaml', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(errorsOf(values)).toEqual([]);
  });

  it.each(ciFiles)('accepts ci/%s merged over values.yaml', (file) => {
    const over = parse(read(path.join(CHART, 'ci', file))) as Obj;
    expect(errorsOf(merge(values, over))).toEqual([]);
  });

  it.each([
    ['controller.replicas', -1],
    ['controller.replicas', 'two'],
    ['redis.mode', 'bogus'],
    ['redis.external.url', 'http://redis:6379'],
    ['rds.port', 70000],
    ['rds.basePath', 'relative/path'],
    ['driver.name', 'Bad_Name'],
    ['driver.logLevel', 'verbose'],
    ['driver.volumePrefix', 'Has-Capitals'],
    ['storageClasses.blockRWX.migrationWindowSeconds', 5],
    ['storageClasses.blockRWX.migrationWindowSeconds', 7200],
    ['storageClasses.filesystem.fsType', 'btrfs'],
    ['storageClasses.filesystem.parameters', { diskType: 'ssd' }],
    ['sidecars.provisioner.timeout', 'soon'],
    ['sidecars.attacher.image.tag', ''],
    ['worker.concurrency', 0],
    ['worker.replicas', 0],
    ['redis.internal.auth.password', 'has:colon@at'],
    ['controller.replicass', 2],
    ['node.connect.ctrlLossTmo', -2],
    ['fencing.defaultMigrationWindowSeconds', 4000],
    ['unknownTopLevel', true],
    ['dashboard.enabled', 'yes'],
    ['dashboard.basicAuth.username', 'has:colon'],
    ['dashboard.basicAuth.password', 'has space'],
    ['dashboard.insecureNoAuth', true],
    ['dashboard.usernameKey', 'bad/key'],
    ['orphans.intervalMs', 1000],
    ['orphans.graceMs', -1],
    ['orphans.delete', 'true'],
    ['csiDriver.podInfoOnMount', 'false'],
    ['csiDriver.storageCapacity', 1],
    ['sidecars.provisioner.capacityPollInterval', 'often'],
    ['driver.kubernetesMode', 'off'],
    ['redis.external.sentinel.sentinels', ['sentinel-without-port']],
    ['redis.external.sentinel.sentinels', 's1:26379,s2:26379'],
    ['redis.external.tls.ca', 'not a PEM'],
    ['rds.backend', ''],
    ['rds.backend', 'has space'],
    ['rds.backend', '-leading-dash'],
    ['rds.backend', 'x'.repeat(64)],
    ['storageClasses.filesystem.allowedTopologies', [{ matchLabelExpressions: [] }]],
    ['storageClasses.blockRWX.allowedTopologies', [{ matchLabelExpressions: [{ key: 'rds.csi.mikrotik.com/backend' }] }]],
    ['networkPolicy.enabled', 'yes'],
    ['networkPolicy.bogus', true],
    ['networkPolicy.metrics.namespaceSelector', { matchLabels: { team: 1 } }],
    ['networkPolicy.metrics.namespaceSelector', { matchExpressions: [{ key: 'team', operator: 'Like' }] }],
    ['networkPolicy.metrics.namespaceSelector', 'monitoring'],
    ['networkPolicy.dashboard.from', [{}]],
    ['networkPolicy.dashboard.from', [{ podSelector: { bogus: {} } }]],
    ['networkPolicy.dashboard.from', [{ ipBlock: { cidr: '10.0.0.0' } }]],
    ['networkPolicy.dashboard.from', 'everyone'],
    ['dashboard.port', 0],
    ['dashboard.port', '9810'],
    ['dashboard.bindAddress', 'localhost'],
    ['dashboard.bindAddress', ''],
  ])('rejects %s = %p', (key, bad) => {
    expect(errorsOf(setPath(clone(values), key, bad)).length).toBeGreaterThan(0);
  });

  it('accepts what the driver accepts at the edges', () => {
    const v = clone(values);
    setPath(v, 'storageClasses.blockRWX.migrationWindowSeconds', 10);
    setPath(v, 'storageClasses.filesystem.parameters', { 'csi.storage.k8s.io/node-stage-secret-name': 'x' });
    setPath(v, 'node.maxUnavailable', '10%');
    setPath(v, 'redis.external.url', 'rediss://redis.example:6380/0');
    setPath(v, 'node.connect.fastIoFailTmo', 30);
    setPath(v, 'redis.external.sentinel.sentinels', ['[fd00::1]:26379', 'sentinel-0.redis.svc:26379']);
    setPath(v, 'redis.external.tls.ca', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    setPath(v, 'orphans.graceMs', 0);
    setPath(v, 'orphans.intervalMs', 10000);
    setPath(v, 'driver.kubernetesMode', 'auto');
    setPath(v, 'rds.backend', 'rds-2.lab_b');
    setPath(v, 'storageClasses.filesystem.allowedTopologies', [
      { matchLabelExpressions: [{ key: 'rds.csi.mikrotik.com/backend', values: ['default'] }] },
    ]);
    setPath(v, 'networkPolicy.enabled', true);
    setPath(v, 'networkPolicy.metrics.namespaceSelector', { matchExpressions: [{ key: 'team', operator: 'In', values: ['obs'] }] });
    setPath(v, 'networkPolicy.dashboard.from', [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { podSelector: {} }]);
    setPath(v, 'dashboard.bindAddress', '::');
    expect(errorsOf(v)).toEqual([]);
  });

  it.each(['default', 'rds-2', 'A.b_c-9', 'x'.repeat(63), '', 'has space', '-x', 'x-', 'x'.repeat(64), 'a/b'])(
    'rds.backend %p: the chart accepts it exactly when the driver does (it is a topology label value)',
    (backend) => {
      const chartOk = errorsOf(setPath(clone(values), 'rds.backend', backend)).length === 0;
      let driverOk = true;
      try {
        loadConfig({ 'rds.backend': backend }, {});
      } catch {
        driverOk = false;
      }
      expect(chartOk).toBe(driverOk);
    },
  );
});

describe('templates', () => {
  it('has the templates the chart is made of', () => {
    for (const f of [
      '_helpers.tpl',
      'NOTES.txt',
      'controller-deployment.yaml',
      'worker-deployment.yaml',
      'node-daemonset.yaml',
      'redis.yaml',
      'csidriver.yaml',
    ]) {
      expect(templateFiles).toContain(f);
    }
  });

  it.each(yamlTemplates)('%s parses as Kubernetes objects with apiVersion, kind and metadata.name', (file) => {
    const objects = objectsOf(file);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(typeof o.apiVersion).toBe('string');
      expect(typeof o.kind).toBe('string');
      expect(isObj(o.metadata)).toBe(true);
      expect((o.metadata as Obj).name).toBeTruthy();
    }
  });

  it('together define every kind of object the driver needs', () => {
    const kinds = new Set(allObjects.map(({ o }) => o.kind));
    for (const k of [
      'Deployment',
      'DaemonSet',
      'StatefulSet',
      'Service',
      'Secret',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'CSIDriver',
      'StorageClass',
      'VolumeSnapshotClass',
      'ServiceMonitor',
      'PodDisruptionBudget',
      'NetworkPolicy',
    ]) {
      expect(kinds).toContain(k);
    }
    expect(byKind('ServiceAccount')).toHaveLength(3);
  });

  it.each(templateFiles)('%s references only .Values paths that exist in values.yaml', (file) => {
    const text = sources.get(file) ?? '';
    const missing = new Set<string>();
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      if (!hasPath(values, m[1].slice(1).split('.'))) missing.add(`.Values${m[1]}`);
    }
    // Variables bound to a values path ({{ $sc := .Values.sidecars }}): their field accesses must exist too.
    const bound = new Map<string, string[][]>();
    for (const m of text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      bound.set(m[1], [...(bound.get(m[1]) ?? []), m[2].slice(1).split('.')]);
    }
    for (const [name, bases] of bound) {
      for (const m of text.matchAll(new RegExp(`\\$${name}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, 'g'))) {
        const rest = m[1].slice(1).split('.');
        // A variable ranging over a list ({{ range $b := .Values.backends }}): its fields are those of the schema's items.
        const known = (b: string[]): boolean =>
          hasPath(values, [...b, ...rest]) || (Array.isArray(valueAt(values, b)) && hasSchemaPath(itemSchemaOf(b), rest));
        if (!bases.some(known)) missing.add(`$${name}${m[1]}`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('includes only helpers that are defined, and only template files that exist', () => {
    const all = [...sources.values()].join('\n');
    const defined = new Set([...all.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]));
    const used = new Set([...all.matchAll(/\b(?:include|template)\s+"([^"]+)"/g)].map((m) => m[1]));
    expect([...used].filter((u) => !defined.has(u))).toEqual([]);
    for (const m of all.matchAll(/\$\.Template\.BasePath\s+"\/([^"]+)"/g)) expect(existsSync(path.join(TEMPLATES, m[1]))).toBe(true);
  });

  it('sets only RDS_CSI_* variables that the driver reads', () => {
    const known = new Set(configEnvNames());
    const used = new Set([...[...sources.values()].join('\n').matchAll(/\bRDS_CSI_[A-Z0-9_]+/g)].map((m) => m[0]));
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
  });

  it.each(templateFiles)('%s opens and closes its blocks in balance', (file) => {
    const text = sources.get(file) ?? '';
    const opened = [...text.matchAll(/\{\{-?\s*(?:if|range|with|define|block)\b/g)].length;
    const closed = [...text.matchAll(/\{\{-?\s*end\b/g)].length;
    expect(closed).toBe(opened);
  });
});

describe('what the templates promise (from the skeleton)', () => {
  it('controller: rds-csi controller on the socket with every sidecar, leader election and extra metadata', () => {
    const d = workloadRunning('Deployment', 'controller');
    expect(containers(d).map((c) => c.name)).toEqual([
      'rds-csi',
      'csi-provisioner',
      'csi-attacher',
      'csi-snapshotter',
      'csi-resizer',
      'liveness-probe',
    ]);
    expect((container(d, 'rds-csi').args as string[]).slice(0, 4)).toEqual(['controller', '--endpoint', 'unix:///csi/csi.sock', '--http-listen']);
    const provisioner = container(d, 'csi-provisioner').args as string[];
    expect(provisioner).toEqual(expect.arrayContaining(['--csi-address=/csi/csi.sock', '--extra-create-metadata', '--leader-election']));
    expect(provisioner.some((a) => a.startsWith('--timeout='))).toBe(true);
    for (const name of ['csi-attacher', 'csi-snapshotter', 'csi-resizer']) {
      expect(container(d, name).args).toEqual(expect.arrayContaining(['--csi-address=/csi/csi.sock', '--leader-election']));
    }
    expect(podSpec(d).serviceAccountName).toBe(PLACEHOLDER);
  });

  it('node: the plugin runs with a small V8 young generation (NODE_OPTIONS, issue 14 item 4; bench part m measures it)', () => {
    const env = (container(workloadRunning('DaemonSet', 'node'), 'rds-csi').env as Obj[]) ?? [];
    expect(env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(NODE_PLUGIN_NODE_OPTIONS);
  });

  it.each([
    ['Deployment', 'controller'],
    ['Deployment', 'worker'],
  ])('%s %s: runs with a 4 MiB V8 young generation (NODE_OPTIONS, issue 14 item 5; bench part s)', (kind, subcommand) => {
    const env = (container(workloadRunning(kind, subcommand), 'rds-csi').env as Obj[]) ?? [];
    expect(env.filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value)).toEqual([SERVER_NODE_OPTIONS]);
  });

  it('worker: rds-csi worker with an HTTP port', () => {
    const w = workloadRunning('Deployment', 'worker');
    expect((container(w, 'rds-csi').args as string[]).slice(0, 2)).toEqual(['worker', '--http-listen']);
  });

  it('node: privileged on the host network, /dev, /sys, /etc/nvme, kubelet dir Bidirectional, registrar', () => {
    const ds = workloadRunning('DaemonSet', 'node');
    const spec = podSpec(ds);
    expect(spec.hostNetwork).toBe(true);
    const plugin = container(ds, 'rds-csi');
    expect((plugin.args as string[]).slice(0, 5)).toEqual(['node', '--endpoint', 'unix:///csi/csi.sock', '--node-id', '$(NODE_NAME)']);
    expect((plugin.securityContext as Obj).privileged).toBe(true);
    const mounts = plugin.volumeMounts as Obj[];
    expect(mounts.find((m) => m.name === 'kubelet-dir')?.mountPropagation).toBe('Bidirectional');
    // The node plugin confines every staging and target path to the kubelet dir it mounts (issue 18 item 1).
    const args = plugin.args as string[];
    expect(args).toContain('--kubelet-dir');
    expect(sources.get('node-daemonset.yaml') ?? '').toMatch(/- --kubelet-dir\n\s+- \{\{ \$kubeletDir \| quote \}\}\n/);
    expect(sources.get('node-daemonset.yaml') ?? '').toMatch(/mountPath: \{\{ \$kubeletDir \}\}\n\s+mountPropagation: Bidirectional/);
    const hostPaths = (spec.volumes as Obj[]).map((v) => (v.hostPath as Obj | undefined)?.path);
    expect(hostPaths).toEqual(expect.arrayContaining(['/dev', '/sys', '/etc/nvme']));
    for (const name of ['dev', 'sys', 'etc-nvme']) expect(mounts.some((m) => m.name === name)).toBe(true);
    expect(containers(ds).map((c) => c.name)).toEqual(['rds-csi', 'node-driver-registrar', 'liveness-probe']);
  });

  it('redis: AOF every second, noeviction, data on a PVC', () => {
    const sts = byKind('StatefulSet')[0];
    const args = (containers(sts)[0].args as string[]).join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--appendfsync everysec');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect((sts.spec as Obj).volumeClaimTemplates).toHaveLength(1);
  });

  it('CSIDriver: attach required, persistent volumes only; pod info and storage capacity from values, both off by default', () => {
    const spec = byKind('CSIDriver')[0].spec as Obj;
    expect(spec).toMatchObject({ attachRequired: true, volumeLifecycleModes: ['Persistent'] });
    expect(values.csiDriver).toMatchObject({ fsGroupPolicy: 'File', podInfoOnMount: false, storageCapacity: false });
    const text = sources.get('csidriver.yaml') ?? '';
    expect(text).toContain('podInfoOnMount: {{ .Values.csiDriver.podInfoOnMount }}');
    expect(text).toContain('storageCapacity: {{ .Values.csiDriver.storageCapacity }}');
  });

  it('storage capacity: the same switch gives the provisioner --enable-capacity (owner: the Deployment) and the rights for CSIStorageCapacity', () => {
    const d = workloadRunning('Deployment', 'controller');
    const provisioner = container(d, 'csi-provisioner');
    expect(provisioner.args).toEqual(expect.arrayContaining(['--enable-capacity', '--capacity-ownerref-level=2']));
    expect((provisioner.env as Obj[]).map((e) => e.name)).toEqual(['NAMESPACE', 'POD_NAME']);
    const controllerText = sources.get('controller-deployment.yaml') ?? '';
    expect(guardOf(controllerText, '- --enable-capacity')).toBe('if .Values.csiDriver.storageCapacity');
    const role = byKind('Role').find((r) => (r.rules as Obj[]).some((x) => (x.resources as string[]).includes('csistoragecapacities')));
    expect(role).toBeDefined();
    const rules = (role as Obj).rules as Obj[];
    expect(rules.find((x) => (x.resources as string[]).includes('csistoragecapacities'))?.verbs).toEqual(
      expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
    );
    expect(rules.some((x) => (x.resources as string[]).includes('replicasets') && (x.apiGroups as string[]).includes('apps'))).toBe(true);
    expect(guardOf(sources.get('rbac-controller.yaml') ?? '', 'resources: ["csistoragecapacities"]')).toBe('if .Values.csiDriver.storageCapacity');
  });

  it("dashboard: off by default, read-only by default; the credential Secret is mounted as files and passed with the CLI's flags", () => {
    expect(values.dashboard).toMatchObject({ enabled: false, readWrite: false, dangerousInsecureNoAuth: false });
    const secret = objectsOf('dashboard-secret.yaml');
    expect(secret.map((o) => o.kind)).toEqual(['Secret']);
    const d = workloadRunning('Deployment', 'controller');
    const args = container(d, 'rds-csi').args as string[];
    for (const flag of [
      '--dashboard-basic-auth-user-file',
      '--dashboard-basic-auth-password-file',
      '--dashboard-token-file',
      '--dashboard-read-write',
    ])
      expect(args).toContain(flag);
    const text = sources.get('controller-deployment.yaml') ?? '';
    for (const f of ['username', 'password', 'token']) expect(text).toContain(`printf "%s/${f}" $dir`);
    expect((container(d, 'rds-csi').volumeMounts as Obj[]).some((m) => m.name === 'dashboard-auth' && m.readOnly === true)).toBe(true);
    const vol = (podSpec(d).volumes as Obj[]).find((v) => v.name === 'dashboard-auth');
    expect(((vol?.secret as Obj).items as Obj[]).map((i) => i.path)).toEqual(['username', 'password', 'token']);
  });

  it('dashboard: --dashboard-insecure-no-auth only behind the loudly named value, which the chart refuses beside a credential', () => {
    const text = sources.get('controller-deployment.yaml') ?? '';
    expect(text.split('--dashboard-insecure-no-auth').length - 1).toBe(1);
    expect(guardOf(text, '- --dashboard-insecure-no-auth')).toBe('if and .Values.dashboard.enabled .Values.dashboard.dangerousInsecureNoAuth');
    const helpers = sources.get('_helpers.tpl') ?? '';
    expect(helpers).toContain('fail "dashboard.dangerousInsecureNoAuth serves the dashboard WITHOUT authentication');
    expect(helpers).toContain('fail "dashboard.enabled needs a credential');
    expect([...sources.values()].join('\n')).not.toMatch(/RDS_CSI_DASHBOARD_INSECURE_NO_AUTH/);
  });

  it('sets every Redis, fencing and orphan setting the driver has, and its Kubernetes mode, from values', () => {
    const used = new Set([...[...sources.values()].join('\n').matchAll(/\bRDS_CSI_[A-Z0-9_]+/g)].map((m) => m[0]));
    const wanted = configEnvNames().filter((n) => /^RDS_CSI_(REDIS_|FENCING_|ORPHANS_|KUBERNETES_MODE$)/.test(n));
    expect(wanted.length).toBeGreaterThanOrEqual(11);
    expect(wanted.filter((n) => !used.has(n))).toEqual([]);
    expect(values.orphans).toEqual({ intervalMs: 3600000, delete: false, graceMs: 86400000 });
    expect((values.driver as Obj).kubernetesMode).toBe('on');
  });

  it('dashboard: a port and bind address of its own (loopback by default), passed as --dashboard-listen, never the metrics port', () => {
    expect(values.dashboard).toMatchObject({ port: 9810, bindAddress: '127.0.0.1' });
    expect((values.dashboard as Obj).port).not.toBe((values.controller as Obj).httpPort);
    const d = workloadRunning('Deployment', 'controller');
    const args = container(d, 'rds-csi').args as string[];
    expect(args[args.indexOf('--dashboard-listen') + 1]).toBe(PLACEHOLDER);
    const text = sources.get('controller-deployment.yaml') ?? '';
    expect(guardOf(text, '- --dashboard-listen')).toBe('if .Values.dashboard.enabled');
    expect(text).toContain('- {{ include "rds-csi.dashboardListen" . | quote }}');
    // The http-listen (metrics) line stays on 0.0.0.0 for Prometheus; the dashboard's container port only when exposed.
    expect(guardOf(text, '- name: dashboard')).toBe('if and .Values.dashboard.enabled (include "rds-csi.dashboardExposed" .)');
    const helpers = sources.get('_helpers.tpl') ?? '';
    expect(helpers).toContain('{{- printf "%s:%d" (ternary (printf "[%s]" $a) $a (contains ":" $a)) (.Values.dashboard.port | int) }}');
    expect(helpers).toContain('{{- if not (has .Values.dashboard.bindAddress (list "127.0.0.1" "::1")) }}true{{ end }}');
    expect(helpers).toContain('fail "dashboard.port must differ from controller.httpPort and controller.healthPort');
    const notes = sources.get('NOTES.txt') ?? '';
    expect(notes).toContain('{{- $port := .Values.dashboard.port | int }}');
    expect(notes).toContain('port-forward deploy/{{ $controller }} {{ $port }}:{{ $port }}');
  });

  it('NetworkPolicies: off by default; Redis only from controller and worker; metrics from the configured namespaces; dashboard only from the listed peers', () => {
    expect(values.networkPolicy).toEqual({
      enabled: false,
      metrics: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: {} },
      dashboard: { from: [] },
    });
    const text = sources.get('networkpolicies.yaml') ?? '';
    expect(text.split('\n')[0]).toBe('{{- if .Values.networkPolicy.enabled }}');
    const policies = objectsOf('networkpolicies.yaml');
    expect(policies.map((o) => o.kind)).toEqual(['NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy']);
    for (const p of policies) {
      expect(p.apiVersion).toBe('networking.k8s.io/v1');
      expect((p.spec as Obj).policyTypes).toEqual(['Ingress']);
    }
    const [redis, controller, worker] = policies.map((p) => p.spec as Obj);
    expect(guardOf(text, 'Redis (authenticated, not TLS)')).toBe('if eq .Values.redis.mode "internal"');
    const redisRules = redis.ingress as Obj[];
    expect(redisRules).toHaveLength(1);
    expect(redisRules[0].ports).toEqual([{ port: 'redis', protocol: 'TCP' }]);
    const peer = (redisRules[0].from as Obj[])[0].podSelector as Obj;
    expect(peer.matchExpressions).toEqual([{ key: 'app.kubernetes.io/component', operator: 'In', values: ['controller', 'worker'] }]);
    expect(Object.keys(peer.matchLabels as Obj)).toEqual(['app.kubernetes.io/name', 'app.kubernetes.io/instance']);
    // The redis port name the policy uses is the one the Redis container declares.
    expect(sources.get('redis.yaml')).toMatch(/- name: redis\n\s+containerPort: 6379/);
    for (const spec of [controller, worker]) {
      const metricsRule = (spec.ingress as Obj[])[0];
      expect(metricsRule.ports).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
      expect(Object.keys((metricsRule.from as Obj[])[0])).toEqual(['namespaceSelector', 'podSelector']);
    }
    expect(text.split('toYaml $np.metrics.namespaceSelector').length - 1).toBe(2);
    expect(worker.ingress as Obj[]).toHaveLength(1);
    // The dashboard rule: only when enabled, bound beyond loopback, and with peers listed; its port is the named one.
    expect(guardOf(text, '- port: dashboard')).toBe('if and .Values.dashboard.enabled (include "rds-csi.dashboardExposed" .) $np.dashboard.from');
    expect(text).toContain('{{- toYaml $np.dashboard.from | nindent 8 }}');
    // The node plugin is on the host network, where NetworkPolicies do not apply: no policy pretends otherwise.
    expect(text).not.toMatch(/component" "node"/);
  });

  it('NOTES.txt tells how to reach the dashboard and how to check the install', () => {
    const notes = sources.get('NOTES.txt') ?? '';
    for (const s of [
      'port-forward',
      '/dashboard',
      '-- rds-csi doctor controller',
      'rds-csi doctor node --node-id "$NODE_NAME"',
      'controller-metrics',
    ])
      expect(notes).toContain(s);
  });

  it('passes rds-csi only flags its CLI has', () => {
    const commands: Record<string, Command> = { controller: controllerCommand(), worker: workerCommand(), node: nodeCommand() };
    const workloads = [workloadRunning('Deployment', 'controller'), workloadRunning('Deployment', 'worker'), workloadRunning('DaemonSet', 'node')];
    const missing: string[] = [];
    for (const w of workloads) {
      const [sub, ...args] = container(w, 'rds-csi').args as string[];
      const known = new Set(commands[sub].options.map((o) => o.long));
      for (const flag of args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0])) {
        if (!known.has(flag)) missing.push(`${sub} ${flag}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('topology: every component gets the backend name; StorageClasses leave allowedTopologies open by default; no provisioner feature gate', () => {
    expect((values.rds as Obj).backend).toBe('default');
    const helpers = sources.get('_helpers.tpl') ?? '';
    const driverEnv = helpers.slice(helpers.indexOf('define "rds-csi.driverEnv"'));
    expect(driverEnv.slice(0, driverEnv.indexOf('{{- end }}'))).toContain('- name: RDS_CSI_RDS_BACKEND\n  value: {{ .Values.rds.backend | quote }}');
    expect(sources.get('node-daemonset.yaml')).toContain('include "rds-csi.driverEnv"');
    expect(helpers).toMatch(/define "rds-csi.serverEnv"[\s\S]*?include "rds-csi.driverEnv"/);
    for (const sc of ['filesystem', 'blockRWX']) expect(((values.storageClasses as Obj)[sc] as Obj).allowedTopologies).toEqual([]);
    const scText = sources.get('storageclasses.yaml') ?? '';
    expect(guardOf(scText, 'allowedTopologies:')).toBe('with $sc.allowedTopologies');
    expect(scText.split('allowedTopologies:').length - 1).toBe(2);
    // external-provisioner v5+ has the GA Topology gate on by default; a removed gate would stop the sidecar.
    const provisioner = container(workloadRunning('Deployment', 'controller'), 'csi-provisioner').args as string[];
    expect(provisioner.filter((a) => a.startsWith('--feature-gates'))).toEqual([]);
    expect(((values.sidecars as Obj).provisioner as Obj).image).toMatchObject({ tag: expect.stringMatching(/^v([5-9]|\d\d)\./) });
  });

  it('StorageClasses: filesystem with an fstype, block with migrationWindowSeconds', () => {
    const params = byKind('StorageClass').map((sc) => Object.keys(sc.parameters as Obj));
    expect(params).toEqual(
      expect.arrayContaining([expect.arrayContaining(['csi.storage.k8s.io/fstype']), expect.arrayContaining(['migrationWindowSeconds'])]),
    );
  });

  it('RBAC: the controller may read VolumeAttachments and Nodes, post Events and hold Leases', () => {
    const rules = byKind('ClusterRole').flatMap((r) => r.rules as Obj[]);
    const allows = (resource: string, verb: string): boolean =>
      rules.some((r) => (r.resources as string[]).includes(resource) && (r.verbs as string[]).includes(verb));
    for (const [res, verb] of [
      ['volumeattachments', 'watch'],
      ['volumeattachments/status', 'patch'],
      ['nodes', 'list'],
      ['events', 'create'],
      ['csinodes', 'get'],
      ['persistentvolumes', 'create'],
      ['volumesnapshotcontents', 'update'],
    ]) {
      expect(allows(res, verb)).toBe(true);
    }
    expect((byKind('Role')[0].rules as Obj[])[0].resources).toEqual(['leases']);
  });
});

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const hasHelm = !helm.error && helm.status === 0;
// Under CI=true a missing helm fails (issue 19 item 3): .ci/run installs it with scripts/install-helm.sh.
const withHelm = itIf(hasHelm, 'helm on PATH (scripts/install-helm.sh installs the pinned helm 4)');
const required = ['--set', 'rds.host=rds.example.lan', '--set', 'rds.credentials.password=secret', '--set', 'rds.tls.pinCA=false'];
const NS = 'rds-csi';

interface Rendered {
  status: number | null;
  stderr: string;
  docs: Obj[];
}

/** `helm template rds-csi helm/ -n rds-csi` with the required values and `extra`. */
function render(extra: string[]): Rendered {
  const r = spawnSync('helm', ['template', 'rds-csi', CHART, '--namespace', NS, ...required, ...extra], { encoding: 'utf8' });
  const docs =
    r.status === 0
      ? parseAllDocuments(r.stdout)
          .map((d) => d.toJS() as unknown)
          .filter(isObj)
      : [];
  return { status: r.status, stderr: r.stderr, docs };
}

function rendered(extra: string[]): Obj[] {
  const r = render(extra);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.docs;
}

const find = (docs: Obj[], kind: string, nameSuffix: string): Obj | undefined =>
  docs.find((d) => d.kind === kind && String((d.metadata as Obj).name).endsWith(nameSuffix));
const must = <T>(v: T | undefined, what: string): T => {
  if (v === undefined) throw new Error(`missing: ${what}`);
  return v;
};
const controllerOf = (docs: Obj[]): Obj => must(find(docs, 'Deployment', '-controller'), 'controller Deployment');
const workerOf = (docs: Obj[]): Obj => must(find(docs, 'Deployment', '-worker'), 'worker Deployment');

/**
 * The environment the driver process of a rendered workload sees: literal values, $(VAR) expanded as the kubelet
 * does, values from Secrets replaced by stand-ins (a rediss:// URL where a Redis CA is configured).
 */
function processEnv(workload: Obj): NodeJS.ProcessEnv {
  const env: Record<string, string> = {};
  const list = container(workload, 'rds-csi').env as Obj[];
  const tls = list.some((e) => e.name === 'RDS_CSI_REDIS_CA_FILE');
  for (const e of list) {
    const name = e.name as string;
    let v: string;
    if (typeof e.value === 'string') v = e.value;
    else if (name === 'RDS_CSI_REDIS_URL') v = tls ? 'rediss://:pw@mymaster:6379/0' : 'redis://:pw@redis:6379/0';
    else v = `secret-of-${name}`;
    env[name] = v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, k: string) => env[k] ?? all);
  }
  return env;
}

/** The driver's config for a rendered workload: its args through the CLI's option parser, its env through loadConfig. */
function driverConfig(workload: Obj) {
  const [sub, ...args] = container(workload, 'rds-csi').args as string[];
  const cmd = sub === 'controller' ? controllerCommand() : workerCommand();
  cmd.parseOptions(args);
  return loadConfig(sub === 'controller' ? configOverrides('controller', cmd.opts()) : {}, processEnv(workload));
}

/** Where a file path inside a container comes from: the Secret name and key behind its volume mount. */
function secretBehind(workload: Obj, file: string): { secret: string; key: string } {
  const c = container(workload, 'rds-csi');
  const mount = must(
    (c.volumeMounts as Obj[]).find((m) => path.posix.dirname(file) === m.mountPath),
    `a volume mounted at ${path.posix.dirname(file)}`,
  );
  const vol = must(
    (podSpec(workload).volumes as Obj[]).find((v) => v.name === mount.name),
    `volume ${String(mount.name)}`,
  );
  const secret = vol.secret as Obj;
  const item = must(
    (secret.items as Obj[]).find((i) => i.path === path.posix.basename(file)),
    `item ${file}`,
  );
  return { secret: secret.secretName as string, key: item.key as string };
}

describe(`helm lint, helm template and NOTES.txt (${hasHelm ? helm.stdout.trim() : 'helm not on PATH: skipped'})`, () => {
  withHelm.each(['values.yaml', ...ciFiles])('helm lint --strict passes with %s', (file) => {
    const extra = file === 'values.yaml' ? [] : ['-f', path.join(CHART, 'ci', file)];
    const r = spawnSync('helm', ['lint', '--strict', CHART, ...required, ...extra], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(r.status).toBe(0);
  });

  withHelm.each([
    { set: [], ttl: 3000 },
    { set: ['--set', 'worker.poolReadingTtlMs=0'], ttl: 0 },
    { set: ['--set', 'worker.poolReadingTtlMs=250'], ttl: 250 },
  ])('worker.poolReadingTtlMs $ttl reaches the worker and the in-process worker as their config', ({ set, ttl }) => {
    const docs = rendered(set);
    expect(driverConfig(must(find(docs, 'Deployment', '-worker'), 'worker Deployment')).worker.poolReadingTtlMs).toBe(ttl);
    expect(driverConfig(controllerOf(docs)).worker.poolReadingTtlMs).toBe(ttl);
  });

  withHelm('renders mkfsOptions and mountOptions into the filesystem StorageClass only when set (issue 15 item 7)', () => {
    const fsClass = (docs: Obj[]): Obj => must(find(docs, 'StorageClass', 'rds-csi'), 'filesystem StorageClass');
    expect((fsClass(rendered([])).parameters as Obj).mkfsOptions).toBeUndefined();
    expect(fsClass(rendered([])).mountOptions).toBeUndefined();
    const set = fsClass(
      rendered(['--set', 'storageClasses.filesystem.mkfsOptions=-m 0', '--set-json', 'storageClasses.filesystem.mountOptions=["noatime"]']),
    );
    expect(set.parameters).toMatchObject({ 'csi.storage.k8s.io/fstype': 'ext4', mkfsOptions: '-m 0' });
    expect(set.mountOptions).toEqual(['noatime']);
  });

  withHelm('renders allowedTopologies only when set, and the backend into every component', () => {
    const open = rendered([]);
    for (const sc of open.filter((d) => d.kind === 'StorageClass')) expect(sc.allowedTopologies).toBeUndefined();
    const term = { matchLabelExpressions: [{ key: 'rds.csi.mikrotik.com/backend', values: ['rds-2'] }] };
    const pinned = rendered(['--set-json', `storageClasses.filesystem.allowedTopologies=${JSON.stringify([term])}`, '--set', 'rds.backend=rds-2']);
    expect(pinned.filter((d) => d.kind === 'StorageClass').map((d) => d.allowedTopologies)).toEqual(expect.arrayContaining([[term], undefined]));
    expect(driverConfig(controllerOf(pinned)).rds.backend).toBe('rds-2');
    const ds = must(
      pinned.find((d) => d.kind === 'DaemonSet'),
      'node DaemonSet',
    );
    expect(processEnv(ds).RDS_CSI_RDS_BACKEND).toBe('rds-2');
  });

  withHelm.each(['values.yaml', ...ciFiles])('helm template renders with %s, and controller and worker load it as the driver would', (file) => {
    const extra = file === 'values.yaml' ? [] : ['-f', path.join(CHART, 'ci', file)];
    const docs = rendered(extra);
    expect(docs.length).toBeGreaterThan(10);
    for (const d of docs) expect(typeof d.kind).toBe('string');
    const merged = file === 'values.yaml' ? values : merge(values, parse(read(path.join(CHART, 'ci', file))) as Obj);
    for (const w of [controllerOf(docs), workerOf(docs)]) {
      const cfg = driverConfig(w);
      expect(cfg.orphans).toEqual(merged.orphans);
      expect(cfg.kubernetes.mode).toBe((merged.driver as Obj).kubernetesMode);
      expect(cfg.fencing).toEqual(merged.fencing);
      // The RDS CA is an environment variable, so `kubectl exec … rds-csi doctor controller` pins it too.
      expect(cfg.rds.caFile).toBeUndefined(); // required values turn pinCA off
      expect(() => redisTargetFromConfig(cfg)).not.toThrow();
    }
  });

  withHelm('helm template refuses to render without rds.host', () => {
    const r = spawnSync('helm', ['template', 'rds-csi', CHART], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('rds.host is required');
  });

  withHelm('defaults: no dashboard, no storage capacity, no pod info on mount; the pinned RDS CA is a mounted file named in the env', () => {
    const docs = rendered(['--set', 'rds.tls.pinCA=true', '--set', 'rds.tls.ca=-----BEGIN CERTIFICATE-----']);
    const ctl = controllerOf(docs);
    expect((container(ctl, 'rds-csi').args as string[]).filter((a) => a.startsWith('--dashboard'))).toEqual([]);
    expect(find(docs, 'Secret', '-dashboard')).toBeUndefined();
    expect(container(ctl, 'csi-provisioner').args).not.toContain('--enable-capacity');
    expect(docs.some((d) => d.kind === 'Role' && JSON.stringify(d.rules).includes('csistoragecapacities'))).toBe(false);
    expect(
      must(
        docs.find((d) => d.kind === 'CSIDriver'),
        'CSIDriver',
      ).spec,
    ).toMatchObject({ podInfoOnMount: false, storageCapacity: false, attachRequired: true });
    for (const w of [ctl, workerOf(docs)]) {
      const cfg = driverConfig(w);
      expect(cfg.dashboard).toMatchObject({ readOnly: true, insecureNoAuth: false });
      expect(cfg.dashboard.basicAuthUserFile ?? cfg.dashboard.tokenFile).toBeUndefined();
      expect(cfg.orphans.delete).toBe(false);
      expect(secretBehind(w, must(cfg.rds.caFile, 'rds.caFile'))).toEqual({ secret: 'rds-csi-rds', key: 'ca.crt' });
    }
  });

  withHelm('dashboard on: the chart Secret holds a user, a generated password and a token, mounted where the CLI flags point', () => {
    const docs = rendered(['--set', 'dashboard.enabled=true', '--set', 'dashboard.token.enabled=true', '--set', 'dashboard.readWrite=true']);
    const ctl = controllerOf(docs);
    const cfg = driverConfig(ctl);
    expect(cfg.dashboard).toMatchObject({ readOnly: false, insecureNoAuth: false });
    const secret = must(find(docs, 'Secret', '-dashboard'), 'dashboard Secret');
    const data = secret.data as Record<string, string>;
    expect(Buffer.from(data.username, 'base64').toString()).toBe('admin');
    expect(Buffer.from(data.password, 'base64').toString()).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(Buffer.from(data.token, 'base64').toString()).toMatch(/^[A-Za-z0-9]{40}$/);
    const files: Array<[string | undefined, string]> = [
      [cfg.dashboard.basicAuthUserFile, 'username'],
      [cfg.dashboard.basicAuthPasswordFile, 'password'],
      [cfg.dashboard.tokenFile, 'token'],
    ];
    for (const [file, key] of files) {
      expect(secretBehind(ctl, must(file, key))).toEqual({ secret: (secret.metadata as Obj).name, key });
    }
    expect(((ctl.spec as Obj).template as Obj).metadata).toMatchObject({
      annotations: { 'checksum/dashboard-secret': expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    // Only the controller serves the dashboard.
    expect(driverConfig(workerOf(docs)).dashboard.basicAuthUserFile).toBeUndefined();
  });

  withHelm('dashboard with an existing Secret (ci/dashboard-values.yaml): no chart Secret, its keys mounted', () => {
    const docs = rendered(['-f', path.join(CHART, 'ci', 'dashboard-values.yaml')]);
    expect(find(docs, 'Secret', '-dashboard')).toBeUndefined();
    const ctl = controllerOf(docs);
    const cfg = driverConfig(ctl);
    expect(secretBehind(ctl, must(cfg.dashboard.basicAuthPasswordFile, 'password file'))).toEqual({
      secret: 'rds-csi-dashboard-login',
      key: 'password',
    });
    expect(secretBehind(ctl, must(cfg.dashboard.tokenFile, 'token file'))).toEqual({ secret: 'rds-csi-dashboard-login', key: 'token' });
  });

  withHelm.each([
    [['--set', 'dashboard.enabled=true', '--set', 'dashboard.basicAuth.enabled=false'], 'dashboard.enabled needs a credential'],
    [['--set', 'dashboard.dangerousInsecureNoAuth=true'], 'dashboard.dangerousInsecureNoAuth needs dashboard.enabled=true'],
    [['--set', 'dashboard.enabled=true', '--set', 'dashboard.dangerousInsecureNoAuth=true'], 'cannot go with dashboard.basicAuth.enabled'],
    [
      ['--set', 'redis.mode=external', '--set', 'redis.external.url=redis://r:6379', '--set', 'redis.external.tls.ca=-----BEGIN CERTIFICATE-----'],
      'needs a rediss:// URL',
    ],
    [
      ['--set', 'redis.mode=external', '--set', 'redis.external.url=redis://r:6379', '--set', 'redis.external.sentinel.sentinels={s1:26379}'],
      'masterName',
    ],
    [['--set', 'redis.mode=external', '--set', 'redis.external.url=redis://r:6379', '--set', 'redis.external.sentinel.masterName=m'], 'sentinels'],
  ])('refuses %j', (extra, message) => {
    const r = render(extra);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  withHelm('dashboard.dangerousInsecureNoAuth (alone) passes --dashboard-insecure-no-auth, and NOTES.txt says so loudly', () => {
    const extra = [
      '--set',
      'dashboard.enabled=true',
      '--set',
      'dashboard.basicAuth.enabled=false',
      '--set',
      'dashboard.dangerousInsecureNoAuth=true',
    ];
    const ctl = controllerOf(rendered(extra));
    expect(container(ctl, 'rds-csi').args).toContain('--dashboard-insecure-no-auth');
    expect(driverConfig(ctl).dashboard.insecureNoAuth).toBe(true);
    const r = spawnSync('helm', ['install', 'rds-csi', CHART, '--namespace', NS, '--dry-run=client', ...required, ...extra], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('NO AUTHENTICATION');
  });

  withHelm('node.kubeletDir reaches the node plugin as --kubelet-dir and as the mount of the kubelet dir', () => {
    const ds = must(
      rendered(['--set', 'node.kubeletDir=/var/lib/k0s/kubelet/']).find((d) => d.kind === 'DaemonSet'),
      'node DaemonSet',
    );
    const plugin = container(ds, 'rds-csi');
    const args = plugin.args as string[];
    expect(args[args.indexOf('--kubelet-dir') + 1]).toBe('/var/lib/k0s/kubelet');
    expect((plugin.volumeMounts as Obj[]).find((m) => m.name === 'kubelet-dir')?.mountPath).toBe('/var/lib/k0s/kubelet');
  });

  withHelm(
    'storage capacity on: CSIDriver storageCapacity, provisioner --enable-capacity with its pod and namespace, Role bound to the controller',
    () => {
      const docs = rendered(['--set', 'csiDriver.storageCapacity=true', '--set', 'csiDriver.podInfoOnMount=true']);
      expect(
        must(
          docs.find((d) => d.kind === 'CSIDriver'),
          'CSIDriver',
        ).spec,
      ).toMatchObject({ podInfoOnMount: true, storageCapacity: true });
      const ctl = controllerOf(docs);
      const prov = container(ctl, 'csi-provisioner');
      expect(prov.args).toEqual(expect.arrayContaining(['--enable-capacity', '--capacity-ownerref-level=2', '--capacity-poll-interval=1m']));
      expect((prov.env as Obj[]).map((e) => [e.name, ((e.valueFrom as Obj).fieldRef as Obj).fieldPath])).toEqual([
        ['NAMESPACE', 'metadata.namespace'],
        ['POD_NAME', 'metadata.name'],
      ]);
      const role = must(find(docs, 'Role', '-capacity'), 'capacity Role');
      expect((role.metadata as Obj).namespace).toBe(NS);
      const binding = must(find(docs, 'RoleBinding', '-capacity'), 'capacity RoleBinding');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec(ctl).serviceAccountName, namespace: NS }]);
      expect((binding.roleRef as Obj).name).toBe((role.metadata as Obj).name);
    },
  );

  withHelm('external Redis over TLS through Sentinel: CA mounted and named, sentinels and master, Sentinel password from the chart Secret', () => {
    const docs = rendered([
      '--set',
      'redis.mode=external',
      '--set',
      'redis.external.url=rediss://:pw@mymaster/0',
      '--set',
      'redis.external.tls.ca=-----BEGIN CERTIFICATE-----',
      '--set',
      'redis.external.sentinel.sentinels={s1:26379,s2:26379}',
      '--set',
      'redis.external.sentinel.masterName=mymaster',
      '--set',
      'redis.external.sentinel.password=sentinel-secret',
    ]);
    expect(docs.some((d) => d.kind === 'StatefulSet')).toBe(false);
    const secret = must(find(docs, 'Secret', '-redis-external'), 'redis-external Secret');
    expect(secret.stringData).toEqual({ 'ca.crt': '-----BEGIN CERTIFICATE-----', 'sentinel-password': 'sentinel-secret' });
    for (const w of [controllerOf(docs), workerOf(docs)]) {
      const cfg = driverConfig(w);
      expect(cfg.redisUrl).toBe('rediss://:pw@mymaster/0');
      expect(cfg.redis).toMatchObject({
        sentinels: 's1:26379,s2:26379',
        sentinelName: 'mymaster',
        sentinelPassword: 'secret-of-RDS_CSI_REDIS_SENTINEL_PASSWORD',
      });
      expect(secretBehind(w, must(cfg.redis.caFile, 'redis.caFile'))).toEqual({ secret: (secret.metadata as Obj).name, key: 'ca.crt' });
      const pw = (container(w, 'rds-csi').env as Obj[]).find((e) => e.name === 'RDS_CSI_REDIS_SENTINEL_PASSWORD');
      expect(((pw?.valueFrom as Obj).secretKeyRef as Obj).name).toBe((secret.metadata as Obj).name);
      expect(() => redisTargetFromConfig(cfg)).not.toThrow();
    }
  });

  withHelm('NOTES.txt (helm install --dry-run=client) gives the port-forward, the dashboard URL and the doctor commands', () => {
    const r = spawnSync(
      'helm',
      ['install', 'rds-csi', CHART, '--namespace', NS, '--dry-run=client', ...required, '--set', 'dashboard.enabled=true'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    for (const s of [
      // The dashboard has a listener of its own, bound to 127.0.0.1 (issue 18 item 5), so the port-forward goes to the
      // controller pod's dashboard port, not to the metrics Service.
      'kubectl -n rds-csi port-forward deploy/rds-csi-controller 9810:9810',
      'http://127.0.0.1:9810/dashboard',
      "kubectl -n rds-csi get secret rds-csi-dashboard -o jsonpath='{.data.password}'",
      'kubectl -n rds-csi exec deploy/rds-csi-controller -c rds-csi -- rds-csi doctor controller',
      'rds-csi doctor node --node-id "$NODE_NAME" --kubelet-dir /var/lib/kubelet',
    ]) {
      expect(notes).toContain(s);
    }
  });
});
