/**
 * The full minimal-patch LP of REASSURE (METHOD.md §3), built sparse.
 *
 * Unknowns: the affine patch p(x) = C x + d and its norm t. Every constraint "max over the
 * region A = {G x <= h, l <= x <= u} of w·x <= β" is replaced by its LP dual: there are
 * λ >= 0 (one per row) and μ⁺, μ⁻ >= 0 (one per box side) with
 *   Gᵀλ + μ⁺ − μ⁻ = w   and   h·λ + u·μ⁺ − l·μ⁻ <= β,
 * which is exact because A is non-empty and bounded. The box enters through μ (it never becomes
 * rows of G). Blocks: |p_i(x)| <= t for every output i and sign (2k), and the spec rows
 * P_j (f(x) + p(x)) <= q_j. Minimise t.
 */
import type { Spec } from '../spec.js';
import { LpBuilder, type SparseLp } from './backend.js';

export interface RegionData {
  n: number;
  k: number;
  /** Rows `m × n` and right-hand sides (redundant rows may be dropped beforehand). */
  G: Float64Array;
  h: Float64Array;
  lower: readonly number[];
  upper: readonly number[];
  F: Float64Array;
  e: Float64Array;
}

export interface FullLp {
  lp: SparseLp;
  decode(x: Float64Array): { C: Float64Array; d: Float64Array; t: number };
}

export function buildFullPatchLp(r: RegionData, spec: Spec): FullLp {
  const { n, k, G, h, lower, upper, F, e } = r;
  const m = h.length;
  const s = spec.q.length;
  const b = new LpBuilder();
  const C0 = b.addVars(k * n);
  const d0 = b.addVars(k);
  const t = b.addVars(1, 0, Infinity, 1);
  // Column view of G for the equality rows Σ_i G_ic λ_i.
  const cols: { i: number; v: number }[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < m; i++) for (let c = 0; c < n; c++) if (G[i * n + c] !== 0) cols[c].push({ i, v: G[i * n + c] });

  /**
   * One dualised block. `wVar(c)` lists (variable, coefficient) pairs of the C-dependent part of
   * w_c, `wConst(c)` its constant part; `beta` lists the (variable, coefficient) pairs moved to
   * the left of `h·λ + u·μ⁺ − l·μ⁻ + β-vars <= betaConst`.
   */
  const block = (wVar: (c: number) => [number, number][], wConst: (c: number) => number, betaVars: [number, number][], betaConst: number) => {
    const lam = b.addVars(m, 0, Infinity);
    const mup = b.addVars(n, 0, Infinity);
    const mum = b.addVars(n, 0, Infinity);
    for (let c = 0; c < n; c++) {
      const idx: number[] = [];
      const val: number[] = [];
      for (const { i, v } of cols[c]) {
        idx.push(lam + i);
        val.push(v);
      }
      idx.push(mup + c, mum + c);
      val.push(1, -1);
      for (const [v, coef] of wVar(c)) {
        idx.push(v);
        val.push(-coef);
      }
      const rhs = wConst(c);
      b.addRow(idx, val, rhs, rhs);
    }
    const idx: number[] = [];
    const val: number[] = [];
    for (let i = 0; i < m; i++) {
      if (h[i] !== 0) {
        idx.push(lam + i);
        val.push(h[i]);
      }
    }
    for (let c = 0; c < n; c++) {
      if (upper[c] !== 0) {
        idx.push(mup + c);
        val.push(upper[c]);
      }
      if (lower[c] !== 0) {
        idx.push(mum + c);
        val.push(-lower[c]);
      }
    }
    for (const [v, coef] of betaVars) {
      idx.push(v);
      val.push(coef);
    }
    b.addRow(idx, val, -Infinity, betaConst);
  };

  // |C_i x + d_i| <= t on A.
  for (let i = 0; i < k; i++) {
    for (const sg of [1, -1]) {
      block((c) => [[C0 + i * n + c, sg]], () => 0, [[d0 + i, sg], [t, -1]], 0);
    }
  }
  // P_j (F + C) x + P_j (e + d) <= q_j on A.
  for (let j = 0; j < s; j++) {
    const Pj = spec.P.subarray(j * k, (j + 1) * k);
    const active: number[] = [];
    for (let i = 0; i < k; i++) if (Pj[i] !== 0) active.push(i);
    let pe = 0;
    for (const i of active) pe += Pj[i] * e[i];
    block(
      (c) => active.map((i) => [C0 + i * n + c, Pj[i]] as [number, number]),
      (c) => active.reduce((acc, i) => acc + Pj[i] * F[i * n + c], 0),
      active.map((i) => [d0 + i, Pj[i]] as [number, number]),
      spec.q[j] - pe,
    );
  }
  return {
    lp: b.build(),
    decode(x) {
      return { C: x.slice(C0, C0 + k * n), d: x.slice(d0, d0 + k), t: x[t] };
    },
  };
}
