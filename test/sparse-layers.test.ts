/**
 * Networks with mostly-zero dense layers (which the core stores sparse: at most 25 % non-zeros
 * and at least 4096 entries, crates/core/src/network/sparse.rs): evaluated as the dense layers
 * are, repaired and certified, unchanged bit for bit outside the patches' supports, and written
 * to ONNX and read back with the same weights and outputs bit for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { networkToOnnx } from '../ts/formats/onnx/export.js';
import { parseOnnx } from '../ts/formats/onnx/import.js';
import { certify, init, labelSpec, Network, repair } from '../ts/index.js';
import { argmax, outsideSupports, rng } from './helpers.js';

const r = rng(35);

/** Sizes 3 → 80 → 100 → 60 → 4; the two middle layers keep `density` of their weights (some as −0). */
function sparseNetwork(density: number): Network {
  const sizes = [3, 80, 100, 60, 4];
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [ni, no] = [sizes[l], sizes[l + 1]];
    const keep = l === 1 || l === 2 ? density : 1;
    layers.push({
      weights: Array.from({ length: no }, () =>
        Array.from({ length: ni }, () => {
          const u = r.next();
          if (u < keep) return (r.normal() / Math.sqrt(ni * keep)) * 1.5;
          return u < keep + 0.05 ? -0 : 0;
        }),
      ),
      bias: Array.from({ length: no }, () => 0.1 * r.normal()),
    });
  }
  return Network.fromArrays(layers);
}

/** The dense forward pass in JavaScript (bias + Σ w·x per row, in column order). */
function denseForward(net: Network, x: ArrayLike<number>): Float64Array {
  let h = Float64Array.from(x);
  for (const l of net.layers) {
    const y = new Float64Array(l.outputs);
    for (let i = 0; i < l.outputs; i++) {
      let s = 0;
      for (let j = 0; j < l.inputs; j++) s += l.weights[i * l.inputs + j] * h[j];
      y[i] = l.bias[i] + s;
      if (l.relu && y[i] < 0) y[i] = 0;
    }
    h = y;
  }
  return h;
}

describe('networks with sparse layers', () => {
  beforeAll(() => init());

  it('are evaluated as their dense layers, repaired, certified and local; ONNX round trips bit for bit', async () => {
    const net = sparseNetwork(0.12);
    const nnz = net.layers[1].weights.filter((w) => w !== 0).length;
    expect(nnz).toBeLessThanOrEqual(0.25 * 80 * 100);
    const box = { lower: [-1, -1, -1], upper: [1, 1, 1] };
    const m = 400;
    const xs = Float64Array.from({ length: 3 * m }, () => r.range(-1, 1));
    const ys = net.forwardFlat(xs, m);
    for (let p = 0; p < 20; p++) {
      const want = denseForward(net, xs.subarray(3 * p, 3 * p + 3));
      const got = ys.subarray(4 * p, 4 * p + 4);
      for (let k = 0; k < 4; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[k])));
    }
    // Three points in different regions, not of class 0, to be classified as class 0.
    const patterns = net.patterns(Array.from({ length: m }, (_, p) => Array.from(xs.subarray(3 * p, 3 * p + 3))));
    const points: number[][] = [];
    const labels: number[] = [];
    const seen = new Set<string>();
    for (let p = 0; p < m && points.length < 3; p++) {
      const key = patterns[p].join('');
      if (seen.has(key)) continue;
      seen.add(key);
      if (argmax(ys.subarray(4 * p, 4 * p + 4)) === 0) continue;
      points.push(Array.from(xs.subarray(3 * p, 3 * p + 3)));
      labels.push(0);
    }
    const { network, report } = await repair(net, { points, labels, inputBox: box });
    expect(report.certificate?.status).toBe('certified');
    network.predict(points).forEach((y, i) => expect(argmax(y)).toBe(labels[i]));
    expect(points.length).toBe(3);
    const c = await certify(network, { spec: labelSpec(0, 4) });
    expect(c.status).toBe('certified');
    expect(c.certifiedRegions).toBe(3);
    // Outside every patch's support the repaired network is the original, bit for bit.
    const far = outsideSupports(network, net, xs, m);
    expect(far.outside).toBeGreaterThan(0);
    expect(far.differ).toBe(0);
    // ONNX (float64) and back: the same dense initialisers and the same outputs, bit for bit.
    // (The ONNX reader reads a −0 weight as +0; the writer keeps it. Outputs do not see it.)
    const sameWeights = (a: Network, b: Network, zeroSign: boolean) => {
      expect(b.layers.length).toBe(a.layers.length);
      b.layers.forEach((l, i) => {
        const w = a.layers[i].weights;
        expect(l.weights.length).toBe(w.length);
        for (let k = 0; k < w.length; k++)
          if (!Object.is(l.weights[k], w[k]) && (zeroSign || w[k] !== 0 || l.weights[k] !== 0))
            expect([i, k, l.weights[k]]).toEqual([i, k, w[k]]);
      });
    };
    const back = parseOnnx(networkToOnnx(net, { precision: 'float64' }), 'sparse.onnx');
    sameWeights(net, back, false);
    const yb = back.forwardFlat(xs, m);
    for (let k = 0; k < ys.length; k++) if (!Object.is(yb[k], ys[k])) expect([k, yb[k]]).toEqual([k, ys[k]]);
    // Read, write, read in float32: the second reading is the first, bit for bit.
    const f32 = parseOnnx(networkToOnnx(net), 'sparse32.onnx');
    const again = parseOnnx(networkToOnnx(f32), 'again32.onnx');
    sameWeights(f32, again, true);
    const [y1, y2] = [f32.forwardFlat(xs, m), again.forwardFlat(xs, m)];
    for (let k = 0; k < y1.length; k++) if (!Object.is(y2[k], y1[k])) expect([k, y2[k]]).toEqual([k, y1[k]]);
  });
});
