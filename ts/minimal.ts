/**
 * The minimal patch of one linear region (METHOD.md §3; twin of crates/core/src/minimal.rs), the
 * parts that run in TypeScript: the smallest constant patch for given worst violations (a core
 * call), and the full REASSURE LP — solved by an external LP backend (glpk.js, HiGHS), one LP per
 * group of outputs the spec couples — whose answer the core's LPs then check on the region. The
 * lower bound t_LB and the constant patch of a region are `LinearRegion.constantPatch`
 * (ts/region.ts).
 */
import { LpError, RepairError } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import { buildFullPatchLp } from './lp/full-lp.js';
import type { LinearRegion } from './region.js';
import { type Spec, specRows } from './spec.js';
import * as abi from './wasm/abi.js';
import { getCore } from './wasm/raw.js';

/** min ‖d‖∞ s.t. P d <= −v (v: worst violations per spec row); null when no constant patch exists. */
export function constantPatchFor(spec: Spec, v: Float64Array): { d: Float64Array; norm: number } | null {
  const core = getCore();
  const rows = specRows(spec);
  const k = spec.outputs;
  const best = core.layout('constant patch', [spec.P, spec.q, v], abi.BEST_CONSTANT_PATCH, { outputs: k }, ([p, q, vv, o]) =>
    core.exports.rr_constant_patch(p, q, rows, k, vv, o),
  );
  return best.d ? { d: best.d, norm: best.norm } : null;
}

/** Outputs grouped by the spec rows that couple them (union-find); untouched outputs are left out. */
export function outputGroups(spec: Spec): number[][] {
  const k = spec.outputs;
  const parent = [...Array(k).keys()];
  const find = (i: number): number => {
    if (parent[i] !== i) parent[i] = find(parent[i]);
    return parent[i];
  };
  const used = new Array(k).fill(false);
  for (let j = 0; j < spec.q.length; j++) {
    let first = -1;
    for (let i = 0; i < k; i++) {
      if (spec.P[j * k + i] === 0) continue;
      used[i] = true;
      if (first < 0) first = i;
      else parent[find(i)] = find(first);
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < k; i++) {
    if (!used[i]) continue;
    const r = find(i);
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(i);
  }
  return [...groups.values()];
}

/** The full LP, then an independent check of its answer on the region by the core's LPs. */
export async function solveFullLp(region: LinearRegion, spec: Spec, backend: LpBackend, prune: boolean) {
  const n = region.inputSize;
  const k = region.outputSize;
  const rows = prune ? region.supportRows(true) : { A: region.A, b: region.b };
  const Freg = region.F;
  const ereg = region.e;
  // Outputs that no spec row couples are independent problems: solve one (much smaller) LP per
  // group; the norm is the largest group optimum. An output box over k outputs is k LPs, each
  // about 1/k of the full one.
  const C = new Float64Array(k * n);
  const d = new Float64Array(k);
  let optimum = 0;
  for (const group of outputGroups(spec)) {
    const rowsOf = [...Array(spec.q.length).keys()].filter((j) => group.some((i) => spec.P[j * k + i] !== 0));
    const sub: Spec = {
      outputs: group.length,
      P: Float64Array.from(rowsOf.flatMap((j) => group.map((i) => spec.P[j * k + i]))),
      q: Float64Array.from(rowsOf.map((j) => spec.q[j])),
    };
    const Fg = new Float64Array(group.length * n);
    group.forEach((i, gi) => Fg.set(Freg.subarray(i * n, (i + 1) * n), gi * n));
    const { lp, decode } = buildFullPatchLp(
      {
        n,
        k: group.length,
        G: rows.A,
        h: rows.b,
        lower: region.box.lower,
        upper: region.box.upper,
        F: Fg,
        e: Float64Array.from(group.map((i) => ereg[i])),
      },
      sub,
    );
    const part = decode((await backend.solve(lp, `full minimal-patch LP (outputs ${group.join(', ')})`)).x);
    group.forEach((i, gi) => {
      C.set(part.C.subarray(gi * n, (gi + 1) * n), i * n);
      d[i] = part.d[gi];
    });
    optimum = Math.max(optimum, part.t);
  }
  const sol = { objective: optimum };
  // Certify: the spec holds on the region with the patch, and the patch's norm, by core LPs.
  let residual = -Infinity;
  for (let j = 0; j < spec.q.length; j++) {
    const c = new Float64Array(n);
    let constant = -spec.q[j];
    for (let i = 0; i < k; i++) {
      const pji = spec.P[j * k + i];
      if (pji === 0) continue;
      for (let cc = 0; cc < n; cc++) c[cc] += pji * (Freg[i * n + cc] + C[i * n + cc]);
      constant += pji * (ereg[i] + d[i]);
    }
    residual = Math.max(residual, region.maximize(c).upper + constant);
  }
  const scale = 1 + Math.abs(sol.objective) + ereg.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  if (residual > 1e-7 * scale) {
    throw new LpError(
      `full minimal-patch LP: the patch from ${backend.name} violates the spec on the region by ${residual} (tolerance ${1e-7 * scale})`,
    );
  }
  const H = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const ci = C.subarray(i * n, (i + 1) * n);
    const up = region.maximize(ci).upper + d[i];
    const dn = region.maximize(ci.map((v) => -v)).upper - d[i];
    H[i] = Math.max(0, up, dn);
  }
  const norm = H.reduce((a, v) => Math.max(a, v), 0);
  if (!(norm <= sol.objective * (1 + 1e-6) + 1e-9 * scale)) {
    throw new RepairError(`full minimal-patch LP: certified patch norm ${norm} exceeds the LP optimum ${sol.objective}`);
  }
  return { C, d, H, norm, residual };
}
