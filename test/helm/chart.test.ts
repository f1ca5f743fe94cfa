import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import type { Command } from 'commander';
import { controllerCommand } from '../../src/cli/commands/controller';
import { nodeCommand } from '../../src/cli/commands/node';
import { workerCommand } from '../../src/cli/commands/worker';
import { configEnvNames } from '../../src/config/load';

/**
 * The Helm chart in helm/, checked without a cluster. What runs everywhere: Chart.yaml, values.yaml and the example
 * values in helm/ci/ against values.schema.json (ajv, draft-07), and every template reduced to its YAML skeleton
 * (template actions replaced by placeholders) parsed as Kubernetes objects; `.Values` paths, helper names and block
 * balance checked against the sources. `helm lint` and `helm template` run only where `helm` is on PATH.
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
const ciFiles = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('.yaml')).sort();
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
    expect(errorsOf(v)).toEqual([]);
  });
});

describe('templates', () => {
  it('has the templates the chart is made of', () => {
    for (const f of ['_helpers.tpl', 'NOTES.txt', 'controller-deployment.yaml', 'worker-deployment.yaml', 'node-daemonset.yaml', 'redis.yaml', 'csidriver.yaml']) {
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
        if (!bases.some((b) => hasPath(values, [...b, ...rest]))) missing.add(`$${name}${m[1]}`);
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
    expect(containers(d).map((c) => c.name)).toEqual(['rds-csi', 'csi-provisioner', 'csi-attacher', 'csi-snapshotter', 'csi-resizer', 'liveness-probe']);
    expect((container(d, 'rds-csi').args as string[]).slice(0, 4)).toEqual(['controller', '--endpoint', 'unix:///csi/csi.sock', '--http-listen']);
    const provisioner = container(d, 'csi-provisioner').args as string[];
    expect(provisioner).toEqual(expect.arrayContaining(['--csi-address=/csi/csi.sock', '--extra-create-metadata', '--leader-election']));
    expect(provisioner.some((a) => a.startsWith('--timeout='))).toBe(true);
    for (const name of ['csi-attacher', 'csi-snapshotter', 'csi-resizer']) {
      expect(container(d, name).args).toEqual(expect.arrayContaining(['--csi-address=/csi/csi.sock', '--leader-election']));
    }
    expect(podSpec(d).serviceAccountName).toBe(PLACEHOLDER);
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

  it('CSIDriver: attach required, no pod info, persistent volumes only', () => {
    const spec = byKind('CSIDriver')[0].spec as Obj;
    expect(spec).toMatchObject({ attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] });
    expect(values.csiDriver).toMatchObject({ fsGroupPolicy: 'File' });
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

  it('StorageClasses: filesystem with an fstype, block with migrationWindowSeconds', () => {
    const params = byKind('StorageClass').map((sc) => Object.keys(sc.parameters as Obj));
    expect(params).toEqual(expect.arrayContaining([expect.arrayContaining(['csi.storage.k8s.io/fstype']), expect.arrayContaining(['migrationWindowSeconds'])]));
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
const withHelm = hasHelm ? it : it.skip;
const required = ['--set', 'rds.host=rds.example.lan', '--set', 'rds.credentials.password=secret', '--set', 'rds.tls.pinCA=false'];

describe(`helm lint and helm template (${hasHelm ? helm.stdout.trim() : 'helm not on PATH: skipped'})`, () => {
  withHelm('helm lint passes', () => {
    const r = spawnSync('helm', ['lint', CHART, ...required], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[ERROR\]/);
    expect(r.status).toBe(0);
  });

  withHelm.each(['values.yaml', ...ciFiles])('helm template renders with %s', (file) => {
    const extra = file === 'values.yaml' ? [] : ['-f', path.join(CHART, 'ci', file)];
    const r = spawnSync('helm', ['template', 'rds-csi', CHART, '--namespace', 'rds-csi', ...required, ...extra], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as unknown).filter(isObj);
    expect(docs.length).toBeGreaterThan(10);
    for (const d of docs) expect(typeof d.kind).toBe('string');
  });

  withHelm('helm template refuses to render without rds.host', () => {
    const r = spawnSync('helm', ['template', 'rds-csi', CHART], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('rds.host is required');
  });
});
