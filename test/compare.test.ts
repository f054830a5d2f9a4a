/**
 * `find-failures` → `repair` → `compare` on MNIST (the CLI, as a user runs it) and the library
 * functions behind them, checked against an independent count: our own argmax loop over separate
 * forward passes of both networks, and the data set read by the test itself.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Comparison,
  compareModels,
  comparisonSvg,
  findFailures,
  init,
  loadModel,
  loadRepaired,
  maybeGunzip,
  type Network,
  parseIdx,
  parseImages,
  type RepairedNetwork,
} from '../ts/index.js';
import { argmax, fixture, runCli } from './helpers.js';

const MNIST = fixture('mnist/reassure-mlp-784-256-256-10.onnx');
const IMAGES = fixture('mnist/t10k-images-idx3-ubyte.gz');
const LABELS = fixture('mnist/t10k-labels-idx1-ubyte.gz');
/** The first misclassified test images of this model (shared data README). */
const FIRST_FAILURES = [15, 217, 247, 321, 340, 445, 447, 448, 495, 582];

describe('compare and find-failures on MNIST', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-compare-'));
  let net: Network;
  let repaired: RepairedNetwork;
  let x: Float64Array;
  let labels: Uint8Array;
  let before: number[][];
  let after: number[][];
  const N = 10_000;

  beforeAll(async () => {
    await init();
    net = await loadModel(MNIST);
    x = Float64Array.from(parseIdx(await maybeGunzip(new Uint8Array(readFileSync(IMAGES)), 'i'), 'i').data, (v) => v / 255);
    labels = Uint8Array.from(parseIdx(await maybeGunzip(new Uint8Array(readFileSync(LABELS)), 'l'), 'l').data);
  }, 120_000);

  it('find-failures writes the first misclassified images with their true labels, as a points file', async () => {
    const pts = join(dir, 'failures.json');
    const r = await runCli(['find-failures', '--model', MNIST, '--data', IMAGES, '--labels', LABELS, '--limit', '3', '--out', pts]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^200 of 10000 inputs misclassified \(10000 samples of 784 uint8 values scaled by 1\/255\); kept the first 3 \(--limit\); inputBox from the range of uint8 data x 1\/255/,
    );
    const doc = JSON.parse(readFileSync(pts, 'utf8'));
    expect(doc.indices).toEqual(FIRST_FAILURES.slice(0, 3));
    expect(doc.labels).toEqual(doc.indices.map((i: number) => labels[i]));
    expect(doc.failures).toBe(200);
    expect(doc.inputBox).toEqual({ lower: 0, upper: 1 });
    doc.indices.forEach((idx: number, k: number) => {
      expect(doc.points[k]).toEqual(Array.from(x.subarray(idx * 784, (idx + 1) * 784))); // the exact float64 values
      expect(doc.predicted[k]).toBe(argmax(net.predict([doc.points[k]])[0]));
      expect(doc.predicted[k]).not.toBe(labels[idx]);
    });
  });

  it('repair --points reads it as it is; compare reports what an independent count finds, and draws the chart', async () => {
    const out = join(dir, 'repaired.json');
    const r = await runCli(['repair', '--model', MNIST, '--points', join(dir, 'failures.json'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3\/3 buggy points fixed/);
    repaired = await loadRepaired(out);

    const cmp = join(dir, 'cmp.json');
    const svg = join(dir, 'cmp.svg');
    const c = await runCli([
      'compare',
      '--model',
      MNIST,
      '--repaired',
      out,
      '--data',
      IMAGES,
      '--labels',
      LABELS,
      '--out',
      cmp,
      '--plot',
      svg,
    ]);
    expect(c.code, c.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(cmp, 'utf8')) as Comparison;

    // Independent count.
    const rows = (y: Float64Array) => Array.from({ length: N }, (_, i) => Array.from(y.subarray(i * 10, (i + 1) * 10)));
    before = rows(net.forwardFlat(x, N));
    after = rows(repaired.forwardFlat(x, N));
    const pb = before.map(argmax);
    const pa = after.map(argmax);
    const right = (p: number[], i: number) => p[i] === labels[i];
    const idx = [...Array(N).keys()];
    expect(doc.samples).toBe(N);
    expect(doc.accuracy).toEqual({
      before: idx.filter((i) => right(pb, i)).length / N,
      after: idx.filter((i) => right(pa, i)).length / N,
      correctBefore: 9800,
      correctAfter: idx.filter((i) => right(pa, i)).length,
    });
    expect(doc.predictions.wrongToRight).toEqual(idx.filter((i) => !right(pb, i) && right(pa, i)));
    expect(doc.predictions.rightToWrong).toEqual(idx.filter((i) => right(pb, i) && !right(pa, i)));
    expect(doc.predictions.wrongToWrong).toEqual(idx.filter((i) => !right(pb, i) && !right(pa, i) && pa[i] !== pb[i]));
    expect(doc.predictions.wrongToRight).toEqual(expect.arrayContaining(FIRST_FAILURES.slice(0, 3)));
    const changed = idx.filter((i) => before[i].some((v, j) => !Object.is(v, after[i][j])));
    expect(doc.outputChanges.changedIndices).toEqual(changed);
    expect(changed.length).toBeGreaterThanOrEqual(3);
    expect(changed.length).toBeLessThan(N / 10); // local: most test images are far from the three regions
    let largest = 0;
    for (const i of changed) for (let j = 0; j < 10; j++) largest = Math.max(largest, Math.abs(after[i][j] - before[i][j]));
    expect(doc.outputChanges.largestChange!.value).toBe(largest);
    for (let k = 0; k < 10; k++) {
      const of = idx.filter((i) => labels[i] === k);
      expect(doc.perClass![k]).toEqual({
        label: k,
        count: of.length,
        correctBefore: of.filter((i) => right(pb, i)).length,
        correctAfter: of.filter((i) => right(pa, i)).length,
        accuracyBefore: of.filter((i) => right(pb, i)).length / of.length,
        accuracyAfter: of.filter((i) => right(pa, i)).length / of.length,
      });
    }
    // The printed summary.
    expect(c.stdout).toMatch(/accuracy\s+98\.00 % -> 98\.0\d % \(9800 -> 98\d\d of 10000 correct/);
    expect(c.stdout).toMatch(
      new RegExp(`wrong -> right: ${doc.predictions.wrongToRight!.length} \\(${doc.predictions.wrongToRight!.join(', ')}\\)`),
    );
    expect(c.stdout).toMatch(new RegExp(`changed at all on ${changed.length} of 10000 inputs`));

    // The chart: one bar per class and side, heights proportional to the accuracy above the axis start.
    const text = readFileSync(svg, 'utf8');
    expect(wellFormed(text)).toBe(true);
    const bars = [
      ...text.matchAll(
        /<rect class="bar (before|after)" data-class="(\d+)" data-accuracy="([\d.e-]+)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g,
      ),
    ];
    expect(bars.length).toBe(20);
    for (const [, side, k, acc, , h] of bars) {
      const p = doc.perClass![Number(k)];
      expect(Number(acc)).toBe(side === 'before' ? p.accuracyBefore : p.accuracyAfter);
      // axis from 90 %: 248 px for 10 percentage points (plot height 360 − 56 − 56)
      expect(Number(h)).toBeCloseTo((248 * (Number(acc) - 0.9)) / 0.1, 0);
    }
    expect(text).toMatch(/axis starts at 90 %/);
  });

  it('compare on a points file (the failures) and without labels; the library API', async () => {
    const r = await runCli([
      'compare',
      '--model',
      MNIST,
      '--repaired',
      join(dir, 'repaired.json'),
      '--data',
      join(dir, 'failures.json'),
      '--out',
      join(dir, 'pts.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'pts.json'), 'utf8')) as Comparison;
    expect(doc.accuracy).toEqual({ before: 0, after: 1, correctBefore: 0, correctAfter: 3 });
    expect(doc.predictions.wrongToRight).toEqual([0, 1, 2]);

    // Without labels: predictions and outputs only.
    const npy = fixture('mnist/watermark-images.npy');
    const u = await runCli([
      'compare',
      '--model',
      MNIST,
      '--repaired',
      join(dir, 'repaired.json'),
      '--data',
      npy,
      '--out',
      join(dir, 'nolabels.json'),
    ]);
    expect(u.code, u.stderr).toBe(0);
    const nl = JSON.parse(readFileSync(join(dir, 'nolabels.json'), 'utf8')) as Comparison;
    expect(nl).toMatchObject({ labelled: false, accuracy: null, perClass: null, samples: 100 });
    expect(u.stdout).toMatch(/predictions changed on \d+ of 100 inputs.*no labels/);
    const plot = await runCli([
      'compare',
      '--model',
      MNIST,
      '--repaired',
      join(dir, 'repaired.json'),
      '--data',
      npy,
      '--plot',
      join(dir, 'x.svg'),
    ]);
    expect(plot.code).toBe(2);
    expect(plot.stderr).toMatch(/--plot: needs labels/);

    // The library: the same numbers as the CLI.
    const data = await parseImages(new Uint8Array(readFileSync(IMAGES)), IMAGES);
    const lib = compareModels(net, repaired, data, labels);
    const cli = JSON.parse(readFileSync(join(dir, 'cmp.json'), 'utf8')) as Comparison;
    expect({ ...lib, ms: 0 }).toEqual({
      ...cli,
      ms: 0,
      model: undefined,
      repaired: undefined,
      data: undefined,
      labels: undefined,
      scale: undefined,
    } as unknown as Comparison);
    const f = findFailures(net, data, labels, { limit: 10 });
    expect(f.indices).toEqual(FIRST_FAILURES);
    expect(f.failures).toBe(200);
    expect(comparisonSvg(lib, { axisFrom: 0 })).not.toMatch(/axis starts at/);
    // Errors name what is wrong.
    expect(() => compareModels(net, repaired, data, labels.subarray(0, 5))).toThrow(/labels: there are 5 labels for 10000 samples/);
  });
});

/** Tags balance (an SVG a browser will parse): every opened element is closed in order. */
function wellFormed(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}
