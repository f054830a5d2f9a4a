/**
 * Sound bounds of a network over an input box (twin of crates/core/src/bounds/): interval
 * arithmetic, symbolic linear bounds (a DeepPoly-style forward pass whose unstable neurons are
 * tightened by back-substitution, CROWN back-substitution of a spec row), and for a spec row the
 * LP (triangle) relaxation over the box on the symbolic pre-activation bounds, solved by the core
 * simplex with a certified dual bound. Every bound holds for
 * the real-arithmetic network on every real input of the box: the core widens each computed
 * bound by a rigorous floating-point error term (see the crate's `bounds/rounding.rs`).
 */
import { InputError } from './errors.js';
import { type Box, checkBox, type Network } from './network.js';
import * as abi from './wasm/abi.js';

export type BoundMethod = 'interval' | 'symbolic' | 'lp' | 'best';

export interface BoundOptions {
  /**
   * `interval`: interval arithmetic only; `symbolic` (default): symbolic linear bounds; `lp`: for
   * a spec row, the LP relaxation (one simplex per row: in real arithmetic never looser than
   * `symbolic`, much slower on wide boxes); `best`: the smallest of the three (every one is sound).
   * Pre-activation bounds ({@link preActivationBounds}) are the symbolic ones for `lp` and `best`.
   */
  method?: BoundMethod;
  /** Lower line α z of an unstable ReLU: `adaptive` (default: α = 1 when u >= −l, else 0), `parallel` (α = u/(u − l)), `zero`. */
  lowerSlope?: 'adaptive' | 'parallel' | 'zero';
  /** Tighten every neuron the forward pass leaves unstable by back-substitution (default true). */
  backSubstitute?: boolean;
  /** Also back-substitute with the parallel lower line and keep the tighter bound (default true). */
  bothSlopes?: boolean;
}

/**
 * Bounds of every node's pre-activations over a box: one entry per node of the network's graph
 * (for a dense chain, per layer), whether or not the node has a ReLU.
 */
export interface PreActivationBounds {
  /** `lower[k][i] <= z_k[i] <= upper[k][i]` for every input of the box (node k's value before its ReLU, if any); the last node's are the outputs before its ReLU, if any. */
  lower: Float64Array[];
  upper: Float64Array[];
  /** Bounds of the network's outputs. */
  outputLower: Float64Array;
  outputUpper: Float64Array;
  /** ReLU neurons whose sign the bounds do not fix. */
  unstable: number;
}

/** Bounds of a spec row `c·f(x) − q` over a box. */
export interface RowBound {
  /** A sound upper bound of `c·f(x) − q` on the box (the method's, never above `interval`). */
  upper: number;
  /** The same by interval arithmetic alone. */
  interval: number;
  /** The symbolic bound (NaN for method `interval`). */
  symbolic: number;
  /** The LP relaxation's bound (NaN for `interval` and `symbolic`; Infinity when its LP failed: no bound). */
  lp: number;
  /** `c·f(x) − q <= slope·x + offset` for every x of the box. */
  slope: Float64Array;
  offset: number;
}

function optionsOf(opts: BoundOptions): abi.ObjectOf<typeof abi.BOUND_OPTIONS> {
  const kind = opts.method ?? 'symbolic';
  if (!(kind in abi.BoundKind.values))
    throw new InputError('must be "interval", "symbolic", "lp" or "best"', { field: 'method', value: kind });
  const slope = opts.lowerSlope ?? 'adaptive';
  if (!(slope in abi.LowerSlope.values))
    throw new InputError('must be "adaptive", "parallel" or "zero"', { field: 'lowerSlope', value: slope });
  return { kind, slope, backSubstitute: opts.backSubstitute ?? true, bothSlopes: opts.bothSlopes ?? true };
}

/** Pre-activation bounds of every node of `net` (every layer of a dense chain) over `box`. */
export function preActivationBounds(net: Network, box: Box, opts: BoundOptions = {}): PreActivationBounds {
  checkBox(box, net.inputSize, undefined, 'box');
  const o = abi.json(abi.BOUND_OPTIONS, optionsOf(opts));
  const { core, handle } = net.handle();
  const sizes = net.graph.nodes.map((node) => node.bias.length);
  const neurons = sizes.reduce((s, n) => s + n, 0);
  const r = core.layout(
    'bounds',
    [box.lower, box.upper, o],
    abi.PRE_ACTIVATION_BOUNDS,
    { neurons, outputs: net.outputSize },
    ([lo, hi, po, out], lens) => core.exports.rr_bounds_compute(handle, lo, hi, po, lens[2], out),
  );
  const lower: Float64Array[] = [];
  const upper: Float64Array[] = [];
  let at = 0;
  for (const n of sizes) {
    lower.push(r.lower.slice(at, at + n));
    upper.push(r.upper.slice(at, at + n));
    at += n;
  }
  return { lower, upper, outputLower: r.outputLower, outputUpper: r.outputUpper, unstable: r.unstable };
}

/** Interval arithmetic alone (the cheapest sound bounds). */
export function intervalBounds(net: Network, box: Box): PreActivationBounds {
  return preActivationBounds(net, box, { method: 'interval' });
}

/** Sound upper bound of `c·f(x) − q` over `box` (`c` has one entry per output). */
export function specRowUpperBound(net: Network, box: Box, c: ArrayLike<number>, q: number, opts: BoundOptions = {}): RowBound {
  checkBox(box, net.inputSize, undefined, 'box');
  if (c.length !== net.outputSize)
    throw new InputError(`has ${c.length} entries, the network has ${net.outputSize} outputs`, { field: 'c', value: c.length });
  for (let i = 0; i < c.length; i++)
    if (!Number.isFinite(c[i])) throw new InputError('is not a finite number', { field: `c[${i}]`, value: c[i] });
  if (!Number.isFinite(q)) throw new InputError('is not a finite number', { field: 'q', value: q });
  const o = abi.json(abi.BOUND_OPTIONS, optionsOf(opts));
  const { core, handle } = net.handle();
  return core.layout('row bound', [box.lower, box.upper, c, o], abi.ROW_BOUND, { inputs: net.inputSize }, ([lo, hi, pc, po, out], lens) =>
    core.exports.rr_bounds_row(handle, lo, hi, pc, q, po, lens[3], out),
  );
}

/**
 * Sound upper bounds of several spec rows `C_i·f(x) − q_i` over one box (`C` row by row, one entry
 * per output each): the same values as {@link specRowUpperBound}`(…).upper` row by row, with the
 * bound passes computed once for all rows (a union safe set's pieces, all bounded on one box).
 */
export function specRowsUpperBounds(
  net: Network,
  box: Box,
  C: ArrayLike<number>,
  q: ArrayLike<number>,
  opts: BoundOptions = {},
): Float64Array {
  checkBox(box, net.inputSize, undefined, 'box');
  const rows = q.length;
  if (C.length !== rows * net.outputSize)
    throw new InputError(`has ${C.length} entries, ${rows} rows of ${net.outputSize} outputs need ${rows * net.outputSize}`, {
      field: 'C',
      value: C.length,
    });
  for (let i = 0; i < C.length; i++)
    if (!Number.isFinite(C[i])) throw new InputError('is not a finite number', { field: `C[${i}]`, value: C[i] });
  for (let i = 0; i < rows; i++)
    if (!Number.isFinite(q[i])) throw new InputError('is not a finite number', { field: `q[${i}]`, value: q[i] });
  if (rows === 0) return new Float64Array(0);
  const o = abi.json(abi.BOUND_OPTIONS, optionsOf(opts));
  const { core, handle } = net.handle();
  return core.layout('row bounds', [box.lower, box.upper, C, q, o], abi.ROW_UPPERS, { rows }, ([lo, hi, pc, pq, po, out], lens) =>
    core.exports.rr_bounds_rows(handle, lo, hi, pc, pq, rows, po, lens[4], out),
  ).upper;
}
