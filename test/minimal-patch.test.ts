/**
 * The two ways of finding the minimal patch agree: the lower-bound + constant-patch path and the
 * full LP (built sparse, solved by glpk.js). Where the constant patch is not optimal (a narrow
 * output box), the full LP's answer is checked against a third, independent formulation: the LP
 * written on the vertices of the (2-D) region, which are enumerated by brute force.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildFullPatchLp,
  GlpkBackend,
  init,
  LinearRegion,
  labelSpec,
  polytopeSpec,
  repair,
  type Spec,
  specViolation,
} from '../ts/index.js';
import { LpBuilder } from '../ts/lp/backend.js';
import { argmax, randomNetwork, rng } from './helpers.js';

const glpk = new GlpkBackend();

function regionData(region: LinearRegion) {
  return {
    n: region.inputSize,
    k: region.outputSize,
    G: region.A,
    h: region.b,
    lower: region.box.lower,
    upper: region.box.upper,
    F: region.F,
    e: region.e,
  };
}

/** Vertices of a 2-D region {A x <= b} ∩ box, by intersecting every pair of lines. */
function vertices2d(A: Float64Array, b: Float64Array, box: { lower: readonly number[]; upper: readonly number[] }): number[][] {
  const rows: [number, number, number][] = [];
  for (let i = 0; i < b.length; i++) rows.push([A[2 * i], A[2 * i + 1], b[i]]);
  rows.push([1, 0, box.upper[0]], [-1, 0, -box.lower[0]], [0, 1, box.upper[1]], [0, -1, -box.lower[1]]);
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const [a1, b1, c1] = rows[i];
      const [a2, b2, c2] = rows[j];
      const det = a1 * b2 - a2 * b1;
      if (Math.abs(det) < 1e-12) continue;
      const x = (c1 * b2 - c2 * b1) / det;
      const y = (a1 * c2 - a2 * c1) / det;
      if (rows.every(([a, bb, c]) => a * x + bb * y <= c + 1e-9)) out.push([x, y]);
    }
  }
  return out;
}

/** min t s.t. at every vertex v: |C v + d| <= t and P (F v + e + C v + d) <= q. */
async function vertexLp(V: number[][], F: Float64Array, e: Float64Array, spec: Spec) {
  const k = spec.outputs;
  const lp = new LpBuilder();
  const C0 = lp.addVars(2 * k);
  const d0 = lp.addVars(k);
  const t = lp.addVars(1, 0, Infinity, 1);
  for (const v of V) {
    for (let i = 0; i < k; i++) {
      for (const s of [1, -1]) lp.addRow([C0 + 2 * i, C0 + 2 * i + 1, d0 + i, t], [s * v[0], s * v[1], s, -1], -Infinity, 0);
    }
    for (let j = 0; j < spec.q.length; j++) {
      const idx: number[] = [];
      const val: number[] = [];
      let rhs = spec.q[j];
      for (let i = 0; i < k; i++) {
        const p = spec.P[j * k + i];
        if (p === 0) continue;
        idx.push(C0 + 2 * i, C0 + 2 * i + 1, d0 + i);
        val.push(p * v[0], p * v[1], p);
        rhs -= p * (F[2 * i] * v[0] + F[2 * i + 1] * v[1] + e[i]);
      }
      lp.addRow(idx, val, -Infinity, rhs);
    }
  }
  return (await glpk.solve(lp.build(), 'vertex LP')).objective;
}

describe('minimal patch: constant-patch path vs full LP', () => {
  beforeAll(() => init());

  it('label specs: both paths give the same minimal norm on random networks', async () => {
    const r = rng(42);
    let compared = 0;
    for (let trial = 0; trial < 12; trial++) {
      const net = randomNetwork(r, [3, 8, 8, 4]);
      const box = { lower: [-1, -1, -1], upper: [1, 1, 1] };
      const x = [r.range(-0.8, 0.8), r.range(-0.8, 0.8), r.range(-0.8, 0.8)];
      const y = net.predict([x])[0];
      const spec = labelSpec((argmax(y) + 1) % 4, 4);
      const region = LinearRegion.ofPoint(net, x, box);
      const cp = region.constantPatch(spec);
      expect(cp.proof).toBe('constant-patch');
      const { lp, decode } = buildFullPatchLp(regionData(region), spec);
      const sol = await glpk.solve(lp, 'full LP');
      const { t } = decode(sol.x);
      expect(Math.abs(t - cp.norm) / cp.norm).toBeLessThan(1e-6);
      expect(cp.lowerBound).toBeLessThanOrEqual(t * (1 + 1e-9));
      region.free();
      compared++;
    }
    expect(compared).toBe(12);
  });

  it('narrow output box: the constant patch is not optimal, the full LP is, and matches the vertex LP', async () => {
    const r = rng(7);
    let checked = 0;
    for (let trial = 0; trial < 8; trial++) {
      const net = randomNetwork(r, [2, 10, 10, 2]);
      const box = { lower: [-1, -1], upper: [1, 1] };
      const x = [r.range(-0.5, 0.5), r.range(-0.5, 0.5)];
      const y = net.predict([x])[0];
      // Output box of half-width 0.01 around a target away from f(x).
      const c = [y[0] + 0.5, y[1] - 0.3];
      const spec = polytopeSpec(
        [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ],
        [c[0] + 0.01, -(c[0] - 0.01), c[1] + 0.01, -(c[1] - 0.01)],
      );
      const region = LinearRegion.ofPoint(net, x, box);
      const cp = region.constantPatch(spec);
      const F = region.F;
      const e = region.e;
      const V = vertices2d(region.A, region.b, box);
      const tVertex = await vertexLp(V, F, e, spec);
      const { lp, decode } = buildFullPatchLp(regionData(region), spec);
      const { C, d, t } = decode((await glpk.solve(lp, 'full LP')).x);
      region.free();
      if (cp.proof !== 'full-lp') continue; // region where F happens to be ~constant: nothing to show
      expect(cp.d === null || cp.norm > t * (1 + 1e-6)).toBe(true);
      expect(Math.abs(t - tVertex) / tVertex).toBeLessThan(1e-6);
      expect(t).toBeGreaterThanOrEqual(cp.lowerBound * (1 - 1e-9));
      // The patch satisfies the spec at every vertex, hence (affine, convex) on the region.
      for (const v of V) {
        const yv = [0, 1].map((i) => F[2 * i] * v[0] + F[2 * i + 1] * v[1] + e[i] + C[2 * i] * v[0] + C[2 * i + 1] * v[1] + d[i]);
        expect(specViolation(spec, yv)).toBeLessThan(1e-7);
        for (let i = 0; i < 2; i++)
          expect(Math.abs(C[2 * i] * v[0] + C[2 * i + 1] * v[1] + d[i])).toBeLessThanOrEqual(t * (1 + 1e-7) + 1e-9);
      }
      // End to end: repair() takes the full-LP path and the repaired network meets the spec
      // at random points of the region.
      const res = await repair(net, { points: [x], spec, inputBox: box });
      expect(res.report.regions[0].minimalityProof).toBe('full-lp');
      expect(res.report.regions[0].patchKind).toBe('affine');
      expect(Math.abs(res.report.regions[0].patchNorm - tVertex) / tVertex).toBeLessThan(1e-6);
      const pat = net.patterns([x])[0].join('');
      let inside = 0;
      for (let s = 0; s < 3000 && inside < 200; s++) {
        const z = [x[0] + 0.05 * r.normal(), x[1] + 0.05 * r.normal()];
        if (Math.abs(z[0]) > 1 || Math.abs(z[1]) > 1 || net.patterns([z])[0].join('') !== pat) continue;
        inside++;
        expect(specViolation(spec, res.network.predict([z])[0])).toBeLessThan(1e-7);
      }
      // The samples must reach the assertion above, else the check says nothing.
      expect(inside).toBeGreaterThanOrEqual(100);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});

describe('repair restricted to an input set', () => {
  beforeAll(() => init());

  it('the patch holds on region ∩ set, is no larger than on the whole region, and vanishes outside the set', async () => {
    const r = rng(11);
    const net = randomNetwork(r, [2, 12, 12, 3]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    let done = 0;
    for (let trial = 0; trial < 20 && done < 3; trial++) {
      const x = [r.range(-0.5, 0.5), r.range(-0.5, 0.5)];
      const label = (argmax(net.predict([x])[0]) + 1) % 3;
      // A small box around x written as an H-polytope.
      const w = 0.05;
      const inputSet = {
        A: Float64Array.from([1, 0, -1, 0, 0, 1, 0, -1]),
        b: Float64Array.from([x[0] + w, -(x[0] - w), x[1] + w, -(x[1] - w)]),
      };
      const whole = await repair(net, { points: [x], labels: label, inputBox: box });
      const part = await repair(net, { points: [x], labels: label, inputBox: box, inputSet });
      const g = part.report.regions[0];
      if (!g) continue;
      expect(g.patchNorm).toBeLessThanOrEqual(whole.report.regions[0].patchNorm * (1 + 1e-9));
      const patch = part.network.patches[0];
      const pat = net.patterns([x])[0].join('');
      // Count the samples that reach each assertion: a check no sample reaches says nothing.
      let inRegion = 0;
      let beyond = 0;
      for (let s = 0; s < 2000; s++) {
        const z = [x[0] + r.range(-0.2, 0.2), x[1] + r.range(-0.2, 0.2)];
        const inSet = Math.abs(z[0] - x[0]) <= w && Math.abs(z[1] - x[1]) <= w;
        const y = part.network.predict([z])[0];
        if (inSet && net.patterns([z])[0].join('') === pat) {
          inRegion++;
          expect(specViolation(labelSpec(label, 3), y)).toBeLessThanOrEqual(1e-9);
        }
        const outside = Math.max(z[0] - x[0] - w, x[0] - w - z[0], z[1] - x[1] - w, x[1] - w - z[1]);
        if (outside >= patch.radius) {
          beyond++;
          expect(y).toEqual(net.predict([z])[0]);
        }
      }
      expect(inRegion).toBeGreaterThanOrEqual(20);
      expect(beyond).toBeGreaterThanOrEqual(1000);
      done++;
    }
    expect(done).toBe(3);
    const x = [0.9, 0.9];
    const inputSet = { A: Float64Array.from([1, 1]), b: Float64Array.from([0]) };
    await expect(repair(net, { points: [x], labels: 0, inputBox: box, inputSet })).rejects.toThrow(
      /points\[0\]: lies outside the input set/,
    );
  });
});

describe('LP backends', () => {
  beforeAll(() => init());

  it('glpk.js and HiGHS give the same full-LP optimum; repair() accepts either', async () => {
    const { HighsBackend } = await import('../ts/index.js');
    const highs = new HighsBackend();
    const r = rng(19);
    let compared = 0;
    for (let trial = 0; trial < 6; trial++) {
      const net = randomNetwork(r, [2, 10, 10, 2]);
      const box = { lower: [-1, -1], upper: [1, 1] };
      const x = [r.range(-0.5, 0.5), r.range(-0.5, 0.5)];
      const y = net.predict([x])[0];
      const spec = polytopeSpec(
        [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ],
        [y[0] + 0.52, -(y[0] + 0.48), y[1] - 0.28, -(y[1] - 0.32)],
      );
      const region = LinearRegion.ofPoint(net, x, box);
      const { lp, decode } = buildFullPatchLp(regionData(region), spec);
      region.free();
      const a = decode((await glpk.solve(lp, 'glpk')).x).t;
      const b = decode((await highs.solve(lp, 'highs')).x).t;
      expect(Math.abs(a - b)).toBeLessThan(1e-7 * (1 + Math.abs(a)));
      const viaHighs = await repair(net, { points: [x], spec, inputBox: box, lp: highs });
      const viaGlpk = await repair(net, { points: [x], spec, inputBox: box });
      expect(Math.abs(viaHighs.report.regions[0].patchNorm - viaGlpk.report.regions[0].patchNorm)).toBeLessThan(1e-7 * (1 + a));
      expect(viaHighs.report.tool.lp).toBe('highs');
      compared++;
    }
    expect(compared).toBe(6);
  });
});

describe('full LP decomposition', () => {
  beforeAll(() => init());

  it('splits outputs into groups coupled by spec rows; the decomposed optimum equals the joint LP', async () => {
    const { outputGroups } = await import('../ts/minimal.js');
    expect(
      outputGroups(
        polytopeSpec(
          [
            [1, 0, 0, 0],
            [0, -1, 0, 0],
            [0, 1, 1, 0],
          ],
          [1, 1, 1],
        ),
      ),
    ).toEqual([[0], [1, 2]]);
    expect(outputGroups(labelSpec(2, 4))).toEqual([[0, 1, 2, 3]]);
    const r = rng(23);
    for (let trial = 0; trial < 4; trial++) {
      const net = randomNetwork(r, [2, 10, 10, 3]);
      const box = { lower: [-1, -1], upper: [1, 1] };
      const x = [r.range(-0.5, 0.5), r.range(-0.5, 0.5)];
      const y = net.predict([x])[0];
      // Output box: three independent groups.
      const P = [0, 1, 2].flatMap((i) => [[0, 1, 2].map((j) => (j === i ? 1 : 0)), [0, 1, 2].map((j) => (j === i ? -1 : 0))]);
      const q = [0, 1, 2].flatMap((i) => [y[i] + 0.3 + 0.02, -(y[i] + 0.3 - 0.02)]);
      const spec = polytopeSpec(P, q);
      const region = LinearRegion.ofPoint(net, x, box);
      const joint = decodeT(
        await glpk.solve(buildFullPatchLp(regionData(region), spec).lp, 'joint'),
        buildFullPatchLp(regionData(region), spec),
      );
      region.free();
      const res = await repair(net, { points: [x], spec, inputBox: box });
      expect(res.report.regions[0].minimalityProof).toBe('full-lp');
      expect(Math.abs(res.report.regions[0].patchNorm - joint) / joint).toBeLessThan(1e-6);
    }
  });
});

function decodeT(sol: { x: Float64Array }, built: { decode(x: Float64Array): { t: number } }) {
  return built.decode(sol.x).t;
}
