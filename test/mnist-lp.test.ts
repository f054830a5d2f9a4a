/**
 * Region LPs at MNIST scale (784 inputs, 512 dense neuron rows, the box as bounds) against the
 * independent oracle test/fixtures/mnist/minimal-patch-first10.json (scipy/HiGHS, float64): the
 * worst violation of every class over each image's whole linear region, and the minimal patch
 * norm. Exact mode solves all 9 LPs; the default mode bounds the rows that cannot decide the
 * norm and must give the same patch with valid bounds.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, LinearRegion, labelSpec, loadModel, parseImages } from '../ts/index.js';
import { fixture } from './helpers.js';

interface OraclePoint {
  testIndex: number;
  label: number;
  minimalPatchLinf: number;
  worstViolationPerClass: Record<string, number>;
}

describe('MNIST region LPs vs the scipy/HiGHS oracle', () => {
  beforeAll(() => init());

  it('worst violation per class (exact rows) and the minimal patch norm match to 1e-6 relative; bounded rows are valid bounds', async () => {
    const net = await loadModel(fixture('mnist/reassure-mlp-784-256-256-10.onnx'));
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', { scale: 1 });
    const oracle = JSON.parse(readFileSync(fixture('mnist/minimal-patch-first10.json'), 'utf8')).points as OraclePoint[];
    const box = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    let bounded = 0;
    for (const o of oracle) {
      const x = Float64Array.from(images.x.subarray(o.testIndex * 784, (o.testIndex + 1) * 784), (v) => Math.fround(v / 255));
      const spec = labelSpec(o.label, 10);
      const region = LinearRegion.ofPoint(net, x, box);
      const exact = region.constantPatch(spec, { exactRows: true });
      const fast = region.constantPatch(spec);
      region.free();
      // Spec rows are e_j − e_label for j ≠ label, in increasing j.
      const classes = [...Array(10).keys()].filter((j) => j !== o.label);
      classes.forEach((j, r) => {
        const want = o.worstViolationPerClass[String(j)];
        expect(close(exact.worstLower[r], want), `image ${o.testIndex} class ${j}: ${exact.worstLower[r]} vs ${want}`).toBe(true);
        expect(close(exact.worstUpper[r], want)).toBe(true);
        // Bounded rows: a certified upper bound and a feasible lower value around the true maximum.
        expect(fast.worstUpper[r]).toBeGreaterThanOrEqual(want - 1e-9 * Math.max(1, Math.abs(want)));
        expect(fast.worstLower[r]).toBeLessThanOrEqual(want + 1e-9 * Math.max(1, Math.abs(want)));
      });
      for (const cp of [exact, fast]) {
        expect(cp.proof).toBe('constant-patch');
        expect(close(cp.norm, o.minimalPatchLinf)).toBe(true);
        expect(close(cp.lowerBound, o.minimalPatchLinf)).toBe(true);
      }
      expect(exact.lps).toBe(9);
      bounded += 9 - fast.lps;
    }
    // The default mode really avoided most of the LPs.
    expect(bounded).toBeGreaterThan(50);
  });
});
