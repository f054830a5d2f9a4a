/**
 * Packaging tests on the `npm pack` tarball, installed into a fresh project outside the repo:
 * a Node project (default and slim entries, types, CLI bin, the Node example, the edge handler),
 * a Deno script (the npm `deno` binary: module workers, glpk.js in a worker, traps), the Deno
 * example, a browser test bundled by Vite and run in Debian Chromium through @vitest/browser
 * (playwright provider), and the browser demo page built with Vite, driven in headless
 * Chromium and checked pixel by pixel against an independent recomputation here.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The demo page's own pure functions, used here to recompute its picture independently.
import { classCounts, classes, insideMask, outlineMask, renderPixels, sliceInputs } from '../examples/browser/slice.js';
// @ts-expect-error a plain .mjs script without declarations
import { PUBLISHED_FIELDS } from '../scripts/pack-manifest.mjs';
import { init, networkToJson, polytopeSpec, type RepairResult, repair, repairedFromJson, repairedToJson } from '../ts/index.js';
import { maxAbsDiff, ortRun } from './formats-helpers.js';
import { argmax, hcasTau05, root } from './helpers.js';
import { launchChromium, requireChromium, serveDir } from './packaging/browser.js';
import { cleanup, type Packed, packAndInstall, readJson } from './packaging/pack.js';

const execFileP = promisify(execFile);
/** Runs a command; on failure the error message carries its output. */
async function run(cmd: string, args: string[], opts: Parameters<typeof execFileP>[2] & { cwd: string }) {
  try {
    return (await execFileP(cmd, args, { encoding: 'utf8', ...opts })) as { stdout: string; stderr: string };
  } catch (e) {
    const x = e as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${x.message}\n--- stdout ---\n${x.stdout ?? ''}\n--- stderr ---\n${x.stderr ?? ''}`);
  }
}
const deno = join(root, 'node_modules/.bin/deno');

let packed: Packed;
let reference: RepairResult;
let referenceJson: string;

beforeAll(async () => {
  packed = packAndInstall();
  await init();
  const { net, points, labels, inputBox } = hcasTau05();
  reference = await repair(net, { points, labels, inputBox });
  referenceJson = JSON.stringify(repairedToJson(reference.network));
}, 180_000);
afterAll(() => cleanup(packed));

describe('the tarball', () => {
  it('ships the bundles, workers, wasm and types, and no glpk.js (GPL) code', () => {
    const files = packed.files;
    for (const f of [
      'dist/index.js',
      'dist/browser.js',
      'dist/slim.js',
      'dist/slim.browser.js',
      'dist/worker.node.js',
      'dist/worker.web.js',
      'dist/demo.js',
      'dist/cli.js',
      'dist/index.d.ts',
      'dist/demo.d.ts',
      'pkg/relu_repair_simd.wasm',
      'pkg/relu_repair.wasm',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('ts/') || f.startsWith('crates/'))).toBe(false);
    const installed = join(packed.consumer, 'node_modules/relu-repair');
    for (const f of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(installed, f), 'utf8');
      // glpk.js's emscripten glue and GLPK's C API names: only ever imported, never bundled.
      expect(text).not.toMatch(/glp_simplex|_glp_|emscripten/i);
    }
    // The browser bundles never import node:* modules.
    for (const f of ['dist/browser.js', 'dist/slim.browser.js', 'dist/worker.web.js']) {
      expect(readFileSync(join(installed, f), 'utf8')).not.toMatch(/from\s*["']node:|import\(["']node:/);
    }
    // The library bundles have no static imports at all: node:* modules and glpk.js load on
    // demand, so the bundles load in runtimes without them (edge runtimes, browsers).
    for (const f of ['dist/index.js', 'dist/slim.js', 'dist/browser.js', 'dist/slim.browser.js', 'dist/demo.js']) {
      expect(readFileSync(join(installed, f), 'utf8')).not.toMatch(/^\s*import[\s{*]/m);
    }
    // Runtime dependencies installed from the registry: only the declared ones.
    const pkg = readJson(join(installed, 'package.json'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['commander', 'glpk.js', 'highs']);
    expect(existsSync(join(packed.consumer, 'node_modules/comlink'))).toBe(false);
  });
});

describe('the published manifest', () => {
  it('keeps only what a consumer reads: no scripts, devDependencies or install-script policy; every path it names is shipped', () => {
    const pkg = readJson(join(packed.consumer, 'node_modules/relu-repair/package.json'));
    expect(Object.keys(pkg).filter((k) => !PUBLISHED_FIELDS.includes(k))).toEqual([]);
    expect(Object.keys(pkg)).toEqual(
      expect.arrayContaining(['name', 'version', 'license', 'type', 'bin', 'main', 'types', 'exports', 'files', 'dependencies']),
    );
    expect(pkg.scripts).toBeUndefined(); // the dead `prepare` (and every script) ran files that are not shipped
    const shipped = new Set(packed.files);
    const paths: string[] = [pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') paths.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(pkg.exports);
    for (const p of paths) {
      const rel = p.replace(/^\.\//, '');
      if (rel.includes('*')) {
        const [pre, post] = rel.split('*');
        expect(
          [...shipped].some((f) => f.length > pre.length + post.length && f.startsWith(pre) && f.endsWith(post)),
          p,
        ).toBe(true);
      } else expect(shipped.has(rel) || rel === 'package.json', p).toBe(true);
    }
    for (const f of ['LICENSE', 'NOTICE', 'README.md']) expect(shipped.has(f), f).toBe(true);
    expect([...shipped].filter((f) => f.includes('build-stamp'))).toEqual([]);
    expect(readFileSync(join(packed.consumer, 'node_modules/relu-repair/LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 the relu-repair authors/,
    );
    expect(readFileSync(join(packed.consumer, 'node_modules/relu-repair/NOTICE'), 'utf8')).toMatch(
      /HorizontalCAS[\s\S]*REASSURE[\s\S]*MNIST/,
    );
    // postpack put the working manifest back, byte for byte.
    expect(packed.manifestAfter).toBe(packed.manifestBefore);
    expect(existsSync(join(root, 'package.json.dev'))).toBe(false);
  });
});

describe('Node project', () => {
  it('default entry: pooled repair on worker_threads, bit for bit the one-thread repair (and the repo build)', async () => {
    const { stdout } = await run(process.execPath, ['node-check.mjs'], { cwd: packed.consumer, maxBuffer: 1 << 26 });
    const out = JSON.parse(stdout);
    expect(out.resolved).toMatch(/node_modules\/relu-repair\/dist\/index\.js$/);
    expect(out.slimResolved).toMatch(/node_modules\/relu-repair\/dist\/slim\.js$/);
    expect(out.runtime).toBe('node');
    expect(out.flavour).toBe('simd');
    expect(out.fixed).toBe('50/50');
    expect(out.identical).toBe(true);
    expect(JSON.stringify(out.repaired)).toBe(referenceJson);
    // slim: a clear typed error without wasm, then works with the caller's bytes (scalar here).
    expect(out.slimError).toMatchObject({ name: 'WasmError', isWasmError: true });
    expect(out.slimError.message).toMatch(/slim build .* init\(\{ wasm/);
    expect(out.slim).toEqual({ flavour: 'scalar', fixed: 50 });
  });

  it('type declarations compile in a strict TypeScript consumer (NodeNext) with no lib or types settings, and beside @types/node + ESNext.Disposable', async () => {
    // tsconfig.check.json: TypeScript's default lib for ES2022 (no ESNext.Disposable), no @types.
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.check.json'], { cwd: packed.consumer });
    // The same declarations merge with lib.esnext.disposable and @types/node's.
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.check-node.json'], {
      cwd: packed.consumer,
    });
  });

  it('the bin: `npx relu-repair demo` repairs all 50 points', async () => {
    const { stdout } = await run(process.execPath, [join(packed.consumer, 'node_modules/relu-repair/dist/cli.js'), 'demo'], {
      cwd: packed.consumer,
    });
    expect(stdout).toMatch(/50\/50 buggy points fixed/);
  });

  it('examples/node/repair.mjs writes a repaired network equal to the in-repo one-thread repair', async () => {
    const outDir = join(packed.dir, 'node-example');
    const { stdout } = await run(
      process.execPath,
      ['examples/node/repair.mjs', '--model', 'hcas.nnet', '--points', 'hcas-points.json', '--workers', '2', '--out', outDir],
      { cwd: packed.consumer },
    );
    expect(stdout).toMatch(/^50\/50 buggy points fixed with 42 patches on 2 node workers/);
    const saved = readFileSync(join(outDir, 'repaired.json'), 'utf8');
    // Same numbers, except the model's name in the network source (file name) is not saved.
    expect(JSON.stringify(JSON.parse(saved))).toBe(referenceJson);
    expect(readJson(join(outDir, 'report.json')).result.fixedPoints).toBe(50);
  });

  it('examples/edge/handler.mjs: Request (model + points) in, Response (repaired model + report) out', async () => {
    const { stdout } = await run(process.execPath, ['edge-check.mjs'], { cwd: packed.consumer, maxBuffer: 1 << 26 });
    const out = JSON.parse(stdout);
    expect(out.ok).toEqual({
      status: 200,
      type: expect.stringMatching(/^multipart\/form-data/),
      modelName: 'repaired.onnx',
      reportFixed: 50,
    });
    // The returned ONNX model, run in onnxruntime, is the reference repair: every point gets
    // advisory 4 and the outputs match our evaluator (float64 export: HCAS bands need it).
    const onnx = new Uint8Array(Buffer.from(out.model, 'base64'));
    const reference = repairedFromJson(JSON.parse(referenceJson));
    const { points } = hcasTau05();
    const flat = Float64Array.from(points.flat());
    const y = await ortRun(onnx, flat, points.length, [3], 'float64');
    expect(maxAbsDiff(y, reference.forwardFlat(flat, points.length))).toBeLessThan(1e-5);
    for (let i = 0; i < points.length; i++) expect(argmax(y.subarray(i * 5, i * 5 + 5))).toBe(4);
    expect(out.badModel.status).toBe(400);
    expect(out.badModel.body.error).toMatch(/bad\.nnet: line \d+/);
    expect(out.badPoints).toEqual({
      status: 400,
      body: {
        error: expect.stringMatching(/p\.json: points\[0\]: has 2 coordinates, the network has 3 inputs/),
        file: 'p.json',
        field: 'points[0]',
      },
    });
    expect(out.missing.status).toBe(400);
    expect(out.missing.body.field).toBe('points');
    expect(out.get.status).toBe(405);
  });
});

describe('Deno', () => {
  it('module workers: bit for bit the one-thread repair, glpk.js in a worker, traps become WasmErrors', async () => {
    const { stdout } = await run(deno, ['run', '--quiet', '--allow-read', 'deno-check.ts'], {
      cwd: packed.consumer,
      maxBuffer: 1 << 26,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    const out = JSON.parse(stdout);
    expect(out.resolved).toMatch(/node_modules\/relu-repair\/dist\/index\.js$/);
    expect(out.runtime).toBe('deno');
    expect(out.flavour).toBe('simd');
    expect(out.fixed).toBe('50/50');
    expect(out.progressEvents).toBeGreaterThan(40);
    expect(out.identical).toBe(true);
    expect(JSON.stringify(out.repaired)).toBe(referenceJson);
    expect(out.fullLp).toEqual({ proof: 'full-lp', lp: expect.stringMatching(/^glpk\.js \(GLPK/), status: 'repaired', identical: true });
    expect(out.trap).toMatchObject({ isWasmError: true, replaced: 1 });
    expect(out.trap.message).toMatch(/region 1: the WebAssembly core trapped/);
    expect(out.afterTrapIdentical).toBe(true);
  });

  it('examples/deno/repair.ts', async () => {
    const outDir = join(packed.dir, 'deno-example');
    const { stdout } = await run(
      deno,
      ['run', '--quiet', '--allow-read', '--allow-write', 'examples/deno/repair.ts', '--workers', '2', '--out', outDir],
      {
        cwd: packed.consumer,
        env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      },
    );
    expect(stdout).toMatch(/^50\/50 buggy points fixed with 42 patches on 2 deno workers/);
    expect(JSON.stringify(readJson(join(outDir, 'repaired.json')))).toBe(referenceJson);
  });
});

const points10 = () => hcasTau05().points.slice(0, 10);

/** The environment for child tool runs, without the parent vitest's variables. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(VITEST|VITE_|TINYPOOL|NODE_OPTIONS)/.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0' };
}

describe('browser', () => {
  it('Vite-bundled test page in Chromium (@vitest/browser + playwright): Web Workers, glpk.js in a worker, traps, abort, slim', async () => {
    requireChromium();
    // The expected results, computed here (Node, source tree, one thread).
    writeFileSync(join(packed.consumer, 'reference.json'), referenceJson);
    const { net, points, inputBox } = hcasTau05();
    const y = net.predict([points[0]])[0];
    const P: number[][] = [];
    const q: number[] = [];
    y.forEach((v, i) => {
      const c = i === 4 ? v + 50 : v - 50;
      const up = [0, 0, 0, 0, 0];
      up[i] = 1;
      P.push(
        up,
        up.map((u) => -u),
      );
      q.push(c + 1, -(c - 1));
    });
    const lp = await repair(net, { points: [points[0]], spec: polytopeSpec(P, q), inputBox });
    expect(lp.report.regions[0].minimalityProof).toBe('full-lp');
    writeFileSync(join(packed.consumer, 'reference-full-lp.json'), JSON.stringify(repairedToJson(lp.network)));
    const { stdout } = await run(
      process.execPath,
      [join(packed.consumer, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.browser.config.js'],
      {
        cwd: packed.consumer,
        env: childEnv(),
        timeout: 150_000,
      },
    );
    expect(stdout).toMatch(/Tests\s+2 passed \(2\)/);
  }, 180_000);

  it('examples/browser: built with Vite, repairs HCAS in Web Workers, and draws the right picture', async () => {
    const outDir = join(packed.dir, 'demo-dist');
    await run(
      process.execPath,
      [
        join(packed.consumer, 'node_modules/vite/bin/vite.js'),
        'build',
        'examples/browser',
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'error',
      ],
      {
        cwd: packed.consumer,
        env: childEnv(),
      },
    );
    const server = await serveDir(outDir);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 1000 }, deviceScaleFactor: 1 });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30_000 });
      expect(await page.textContent('#error')).toBe('');
      await page.click('#repair');
      await page.waitForSelector('body[data-state="repaired"], body[data-state="error"]', { timeout: 60_000 });
      expect(await page.textContent('#error')).toBe('');
      expect(errors).toEqual([]);

      // The numbers.
      const demo = await page.evaluate(() => {
        const d = (window as unknown as { demo: Record<string, unknown> }).demo;
        const p = document.getElementById('progress') as HTMLProgressElement;
        return { ...d, progress: [p.value, p.max], summary: document.getElementById('summary')!.textContent, repairedJson: undefined };
      });
      const report = demo.report as RepairResult['report'];
      expect(report.result).toMatchObject({ status: 'repaired', fixedPoints: 50, buggyPoints: 50, regions: 42 });
      expect(report.tool.wasm).toBe('simd');
      expect(demo.summary).toMatch(/^50\/50 buggy points fixed · 42 regions patched · \d+ outlined in this slice/);
      expect(demo.progress).toEqual([42, 42]);
      expect(demo.progressEvents as number).toBeGreaterThanOrEqual(44);
      // The page's report is the reference repair's (bit for bit in every reported number).
      expect(report.regions.map((g) => [g.patchNorm, g.lowerBound, g.radius, g.supportRows])).toEqual(
        reference.report.regions.map((g) => [g.patchNorm, g.lowerBound, g.radius, g.supportRows]),
      );

      // The picture: a screenshot (kept in test/artifacts/ to look at), cropped to the two canvases.
      const shot = await page.screenshot({ fullPage: true });
      mkdirSync(join(root, 'test/artifacts'), { recursive: true });
      writeFileSync(join(root, 'test/artifacts/browser-demo.png'), shot);
      const boxes = await Promise.all(['#before', '#after'].map((id) => page.locator(id).boundingBox()));
      const W = demo.width as number;
      const H = demo.height as number;
      const crops = (
        await page.evaluate(
          async ({ png, boxes, W, H }) => {
            const img = await createImageBitmap(await (await fetch(`data:image/png;base64,${png}`)).blob());
            const c = new OffscreenCanvas(img.width, img.height);
            const ctx = c.getContext('2d')!;
            ctx.drawImage(img, 0, 0);
            // Inside the 1 px CSS border; RGBA bytes as base64.
            return boxes.map((b) => {
              const px = ctx.getImageData(Math.round(b!.x) + 1, Math.round(b!.y) + 1, W, H).data;
              let bin = '';
              for (let i = 0; i < px.length; i += 0x8000) bin += String.fromCharCode(...px.subarray(i, i + 0x8000));
              return btoa(bin);
            });
          },
          { png: shot.toString('base64'), boxes, W, H },
        )
      ).map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));

      // Recompute both pictures here: the original network and the reference repair, on the same
      // pixel grid (the page's view), with the outlines of the reference patches.
      const { net } = hcasTau05();
      const view = demo.view as { x: number[]; y: number[]; fixed: number[] };
      expect(view).toEqual({ x: [-100, 100], y: [-100, 100], fixed: [0, 0, -2.4] });
      const xs = sliceInputs(view, 3, W, H);
      const before = classes(net.forwardFlat(xs, W * H), 5);
      const after = classes(reference.network.forwardFlat(xs, W * H), 5);
      const masks = reference.network.patches.map((p) => insideMask(p.A, p.b, xs, 3));
      const outline = outlineMask(masks, W, H);
      const expected = [renderPixels(before, outline), renderPixels(after, outline)];
      for (const k of [0, 1]) {
        let wrong = 0;
        for (let i = 0; i < W * H * 4; i++) if (crops[k][i] !== expected[k][i]) wrong++;
        expect(wrong, `${k ? 'after' : 'before'} canvas: bytes that differ from the recomputed picture`).toBe(0);
      }
      // What the picture shows: outlines present; SR (class 4) grows; every changed pixel is in a
      // repaired region and turned to SR; the page's counts are these.
      const outlined = outline.reduce((a, v) => a + v, 0);
      expect(outlined).toBeGreaterThan(500);
      const cb = classCounts(before, 5);
      const ca = classCounts(after, 5);
      expect(demo.counts).toEqual({ before: cb, after: ca, outline: outlined });
      expect(ca[4]).toBeGreaterThan(cb[4] + 1000);
      let changed = 0;
      for (let i = 0; i < W * H; i++) {
        if (before[i] === after[i]) continue;
        changed++;
        expect(after[i]).toBe(4);
        expect(masks.some((m) => m[i] === 1)).toBe(true);
      }
      expect(changed).toBe(ca[4] - cb[4]);
      expect(demo.sliceRegions).toBe(masks.filter((m) => m.some((v) => v === 1)).length);

      // The user's own files: the same network as relu-repair JSON, and 10 of the points.
      const pointsDoc = { points: points10(), targetLabel: 4, inputBox: reference.network.inputBox };
      await page.setInputFiles('#model', {
        name: 'net.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(networkToJson(net))),
      });
      await page.setInputFiles('#points', {
        name: 'mine.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(pointsDoc)),
      });
      await page.waitForFunction(() => (window as unknown as { demo: { job: { model: string } | null } }).demo.job?.model === 'net.json');
      expect(await page.textContent('#job')).toBe('net.json: 3 inputs, 5 outputs; mine.json: 10 points');
      await page.click('#repair');
      await page.waitForSelector('body[data-state="repaired"], body[data-state="error"]', { timeout: 60_000 });
      expect(await page.textContent('#error')).toBe('');
      const mine = await page.evaluate(() => (window as unknown as { demo: { report: { result: unknown }; view: unknown } }).demo);
      expect(mine.report.result).toMatchObject({ status: 'repaired', fixedPoints: 10, buggyPoints: 10 });
      // The default view for other files: the points' bounding box (+10 %) in x and y, θ at their median.
      const xsOf = (j: number) => points10().map((p) => p[j]);
      const lo = Math.min(...xsOf(0));
      const hi = Math.max(...xsOf(0));
      expect((mine.view as { x: number[] }).x).toEqual([lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 150_000);
});
