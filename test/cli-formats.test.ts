/** The CLI's format features (built dist/cli.js, as a user runs it): eval, export-model, .onnx/.vnnlib in repair. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseVnnlib } from '../ts/formats/vnnlib.js';
import { init, loadModel, parsePoints } from '../ts/index.js';
import { buildOnnx, ortRun } from './formats-helpers.js';
import { argmax, fixture, hcasTau05, runCli } from './helpers.js';

const run = runCli;

const NNET = fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet');
const POINTS = fixture('hcas/buggy-points-pra1-tau05.json');
const IMAGES = fixture('mnist/t10k-images-idx3-ubyte.gz');
const LABELS = fixture('mnist/t10k-labels-idx1-ubyte.gz');

describe('relu-repair CLI: formats', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-fmt-'));
  beforeAll(() => init());

  it('eval prints the MNIST accuracies of both ONNX models (98.00 %, 96.76 %) and the watermark set', async () => {
    const a = await run(['eval', '--model', fixture('mnist/reassure-mlp-784-256-256-10.onnx'), '--images', IMAGES, '--labels', LABELS]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe('accuracy 98.00 % (9800/10000)\n');
    expect(a.stderr).toMatch(/10000 samples of 784 uint8 values scaled by 1\/255/);
    const b = await run([
      'eval',
      '--model',
      fixture('mnist/watermark-mlp-784-150-10.onnx'),
      '--images',
      IMAGES,
      '--labels',
      LABELS,
      '--json',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ samples: 10000, correct: 9676, accuracy: 0.9676, inputType: 'uint8' });
    const c = await run([
      'eval',
      '--model',
      fixture('mnist/watermark-mlp-784-150-10.onnx'),
      '--images',
      fixture('mnist/watermark-images.npy'),
      '--labels',
      fixture('mnist/watermark-labels.txt'),
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('accuracy 100.00 % (100/100)\n');
  });

  it('eval: bad inputs exit 2 with file, field and value', async () => {
    const labels = join(dir, 'short.txt');
    writeFileSync(labels, Array.from({ length: 99 }, () => '1').join('\n'));
    const a = await run([
      'eval',
      '--model',
      fixture('mnist/watermark-mlp-784-150-10.onnx'),
      '--images',
      fixture('mnist/watermark-images.npy'),
      '--labels',
      labels,
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/labels: there are 99 labels for 100 samples/);
    writeFileSync(labels, '1\n12\n');
    const b = await run(['eval', '--model', NNET, '--images', fixture('mnist/watermark-images.npy'), '--labels', labels]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/short\.txt: label 1: is not a valid label \(the network has 5 outputs: 0\.\.4\) \(got 12\)/);
  });

  it('export-model writes .onnx, .nnet and TF.js model.json that load back to the same network', async () => {
    const { net } = hcasTau05();
    for (const [out, extra] of [
      [join(dir, 'hcas.onnx'), ['--onnx-precision', 'float64']],
      [join(dir, 'hcas.nnet'), []],
      [join(dir, 'tfjs', 'model.json'), []],
    ] as const) {
      if (out.includes('tfjs')) (await import('node:fs')).mkdirSync(join(dir, 'tfjs'), { recursive: true });
      const r = await run(['export-model', '--model', NNET, '--out', out, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const back = await loadModel(out);
      const f32 = out.endsWith('model.json');
      back.layers.forEach((l, i) =>
        expect(l.weights).toEqual(f32 ? Float64Array.from(Float32Array.from(net.layers[i].weights)) : net.layers[i].weights),
      );
    }
    expect(readdirSync(join(dir, 'tfjs')).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('repair from an .onnx model to an .onnx repaired network (float64) that onnxruntime runs', async () => {
    const model = join(dir, 'hcas64.onnx');
    expect((await run(['export-model', '--model', NNET, '--out', model, '--onnx-precision', 'float64'])).code).toBe(0);
    const out = join(dir, 'repaired.onnx');
    // An ONNX model declares no input range: the box comes from the points file.
    const r = await run(['repair', '--model', model, '--points', POINTS, '--out', out, '--onnx-precision', 'float64']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/50\/50 buggy points fixed/);
    const pts = parsePoints(JSON.parse(readFileSync(POINTS, 'utf8')), 3, 5).points;
    const y = await ortRun(new Uint8Array(readFileSync(out)), Float64Array.from(pts.flat()), pts.length, [3], 'float64');
    for (let i = 0; i < pts.length; i++) expect(argmax(y.subarray(i * 5, i * 5 + 5))).toBe(4);
    // float32 cannot resolve HCAS bands: without --onnx-precision the file is float64, with a
    // note saying why; an explicit float32 request is honoured with a warning.
    const outAuto = join(dir, 'repaired-auto.onnx');
    const d = await run(['repair', '--model', model, '--points', POINTS, '--out', outAuto]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(
      /note: writing .*repaired-auto\.onnx in float64: float32 cannot resolve the locality band of 42 of 42 patch\(es\)/,
    );
    expect(d.stderr).toMatch(/wrote .*repaired-auto\.onnx \(float64 ONNX\)/);
    expect(readFileSync(outAuto)).toEqual(readFileSync(out)); // the same file as the explicit float64 request
    const out32 = join(dir, 'repaired32.onnx');
    const w = await run(['repair', '--model', model, '--points', POINTS, '--out', out32, '--onnx-precision', 'float32']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/warning: float32 cannot resolve the locality band of 42 of 42 patch\(es\).*use --onnx-precision float64/);
    expect(w.stderr).toMatch(/wrote .*repaired32\.onnx \(float32 ONNX\)/);
    expect(readFileSync(out32).length).toBeLessThan(readFileSync(out).length);
  });

  it('repair --spec .vnnlib with --out-vnnlib: repairs inside the property and writes one property per region', async () => {
    const pts = parsePoints(JSON.parse(readFileSync(POINTS, 'utf8')), 3, 5).points.slice(0, 4);
    const lo = [0, 1, 2].map((j) => Math.min(...pts.map((p) => p[j])) - (j < 2 ? 100 : 0.01));
    const hi = [0, 1, 2].map((j) => Math.max(...pts.map((p) => p[j])) + (j < 2 ? 100 : 0.01));
    const spec = join(dir, 'prop.vnnlib');
    writeFileSync(
      spec,
      [
        ...[0, 1, 2].map((i) => `(declare-const X_${i} Real)`),
        ...[0, 1, 2, 3, 4].map((j) => `(declare-const Y_${j} Real)`),
        ...[0, 1, 2].flatMap((j) => [`(assert (>= X_${j} ${lo[j]}))`, `(assert (<= X_${j} ${hi[j]}))`]),
        '(assert (or (>= Y_0 Y_4) (>= Y_1 Y_4) (>= Y_2 Y_4) (>= Y_3 Y_4)))',
      ].join('\n'),
    );
    const points = join(dir, 'four.json');
    writeFileSync(points, JSON.stringify({ points: pts }));
    const out = join(dir, 'vnn-repaired.json');
    const props = join(dir, 'region.vnnlib');
    const report = join(dir, 'vnn-report.json');
    const r = await run([
      'repair',
      '--model',
      NNET,
      '--points',
      points,
      '--spec',
      spec,
      '--out',
      out,
      '--report',
      report,
      '--out-vnnlib',
      props,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/property 0 of 1: input box, 4 unsafe output set\(s\); safe set convex/);
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    const regions = rep.regions.length;
    const files = readdirSync(dir).filter((f) => /^region.*\.vnnlib$/.test(f));
    expect(files.length).toBe(regions);
    for (const f of files) {
      const v = parseVnnlib(readFileSync(join(dir, f), 'utf8'), f, { inputs: 3, outputs: 5 });
      // The region lies inside the property's box.
      v.properties[0].input.box.lower.forEach((l, j) => expect(l).toBeGreaterThanOrEqual(lo[j]));
      v.properties[0].input.box.upper.forEach((u, j) => expect(u).toBeLessThanOrEqual(hi[j]));
    }
  });

  it('repair refuses bad ONNX and ambiguous VNN-LIB files with exit 2 and writes nothing', async () => {
    const conv = join(dir, 'conv.onnx');
    writeFileSync(
      conv,
      buildOnnx({
        input: { name: 'x', shape: ['N', 3] },
        output: { name: 'y' },
        nodes: [{ opType: 'Resize', inputs: ['x', 'W'], outputs: ['y'] }],
        inits: [{ name: 'W', dims: [1, 1, 1], data: [1] }],
      }),
    );
    const out = join(dir, 'never.onnx');
    const a = await run(['repair', '--model', conv, '--points', POINTS, '--out', out]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(
      /conv\.onnx: graph\.node\[0\] "n0": operator Resize is not supported; nearest supported: ConvTranspose.*; supported operators: Gemm, MatMul/,
    );
    const two = join(dir, 'two.vnnlib');
    writeFileSync(
      two,
      `${[0, 1, 2].map((i) => `(declare-const X_${i} Real)`).join('')}${[0, 1, 2, 3, 4].map((j) => `(declare-const Y_${j} Real)`).join('')}
(assert (or (and (<= X_0 0) (>= Y_0 Y_4)) (and (>= X_0 1) (>= Y_1 Y_4))))`,
    );
    const b = await run(['repair', '--model', NNET, '--points', POINTS, '--spec', two, '--out', out]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/two\.vnnlib: has 2 properties with different input sets; pick one with --property 0\.\.1/);
    const c = await run(['repair', '--model', NNET, '--points', POINTS, '--spec', two, '--property', '0', '--out', out]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/points\[0\]\[0\]: lies outside the input box/);
    expect(existsSync(out)).toBe(false);
  });
});
