/**
 * Non-convex (union) safe sets certified exactly (issue 10 item 4): a region is certified when at
 * every point *some* piece of the safe set holds. The point-wise ACAS Xu case of issue 10 (20
 * sampled counterexamples of φ2 on N2,1, whose safe set "COC is not maximal" is a union of four
 * half-spaces) and constructed regions; the truth by onnxruntime on the float64 ONNX export.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certify,
  certifyRegions,
  init,
  loadModel,
  Network,
  parseVnnlib,
  patternHex,
  polytopeSpec,
  propertyInputDomain,
  RepairedNetwork,
  repair,
  repairedToOnnx,
  type SpecUnion,
  safeSpec,
  unionSpec,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { fixture, rng } from './helpers.js';

describe('union safe sets', () => {
  beforeAll(() => init());

  it('ACAS Xu N2,1, φ2: 20 sampled counterexamples repaired point-wise and certified against the union', async () => {
    const net = await loadModel(fixture('acasxu/ACASXU_run2a_2_1_batch_2000.onnx'));
    const doc = parseVnnlib(readFileSync(fixture('acasxu/prop_2.vnnlib'), 'utf8'));
    const prop = doc.properties[0];
    const { spec, convex } = await safeSpec(prop, 5);
    expect(convex).toBe(false);
    expect((spec as SpecUnion).pieces.length).toBe(4);
    const box = propertyInputDomain(prop).inputBox;
    // 20 counterexamples: uniform samples of the property's box where COC (output 0) is maximal.
    const r = rng(20240601);
    const points: number[][] = [];
    while (points.length < 20) {
      const x = box.lower.map((l, j) => r.range(l, box.upper[j]));
      const y = net.predict([x])[0];
      if (y.every((v) => v <= y[0])) points.push(x);
    }
    const { network, report } = await repair(net, { points, spec, inputBox: box, certify: true });
    expect(report.certificate?.status, JSON.stringify(report.certificate?.reasons)).toBe('certified');
    // The saved network certifies again from its record, without an area.
    const again = await certify(network, { spec });
    expect(again.status).toBe('certified');
    expect(again.covered?.regions.length).toBeGreaterThan(0);
    // Truth: onnxruntime on the float64 export, at the points and around them (inside the box).
    const xs: number[] = [];
    for (const p of points) {
      xs.push(...p);
      for (let k = 0; k < 200; k++) xs.push(...p.map((v, j) => Math.min(box.upper[j], Math.max(box.lower[j], v + r.normal() * 1e-4))));
    }
    const count = xs.length / 5;
    const ys = await ortRun(repairedToOnnx(network, { precision: 'float64' }), Float64Array.from(xs), count, [1, 1, 5], 'float64');
    const inRegions = new Set(report.regions.map((g) => g.pattern));
    const patterns = net.patterns(Array.from({ length: count }, (_, i) => xs.slice(i * 5, i * 5 + 5))).map(patternHex);
    let checked = 0;
    for (let i = 0; i < count; i++) {
      // The claim is about the repaired regions: samples that left them are not checked.
      if (!inRegions.has(patterns[i])) continue;
      checked++;
      const y = ys.subarray(i * 5, i * 5 + 5);
      // Safe: some output beats COC (within rounding of the float64 evaluation).
      expect(Math.min(...[1, 2, 3, 4].map((k) => y[0] - y[k])), `sample ${i}`).toBeLessThanOrEqual(1e-9);
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  }, 120_000);

  // y = (x, −x) on [−1, 1] (one linear region, no patches): safe = {y0 <= 0} ∪ {y1 <= q1}.
  const line = Network.fromArrays([{ weights: [[1], [-1]], bias: [0, 0], relu: false }]);
  const box = { lower: [-1], upper: [1] };
  const piece = (row: number[], q: number) => polytopeSpec([row], [q]);

  it('a region where no single piece holds everywhere but the union does is certified', async () => {
    const rep = new RepairedNetwork(line, [], box);
    const spec = unionSpec([piece([1, 0], 0), piece([0, 1], 0)]) as SpecUnion;
    const pattern: number[] = [];
    const c = await certifyRegions(rep, [pattern], spec);
    expect(c.status).toBe('certified');
    for (const p of spec.pieces) expect((await certifyRegions(rep, [pattern], p)).status).toBe('not-certified');
  });

  it('a union that fails somewhere is refused, with a witness onnxruntime confirms', async () => {
    const rep = new RepairedNetwork(line, [], box);
    const spec = unionSpec([piece([1, 0], 0), piece([0, 1], -0.5)]) as SpecUnion;
    const c = await certifyRegions(rep, [[]], spec);
    expect(c.status).toBe('not-certified');
    const w = c.perRegion[0].witness!;
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), Float64Array.from(w), 1, [1], 'float64');
    // Unsafe for both pieces: y0 > 0 and y1 > −0.5, by 0.25 at the worst point x = 0.25.
    expect(Math.min(y[0], y[1] + 0.5)).toBeGreaterThan(0.2);
    expect(c.largestViolationFound).toBeCloseTo(0.25, 9);
  });
});
