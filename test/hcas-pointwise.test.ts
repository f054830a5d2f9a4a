/**
 * Point-wise repair of the 50 HCAS tau05 counterexamples, checked against the guarantees of
 * METHOD.md: fixed points, minimal patch norms (independent oracle), the spec on the whole region
 * (independent LPs in glpk.js), and bit-for-bit locality.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GlpkBackend, init, LinearRegion, labelSpec, type RepairResult, repair, specViolation } from '../ts/index.js';
import { LpBuilder } from '../ts/lp/backend.js';
import { argmax, hcasTau05, rng } from './helpers.js';

const glpk = new GlpkBackend();

/** max c·x over {A x <= b (+ slack), box} by glpk.js (independent of the core simplex); null if empty. */
async function glpkMax(
  A: Float64Array,
  b: Float64Array,
  n: number,
  box: { lower: readonly number[]; upper: readonly number[] },
  c: ArrayLike<number>,
  slack = 0,
) {
  const lp = new LpBuilder();
  for (let j = 0; j < n; j++) lp.addVars(1, box.lower[j], box.upper[j], -c[j]);
  for (let i = 0; i < b.length; i++) {
    const idx: number[] = [];
    const val: number[] = [];
    for (let j = 0; j < n; j++) {
      if (A[i * n + j] !== 0) {
        idx.push(j);
        val.push(A[i * n + j]);
      }
    }
    lp.addRow(idx, val, -Infinity, b[i] + slack);
  }
  try {
    const s = await glpk.solve(lp.build(), 'test LP');
    return -s.objective;
  } catch {
    return null;
  }
}

describe('HCAS tau05: 50 buggy points', () => {
  const data = hcasTau05();
  let res: RepairResult;
  beforeAll(async () => {
    await init();
    res = await repair(data.net, { points: data.points, labels: data.labels, inputBox: data.inputBox });
  });

  it('fixes all 50 points: advisory 4 becomes the argmax', () => {
    const before = data.net.predict(data.points);
    const after = res.network.predict(data.points);
    expect(before.filter((y) => argmax(y) === 4).length).toBe(0);
    expect(after.filter((y) => argmax(y) === 4).length).toBe(50);
    expect(res.report.result).toMatchObject({ status: 'repaired', buggyPoints: 50, fixedPoints: 50 });
  });

  it('patch norms equal the independent minimal-patch oracle to 1e-6 relative, proven by the constant patch', () => {
    let covered = 0;
    for (const g of res.report.regions) {
      expect(g.minimalityProof).toBe('constant-patch');
      expect(g.patchNorm).toBeGreaterThanOrEqual(g.lowerBound);
      for (const p of g.points) {
        expect(Math.abs(g.patchNorm - data.minimalPatchLinf[p]) / data.minimalPatchLinf[p]).toBeLessThan(1e-6);
        covered++;
      }
      expect(g.constraints).toBe(131);
    }
    expect(covered).toBe(50);
  });

  it('points sharing a linear region share one patch', () => {
    const patterns = data.net.patterns(data.points).map((p) => p.join(''));
    expect(res.report.result.regions).toBe(new Set(patterns).size);
    for (const g of res.report.regions) expect(new Set(g.points.map((p) => patterns[p])).size).toBe(1);
  });

  it('the spec holds on every whole repaired region (glpk LPs, not only at the points)', async () => {
    const spec = labelSpec(4, 5);
    const box = data.inputBox;
    const patches = res.network.patches;
    for (const [gi, patch] of patches.entries()) {
      const region = LinearRegion.ofPoint(data.net, data.points[patch.region.points[0]], box);
      const A = region.A;
      const b = region.b;
      const F = region.F;
      const e = region.e;
      region.free();
      // f + p_A on the region: max_x P_j (F x + e + d) <= 0 for every spec row.
      for (let j = 0; j < spec.q.length; j++) {
        const Pj = spec.P.subarray(j * 5, (j + 1) * 5);
        const c = new Float64Array(3);
        let k0 = -spec.q[j];
        for (let i = 0; i < 5; i++) {
          for (let x = 0; x < 3; x++) c[x] += Pj[i] * F[i * 3 + x];
          k0 += Pj[i] * (e[i] + patch.d[i]);
        }
        const worst = (await glpkMax(A, b, 3, box, c))! + k0;
        expect(worst, `region ${gi} spec row ${j}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(k0)));
      }
      // Every other patch whose band can reach this region only pushes towards the spec there:
      // h_B = d_B g_B with g_B in [0, 1] and P_j d_B <= 0.
      for (const [hi, other] of patches.entries()) {
        if (hi === gi) continue;
        const meets = await glpkMaxOnIntersection(A, b, other.A, other.b, other.radius, box);
        if (!meets) continue;
        for (let j = 0; j < spec.q.length; j++) {
          let pd = 0;
          for (let i = 0; i < 5; i++) pd += spec.P[j * 5 + i] * other.d[i];
          expect(pd).toBeLessThanOrEqual(0);
        }
      }
    }
  });

  it('is bit-for-bit unchanged at 10,000 random inputs beyond every patch radius', () => {
    const r = rng(1);
    const patches = res.network.patches;
    const far: number[][] = [];
    let near = 0;
    const box = data.inputBox;
    while (far.length < 10_000) {
      // Half uniform in the box, half close to the buggy points (where regions are small).
      let x: number[];
      if (r.next() < 0.5) x = [0, 1, 2].map((j) => r.range(box.lower[j], box.upper[j]));
      else {
        const p = data.points[Math.floor(r.next() * 50)];
        const s = [1, 10, 100][Math.floor(r.next() * 3)];
        x = p.map((v, j) => Math.min(box.upper[j], Math.max(box.lower[j], v + r.normal() * (j === 2 ? s / 100 : s))));
      }
      // "Beyond r": at least r outside one support face of every patch.
      const isFar = patches.every((p) => {
        let worst = -Infinity;
        for (let i = 0; i < p.b.length; i++)
          worst = Math.max(worst, p.A[i * 3] * x[0] + p.A[i * 3 + 1] * x[1] + p.A[i * 3 + 2] * x[2] - p.b[i]);
        return worst >= p.radius;
      });
      if (isFar) far.push(x);
      else near++;
    }
    const yo = data.net.predict(far);
    const yr = res.network.predict(far);
    for (let i = 0; i < far.length; i++) {
      for (let j = 0; j < 5; j++) expect(Object.is(yo[i][j], yr[i][j]) && yo[i][j] === yr[i][j]).toBe(true);
    }
    // The sampler also hit points near or inside regions, where the network does change.
    expect(near).toBeGreaterThan(100);
  });

  it('reports timings and the minimality path per region', () => {
    const rep = res.report;
    expect(rep.schemaVersion).toBe(1);
    expect(rep.tool).toMatchObject({ name: 'relu-repair', regionLp: 'core-simplex' });
    expect(['simd', 'scalar']).toContain(rep.tool.wasm);
    expect(rep.timingsMs.total).toBeGreaterThan(0);
    for (const g of rep.regions) {
      expect(g.lpMs).toBeGreaterThanOrEqual(0);
      expect(g.supportRows).toBeLessThanOrEqual(g.constraints);
      expect(g.radius).toBeGreaterThan(0);
    }
  });

  it('keeps every other buggy point outside each patch band (default radius rule)', () => {
    const supports = res.network.supportsFlat(Float64Array.from(data.points.flat()), 50);
    const np = res.network.patches.length;
    res.network.patches.forEach((p, j) => {
      for (let i = 0; i < 50; i++) {
        const s = supports[i * np + j];
        if (p.region.points.includes(i)) expect(s).toBe(1);
        else expect(s).toBe(0);
      }
    });
  });

  it('each patch is tight: f + p_A reaches the spec boundary at the worst point of its region', () => {
    // A smaller patch would leave a violation at that point, which is what minimality means.
    for (const patch of res.network.patches) {
      const region = LinearRegion.ofPoint(data.net, data.points[patch.region.points[0]], data.inputBox);
      const cp = region.constantPatch(labelSpec(4, 5));
      region.free();
      const j = cp.worstUpper.indexOf(Math.max(...cp.worstUpper));
      const y = data.net.predict([Array.from(cp.witnesses[j])])[0].map((v, i) => v + patch.d[i]);
      const scale = 1 + Math.max(...y.map(Math.abs));
      // Tolerance: relative 1e-9 plus the certified rounding slack of the region LPs (x ‖P_j‖₁).
      expect(Math.abs(specViolation(labelSpec(4, 5), y))).toBeLessThan(1e-9 * scale + 4 * cp.rounding);
    }
  });
});

/** Is {x in region A} ∩ {x : a_i x <= b_i + r for every support row of B} non-empty? */
async function glpkMaxOnIntersection(
  A: Float64Array,
  b: Float64Array,
  AB: Float64Array,
  bB: Float64Array,
  r: number,
  box: { lower: readonly number[]; upper: readonly number[] },
) {
  const rows = new Float64Array(A.length + AB.length);
  rows.set(A);
  rows.set(AB, A.length);
  const rhs = new Float64Array(b.length + bB.length);
  rhs.set(b);
  for (let i = 0; i < bB.length; i++) rhs[b.length + i] = bB[i] + r;
  return (await glpkMax(rows, rhs, 3, box, [0, 0, 0])) !== null;
}
