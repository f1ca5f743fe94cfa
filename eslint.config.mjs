// Lint with type information so the promise rules can see every floating or misused promise.
import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The import direction between folders under src/ (docs/ARCHITECTURE.md#layers), from import-layers.json: for
 * each folder and each depth below it, one no-restricted-imports block that forbids `../`-paths into the folders it
 * may not use and, outside the gRPC edge, the gRPC packages. Files in `pending` (being fixed) get a block of their
 * own without the rule they still break. test/lint/import-layers.test.ts checks the tree and this config.
 * Dynamic import() is not seen by this rule; the test sees it.
 */
const layerTable = JSON.parse(readFileSync(new URL('./import-layers.json', import.meta.url), 'utf8'));
function layerBlocks({ layers, never, grpcPackages, grpcAllowed, pending }) {
  const folders = Object.keys(layers);
  const allowedOf = (f) => (layers[f].includes('*') ? folders.filter((g) => !never.includes(g)) : layers[f]);
  const describe = (f) =>
    layers[f].includes('*') ? `any folder but ${never.filter((n) => n !== f).join(', ')}` : `only ${layers[f].join(', ') || 'nothing outside itself'}`;
  const grpcOk = (file) => grpcAllowed.some((a) => (a.endsWith('/') ? file.startsWith(a) : file === a));
  const rule = (folder, depth, grpcBanned, extraAllowed = []) => {
    const forbidden = folders.filter((g) => g !== folder && !allowedOf(folder).includes(g) && !extraAllowed.includes(g));
    const up = '\\.\\./'.repeat(depth);
    return [
      'error',
      {
        paths: grpcBanned
          ? grpcPackages.map((name) => ({ name, message: `only ${grpcAllowed.join(', ')} may import ${name} (docs/ARCHITECTURE.md#layers)` }))
          : [],
        patterns: forbidden.length
          ? [{ regex: `^${up}(${forbidden.join('|')})(/|$)`, message: `src/${folder} may import ${describe(folder)} (docs/ARCHITECTURE.md#layers)` }]
          : [],
      },
    ];
  };
  const blocks = [];
  for (const folder of folders) {
    if (folder === 'version' || folder === 'generated') continue;
    for (let depth = 1; depth <= 3; depth++) {
      const files = [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`];
      blocks.push({ files, rules: { 'no-restricted-imports': rule(folder, depth, !grpcOk(`src/${folder}/`)) } });
    }
  }
  // Files of a folder the gRPC packages are banned from that may use them (service wiring, the JobRunner), and
  // files still being fixed: later blocks win.
  const exceptions = [...grpcAllowed.filter((a) => !a.endsWith('/')), ...Object.keys(pending)];
  for (const file of exceptions) {
    const [, folder, ...rest] = file.split('/');
    const p = pending[file] ?? {};
    blocks.push({ files: [file], rules: { 'no-restricted-imports': rule(folder, rest.length, !grpcOk(file) && !p.grpc, p.folders ?? []) } });
  }
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'src/generated/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layerBlocks(layerTable),
  {
    // Tests assert decoded gRPC responses field by field; typing every response shape there buys nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
