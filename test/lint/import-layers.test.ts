import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The import direction between folders under src/ (import-layers.json, docs/ARCHITECTURE.md#layers), checked on
 * the tree itself, every static and dynamic import, and against the eslint config that enforces it in the editor.
 */

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

interface LayerTable {
  layers: Record<string, string[]>;
  never: string[];
  grpcPackages: string[];
  grpcAllowed: string[];
  pending: Record<string, { grpc?: boolean; folders?: string[] }>;
}
const table = JSON.parse(readFileSync(path.join(ROOT, 'import-layers.json'), 'utf8')) as LayerTable;
const folders = Object.keys(table.layers);
const allowedOf = (f: string): string[] =>
  (table.layers[f] ?? []).includes('*') ? folders.filter((g) => !table.never.includes(g)) : (table.layers[f] ?? []);
const grpcOk = (file: string): boolean => table.grpcAllowed.some((a) => (a.endsWith('/') ? file.startsWith(a) : file === a));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** src-relative top folder of an absolute path (`version` for src/version.ts). */
const topOf = (abs: string): string => path.relative(SRC, abs).split(path.sep)[0].replace(/\.ts$/, '');
const repoPath = (abs: string): string => path.relative(ROOT, abs).split(path.sep).join('/');

interface Edge {
  file: string;
  spec: string;
  to: string;
}
const files = sourceFiles(SRC).filter((f) => topOf(f) !== 'generated');
const edges: Edge[] = files.flatMap((file) =>
  ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map(({ fileName: spec }) => ({
    file: repoPath(file),
    spec,
    to: spec.startsWith('.') ? topOf(path.resolve(path.dirname(file), spec)) : spec,
  })),
);

const fromOf = (e: Edge): string => e.file.split('/')[1].replace(/\.ts$/, '');
const show = (e: Edge): string => `${e.file} -> ${e.spec}`;
const folderViolations = edges.filter((e) => e.spec.startsWith('.') && e.to !== fromOf(e) && !allowedOf(fromOf(e)).includes(e.to));
const grpcViolations = edges.filter((e) => table.grpcPackages.includes(e.to) && !grpcOk(e.file));

describe('import layers', () => {
  it('names every folder under src/ (and nothing else)', () => {
    const present = readdirSync(SRC, { withFileTypes: true }).map((e) => e.name.replace(/\.ts$/, ''));
    expect([...folders].sort()).toEqual(present.sort());
    for (const f of folders) for (const g of table.layers[f]) expect(g === '*' || folders.includes(g)).toBe(true);
  });

  it('no import runs against the table (besides the pending ones)', () => {
    expect(folderViolations.filter((e) => !table.pending[e.file]?.folders?.includes(e.to)).map(show)).toEqual([]);
  });

  it(`no ${table.grpcPackages.join(' / ')} outside ${table.grpcAllowed.join(', ')} (besides the pending ones)`, () => {
    expect(grpcViolations.filter((e) => !table.pending[e.file]?.grpc).map(show)).toEqual([]);
  });

  it('every pending entry still breaks the rule it is excused from (else delete it from import-layers.json)', () => {
    const stale = Object.entries(table.pending).flatMap(([file, p]) => [
      ...(p.grpc && !grpcViolations.some((e) => e.file === file) ? [`${file}: grpc`] : []),
      ...(p.folders ?? []).filter((to) => !folderViolations.some((e) => e.file === file && e.to === to)).map((to) => `${file}: ${to}`),
    ]);
    expect(stale).toEqual([]);
  });

  it('docs/ARCHITECTURE.md shows the same table', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| `src\/([\w-]+)(?:\/|\.ts)` \| ([^|]*) \|/gm)].map((m) => [
        m[1],
        m[2].trim() === '*' ? ['*'] : [...m[2].matchAll(/`([\w-]+)`/g)].map((x) => x[1]),
      ]),
    );
    for (const f of folders) expect([f, [...(rows.get(f) ?? ['(no row)'])].sort()]).toEqual([f, [...table.layers[f]].sort()]);
  });

  it('the README folder table names every folder under src/', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const dirs = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(dirs.filter((d) => !readme.includes(`\`src/${d}/\``))).toEqual([]);
  });

  it('eslint.config.mjs enforces the same table for every file (no-restricted-imports)', () => {
    // ESLint loads its config as ESM, which jest's module sandbox cannot: ask a plain node child for each file's rule.
    const script = `
      const { ESLint } = require('eslint');
      (async () => {
        const eslint = new ESLint({ cwd: ${JSON.stringify(ROOT)} });
        const out = {};
        for (const f of JSON.parse(process.argv[1])) out[f] = (await eslint.calculateConfigForFile(f)).rules['no-restricted-imports'];
        process.stdout.write(JSON.stringify(out));
      })();`;
    const rels = files.map(repoPath);
    const rules = JSON.parse(
      execFileSync(process.execPath, ['-e', script, JSON.stringify(rels)], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      }),
    ) as Record<string, [number, { paths: { name: string }[]; patterns: { regex: string }[] }] | undefined>;
    const wrong: string[] = [];
    for (const file of rels) {
      const [, from, ...rest] = file.split('/');
      const folder = from.replace(/\.ts$/, '');
      if (folder === 'version') continue;
      const rule = rules[file];
      if (!rule) {
        wrong.push(`${file}: no no-restricted-imports`);
        continue;
      }
      const p = table.pending[file] ?? {};
      const grpcBanned = rule[1].paths.map((x) => x.name);
      const expectBanned = grpcOk(file) || p.grpc ? [] : table.grpcPackages;
      if (grpcBanned.join() !== expectBanned.join())
        wrong.push(`${file}: bans ${grpcBanned.join() || 'no package'}, expected ${expectBanned.join() || 'none'}`);
      const res = rule[1].patterns.map((x) => new RegExp(x.regex));
      for (const to of folders) {
        const spec = `${'../'.repeat(rest.length)}${to}${to === 'version' ? '' : '/x'}`;
        const flagged = res.some((r) => r.test(spec));
        const allowed = to === folder || allowedOf(folder).includes(to) || (p.folders ?? []).includes(to);
        if (flagged === allowed) wrong.push(`${file}: ${spec} ${flagged ? 'flagged' : 'not flagged'}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
