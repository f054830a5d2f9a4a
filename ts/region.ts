/**
 * Linear regions and their local affine maps (twin of crates/core/src/region.rs). The
 * H-representation, the map F x + e and the LPs over the region all live in the core; this class
 * holds the handle and copies fields out on demand.
 */
import { InputError, WasmError } from './errors.js';
import { type Box, checkBox, flattenPoints, type Network } from './network.js';
import { type Spec, specRows } from './spec.js';
import * as abi from './wasm/abi.js';
import { type Core, getCore } from './wasm/raw.js';

/** max of a linear function over a region, certified from both sides. */
export interface RegionMax {
  /** Value at `x`, a point of the region: the true maximum is at least this. */
  lower: number;
  /** Weak-duality bound: the true maximum is at most this. */
  upper: number;
  x: Float64Array;
  /** How far `x` is outside the region (rounding), in input units. */
  infeasibility: number;
}

/** An input polytope {x : A x <= b}, A row-major `rows × inputs`. */
export interface InputSet {
  A: Float64Array;
  b: Float64Array;
}

export type MinimalityProof = 'not-needed' | 'constant-patch' | 'full-lp';

/** The fast path of METHOD.md §3 on one region. */
export interface ConstantPatchResult {
  /** `full-lp` here means: the constant patch did not prove minimality, run the full LP. */
  proof: MinimalityProof;
  /** t_LB: no affine patch on the region has a smaller L∞ norm. */
  lowerBound: number;
  /** ‖d‖∞ of the constant patch (Infinity if none exists). */
  norm: number;
  /** The constant patch, or null when no constant patch satisfies the spec on the region. */
  d: Float64Array | null;
  /**
   * Per spec row j, max over the region of P_j f(x) − q_j (certified interval). Rows only
   * bounded (see `exactRows`) have the anchor point's value as lower end.
   */
  worstLower: Float64Array;
  worstUpper: Float64Array;
  /** Per spec row, a region point attaining worstLower. */
  witnesses: Float64Array[];
  lps: number;
  /** Rounding slack of the certified LP bounds, in patch-norm units. */
  rounding: number;
  /**
   * Per spec row, the row multipliers (>= 0, one per region row, `rows × rowCount` row-major)
   * whose weak-duality bound gave worstUpper (0 for a row bounded otherwise): an untrusted hint
   * that lets the certificate check a bound instead of solving the row's LP again.
   */
  duals?: Float64Array;
}

const releaser = new FinalizationRegistry<{ core: Core; handle: number }>(({ core, handle }) => {
  try {
    core.release(handle);
  } catch {
    /* instance gone */
  }
});

export class LinearRegion {
  readonly inputSize: number;
  readonly outputSize: number;
  /**
   * Rows of the H-representation besides the box: one half-space per hidden neuron (minus
   * neurons constant on the region), plus the rows of an input set, if any.
   */
  readonly rowCount: number;
  readonly hiddenCount: number;
  readonly constantNeurons: number;
  /**
   * Neuron rows left out because the box or a few other rows over the same inputs imply them
   * (graph networks: convolutions have many such rows; the region is the same set).
   */
  readonly impliedRows: number;
  /**
   * The local implied-row tests of the region (graph networks): how many needed a simplex, and
   * how many rows the multipliers of one or two other rows proved implied without one.
   */
  readonly impliedTests: { lps: number; withoutLp: number };
  readonly box: Box;
  private readonly core: Core;
  private handle: number;
  /** Rows of the last {@link supportRows} call. */
  private supportCount = 0;

  private constructor(core: Core, handle: number, box: Box) {
    this.core = core;
    this.handle = handle;
    this.box = box;
    const info = core.layout('region info', [], abi.REGION_INFO, {}, ([o]) => core.exports.rr_region_info(handle, o));
    this.inputSize = info.inputs;
    this.outputSize = info.outputs;
    this.rowCount = info.rows;
    this.hiddenCount = info.hidden;
    this.constantNeurons = info.constantNeurons;
    this.impliedRows = info.impliedRows;
    this.impliedTests = { lps: info.impliedLps, withoutLp: info.impliedWithoutLp };
    releaser.register(this, { core, handle }, this);
  }

  /** The linear region of `x` inside `box`, intersected with `inputSet` when given. */
  static ofPoint(net: Network, x: readonly number[] | Float64Array, box: Box, inputSet?: InputSet): LinearRegion {
    checkBox(box, net.inputSize);
    const { flat } = flattenPoints([x], net.inputSize, 'point');
    const { core, handle: nh } = net.handle();
    const h = core.call('linear region', [flat, box.lower, box.upper], ([px, lo, hi]) => core.exports.rr_region_new(nh, px, lo, hi));
    const region = new LinearRegion(core, h, box);
    if (inputSet) region.intersect(inputSet);
    return region;
  }

  /** Restricts the region to an input polytope {x : A x <= b} (rows are normalised). */
  intersect(set: InputSet): void {
    const n = this.inputSize;
    if (set.A.length !== set.b.length * n)
      throw new InputError(`has ${set.A.length} coefficients for ${set.b.length} rows of ${n} inputs`, { field: 'inputSet.A' });
    const h = this.live();
    this.core.call('intersect', [set.A, set.b], ([pa, pb]) => this.core.exports.rr_region_intersect(h, pa, pb, set.b.length));
    const info = this.core.layout('region info', [], abi.REGION_INFO, {}, ([o]) => this.core.exports.rr_region_info(h, o));
    (this as { rowCount: number }).rowCount = info.rows;
    this.supportCount = 0;
  }

  /** The set of box inputs with activation pattern `pattern` (possibly empty), ∩ `inputSet` when given. */
  static ofPattern(net: Network, pattern: ArrayLike<number>, box: Box, inputSet?: InputSet): LinearRegion {
    checkBox(box, net.inputSize);
    if (pattern.length !== net.hiddenCount)
      throw new InputError(`has ${pattern.length} entries, the network has ${net.hiddenCount} hidden neurons`, {
        field: 'pattern',
        value: pattern.length,
      });
    const { core, handle: nh } = net.handle();
    const h = core.call('linear region', [pattern, box.lower, box.upper], ([pp, lo, hi]) =>
      core.exports.rr_region_of_pattern(nh, pp, lo, hi),
    );
    const region = new LinearRegion(core, h, box);
    if (inputSet) region.intersect(inputSet);
    return region;
  }

  private live(): number {
    if (this.handle <= 0) throw new WasmError('this LinearRegion was freed');
    if (this.core !== getCore()) throw new WasmError('this LinearRegion belongs to a WebAssembly instance that was discarded');
    return this.handle;
  }

  /** One field of the region (crates/wasm/src/abi.rs `REGION_FIELDS`). */
  private read<N extends abi.FieldOf<typeof abi.REGION_FIELDS>>(name: N) {
    const h = this.live();
    const dims = {
      inputs: this.inputSize,
      outputs: this.outputSize,
      rows: this.rowCount,
      hidden: this.hiddenCount,
      supportRows: this.supportCount,
    };
    const code = abi.fieldCode(abi.REGION_FIELDS, name);
    return this.core.field('region read', abi.REGION_FIELDS, name, dims, ([o]) => this.core.exports.rr_region_read(h, code, o));
  }

  /** Rows a_i·x <= b_i (row-major, ‖a_i‖₂ = 1): neuron half-spaces, then input-set rows. */
  get A(): Float64Array {
    return this.read('A');
  }
  get b(): Float64Array {
    return this.read('b');
  }
  /** Local affine map f(x) = F x + e on the region: F is outputs × inputs. */
  get F(): Float64Array {
    return this.read('F');
  }
  get e(): Float64Array {
    return this.read('e');
  }
  get pattern(): Uint8Array {
    return this.read('pattern');
  }
  /** Hidden-neuron index of each row of A (-1 for input-set rows). */
  get neuronIndex(): Int32Array {
    return this.read('rowNeuron');
  }

  /** Rows of the region counting the box faces (what the paper calls the region's constraints). */
  get constraintCount(): number {
    return this.rowCount + 2 * this.inputSize;
  }

  /** max over the region of w·(F x + e). Successive calls warm-start. */
  maxOutput(w: ArrayLike<number>): RegionMax {
    if (w.length !== this.outputSize)
      throw new InputError(`has ${w.length} entries, the network has ${this.outputSize} outputs`, { field: 'objective' });
    const h = this.live();
    const { lower, upper, infeasibility, x } = this.core.layout(
      'max over region',
      [w],
      abi.LP_SOLUTION,
      { inputs: this.inputSize },
      ([pw, o]) => this.core.exports.rr_region_max_output(h, pw, o),
    );
    return { lower, upper, infeasibility, x };
  }

  /** max over the region of c·x. */
  maximize(c: ArrayLike<number>): RegionMax {
    if (c.length !== this.inputSize)
      throw new InputError(`has ${c.length} entries, the network has ${this.inputSize} inputs`, { field: 'objective' });
    const h = this.live();
    const { lower, upper, infeasibility, x } = this.core.layout(
      'max over region',
      [c],
      abi.LP_SOLUTION,
      { inputs: this.inputSize },
      ([pc, o]) => this.core.exports.rr_region_maximize(h, pc, o),
    );
    return { lower, upper, infeasibility, x };
  }

  /**
   * Lower bound t_LB and the constant patch (METHOD.md §3). For label specs, rows that cannot
   * decide the norm are only bounded (certified, by a dual simplex stopped early); with
   * `exactRows` every row's worst violation is computed exactly (same patch, more LPs).
   */
  constantPatch(spec: Spec, opts: { exactRows?: boolean } = {}): ConstantPatchResult {
    if (spec.outputs !== this.outputSize)
      throw new InputError(`spec has ${spec.outputs} outputs, the network has ${this.outputSize}`, { field: 'spec' });
    const rows = specRows(spec);
    const k = this.outputSize;
    const n = this.inputSize;
    const h = this.live();
    const options = abi.json(abi.MINIMAL_PATCH_OPTIONS, { exactRows: Boolean(opts.exactRows) });
    const mp = this.core.layout(
      'minimal patch',
      [spec.P, spec.q, options],
      abi.MINIMAL_PATCH,
      { inputs: n, outputs: k, rows, regionRows: this.rowCount },
      ([pp, pq, po, o], lens) => this.core.exports.rr_region_minimal_patch(h, pp, pq, rows, po, lens[2], o),
    );
    const witnesses: Float64Array[] = [];
    for (let j = 0; j < rows; j++) witnesses.push(mp.witnesses.slice(j * n, (j + 1) * n));
    const { proof, lowerBound, norm, d, worstLower, worstUpper, lps, rounding, duals } = mp;
    return { proof, lowerBound, norm, d, worstLower, worstUpper, witnesses, lps, rounding, duals };
  }

  /**
   * {@link constantPatch} from another solver's answers to the spec rows' LPs (the fallback when the
   * core simplex fails, ts/minimal.ts): `xs[j]` a maximiser of spec row j over the region, `ys[j]`
   * its row multipliers (one per row of {@link A}, in that solver's sign convention). The core
   * certifies each answer (the value at the point, a weak-duality bound from the multipliers) and
   * refuses one whose two bounds are apart (an LpError); every row is exact.
   */
  constantPatchFrom(spec: Spec, xs: readonly Float64Array[], ys: readonly Float64Array[]): ConstantPatchResult {
    if (spec.outputs !== this.outputSize)
      throw new InputError(`spec has ${spec.outputs} outputs, the network has ${this.outputSize}`, { field: 'spec' });
    const rows = specRows(spec);
    const k = this.outputSize;
    const n = this.inputSize;
    const m = this.rowCount;
    if (xs.length !== rows || ys.length !== rows || xs.some((x) => x.length !== n) || ys.some((y) => y.length !== m))
      throw new InputError(`needs one point of ${n} and ${m} multipliers per spec row (${rows})`, { field: 'answers' });
    const flatX = new Float64Array(rows * n);
    const flatY = new Float64Array(rows * m);
    for (let j = 0; j < rows; j++) {
      flatX.set(xs[j], j * n);
      flatY.set(ys[j], j * m);
    }
    const h = this.live();
    const mp = this.core.layout(
      'minimal patch from answers',
      [spec.P, spec.q, flatX, flatY],
      abi.MINIMAL_PATCH,
      { inputs: n, outputs: k, rows, regionRows: m },
      ([pp, pq, px, py, o]) => this.core.exports.rr_region_minimal_patch_from(h, pp, pq, rows, px, py, o),
    );
    const witnesses: Float64Array[] = [];
    for (let j = 0; j < rows; j++) witnesses.push(mp.witnesses.slice(j * n, (j + 1) * n));
    const { proof, lowerBound, norm, d, worstLower, worstUpper, lps, rounding, duals } = mp;
    return { proof, lowerBound, norm, d, worstLower, worstUpper, witnesses, lps, rounding, duals };
  }

  /**
   * max over the region of c·x from another solver's maximiser `x` and row multipliers `y` (any
   * sign convention), certified by the core as {@link maximize} certifies its own: `upper` a
   * weak-duality bound, `lower` the value at `x` (or at the region's point when `x` is outside).
   */
  certifyMax(c: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>): RegionMax {
    if (c.length !== this.inputSize || x.length !== this.inputSize || y.length !== this.rowCount)
      throw new InputError(`needs ${this.inputSize} objective and point values and ${this.rowCount} multipliers`, { field: 'answer' });
    const h = this.live();
    const {
      lower,
      upper,
      infeasibility,
      x: witness,
    } = this.core.layout('certify max over region', [c, x, y], abi.LP_SOLUTION, { inputs: this.inputSize }, ([pc, px, py, o]) =>
      this.core.exports.rr_region_certify_max(h, pc, px, py, o),
    );
    return { lower, upper, infeasibility, x: witness };
  }

  /**
   * A certified upper bound on max c·x over the region that stops as soon as it is <= `threshold`
   * (then the bound proven so far); otherwise the exact maximum's upper bound (crates/core/src/reach.rs).
   */
  maxUnlessBelow(c: ArrayLike<number>, threshold: number): number {
    if (c.length !== this.inputSize)
      throw new InputError(`has ${c.length} coefficients for ${this.inputSize} inputs`, { field: 'c', value: c.length });
    const h = this.live();
    return this.core.run('bound below', [c], [1], ([pc, o]) => this.core.exports.rr_region_max_unless_below(h, pc, threshold, o))[0][0];
  }

  /**
   * Rows for the support network: with `prune`, only rows not implied by the others and the box
   * (LP test, certified); without, every row. With `withBox`, the box faces are appended (those
   * the rows do not imply, when pruning) for a support that is not gated by a shared box
   * indicator. Returned row-major, normalised.
   */
  supportRows(prune: boolean, opts: { withBox?: boolean; tol?: number } = {}): { A: Float64Array; b: Float64Array; index: Int32Array } {
    const h = this.live();
    const options = abi.json(abi.SUPPORT_ROWS_OPTIONS, { prune: Boolean(prune), withBox: Boolean(opts.withBox), tol: opts.tol ?? 1e-9 });
    this.supportCount = this.core.call('support rows', [options], ([po], [pl]) => this.core.exports.rr_region_support_rows(h, po, pl));
    const A = this.read('supportA');
    const b = this.read('supportB');
    // Which region row each support row copies (−1 − j for a box face of input j).
    const index = this.read('supportIndex');
    return { A, b, index };
  }

  /**
   * Norm of each row before normalisation: for a neuron row, ‖Z_i‖ of the pre-activation
   * z_i(x) = Z_i·x + z0_i, so a_i·x − b_i = ∓ z_i(x) / norm_i (minus for an active neuron).
   */
  get rowNorms(): Float64Array {
    return this.read('rowNorms');
  }

  free(): void {
    if (this.handle > 0) {
      releaser.unregister(this);
      this.core.release(this.handle);
      this.handle = 0;
    }
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** Σ_i (a_i·x − b_i)⁺ at each point: a patch with these rows and radius r is 0 where this >= r. */
export function slackExcess(A: Float64Array, b: Float64Array, n: number, points: Float64Array): Float64Array {
  const core = getCore();
  const m = b.length;
  const count = points.length / n;
  return core.run('slack excess', [A, b, points], [count], ([pa, pb, px, o]) =>
    core.exports.rr_slack_excess(pa, pb, m, n, px, count, o),
  )[0];
}
