/**
 * Region LPs at depth (issue 14) against glpk.js, an independent solver: maxima over linear
 * regions of deep networks whose rows come in (nearly) parallel families (a bottleneck of one to
 * three active neurons) and whose objectives are tiny (small logits) — the LPs on which the core's
 * former dense dual simplex cycled — and regions of the trained mnistfc-style fixtures on which
 * it stopped at its iteration limit. Both certified bounds must hold: lower <= true maximum <=
 * upper.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GlpkBackend, init, LinearRegion, labelSpec, loadModel, Network, parseImages, parseLabels } from '../ts/index.js';
import { LpBuilder } from '../ts/lp/backend.js';
import { fixture, rng } from './helpers.js';

const glpk = new GlpkBackend();

/** max c·x over {A x <= b} ∩ box by glpk.js. */
async function glpkMax(
  A: Float64Array,
  b: Float64Array,
  n: number,
  box: { lower: number[]; upper: number[] },
  c: ArrayLike<number>,
): Promise<number> {
  const lp = new LpBuilder();
  for (let j = 0; j < n; j++) lp.addVars(1, box.lower[j], box.upper[j], -c[j]);
  const idx = [...Array(n).keys()];
  for (let i = 0; i < b.length; i++) lp.addRow(idx, Array.from(A.subarray(i * n, (i + 1) * n)), -Infinity, b[i]);
  const s = await glpk.solve(lp.build(), 'test LP');
  return -s.objective;
}

function expectCertified(m: { lower: number; upper: number; infeasibility: number }, truth: number, what: string) {
  const tol = 1e-7 * (1 + Math.abs(truth));
  expect(m.lower, `${what}: lower`).toBeLessThanOrEqual(truth + tol);
  expect(m.upper, `${what}: upper`).toBeGreaterThanOrEqual(truth - tol);
  expect(m.upper - m.lower, `${what}: gap`).toBeLessThanOrEqual(tol);
  expect(m.infeasibility, `${what}: infeasibility`).toBeLessThanOrEqual(1e-8);
}

describe('region LPs at depth vs glpk.js', () => {
  beforeAll(() => init());

  it('deep networks behind a bottleneck, with small logits: random objectives over random regions', async () => {
    const r = rng(14);
    const sizes = [10, 32, 3, 32, 32, 32, 10];
    let lps = 0;
    for (let t = 0; t < 4; t++) {
      const layers = sizes.slice(1).map((out, l) => ({
        weights: Array.from({ length: out }, () => Array.from({ length: sizes[l] }, () => r.normal() / Math.sqrt(sizes[l]))),
        // Small logits: the objective rows are tiny next to absolute tolerances.
        bias: Array.from({ length: out }, () => 0.1 * r.normal()),
      }));
      layers[layers.length - 1].weights = layers[layers.length - 1].weights.map((row) => row.map((v) => v * 1e-3));
      const net = Network.fromArrays(layers);
      const box = { lower: new Array(10).fill(-1), upper: new Array(10).fill(1) };
      const x = Array.from({ length: 10 }, () => r.next() * 2 - 1);
      const region = LinearRegion.ofPoint(net, x, box);
      try {
        for (let o = 0; o < 4; o++) {
          const c = Array.from({ length: 10 }, () => (o === 3 ? 1e-4 : 1) * r.normal());
          expectCertified(region.maximize(c), await glpkMax(region.A, region.b, 10, box, c), `network ${t} objective ${o}`);
          const w = Array.from({ length: 10 }, () => r.normal());
          const F = region.F;
          const e = region.e;
          const cw = Array.from({ length: 10 }, (_, j) => w.reduce((s, wi, i) => s + wi * F[i * 10 + j], 0));
          const k = w.reduce((s, wi, i) => s + wi * e[i], 0);
          const mo = region.maxOutput(w);
          const truth = (await glpkMax(region.A, region.b, 10, box, cw)) + k;
          // maxOutput includes the constant w·e.
          expectCertified(mo, truth, `network ${t} output objective ${o}`);
          lps += 2;
        }
      } finally {
        region.free();
      }
    }
    expect(lps).toBe(32);
  });

  // Test images on which the former dense dual simplex stopped at its iteration limit.
  for (const [depth, image] of [
    [4, 59],
    [6, 54],
  ]) {
    it(`mnistfc-style 784-256x${depth}-10, test image ${image}: the worst spec row over its whole region`, async () => {
      const net = await loadModel(fixture(`mnistfc/mnistfc-784-256x${depth}-10.onnx`));
      const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', { scale: 1 });
      const labels = await parseLabels(new Uint8Array(readFileSync(fixture('mnist/t10k-labels-idx1-ubyte.gz'))), 'labels.gz', 10);
      const x = Float64Array.from(images.x.subarray(image * 784, (image + 1) * 784), (v) => Math.fround(v / 255));
      const label = labels[image];
      const y = net.predict([x])[0];
      expect(y.indexOf(Math.max(...y))).not.toBe(label);
      const box = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };
      const region = LinearRegion.ofPoint(net, x, box);
      try {
        const cp = region.constantPatch(labelSpec(label, 10));
        expect(cp.proof).toBe('constant-patch');
        // The norm is half the largest worst violation; check that row's maximum independently.
        const rows = [...Array(10).keys()].filter((j) => j !== label);
        const r = cp.worstUpper.indexOf(Math.max(...cp.worstUpper));
        const F = region.F;
        const e = region.e;
        const cw = Array.from({ length: 784 }, (_, j) => F[rows[r] * 784 + j] - F[label * 784 + j]);
        const truth = (await glpkMax(region.A, region.b, 784, box, cw)) + e[rows[r]] - e[label];
        const tol = 1e-7 * (1 + Math.abs(truth));
        expect(cp.worstLower[r]).toBeLessThanOrEqual(truth + tol);
        expect(cp.worstUpper[r]).toBeGreaterThanOrEqual(truth - tol);
        expect(Math.abs(cp.norm - truth / 2)).toBeLessThanOrEqual(tol);
      } finally {
        region.free();
      }
    }, 120_000);
  }
});
