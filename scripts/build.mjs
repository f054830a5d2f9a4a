// Bundles ts/ into dist/ (ESM) with esbuild and writes type declarations with tsc.
// Dependencies stay external: glpk.js is GPL-3.0 and must never be bundled into our output.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), 'glpk.js/node', 'node:*'];
rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  external,
  define: { __RELU_REPAIR_PKG__: '"../pkg/"' },
  loader: { '.nnet': 'text' },
  logLevel: 'warning',
};
await build({ ...common, entryPoints: [join(root, 'ts/index.ts')], outfile: join(root, 'dist/index.js'), platform: 'neutral' });
await build({
  ...common,
  entryPoints: [join(root, 'ts/cli/bin.ts')],
  outfile: join(root, 'dist/cli.js'),
  platform: 'node',
});
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  writeFileSync(join(root, 'dist/index.d.ts'), "export * from './types/index.js';\n");
}
