/**
 * The minimal patch of one linear region (METHOD.md §3; twin of crates/core/src/minimal.rs), the
 * parts that run in TypeScript: the smallest constant patch for given worst violations (a core
 * call), and the full REASSURE LP — solved by an external LP backend (glpk.js, HiGHS), one LP per
 * group of outputs the spec couples — whose answer the core's LPs then check on the region. The
 * lower bound t_LB and the constant patch of a region are `LinearRegion.constantPatch`
 * (ts/region.ts).
 *
 * **Fallback** (issue 14): when the core simplex cannot solve a region LP (after its own fallback
 * methods; never when it proved the region empty), the same LP goes to the external backend and
 * its answer — a maximiser and row multipliers — is certified by the core exactly as the core
 * certifies its own (the value at the point, a weak-duality bound from the multipliers):
 * {@link constantPatchByBackend}, {@link certifiedMax}. Nothing the backend says is trusted.
 */
import { EmptySetError, LpError, RepairError } from './errors.js';
import type { LpBackend, SparseLp } from './lp/backend.js';
import { buildFullPatchLp } from './lp/full-lp.js';
import type { ConstantPatchResult, LinearRegion, RegionMax } from './region.js';
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

/** The full LP, then an independent check of its answer on the region by the core's LPs (or, where they fail, by the backend's answers certified by the core). */
export async function solveFullLp(region: LinearRegion, spec: Spec, backend: LpBackend, prune: boolean) {
  const n = region.inputSize;
  const k = region.outputSize;
  const rows = prune ? supportRowsOrAll(region).rows : { A: region.A, b: region.b };
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
    residual = Math.max(residual, (await certifiedMax(region, c, backend, `full-LP check, spec row ${j}`)).upper + constant);
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
    const up = (await certifiedMax(region, ci, backend, `clamp bound of output ${i}`)).upper + d[i];
    const dn =
      (
        await certifiedMax(
          region,
          ci.map((v) => -v),
          backend,
          `clamp bound of output ${i}`,
        )
      ).upper - d[i];
    H[i] = Math.max(0, up, dn);
  }
  const norm = H.reduce((a, v) => Math.max(a, v), 0);
  if (!(norm <= sol.objective * (1 + 1e-6) + 1e-9 * scale)) {
    throw new RepairError(`full minimal-patch LP: certified patch norm ${norm} exceeds the LP optimum ${sol.objective}`);
  }
  return { C, d, H, norm, residual };
}

/** Pivot budgets of the core simplex per method (crates/core/src/lp; default 20·(rows + inputs) + 1000 each). */
export interface LpLimits {
  revised?: number;
  rowGeneration?: number;
  bland?: number;
}

/**
 * Sets the pivot budgets of every core simplex created afterwards on this thread (`null`: the
 * defaults). A region whose LPs exceed them fails in the core and goes to the fallback. The
 * repair option `lpPivotLimit` sets this around each region job (in workers too).
 */
export function forceLpLimits(limits: LpLimits | null): void {
  const core = getCore();
  const v = (x: number | undefined) => (x === undefined ? -1 : x);
  core.check(
    core.guard(() => core.exports.rr_lp_force_limits(v(limits?.revised), v(limits?.rowGeneration), v(limits?.bland))),
    'LP limits',
  );
}

/** Whether a failed core LP may go to the fallback: a solver failure may, a proof of emptiness may not. */
export function isSolverFailure(e: unknown): e is LpError {
  return e instanceof LpError && !(e instanceof EmptySetError);
}

/** The region's rows as a sparse LP over its box (rows `A x <= b`), to which an objective is added. */
function regionLp(region: LinearRegion): Omit<SparseLp, 'objective'> {
  const n = region.inputSize;
  const A = region.A;
  const b = region.b;
  const rows = [];
  for (let i = 0; i < b.length; i++) {
    const idx: number[] = [];
    const val: number[] = [];
    for (let j = 0; j < n; j++) {
      const a = A[i * n + j];
      if (a !== 0) {
        idx.push(j);
        val.push(a);
      }
    }
    rows.push({ idx, val, lo: -Infinity, hi: b[i] });
  }
  return { numVars: n, lower: Float64Array.from(region.box.lower), upper: Float64Array.from(region.box.upper), rows };
}

/** max c·x over the region by the backend: its maximiser and row multipliers (uncertified). */
async function backendMax(lp: Omit<SparseLp, 'objective'>, c: ArrayLike<number>, backend: LpBackend, context: string) {
  const sol = await backend.solve({ ...lp, objective: Float64Array.from(c, (v) => -v) }, context);
  if (!sol.rowDuals) throw new LpError(`${context}: ${backend.name} reports no row multipliers, so its answer cannot be certified`);
  return { x: sol.x, y: sol.rowDuals };
}

/**
 * {@link LinearRegion.constantPatch} by the backend: every spec row's LP over the region solved
 * externally, each answer certified by the core (ts/region.ts `constantPatchFrom`). For the
 * fallback when the core simplex fails on the region.
 */
export async function constantPatchByBackend(
  region: LinearRegion,
  spec: Spec,
  backend: LpBackend,
  context: string,
): Promise<ConstantPatchResult> {
  const n = region.inputSize;
  const k = region.outputSize;
  const F = region.F;
  const lp = regionLp(region);
  const xs: Float64Array[] = [];
  const ys: Float64Array[] = [];
  for (let j = 0; j < spec.q.length; j++) {
    const c = new Float64Array(n);
    for (let i = 0; i < k; i++) {
      const w = spec.P[j * k + i];
      if (w !== 0) for (let t = 0; t < n; t++) c[t] += w * F[i * n + t];
    }
    const { x, y } = await backendMax(lp, c, backend, `${context}: spec row ${j}`);
    xs.push(x);
    ys.push(y);
  }
  return region.constantPatchFrom(spec, xs, ys);
}

/**
 * max c·x over the region, certified: the core's LP, or — when the core simplex fails (a solver
 * failure, not a proof that the region is empty) — the backend's answer certified by the core.
 * An answer whose two bounds the core cannot close is an LpError.
 */
export async function certifiedMax(region: LinearRegion, c: ArrayLike<number>, backend: LpBackend, context: string): Promise<RegionMax> {
  try {
    return region.maximize(c);
  } catch (e) {
    if (!isSolverFailure(e)) throw e;
    const { x, y } = await backendMax(regionLp(region), c, backend, context);
    const sol = region.certifyMax(c, x, y);
    const scale = 1 + Math.abs(sol.upper) + (Number.isFinite(sol.lower) ? Math.abs(sol.lower) : 0);
    if (!(sol.upper - sol.lower <= 1e-6 * scale))
      throw new LpError(
        `${context}: the core simplex failed (${e.message}) and ${backend.name}'s answer is not a certified optimum (value ${sol.lower}, bound ${sol.upper})`,
      );
    return sol;
  }
}

/** Support rows pruned by the core's LPs, or every row when those LPs fail (the same set: redundant rows only cost size). */
export function supportRowsOrAll(region: LinearRegion): { rows: { A: Float64Array; b: Float64Array; index: Int32Array }; note?: string } {
  try {
    return { rows: region.supportRows(true) };
  } catch (e) {
    if (!isSolverFailure(e)) throw e;
    return {
      rows: { A: region.A, b: region.b, index: Int32Array.from({ length: region.rowCount }, (_, i) => i) },
      note: `redundant rows kept (their LPs failed: ${e.message})`,
    };
  }
}
