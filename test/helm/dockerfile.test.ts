import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The Dockerfile of the one rds-csi image, checked where no Docker engine runs: it is parsed into stages and
 * instructions, and what the image would hold is compared with the repository (the entry point exists in dist/ after
 * `tsc`, the runtime finds proto/ and package.json where the code looks for them, every tool the node plugin runs
 * comes from an installed package, the runtime has production dependencies only and the code needs no other), and
 * .dockerignore lets every COPY source through and keeps node_modules/dist out.
 */

const ROOT = path.resolve(__dirname, '../..');
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string;
  steps: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+([\s\S]*)$/.exec(full);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

function stagesOf(ins: Instruction[]): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'ARG' && stages.length === 0) {
      const [k, v] = i.args.split('=');
      args.set(k, v ?? '');
    } else if (i.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`cannot read FROM ${i.args}`);
      const base = m[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ base, name: m[2] ?? String(stages.length), steps: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].steps.push(i);
    }
  }
  return { args, stages };
}

/** COPY's flags (--from, --chown, --chmod) and its sources and destination. */
function copyOf(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop() as string;
  return { from, sources: words, dest };
}

/** WORKDIR in effect before each step of a stage ('/' at the start). */
function resolveIn(stage: Stage, index: number, p: string): string {
  let wd = '/';
  for (const s of stage.steps.slice(0, index)) if (s.op === 'WORKDIR') wd = path.posix.resolve(wd, s.args);
  return path.posix.resolve(wd, p);
}

const dockerfile = read('Dockerfile');
const { stages } = stagesOf(instructions(dockerfile));
const build = stages.find((s) => s.name === 'build');
const runtime = stages[stages.length - 1];
const pkg = JSON.parse(read('package.json')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: { node: string };
};

const runs = (s: Stage): string[] => s.steps.filter((i) => i.op === 'RUN').map((i) => i.args);
const copies = (s: Stage) =>
  s.steps
    .map((i, index) => ({ i, index }))
    .filter(({ i }) => i.op === 'COPY')
    .map(({ i, index }) => ({ ...copyOf(i.args), index }));
const indexOf = (s: Stage, pred: (i: Instruction) => boolean): number => s.steps.findIndex(pred);

/** Where a path inside the runtime image came from: [stage name or 'context', path there]. */
function origin(imagePath: string): { from: string; path: string } | undefined {
  for (const c of copies(runtime).reverse()) {
    const dest = resolveIn(runtime, c.index, c.dest);
    if (imagePath !== dest && !imagePath.startsWith(dest.endsWith('/') ? dest : dest + '/')) continue;
    const rest = path.posix.relative(dest, imagePath);
    // Multi-source COPY into a directory: the source named like the first path part.
    if (c.sources.length > 1) {
      const src = c.sources.find((s) => path.posix.basename(s) === rest.split('/')[0]);
      if (src) return { from: c.from ?? 'context', path: path.posix.join(src, rest.split('/').slice(1).join('/')) };
      continue;
    }
    const src = c.sources[0];
    if (c.from) {
      const stage = stages.find((s) => s.name === c.from);
      if (!stage) throw new Error(`COPY --from=${c.from}: no such stage`);
      return { from: c.from, path: path.posix.join(resolveIn(stage, stage.steps.length, src), rest) };
    }
    return { from: 'context', path: path.posix.join(src, rest) };
  }
  return undefined;
}

/** The build stage's working directory holds the build context's files: map an absolute build path to the repository. */
function buildPathToRepo(p: string): string {
  if (!build) throw new Error('no build stage');
  const wd = resolveIn(build, build.steps.length, '.');
  const rel = path.posix.relative(wd, p);
  if (rel.startsWith('..')) throw new Error(`${p} is outside the build stage's ${wd}`);
  return path.join(ROOT, rel);
}

function entrypoint(): string[] {
  const e = runtime.steps.filter((i) => i.op === 'ENTRYPOINT').pop();
  if (!e) throw new Error('no ENTRYPOINT');
  return JSON.parse(e.args) as string[];
}

/** Minimal .dockerignore semantics: patterns in order, the last that matches a path or one of its parents wins. */
function ignored(rel: string): boolean {
  const rules = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const rx = new RegExp(
        '^' +
          pat
            .split('**')
            .map((part) =>
              part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
            )
            .join('.*')
            .replace(/\.\*\//g, '(?:.*/)?') +
          '$',
      );
      return { negate, rx };
    });
  const parts = rel.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let out = false;
  for (const r of rules) if (candidates.some((c) => r.rx.test(c))) out = !r.negate;
  return out;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage, both on Node 20 slim (Debian bookworm), as package.json engines allow', () => {
    expect(build).toBeDefined();
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const s of stages) expect(s.base).toBe('node:20-bookworm-slim');
    expect(pkg.engines.node).toBe('>=20');
  });

  it('build: npm ci with every dependency (lockfile first), then npm run build (tsc) over src/, proto/ and tsconfig.json', () => {
    const b = build as Stage;
    const ci = indexOf(b, (i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    const compile = indexOf(b, (i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(b.steps[ci].args).not.toMatch(/--omit=dev|--production/);
    expect(compile).toBeGreaterThan(ci);
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.json');
    const copied = (name: string): number => copies(b).find((c) => c.sources.includes(name) || c.sources.includes(`${name}/`))?.index ?? -1;
    // Lockfile before npm ci (a code change keeps the dependency layer cached), sources after it, all before tsc.
    for (const f of ['package.json', 'package-lock.json']) expect([f, copied(f) >= 0 && copied(f) < ci]).toEqual([f, true]);
    for (const f of ['tsconfig.json', 'src', 'proto']) expect([f, copied(f) > ci && copied(f) < compile]).toEqual([f, true]);
  });

  it('runtime: npm ci --omit=dev, and nothing of the build stage but compiled code (never its node_modules with dev dependencies)', () => {
    expect(runs(runtime).some((r) => /\bnpm ci\b[^&]*--omit=dev/.test(r))).toBe(true);
    const fromBuild = copies(runtime).filter((c) => c.from !== undefined);
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const c of fromBuild) {
      for (const s of c.sources) {
        expect(s).not.toMatch(/node_modules/);
        const abs = resolveIn(build as Stage, (build as Stage).steps.length, s);
        expect(path.relative(path.join(ROOT, 'dist'), buildPathToRepo(abs))).not.toMatch(/^\.\./);
      }
    }
    // Nor the whole build directory (which holds node_modules).
    for (const c of fromBuild)
      expect(c.sources.map((s) => resolveIn(build as Stage, (build as Stage).steps.length, s))).not.toContain(
        resolveIn(build as Stage, (build as Stage).steps.length, '.'),
      );
  });

  it('ENTRYPOINT is the rds-csi CLI in exec form, so the first argument is the subcommand; the file exists in dist after tsc', () => {
    const e = entrypoint();
    const node = e.indexOf('node');
    expect(node).toBeGreaterThanOrEqual(0);
    expect(e.slice(node)).toEqual(['node', '/app/dist/src/cli/main.js']);
    expect(pkg.bin['rds-csi']).toBe('dist/src/cli/main.js');
    const o = origin('/app/dist/src/cli/main.js');
    expect(o?.from).toBe('build');
    const compiled = buildPathToRepo((o as { path: string }).path);
    expect(compiled).toBe(path.join(ROOT, 'dist/src/cli/main.js'));
    if (!existsSync(compiled)) {
      const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      expect(r.status).toBe(0);
    }
    expect(existsSync(compiled)).toBe(true);
    expect(existsSync(path.join(ROOT, 'src/cli/main.ts'))).toBe(true);
    // Whatever runs before node (an init such as tini) comes from an installed package.
    for (const w of e.slice(0, node).filter((x) => x.startsWith('/'))) expect(installed()).toContain(path.posix.basename(w));
  });

  it('the runtime finds proto/csi.proto, its node subset and package.json where the compiled code looks for them', () => {
    // src/grpc/proto-path.ts: ../../../proto/csi.proto from dist/src/grpc (csi-services.ts reads the node's precompiled
    // subset beside it); src/version.ts: ../../package.json from dist/src.
    expect(read('src/grpc/proto-path.ts')).toContain("'../../../proto/csi.proto'");
    expect(read('src/grpc/csi-services.ts')).toContain('path.dirname(protoPath())');
    expect(origin(path.posix.resolve('/app/dist/src/grpc', '../../../proto/csi-identity-node.json'))).toEqual({
      from: 'context',
      path: 'proto/csi-identity-node.json',
    });
    expect(existsSync(path.join(ROOT, 'proto/csi-identity-node.json'))).toBe(true);
    expect(read('src/version.ts')).toContain("'../../package.json'");
    const proto = path.posix.resolve('/app/dist/src/grpc', '../../../proto/csi.proto');
    const manifest = path.posix.resolve('/app/dist/src', '../../package.json');
    expect(origin(proto)).toEqual({ from: 'context', path: 'proto/csi.proto' });
    expect(origin(manifest)).toEqual({ from: 'context', path: 'package.json' });
    expect(existsSync(path.join(ROOT, 'proto/csi.proto'))).toBe(true);
  });

  /** Debian bookworm package of every program the node plugin (and its doctor) runs. */
  const PROVIDES: Record<string, string> = {
    nvme: 'nvme-cli',
    blkid: 'util-linux',
    'mkfs.ext4': 'e2fsprogs',
    resize2fs: 'e2fsprogs',
    'mkfs.xfs': 'xfsprogs',
    xfs_growfs: 'xfsprogs',
    mount: 'mount',
    umount: 'mount',
    losetup: 'mount',
    modprobe: 'kmod',
    mknod: 'coreutils',
    'dbus-send': 'dbus-bin',
    cryptsetup: 'cryptsetup-bin',
  };
  /** In every Debian image (Essential: yes). */
  const ESSENTIAL = ['coreutils', 'util-linux'];

  function installed(): string[] {
    const pkgs: string[] = [];
    for (const r of runs(runtime)) {
      for (const m of r.matchAll(/apt-get install ((?:-\S+\s+)*)([^&;|]+)/g)) pkgs.push(...m[2].trim().split(/\s+/));
    }
    return pkgs;
  }

  it('runtime installs nvme-cli, e2fsprogs, xfsprogs, util-linux (mount, losetup, blkid) and kmod, without recommends, lists removed', () => {
    expect(installed()).toEqual(expect.arrayContaining(['nvme-cli', 'e2fsprogs', 'xfsprogs', 'util-linux', 'mount', 'kmod']));
    const apt = runs(runtime).find((r) => r.includes('apt-get install')) ?? '';
    expect(apt).toContain('--no-install-recommends');
    expect(apt).toContain('rm -rf /var/lib/apt/lists');
  });

  it('every tool the node plugin and `rds-csi doctor node` run comes from a package the image installs', () => {
    const doctor = read('src/node/doctor.ts');
    const tools = new Set([...doctor.matchAll(/\['([A-Za-z0-9._-]+)', \[/g)].map((m) => m[1]));
    expect(tools.size).toBeGreaterThan(5);
    tools.add('nvme');
    tools.add('losetup');
    tools.add('dbus-send'); // the node-shutdown check (src/node/shutdown-signal.ts)
    tools.add('cryptsetup'); // encryption at rest (src/node/crypt.ts)
    const have = new Set([...installed(), ...ESSENTIAL]);
    const missing = [...tools].filter((t) => !PROVIDES[t] || !have.has(PROVIDES[t]));
    expect(missing).toEqual([]);
  });

  it("files are world-readable and the default user is the chart's uid 65532; the node plugin is run as root by the chart", () => {
    expect(runs(runtime).some((r) => /chmod -R a\+rX\S* \/app\b/.test(r))).toBe(true);
    const user = runtime.steps.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toBe('65532:65532');
    const helpers = read('helm/templates/_helpers.tpl');
    expect(helpers).toMatch(/runAsUser: 65532\n\s*runAsGroup: 65532/);
    expect(read('helm/templates/node-daemonset.yaml')).toMatch(/privileged: true\n\s*runAsUser: 0/);
  });

  it('`rds-csi` on PATH runs the same CLI (NOTES.txt tells operators to kubectl exec it)', () => {
    const wrapper = runs(runtime).find((r) => r.includes('/usr/local/bin/rds-csi')) ?? '';
    expect(wrapper).toContain('exec node /app/dist/src/cli/main.js "$@"');
    expect(wrapper).toMatch(/chmod 0?755 \/usr\/local\/bin\/rds-csi/);
    expect(read('helm/templates/NOTES.txt')).toContain('-- rds-csi doctor controller');
  });

  it('.dockerignore lets every COPY source through and keeps node_modules, dist, tests and .git out', () => {
    const sources = stages
      .flatMap((s) =>
        copies(s)
          .filter((c) => c.from === undefined)
          .flatMap((c) => c.sources),
      )
      .map((s) => s.replace(/\/$/, ''));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) {
      expect(existsSync(path.join(ROOT, s))).toBe(true);
      expect([s, ignored(s)]).toEqual([s, false]);
    }
    for (const f of ['src/cli/main.ts', 'src/grpc/proto.ts', 'proto/csi.proto']) expect([f, ignored(f)]).toEqual([f, false]);
    for (const f of [
      'node_modules/yaml/package.json',
      'dist/src/cli/main.js',
      '.git/HEAD',
      'test/helm/chart.test.ts',
      'helm/values.yaml',
      'bench/main.ts',
      'src/x/debug.log',
    ]) {
      expect([f, ignored(f)]).toEqual([f, true]);
    }
  });

  it('patch-package (postinstall) finds its patches: a patches/ folder, if one appears, is copied before npm ci', () => {
    if (!existsSync(path.join(ROOT, 'patches'))) return;
    for (const s of stages) {
      const ci = indexOf(s, (i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      const p = copies(s).find((c) => c.sources.some((x) => x.replace(/\/$/, '') === 'patches'));
      expect(p && p.index < ci).toBe(true);
      expect(ignored('patches/x.patch')).toBe(false);
    }
  });

  it('the image can compile: src/ imports nothing from test/ or bench/ (they are not in the build context)', () => {
    const offenders = readdirSync(path.join(ROOT, 'src'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /(?:from|import\(|require\()\s*'(?:\.\.\/)+(?:test|bench)\//.test(readFileSync(path.join(ROOT, 'src', f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the compiled code requires only Node built-ins and production dependencies (what npm ci --omit=dev installs)', () => {
    const dist = path.join(ROOT, 'dist/src');
    if (!existsSync(dist)) {
      const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      expect(r.status).toBe(0);
    }
    const builtins = new Set(builtinModules);
    const deps = new Set(Object.keys(pkg.dependencies));
    const bad = new Set<string>();
    for (const f of jsFiles(dist)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g)) {
        const spec = m[1];
        if (spec.startsWith('node:') || builtins.has(spec.split('/')[0])) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!deps.has(name)) bad.add(`${path.relative(ROOT, f)}: ${name}${pkg.devDependencies[name] ? ' (a devDependency)' : ''}`);
      }
    }
    expect([...bad]).toEqual([]);
  });
});
