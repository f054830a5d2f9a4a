/**
 * A box patch certified on its slabs although a slab's own bound exceeds the bound the patch was
 * sized from (issue 10: N2,9 φ2 left 49 such slabs unproven). Symbolic bounds are not monotone in
 * the box: on N2,9 φ2 the handed-back box B below bounds "COC minus strong right" by 0.0469, its
 * band box (B widened by the radius, clipped to the area) by 0.0401, a thin slab of B by 0.0428.
 * The patch is sized from the band box; the certificate bounds its term over the same band box
 * (ts/box-patch.ts `bandBox`), so every part of B is proven. Checked independently: 100,000
 * uniform samples of B through onnxruntime on the float64 ONNX, points outside the band bit for
 * bit the original, and a patch shrunk by 10 % refused.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BandIndex,
  bandBox,
  bandReachesBox,
  boxPatch,
  boxRows,
  certifyBox,
  certifyBoxParts,
  init,
  loadModel,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  type RegionPatch,
  RepairedNetwork,
  repairedToOnnx,
  safeSpec,
  specRowUpperBound,
  unsafeDepth,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { fixture, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

/** A box the branch and bound of N2,9 φ2 handed back (a dyadic cell of the property box), and a slab of it. */
const B = {
  lower: [0.609982221125, -0.0009765625, -0.46875, 0.4875, -0.48125],
  upper: [0.6199644422499999, 0, -0.466796875, 0.49375, -0.478125],
};
const SLAB = {
  lower: [0.6100322711249999, -0.0009265125000000001, -0.46869995, 0.48755005, -0.48119994999999993],
  upper: [0.6106499036953124, -0.00005004999999999998, -0.4677734375, 0.4883187875, -0.48044372499999993],
};

describe('box patch sized on its band box, certified on every slab', () => {
  it('N2,9 φ2: a slab bounded above the sizing bound is proven through the band-box term; samples clean; bit for bit outside the band; a shrunk patch refused', async () => {
    const net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_9_batch_2000.onnx'));
    const pr = parseVnnlib(readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8'), 'prop_2.vnnlib').properties[0];
    const { inputBox } = propertyInputDomain(pr, net.info.inputBox);
    const { spec } = await safeSpec(pr, 5);
    const r = 5e-5;
    const band = bandBox(B, r, inputBox);
    const bp = await boxPatch(net, B, spec, {
      radius: r,
      sizeBox: band,
      piece: 2,
      bound: 'symbolic',
      relativeSlack: 0.05,
      search: { starts: 0, steps: 8 },
    });
    expect(bp.needed).toBe(true);
    const patch = bp.patch!;
    const piece = spec.pieces[2];
    const c = piece.P.subarray(0, 5);
    const row = (b: typeof B) => specRowUpperBound(net, b, c, piece.q[0], { method: 'symbolic' }).upper;
    const shift = c.reduce((s, ci, o) => s + ci * patch.d[o], 0);
    // The failure reproduced: the slab's own bound plus the patch's shift is > 0 (so is B's own);
    // the band box's bound plus the shift is < 0.
    expect(row(SLAB) + shift).toBeGreaterThan(0);
    expect(row(B) + shift).toBeGreaterThan(0);
    expect(row(band) + shift).toBeLessThan(0);

    const gate = { lower: [...inputBox.lower], upper: [...inputBox.upper], radius: r };
    const rep = new RepairedNetwork(net, [patch], inputBox, gate, 'chain');
    const c1 = await certifyBox(rep, SLAB, spec, { bound: 'symbolic', within: inputBox });
    expect(c1.status).toBe('certified');
    const parts = await certifyBoxParts(rep, B, spec, 4, { bound: 'symbolic', within: inputBox });
    expect(parts.refused).toEqual([]);
    // `within` must contain the box (the band box is clipped to it).
    await expect(certifyBox(rep, inputBox, spec, { within: B })).rejects.toThrow(/within/);

    // A patch 10 % short: refused on the slab.
    const short = new RepairedNetwork(net, [{ ...patch, d: patch.d.map((v) => 0.9 * v) }], inputBox, gate, 'chain');
    expect((await certifyBox(short, SLAB, spec, { bound: 'symbolic', within: inputBox })).status).toBe('refused');

    // Independent: 100,000 uniform samples of B, onnxruntime on the float64 ONNX; a sample violates
    // when it lies deeper than 1e-9 inside the unsafe set.
    const data = propertyData(pr, 5, net.info.inputBox);
    const count = 100_000;
    const g = rng(5);
    const x = Float64Array.from({ length: count * 5 }, (_, i) => g.range(B.lower[i % 5], B.upper[i % 5]));
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, count, [1, 1, 5], 'float64');
    let bad = 0;
    for (let i = 0; i < count; i++)
      if (unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(y.subarray(i * 5, i * 5 + 5))) < -1e-9) bad++;
    expect(bad).toBe(0);

    // Outside the band box: the original network bit for bit (points of the area and around it).
    const m = 20_000;
    const far = Float64Array.from({ length: m * 5 }, (_, i) => {
      const j = i % 5;
      const w = inputBox.upper[j] - inputBox.lower[j];
      return g.range(inputBox.lower[j] - 0.2 * w, inputBox.upper[j] + 0.2 * w);
    });
    const a = rep.forwardFlat(far, m);
    const o = net.forwardFlat(far, m);
    let outside = 0;
    for (let i = 0; i < m; i++) {
      const p = far.subarray(i * 5, i * 5 + 5);
      if (p.every((v, j) => v >= band.lower[j] && v <= band.upper[j])) continue;
      outside++;
      for (let k = 0; k < 5; k++) expect(Object.is(a[i * 5 + k], o[i * 5 + k])).toBe(true);
    }
    expect(outside).toBeGreaterThan(19_000);
  }, 60_000);
});

describe('band index', () => {
  it('returns exactly the patches bandReachesBox says reach a box (random box patches, wide ones, a region patch; queries small, large and outside)', () => {
    const g = rng(11);
    const n = 4;
    const chain = Array.from({ length: 600 }, (_, i) => {
      const wide = i % 97 === 0;
      const lower = Array.from({ length: n }, (_, j) => g.range(-1, 1) * (j === 3 ? 0.01 : 1));
      const upper = lower.map((l) => l + (wide ? 0.8 : g.range(0.001, 0.05)));
      const { A, b } = boxRows({ lower, upper });
      return { kind: 'constant', A, b, radius: 0.002, d: new Float64Array(2), region: {} } as unknown as RegionPatch;
    });
    // A region patch (a general row): never filed, always tested.
    chain.push({
      kind: 'constant',
      A: Float64Array.from([1, 1, 0, 0]),
      b: Float64Array.from([0.3]),
      radius: 0.01,
      d: new Float64Array(2),
      region: {},
    } as unknown as RegionPatch);
    const idx = new BandIndex(chain);
    let hits = 0;
    for (let t = 0; t < 400; t++) {
      const s = t % 4 === 0 ? 1.5 : t % 4 === 1 ? 0.2 : 0.01;
      const lower = Array.from({ length: n }, () => g.range(-1.5, 1.5));
      const box = { lower, upper: lower.map((l) => l + g.range(0, s)) };
      const want = chain.flatMap((p, i) => (bandReachesBox(p, box) ? [i] : []));
      expect(idx.reaching(box)).toEqual(want);
      hits += want.length;
    }
    expect(hits).toBeGreaterThan(400);
  });
});
