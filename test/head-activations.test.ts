/**
 * The curved operators of a head-repair prefix (ts/network/activation.ts, ts/formats/onnx/ops-curved.ts):
 * values against references (erf tables, onnxruntime on one-operator models), and the interval
 * bounds that make the latent box sound, against dense sampling of each interval.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { headEvaluator, init, parseOnnxHead } from '../ts/index.js';
import { type Activation, activationBounds, applyActivation, ELEMENTWISE, erf } from '../ts/network/activation.js';
import { buildOnnx, f32, ortRun } from './formats-helpers.js';
import { rng } from './helpers.js';

describe('curved activations of a head-repair prefix', () => {
  beforeAll(async () => {
    await init();
  });

  it('erf agrees with tabulated values to 1e-15 relative', () => {
    const table: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v) / v, `erf(${x})`).toBeLessThan(1e-15);
      expect(erf(-x)).toBe(-erf(x));
    }
  });

  it('bounds over an interval contain the function at every sampled point of it (each element-wise kind, Gelu minima included)', () => {
    const r = rng(7);
    for (const kind of ELEMENTWISE) {
      const act: Activation = { kind };
      const intervals: [number, number][] = [
        [-0.76, -0.74], // around both Gelu minima (x Φ(x) at −0.7518, the tanh form at −0.7525)
        [-0.7525, -0.7524],
        [-1, -0.5], // both ends above −0.17, the tanh form's minimum −0.170041 inside
        [-1, -0.753],
        [-0.75, 2],
        [-30, 30],
      ];
      for (let t = 0; t < 40; t++) {
        const a = r.range(-8, 8);
        intervals.push([a, a + r.range(0, 3) ** 2]);
      }
      const lo = Float64Array.from(intervals, (i) => i[0]);
      const hi = Float64Array.from(intervals, (i) => i[1]);
      const blo = Float64Array.from(lo);
      const bhi = Float64Array.from(hi);
      activationBounds(act, blo, bhi);
      intervals.forEach(([a, b], i) => {
        const xs = Float64Array.from({ length: 2001 }, (_, s) => a + ((b - a) * s) / 2000);
        applyActivation(act, xs);
        let mn = Infinity;
        let mx = -Infinity;
        for (const v of xs) {
          mn = Math.min(mn, v);
          mx = Math.max(mx, v);
        }
        expect(mn, `${kind} on [${a}, ${b}]`).toBeGreaterThanOrEqual(blo[i]);
        expect(mx, `${kind} on [${a}, ${b}]`).toBeLessThanOrEqual(bhi[i]);
      });
    }
  });

  it('Softmax and LogSoftmax bounds over a box contain their values at random points of it', () => {
    const r = rng(9);
    for (const kind of ['softmax', 'logSoftmax'] as const) {
      const act: Activation = { kind, outer: 2, len: 5, inner: 3 };
      for (let t = 0; t < 20; t++) {
        const lo = Float64Array.from({ length: 30 }, () => r.range(-4, 4));
        const hi = Float64Array.from(lo, (v) => v + r.range(0, 2));
        const blo = Float64Array.from(lo);
        const bhi = Float64Array.from(hi);
        activationBounds(act, blo, bhi);
        for (let s = 0; s < 200; s++) {
          const x = Float64Array.from(lo, (v, i) => (s % 2 ? v + (hi[i] - v) * r.next() : r.next() < 0.5 ? v : hi[i]));
          applyActivation(act, x);
          const outside = x.findIndex((v, i) => !(v >= blo[i] && v <= bhi[i]));
          expect(outside, `${kind}: value ${x[outside]} outside [${blo[outside]}, ${bhi[outside]}]`).toBe(-1);
        }
      }
    }
  });

  it('one-operator prefixes agree with onnxruntime (x → MatMul → op → tensor "h" → MatMul → y)', async () => {
    const r = rng(11);
    const cases: { op: string; attributes?: { name: string; s?: string; i?: number }[]; opset?: number }[] = [
      { op: 'Sigmoid' },
      { op: 'Tanh' },
      { op: 'Exp' },
      { op: 'Softplus' },
      { op: 'Softsign' },
      { op: 'Erf' },
      { op: 'Softmax' },
      { op: 'LogSoftmax' },
      { op: 'Gelu', opset: 20 },
      { op: 'Gelu', attributes: [{ name: 'approximate', s: 'tanh' }], opset: 20 },
    ];
    for (const c of cases) {
      const bytes = buildOnnx({
        input: { name: 'x', shape: ['N', 4] },
        output: { name: 'y', shape: ['N', 3] },
        opset: c.opset ?? 13,
        nodes: [
          { opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['a'] },
          { opType: c.op, inputs: ['a'], outputs: ['h'], attributes: c.attributes },
          { opType: 'MatMul', inputs: ['h', 'W2'], outputs: ['b'] },
          { opType: 'Relu', inputs: ['b'], outputs: ['c'] },
          { opType: 'MatMul', inputs: ['c', 'W3'], outputs: ['y'] },
        ],
        inits: [
          { name: 'W1', dims: [4, 6], data: f32(r, 24) },
          { name: 'W2', dims: [6, 5], data: f32(r, 30) },
          { name: 'W3', dims: [5, 3], data: f32(r, 15) },
        ],
      });
      const head = parseOnnxHead(bytes, `${c.op}.onnx`, { headFrom: 'h' });
      expect(head.prefix.outputSize).toBe(6);
      const count = 50;
      const x = Float64Array.from(f32(r, count * 4, 1.5));
      const ours = headEvaluator(head).forwardFlat(x, count);
      const y = await ortRun(bytes, x, count, [4]);
      for (let i = 0; i < y.length; i++)
        expect(Math.abs(y[i] - ours[i]), `${c.op} ${JSON.stringify(c.attributes ?? [])}`).toBeLessThan(1e-5 * (1 + Math.abs(ours[i])));
    }
  });
});
