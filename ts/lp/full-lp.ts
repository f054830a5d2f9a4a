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

/**
 * Builds the LP. The input space is first mapped to [-1, 1]^n (x = c + D x', D = half-widths of
 * the box): HCAS boxes reach 65000 while patches are O(1), and without this scaling GLPK's simplex
 * can stall on the dual box terms. The patch is mapped back in `decode` (the norm t is invariant).
 */
export function buildFullPatchLp(r: RegionData, spec: Spec): FullLp {
  const n = r.n;
  const centre = Array.from({ length: n }, (_, j) => (r.lower[j] + r.upper[j]) / 2);
  const half = Array.from({ length: n }, (_, j) => (r.upper[j] - r.lower[j]) / 2 || 1);
  const m0 = r.h.length;
  const G = new Float64Array(m0 * n);
  const h = new Float64Array(m0);
  for (let i = 0; i < m0; i++) {
    let shift = 0;
    let norm = 0;
    for (let j = 0; j < n; j++) {
      G[i * n + j] = r.G[i * n + j] * half[j];
      shift += r.G[i * n + j] * centre[j];
      norm += G[i * n + j] * G[i * n + j];
    }
    // Rows are re-normalised in the scaled space (the set is unchanged).
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < n; j++) G[i * n + j] /= norm;
    h[i] = (r.h[i] - shift) / norm;
  }
  const F = new Float64Array(r.k * n);
  const e = Float64Array.from(r.e);
  for (let i = 0; i < r.k; i++) {
    for (let j = 0; j < n; j++) {
      F[i * n + j] = r.F[i * n + j] * half[j];
      e[i] += r.F[i * n + j] * centre[j];
    }
  }
  const inner = buildScaled({ n, k: r.k, G, h, lower: new Array(n).fill(-1), upper: new Array(n).fill(1), F, e }, spec);
  return {
    lp: inner.lp,
    decode(x) {
      const { C: Cs, d: ds, t } = inner.decode(x);
      // p(x) = C' x' + d' with x' = D⁻¹ (x − c):  C = C' D⁻¹,  d = d' − C c.
      const C = new Float64Array(r.k * n);
      const d = Float64Array.from(ds);
      for (let i = 0; i < r.k; i++) {
        for (let j = 0; j < n; j++) {
          C[i * n + j] = Cs[i * n + j] / half[j];
          d[i] -= C[i * n + j] * centre[j];
        }
      }
      return { C, d, t };
    },
  };
}

function buildScaled(r: RegionData, spec: Spec): FullLp {
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
  const block = (
    wVar: (c: number) => [number, number][],
    wConst: (c: number) => number,
    betaVars: [number, number][],
    betaConst: number,
  ) => {
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
      block(
        (c) => [[C0 + i * n + c, sg]],
        () => 0,
        [
          [d0 + i, sg],
          [t, -1],
        ],
        0,
      );
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
