/**
 * Linear regions of graph networks (convolutions, pooling, residual connections, max lowered to
 * ReLUs): the local affine map against finite differences of the forward pass, and the
 * H-representation against forward passes at random points around the region's anchor (the
 * pattern is the region's exactly when every row holds, up to rounding).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../ts/formats/onnx/import.js';
import { init, LinearRegion, Network, type NetworkGraph, repairArea } from '../ts/index.js';
import { fixture, rng } from './helpers.js';

const read = (p: string) => new Uint8Array(readFileSync(p));

function checkRegion(net: Network, x0: number[], lo: number, hi: number, seed: number) {
  const n = net.inputSize;
  const k = net.outputSize;
  const region = LinearRegion.ofPoint(net, x0, { lower: new Array(n).fill(lo), upper: new Array(n).fill(hi) });
  try {
    expect(region.rowCount + region.constantNeurons + region.impliedRows).toBe(net.hiddenCount);
    const A = region.A;
    const b = region.b;
    const F = region.F;
    const e = region.e;
    const m = b.length;
    const excess = (x: ArrayLike<number>) => {
      let worst = -Infinity;
      for (let i = 0; i < m; i++) {
        let s = -b[i];
        for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
        if (s > worst) worst = s;
      }
      return worst;
    };
    // The anchor is inside; its slack bounds the finite-difference step (rows are unit vectors).
    const slack = -excess(x0);
    expect(slack).toBeGreaterThan(0);
    const h = Math.min(1e-3, 0.25 * slack, 0.25 * Math.min(...x0.map((v) => Math.min(v - lo, hi - v))));
    // Every column of F for small inputs, 96 random columns for images.
    const r = rng(seed);
    const cols = n <= 128 ? [...Array(n).keys()] : Array.from({ length: 96 }, () => Math.floor(r.next() * n));
    const xs = new Float64Array(2 * cols.length * n);
    cols.forEach((j, c) => {
      xs.set(x0, 2 * c * n);
      xs.set(x0, (2 * c + 1) * n);
      xs[2 * c * n + j] += h;
      xs[(2 * c + 1) * n + j] -= h;
    });
    const ys = net.forwardFlat(xs, 2 * cols.length);
    let worstFd = 0;
    cols.forEach((j, c) => {
      for (let o = 0; o < k; o++) {
        const fd = (ys[2 * c * k + o] - ys[(2 * c + 1) * k + o]) / (2 * h);
        const f = F[o * n + j];
        worstFd = Math.max(worstFd, Math.abs(fd - f) / (1 + Math.abs(f)));
      }
    });
    expect(worstFd).toBeLessThan(1e-6);
    // F x0 + e is the network at the anchor.
    const y0 = net.forwardFlat(Float64Array.from(x0), 1);
    for (let o = 0; o < k; o++) {
      let s = e[o];
      for (let j = 0; j < n; j++) s += F[o * n + j] * x0[j];
      expect(Math.abs(s - y0[o])).toBeLessThan(1e-9 * (1 + Math.abs(y0[o])));
    }
    // Random points: same pattern <=> every row holds.
    const want = region.pattern;
    let inside = 0;
    let outside = 0;
    for (let q = 0; q < 24; q++) {
      const scale = [1e-2, 1e-1, 1, 10][q % 4] * slack;
      const x = x0.map((v) => Math.min(hi, Math.max(lo, v + r.normal() * scale)));
      const pat = net.patterns([x])[0];
      const same = pat.every((v, i) => v === want[i]);
      const worst = excess(x);
      if (same) {
        expect(worst).toBeLessThanOrEqual(1e-9);
        inside++;
      } else {
        expect(worst).toBeGreaterThanOrEqual(-1e-9);
        outside++;
      }
    }
    expect(inside).toBeGreaterThan(3);
    expect(outside).toBeGreaterThan(3);
  } finally {
    region.free();
  }
}

describe('regions of graph networks', () => {
  beforeAll(() => init());

  it('the CIFAR-10 conv net (3,072 inputs, 3,172 ReLUs) at a property centre', () => {
    const ref = JSON.parse(readFileSync(fixture('cnn/reference.json'), 'utf8'));
    const net = parseOnnx(read(fixture('cnn/cifar_base_kw.onnx')), 'cifar_base_kw.onnx');
    checkRegion(net, ref.cifar_base_kw.inputs[0], -3, 3, 1);
  });

  it('the MNIST conv net with average pooling (23,328 ReLUs) at a test image', () => {
    const ref = JSON.parse(readFileSync(fixture('cnn/reference.json'), 'utf8'));
    const net = parseOnnx(read(fixture('cnn/Convnet_avgpool.onnx')), 'Convnet_avgpool.onnx');
    // Pixels at exactly 0 or 1 would sit on the box: take the image shrunk into the box's interior.
    checkRegion(
      net,
      ref.Convnet_avgpool.inputs[1].map((v: number) => 0.05 + 0.9 * v),
      0,
      1,
      2,
    );
  });

  it('residual and MaxPool networks (max lowered to ReLU nodes, transposed convolution, index maps)', () => {
    const ref = JSON.parse(readFileSync(fixture('graph/reference.json'), 'utf8'));
    for (const [name, seed] of [
      ['residual', 3],
      ['maxpool', 4],
    ] as const) {
      const net = parseOnnx(read(fixture(`graph/${name}-opset15-f64.onnx`)), `${name}.onnx`);
      for (const x0 of ref[name].inputs.slice(0, 3)) checkRegion(net, x0, -1, 2, seed);
    }
  });

  it('area repair of a residual graph with max pooling: its regions are enumerated, repaired and certified', async () => {
    // 2 inputs: a ReLU layer of 6, a residual ReLU node, the max of its element pairs (ReLU nodes
    // of differences of index maps), a concatenation of that max with the first layer, 3 outputs.
    const r = rng(12);
    const dense = (inputs: number, outputs: number) => ({
      kind: 'dense' as const,
      inputs,
      outputs,
      weights: Float64Array.from({ length: inputs * outputs }, () => r.normal()),
    });
    const bias = (k: number) => Float64Array.from({ length: k }, () => 0.3 * r.normal());
    const gather = (inputs: number, index: number[]) => ({ kind: 'gather' as const, inputs, index: Int32Array.from(index) });
    const graph: NetworkGraph = {
      inputShape: [2],
      nodes: [
        { terms: [{ from: 0, op: dense(2, 6) }], bias: bias(6), relu: true },
        {
          terms: [
            { from: 1, op: dense(6, 6) },
            { from: 1, op: { kind: 'identity', size: 6 } },
          ],
          bias: bias(6),
          relu: true,
        },
        {
          terms: [
            { from: 2, op: gather(6, [1, 3, 5]) },
            { from: 2, op: gather(6, [0, 2, 4]), negate: true },
          ],
          bias: new Float64Array(3),
          relu: true,
        },
        {
          terms: [
            { from: 2, op: gather(6, [0, 2, 4, -1, -1, -1, -1, -1, -1]) },
            { from: 3, op: gather(3, [0, 1, 2, -1, -1, -1, -1, -1, -1]) },
            { from: 1, op: gather(6, [-1, -1, -1, 0, 1, 2, 3, 4, 5]) },
          ],
          bias: new Float64Array(9),
          relu: false,
        },
        { terms: [{ from: 4, op: dense(9, 3) }], bias: bias(3), relu: false },
      ],
    };
    const net = Network.fromGraph(graph);
    expect(net.hiddenCount).toBe(15);
    const box = { lower: [-1, -1], upper: [1, 1] };
    const { network, report } = await repairArea(net, { area: { box }, label: 0 });
    expect(report.result.status).toBe('repaired');
    expect(report.result.regions).toBeGreaterThan(5);
    expect(report.result.certifiedRegions).toBe(report.result.regions);
    // Label 0 wins on random points of the box after repair.
    for (let q = 0; q < 500; q++) {
      const y = network.predict([[r.range(-1, 1), r.range(-1, 1)]])[0];
      expect(y[0]).toBeGreaterThanOrEqual(Math.max(y[1], y[2]) - 1e-9);
    }
  });
});
