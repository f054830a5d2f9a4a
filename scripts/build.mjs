// Bundles ts/ into dist/ (ESM) with esbuild and writes type declarations with tsc.
// Dependencies stay external: glpk.js is GPL-3.0 and must never be bundled into our output.
//
// dist/index.js        Node and Deno (and the default): wasm found in ../pkg/, workers = worker_threads
//                      on Node, module Web Workers on Deno
// dist/browser.js      browsers and bundlers targeting them: no node:* imports at all
// dist/slim.js         like index.js, without a default wasm location: init({ wasm }) is required
// dist/slim.browser.js like browser.js, without a default wasm location
// dist/worker.node.js  pool worker for worker_threads; dist/worker.web.js for Web Workers (browser, Deno)
// dist/demo.js         the demo job as data (HCAS network + 50 points)
// dist/cli.js          the command line (Node)
// dist/.build-stamp.json  hash of the sources this dist/ was built from (scripts/dist-state.mjs)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inputsHash, STAMP } from './dist-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), 'glpk.js/node', 'node:*'];
// Hashed before building: an edit made while the build runs leaves dist/ stale, never falsely current.
const sourcesHash = inputsHash(root);
const withTypes = !process.argv.includes('--no-types');
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
  legalComments: 'eof',
};

/** Swaps ts/wasm/location.ts for the dist (literal URLs) or slim (no default wasm) variant. */
const wasmLocation = (variant) => ({
  name: 'wasm-location',
  setup(b) {
    b.onResolve({ filter: /(^|\/)location\.js$/ }, (args) =>
      join(args.resolveDir, args.path) === join(root, 'ts/wasm/location.js')
        ? { path: join(root, `ts/wasm/location.${variant}.ts`) }
        : undefined,
    );
  },
});

/** Browser bundles: every node:* module (only reached on Node-only paths) becomes a stub that throws. */
const noNode = {
  name: 'no-node',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'no-node' }));
    b.onResolve({ filter: /\/spawn-node\.js$/ }, (args) => ({ path: args.path, namespace: 'no-node' }));
    b.onLoad({ filter: /.*/, namespace: 'no-node' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`relu-repair: ${args.path} is not available in the browser build (use files as bytes, e.g. parseModel(name, bytes))`)});`,
      loader: 'js',
    }));
  },
};

const out = (f) => join(root, 'dist', f);
const index = join(root, 'ts/index.ts');
await Promise.all([
  build({ ...common, entryPoints: [index], outfile: out('index.js'), platform: 'neutral', plugins: [wasmLocation('dist')] }),
  build({ ...common, entryPoints: [index], outfile: out('browser.js'), platform: 'browser', plugins: [wasmLocation('dist'), noNode] }),
  build({ ...common, entryPoints: [index], outfile: out('slim.js'), platform: 'neutral', plugins: [wasmLocation('slim')] }),
  build({ ...common, entryPoints: [index], outfile: out('slim.browser.js'), platform: 'browser', plugins: [wasmLocation('slim'), noNode] }),
  build({
    ...common,
    entryPoints: [join(root, 'ts/pool/worker-node.ts')],
    outfile: out('worker.node.js'),
    platform: 'node',
    plugins: [wasmLocation('slim')],
  }),
  build({
    ...common,
    entryPoints: [join(root, 'ts/pool/worker-web.ts')],
    outfile: out('worker.web.js'),
    platform: 'browser',
    plugins: [wasmLocation('slim'), noNode],
  }),
  build({ ...common, entryPoints: [join(root, 'ts/demo.ts')], outfile: out('demo.js'), platform: 'neutral' }),
  build({
    ...common,
    entryPoints: [join(root, 'ts/cli/bin.ts')],
    outfile: out('cli.js'),
    platform: 'node',
    plugins: [wasmLocation('dist')],
  }),
]);
const entries = ['index.js', 'browser.js', 'slim.js', 'slim.browser.js', 'worker.node.js', 'worker.web.js', 'demo.js', 'cli.js'];
if (withTypes) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  // The declarations name Symbol.dispose / Symbol.asyncDispose (disposable networks, regions and
  // pools). A strict consumer whose `lib` lacks ESNext.Disposable (TypeScript's default for
  // ES2022 targets) would get TS2550 errors; this global declaration is the one @types/node and
  // lib.esnext.disposable both make, so it merges with either and needs no consumer setting.
  writeFileSync(
    join(root, 'dist/disposable.d.ts'),
    '// Symbol.dispose / Symbol.asyncDispose for consumers whose `lib` lacks ESNext.Disposable\n' +
      '// (identical to the declarations of lib.esnext.disposable and @types/node, so they merge).\n' +
      'declare global {\n  interface SymbolConstructor {\n    readonly dispose: unique symbol;\n    readonly asyncDispose: unique symbol;\n  }\n}\nexport {};\n',
  );
  writeFileSync(join(root, 'dist/index.d.ts'), '/// <reference path="./disposable.d.ts" />\nexport * from \'./types/index.js\';\n');
  writeFileSync(join(root, 'dist/demo.d.ts'), "export * from './types/demo.js';\n");
  entries.push('index.d.ts', 'demo.d.ts', 'disposable.d.ts');
}
writeFileSync(join(root, STAMP), JSON.stringify({ inputs: sourcesHash, types: withTypes, files: entries }, null, 2) + '\n');
