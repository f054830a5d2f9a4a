/**
 * The counterexample search of the CIFAR bench (bench/cifar-attack.mjs): its back-propagated
 * gradient against the linear region's own map F (exact: the network is affine on the region),
 * its forward pass against the evaluator, and PGD's counterexamples in a box around a test image
 * (the network's label there is the spec) each mislabelled by the network's own evaluator and
 * inside the box.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the bench (no types)
import { pgd, valueAndGradient } from '../bench/cifar-attack.mjs';
import { init, LinearRegion, loadModel, type Network } from '../ts/index.js';
import { argmax, fixture, rng } from './helpers.js';

const N = 3072;
const K = 10;

describe('bench/cifar-attack.mjs on the CIFAR conv net', () => {
  let net: Network;
  beforeAll(async () => {
    await init();
    net = await loadModel(fixture('cnn', 'cifar_base_kw.onnx'));
  });

  it('the gradient of every margin is the region map F (back-propagation), the forward pass the evaluator', () => {
    const r = rng(11);
    const x = Float64Array.from({ length: N }, () => r.next());
    const region = LinearRegion.ofPoint(net, x, { lower: new Array(N).fill(0), upper: new Array(N).fill(1) });
    const F = region.F;
    region.free();
    const y = net.forwardFlat(x, 1);
    for (const [j, l] of [
      [2, 5],
      [0, 9],
    ]) {
      const c = new Float64Array(K);
      c[j] = 1;
      c[l] = -1;
      const out = valueAndGradient(net, x, c) as { y: Float64Array; grad: Float64Array };
      out.y.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-12 * (1 + Math.abs(y[i]))));
      let scale = 0;
      for (let i = 0; i < N; i++) scale = Math.max(scale, Math.abs(F[j * N + i] - F[l * N + i]));
      expect(scale).toBeGreaterThan(0);
      for (let i = 0; i < N; i++) expect(Math.abs(out.grad[i] - (F[j * N + i] - F[l * N + i]))).toBeLessThan(1e-12 * scale);
    }
  });

  it('PGD counterexamples in a box around a test image are mislabelled by the evaluator and lie in the box', () => {
    // The centre of the img1598 property (normalised pixels), in a box 8 times its radius.
    const ref = JSON.parse(readFileSync(fixture('cnn', 'reference.json'), 'utf8')).cifar_base_kw as { inputs: number[][] };
    const x = Float64Array.from(ref.inputs[0]);
    expect(x.length).toBe(N);
    const label = argmax(net.forwardFlat(x, 1));
    const eps = 0.02;
    const box = { lower: Array.from(x, (v) => v - eps), upper: Array.from(x, (v) => v + eps) };
    const res = pgd(net, box, label, { restarts: 1, steps: 20, want: 2 }) as {
      found: { x: number[]; margin: number }[];
      bestMargin: number;
    };
    expect(res.found.length).toBeGreaterThan(0);
    for (const h of res.found) {
      h.x.forEach((v, i) => {
        expect(v).toBeGreaterThanOrEqual(box.lower[i]);
        expect(v).toBeLessThanOrEqual(box.upper[i]);
      });
      expect(argmax(net.forwardFlat(Float64Array.from(h.x), 1))).not.toBe(label);
      expect(h.margin).toBeLessThan(0);
    }
    // Distinct linear regions.
    expect(new Set(net.patterns(res.found.map((h) => h.x)).map((p) => p.join(''))).size).toBe(res.found.length);
  });
});
