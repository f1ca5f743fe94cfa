import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { removeDirSafely } from '../../src/host/safe-remove';
import { itIf } from '../support/prereq';

/**
 * The chart's `backends` (issue 16 item 1): extra RDS appliances with a Secret each. Rendered with `helm template` and
 * read back the way the driver reads it: controller and worker load RDS_CSI_BACKENDS through loadConfig, every
 * passwordFile and caFile is a file of the backend's own Secret, the node plugin gets node.backends. Without
 * backends the chart renders exactly as the same chart with the backends hooks cut out (today's render); duplicate
 * names and a backend without a Secret are refused with a clear message.
 */

type Obj = Record<string, unknown>;
const CHART = path.resolve(__dirname, '../../helm');
const REQUIRED = ['--set', 'rds.host=rds.example.lan', '--set', 'rds.credentials.password=secret', '--set', 'rds.tls.pinCA=false'];
const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const withHelm = itIf(!helm.error && helm.status === 0, 'helm on PATH (scripts/install-helm.sh installs the pinned helm 4)');
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const TWO = {
  rds: { backend: 'rds-a', zone: 'zone-a' },
  backends: [
    { name: 'rds-b', host: 'rds-b.example.lan', existingSecret: 'rds-b-credentials', zone: 'zone-b', concurrency: 4 },
    {
      name: 'rds-c',
      host: '10.0.0.3',
      port: 8728,
      tls: { enabled: false },
      existingSecret: 'rds-c-credentials',
      passwordKey: 'routeros-password',
      exportAddress: '10.1.0.3',
      exportPort: 4421,
    },
  ],
};

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-helm-backends-'));
});
afterAll(() => removeDirSafely(tmp));

function helmRun(args: string[], values?: object, chart = CHART): { status: number | null; out: string; err: string } {
  const extra: string[] = [];
  if (values) {
    const file = path.join(tmp, `values-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(values));
    extra.push('-f', file);
  }
  const r = spawnSync('helm', [...args, chart, ...REQUIRED, ...extra], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function renderText(values?: object, chart = CHART): string {
  const r = helmRun(['template', 'rds-csi', '--namespace', 'rds-csi'], values, chart);
  expect(r.err).toBe('');
  expect(r.status).toBe(0);
  return r.out;
}

function template(values?: object, chart = CHART): Obj[] {
  return parseAllDocuments(renderText(values, chart))
    .map((d) => d.toJS() as unknown)
    .filter(isObj);
}

const workload = (docs: Obj[], kind: string, suffix: string): Obj => {
  const w = docs.find((d) => d.kind === kind && String((d.metadata as Obj).name).endsWith(suffix));
  if (!w) throw new Error(`no ${kind} *${suffix}`);
  return w;
};
const podSpec = (w: Obj): Obj => ((w.spec as Obj).template as Obj).spec as Obj;
const driverContainer = (w: Obj): Obj => (podSpec(w).containers as Obj[]).find((c) => c.name === 'rds-csi') as Obj;
const envOf = (w: Obj): Record<string, string> =>
  Object.fromEntries(
    (driverContainer(w).env as Obj[]).map((e) => [e.name as string, typeof e.value === 'string' ? e.value : `secret-of-${String(e.name)}`]),
  );

/** The Secret and key behind a file path in the driver container (its volume mount and the volume's items). */
function secretFile(w: Obj, file: string): { secret: string; key: string } | undefined {
  const mount = (driverContainer(w).volumeMounts as Obj[]).find((m) => m.mountPath === path.posix.dirname(file));
  const vol = (podSpec(w).volumes as Obj[]).find((v) => v.name === mount?.name);
  const secret = vol?.secret as Obj | undefined;
  const item = (secret?.items as Obj[] | undefined)?.find((i) => i.path === path.posix.basename(file));
  return secret && item ? { secret: secret.secretName as string, key: item.key as string } : undefined;
}

/** The rendered text without generated values (the internal Redis password and the checksums over it change per render). */
const stable = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/^\s*(password|checksum\/[a-z-]+): /.test(l))
    .join('\n');

describe(`chart backends (${helm.status === 0 ? helm.stdout.trim() : 'helm not on PATH: skipped'})`, () => {
  withHelm('no backends: the same render as the chart with its backends hooks cut out', () => {
    const today = path.join(tmp, 'chart-today');
    cpSync(CHART, today, { recursive: true });
    let cut = 0;
    for (const file of ['_helpers.tpl', 'node-daemonset.yaml']) {
      const p = path.join(today, 'templates', file);
      const text = readFileSync(p, 'utf8');
      const lines = text.split('\n');
      const kept: string[] = [];
      for (let i = 0; i < lines.length; i++) {
        if (/\{\{- with include "rds-csi\.nodeBackendsEnv"/.test(lines[i])) {
          i += 2; // the `with` block: its body and its end
          cut++;
        } else if (/include "rds-csi\.(backendsEnv|backendVolumeMounts|backendVolumes|validateBackends|nodeBackendsEnv)"/.test(lines[i])) cut++;
        else kept.push(lines[i]);
      }
      const without = kept.join('\n');
      writeFileSync(p, without);
    }
    expect(cut).toBe(5);
    for (const values of [undefined, { backends: [] }, { rds: { tls: { pinCA: true, ca: '-----BEGIN CERTIFICATE-----' } } }]) {
      const text = renderText(values);
      expect(stable(text)).toBe(stable(renderText(values, today)));
      expect(text).not.toMatch(/RDS_CSI_BACKENDS|RDS_CSI_NODE_BACKENDS|rds-backend-|PRIMARY_BACKEND/);
    }
  });

  withHelm('helm lint --strict passes with two backends', () => {
    const r = helmRun(['lint', '--strict'], TWO);
    expect(`${r.out}${r.err}`).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(r.status).toBe(0);
  });

  withHelm('two backends: controller and worker load them as the driver would, each password a file of its own Secret', () => {
    const docs = template(TWO);
    for (const w of [workload(docs, 'Deployment', '-controller'), workload(docs, 'Deployment', '-worker')]) {
      const cfg = loadConfig({}, envOf(w));
      expect(cfg.rds.backend).toBe('rds-a');
      expect(cfg.primaryBackend).toEqual({ zone: 'zone-a' });
      expect(cfg.backends).toEqual([
        expect.objectContaining({
          name: 'rds-b',
          host: 'rds-b.example.lan',
          port: 8729,
          tls: true,
          insecurePlaintext: false,
          user: 'admin',
          poolName: 'pool',
          basePath: '/pool/rds-csi',
          exportPort: 4420,
          zone: 'zone-b',
          concurrency: 4,
          connectTimeoutMs: cfg.rds.connectTimeoutMs,
          callTimeoutMs: cfg.rds.callTimeoutMs,
        }),
        expect.objectContaining({
          name: 'rds-c',
          host: '10.0.0.3',
          port: 8728,
          tls: false,
          insecurePlaintext: true,
          exportAddress: '10.1.0.3',
          exportPort: 4421,
        }),
      ]);
      const [b, c] = cfg.backends;
      expect(b.exportAddress).toBeUndefined();
      expect(c.caFile).toBeUndefined();
      expect(b.password).toBe('');
      expect(secretFile(w, b.passwordFile ?? '')).toEqual({ secret: 'rds-b-credentials', key: 'password' });
      expect(secretFile(w, b.caFile ?? '')).toEqual({ secret: 'rds-b-credentials', key: 'ca.crt' });
      expect(secretFile(w, c.passwordFile ?? '')).toEqual({ secret: 'rds-c-credentials', key: 'routeros-password' });
      // The primary's credentials stay where they were.
      expect(envOf(w).RDS_CSI_RDS_PASSWORD).toBe('secret-of-RDS_CSI_RDS_PASSWORD');
    }
    const node = workload(docs, 'DaemonSet', '-node');
    expect(envOf(node).RDS_CSI_NODE_BACKENDS).toBe('rds-a=rds.example.lan:4420,rds-b=rds-b.example.lan:4420,rds-c=10.1.0.3:4421');
    // The node plugin speaks only NVMe/TCP: no RouterOS credentials of any backend.
    expect(JSON.stringify(podSpec(node))).not.toMatch(/rds-[bc]-credentials/);
  });

  withHelm.each([
    {
      what: 'two backends with one name',
      values: { backends: [TWO.backends[0], { ...TWO.backends[1], name: 'rds-b' }] },
      error: 'backends[1].name "rds-b" is already used by backends[0]',
    },
    {
      what: "a backend with the primary's name",
      values: { backends: [{ ...TWO.backends[0], name: 'default' }] },
      error: 'backends[0].name "default" is already used by the primary backend (rds.backend)',
    },
    { what: 'a backend without a Secret', values: { backends: [{ name: 'rds-b', host: 'rds-b.example.lan' }] }, error: 'existingSecret' },
    { what: 'a backend with an empty Secret name', values: { backends: [{ ...TWO.backends[0], existingSecret: '' }] }, error: 'existingSecret' },
    { what: 'a name of 56 characters', values: { backends: [{ ...TWO.backends[0], name: `b${'x'.repeat(55)}` }] }, error: 'name' },
    { what: 'a name that is no label value', values: { backends: [{ ...TWO.backends[0], name: 'rds b' }] }, error: 'name' },
    { what: 'an unknown key', values: { backends: [{ ...TWO.backends[0], password: 'inline' }] }, error: 'password' },
  ])('refuses $what', ({ values, error }) => {
    const r = helmRun(['template', 'rds-csi'], values);
    expect(r.status).not.toBe(0);
    expect(r.err).toContain(error);
  });

  withHelm('without schema validation the templates still refuse a backend without a Secret, with a clear message', () => {
    const r = helmRun(['template', 'rds-csi', '--skip-schema-validation'], { backends: [{ name: 'rds-b', host: 'rds-b.example.lan' }] });
    expect(r.status).not.toBe(0);
    expect(r.err).toContain(
      'backends[0] (rds-b): existingSecret is required: the name of a Secret with this RDS\'s RouterOS password under "password"',
    );
  });
});
