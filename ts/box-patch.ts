/**
 * One constant patch for a whole box (issue 10 item 2, AREA-AT-SCALE.md §3): where a box violates
 * the spec and holds too many linear regions to enumerate (an MNIST L∞ ball, a big BaB leaf), the
 * box itself is the support.
 *
 * - **Patch.** U_j = a sound upper bound of P_j f(x) − q_j over the box (ts/bounds.ts, real
 *   arithmetic, rigorous rounding); d = `constantPatchFor(spec, U + δ)`, so that on the whole box
 *   P_j (f(x) + d) − q_j <= U_j + P_j d <= −δ_j. δ_j = 1e-9·(1 + |U_j|) leaves room for the
 *   certificate's rounding charge and for the float evaluation of the exported network. With a
 *   union safe set the piece whose patch is smallest is taken.
 * - **Minimality gap.** L_j = the largest P_j f(x) − q_j found in the box (sign-gradient ascent on
 *   each row from the centre, the corners' directions and random starts). Every constant patch
 *   valid on the box satisfies P d <= −L at the points found, so `constantPatchFor(spec, L)` is a
 *   lower bound of its norm (`minimalNorm`); the patch's norm from U is the upper end. And any
 *   output shift that repairs the worst point found has at least that point's own minimal norm
 *   (`lowerBound`, valid for affine patches too).
 * - **Certificate on the finished network** ({@link certifyBox}): inside the box every support row
 *   of the box patch holds and the box gate is 1, so its support is exactly 1 (crates/core/src/
 *   patch.rs `value_gated` evaluates the clamp form; in real arithmetic ReLU(t+1) − ReLU(t) = 1 for
 *   t >= 0). The chain then gives every earlier constant patch weight 0 (w_i = ReLU(g_i − U_{i+1}),
 *   U_{i+1} = 1) and mixes the box patch with the later ones whose band reaches the box convexly,
 *   weights summing to exactly 1; affine patches add at most Σ|c|·H. Hence for every row
 *   P_j f̂ − q_j <= max_{i in the mix} (min(U_j, W_ij) + P_j d_i) + Σ_a |P_j|·H_a, U_j bounded
 *   again on the finished network's own parameters over the box, W_ij over patch i's band box
 *   (`bandBox`, read from its own support rows): w_i > 0 only there. The box patches are sized
 *   over that same band box, so a thin slab whose own bound exceeds it (symbolic bounds are not
 *   monotone in the box) is still proven.
 */
import { type BoundMethod, specRowsUpperBounds } from './bounds.js';
import { InputError, throwIfAborted } from './errors.js';
import { constantPatchFor } from './minimal.js';
import type { Box, Network } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import type { RepairedNetwork } from './repaired.js';
import { type Spec, specRows } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import { mulberry } from './util/random.js';

/** The worst-violation search of {@link boxPatch} (sign-gradient ascent per spec row). */
export interface BoxSearchOptions {
  /** Random starts per row besides the centre (default 3). */
  starts?: number;
  /** Ascent steps per start (default 40). */
  steps?: number;
  /** Uniform random points of the box evaluated besides (default 0; one batched forward pass). */
  randomPoints?: number;
  seed?: number;
}

export interface BoxPatchOptions {
  /** Locality radius of the patch band (input units). */
  radius: number;
  search?: BoxSearchOptions;
  /**
   * Size the patch from bounds over this box (containing `box`; default `box`): with the box
   * widened by the radius, the patch is also valid everywhere its band reaches, so that where it
   * mixes with a neighbouring patch (COMPOSITION.md) both shifts are valid.
   */
  sizeBox?: Box;
  /**
   * Extra room, relative to |U_j| (default 0): a neighbouring patch's band mixes this shift into
   * thin slabs of the next box, where the certificate bounds the original network on the slab
   * itself; sound bounds are not monotone in the box, so a patch sized exactly from the bound on
   * a larger box can fall short of the bound on a slab of it.
   */
  relativeSlack?: number;
  /** With a union safe set: map the box into this piece (default: the piece whose patch is smallest). */
  piece?: number;
  /** The sound bound U_j is sized from (ts/bounds.ts; default `best`: min of interval, symbolic, LP relaxation). */
  bound?: BoundMethod;
  /**
   * Per piece, per row: upper bounds of P_j f − q_j over `sizeBox` the caller has already proven
   * (ts/bounds.ts, with `bound`); used as U instead of bounding again. A piece left undefined is
   * bounded here. They must be sound bounds over `sizeBox` itself: the patch is only as valid as they are.
   */
  upperBounds?: readonly (ArrayLike<number> | undefined)[];
  signal?: AbortSignal;
}

export interface BoxPatchResult {
  /** The patch (support: the box's 2n faces), or null when none is needed or none exists. */
  patch: RegionPatch | null;
  /** `needed: false`: the bounds already prove some piece on the whole box. */
  needed: boolean;
  /** The convex piece of a union safe set the patch maps the box into (0 for a convex spec). */
  piece: number;
  /** Per row of that piece: the sound upper bound U_j and the worst value found L_j of P_j f − q_j. */
  upper: number[];
  found: number[];
  /** ‖d‖∞ of the patch built from U (Infinity when no constant patch exists). */
  norm: number;
  /** ‖d‖∞ of the patch built from L: no constant patch valid on the box is smaller. */
  minimalNorm: number;
  /** The smallest output shift that repairs the worst point found (any patch is at least this). */
  lowerBound: number;
  /** The point of the box with the largest violation found, and that violation (<= 0: none found). */
  witness: number[];
  witnessViolation: number;
  notes: string[];
}

/** Per-row slack the patch is built with (module comment). */
const slackOf = (u: number) => 1e-9 * (1 + Math.abs(u));

function piecesOf(spec: Spec | SpecUnion): readonly Spec[] {
  return isSpecUnion(spec) ? spec.pieces : [spec];
}

/**
 * A constant patch whose shift lowers (or keeps) every row of every piece: P_j d <= 0 for all j.
 * Then at any point where the original output lies in some piece, f + Σ w_i d_i (w_i >= 0) lies
 * in the same piece, so a box proven safe on the original network (by any proof, a union one
 * included) stays safe on the finished network when only such patches reach it, without a new
 * bound. (ACAS Xu "COC is not maximal": a patch lowering COC and raising another advisory helps
 * every piece.) A row with more than two terms or other coefficients than ±1 is charged a
 * relative 1e-12 for the rounding of P_j d.
 */
export function helpsEveryPiece(p: RegionPatch, spec: Spec | SpecUnion): boolean {
  if (p.kind !== 'constant') return false;
  for (const piece of piecesOf(spec)) {
    const k = piece.outputs;
    for (let j = 0; j < piece.q.length; j++) {
      let s = 0;
      let mag = 0;
      let terms = 0;
      let unit = true;
      for (let o = 0; o < k; o++) {
        const c = piece.P[j * k + o];
        if (c === 0) continue;
        terms++;
        unit &&= c === 1 || c === -1;
        s += c * p.d[o];
        mag += Math.abs(c * p.d[o]);
      }
      // At most two ±1 terms: the products are exact and the one addition keeps the sign of the
      // exact sum (rounding is monotone, 0 is exact), so s <= 0 is exact; else charge the rounding.
      const charge = terms <= 2 && unit ? 0 : 1e-12 * mag;
      if (s + charge > 0) return false;
    }
  }
  return true;
}

/** The box's faces as support rows: x_j <= u_j, −x_j <= −l_j (unit norm already). */
export function boxRows(box: Box): { A: Float64Array; b: Float64Array } {
  const n = box.lower.length;
  const A = new Float64Array(2 * n * n);
  const b = new Float64Array(2 * n);
  for (let j = 0; j < n; j++) {
    A[2 * j * n + j] = 1;
    b[2 * j] = box.upper[j];
    A[(2 * j + 1) * n + j] = -1;
    b[2 * j + 1] = -box.lower[j];
  }
  return { A, b };
}

/** Float64 forward pass through dense layers, keeping every layer's pre-activations. */
function forwardTrace(layers: Network['layers'], x: Float64Array): Float64Array[] {
  const zs: Float64Array[] = [];
  let a = x;
  for (const l of layers) {
    const z = new Float64Array(l.outputs);
    for (let o = 0; o < l.outputs; o++) {
      let s = l.bias[o];
      const base = o * l.inputs;
      for (let i = 0; i < l.inputs; i++) s += l.weights[base + i] * a[i];
      z[o] = s;
    }
    zs.push(z);
    a = l.relu ? z.map((v) => Math.max(v, 0)) : z;
  }
  return zs;
}

/** c·f(x) and its gradient in x (the linear region's, a.e.). */
export function rowValueGrad(layers: Network['layers'], x: Float64Array, c: ArrayLike<number>): { value: number; grad: Float64Array } {
  const zs = forwardTrace(layers, x);
  const last = layers.length - 1;
  const out = layers[last].relu ? zs[last].map((v) => Math.max(v, 0)) : zs[last];
  let value = 0;
  for (let o = 0; o < c.length; o++) value += c[o] * out[o];
  let g = Float64Array.from(c);
  for (let l = last; l >= 0; l--) {
    const L = layers[l];
    if (L.relu) for (let o = 0; o < L.outputs; o++) if (!(zs[l][o] > 0)) g[o] = 0;
    const next = new Float64Array(L.inputs);
    for (let o = 0; o < L.outputs; o++) {
      const go = g[o];
      if (go === 0) continue;
      const base = o * L.inputs;
      for (let i = 0; i < L.inputs; i++) next[i] += go * L.weights[base + i];
    }
    g = next;
  }
  return { value, grad: g };
}

/**
 * Points of the box found by sign-gradient ascent on each row of each piece (dense networks;
 * other graphs: the centre and random points only). Returned flat, `count × n`.
 */
async function searchPoints(
  net: Network,
  box: Box,
  spec: Spec | SpecUnion,
  opts: BoxSearchOptions,
  pause: () => Promise<void>,
  signal?: AbortSignal,
): Promise<Float64Array[]> {
  const n = box.lower.length;
  const rand = mulberry(opts.seed ?? 1);
  const starts = opts.starts ?? 3;
  const steps = opts.steps ?? 40;
  const centre = Float64Array.from(box.lower, (l, j) => 0.5 * (l + box.upper[j]));
  const randomPoint = () => Float64Array.from(box.lower, (l, j) => l + rand() * (box.upper[j] - l));
  const pts: Float64Array[] = [centre];
  for (let s = 0; s < (opts.randomPoints ?? 0); s++) pts.push(randomPoint());
  const layers = net.denseLayers;
  if (!layers) {
    for (let s = 0; s < 64; s++) pts.push(randomPoint());
    return pts;
  }
  const clampIn = (x: Float64Array) => {
    for (let j = 0; j < n; j++) x[j] = Math.min(Math.max(x[j], box.lower[j]), box.upper[j]);
  };
  for (const piece of piecesOf(spec)) {
    const k = piece.outputs;
    for (let r = 0; r < specRows(piece); r++) {
      throwIfAborted(signal);
      const c = piece.P.subarray(r * k, (r + 1) * k);
      const inits = [Float64Array.from(centre)];
      for (let s = 0; s < starts; s++) inits.push(randomPoint());
      for (const x of inits) {
        await pause();
        throwIfAborted(signal);
        let best = Float64Array.from(x);
        let bestV = -Infinity;
        for (let t = 0; t < steps; t++) {
          const { value, grad } = rowValueGrad(layers, x, c);
          if (value > bestV) {
            bestV = value;
            best = Float64Array.from(x);
          }
          // Step size shrinking from half the box width: the first steps jump to a face, later
          // ones move between neighbouring regions.
          const scale = 0.5 * 0.85 ** t;
          for (let j = 0; j < n; j++) x[j] += scale * (box.upper[j] - box.lower[j]) * Math.sign(grad[j]);
          clampIn(x);
        }
        pts.push(best);
      }
    }
  }
  return pts;
}

/** Max over rows of a piece of (P_j y − q_j), per row, at the outputs `ys` (`count × k`). */
function worstRows(piece: Spec, ys: Float64Array, count: number): { worst: number[]; at: number[] } {
  const k = piece.outputs;
  const rows = specRows(piece);
  const worst = new Array<number>(rows).fill(-Infinity);
  const at = new Array<number>(rows).fill(0);
  for (let i = 0; i < count; i++)
    for (let r = 0; r < rows; r++) {
      let s = -piece.q[r];
      for (let o = 0; o < k; o++) s += piece.P[r * k + o] * ys[i * k + o];
      if (s > worst[r]) {
        worst[r] = s;
        at[r] = i;
      }
    }
  return { worst, at };
}

/** The constant patch for a whole box, with its minimality gap (module comment). */
export async function boxPatch(net: Network, box: Box, spec: Spec | SpecUnion, opts: BoxPatchOptions): Promise<BoxPatchResult> {
  const n = net.inputSize;
  if (box.lower.length !== n || box.upper.length !== n)
    throw new InputError(`has ${box.lower.length} inputs, the network has ${n}`, { field: 'box', value: box.lower.length });
  if (!(Number.isFinite(opts.radius) && opts.radius > 0))
    throw new InputError('must be a finite number > 0', { field: 'radius', value: opts.radius });
  const notes: string[] = [];
  const sizeBox = opts.sizeBox ?? box;
  if (sizeBox.lower.some((l, j) => !(l <= box.lower[j] && sizeBox.upper[j] >= box.upper[j])))
    throw new InputError('must contain the box', { field: 'sizeBox' });
  // Yields between rows and starts, so that an AbortSignal fires within a fraction of a second.
  const pause = periodicYield(50);
  const searched = opts.piece !== undefined && isSpecUnion(spec) ? (spec.pieces[opts.piece] ?? spec) : spec;
  const pts = await searchPoints(net, box, searched, opts.search ?? {}, pause, opts.signal);
  const flat = new Float64Array(pts.length * n);
  pts.forEach((p, i) => flat.set(p, i * n));
  const ys = net.forwardFlat(flat, pts.length);
  const k = net.outputSize;

  // Per piece: U (sound) and L (found); the piece with the smallest patch from U wins.
  let best: { piece: number; U: number[]; L: number[]; d: Float64Array | null; norm: number; at: number[] } | null = null;
  const pieces = piecesOf(spec);
  if (opts.piece !== undefined && !(Number.isInteger(opts.piece) && opts.piece >= 0 && opts.piece < pieces.length))
    throw new InputError(`must be a piece index from 0 to ${pieces.length - 1}`, { field: 'piece', value: opts.piece });
  for (let pi = 0; pi < pieces.length; pi++) {
    throwIfAborted(opts.signal);
    const piece = pieces[pi];
    const rows = specRows(piece);
    // A forced piece: the others are not bounded (the caller has tried them on the box).
    if (opts.piece !== undefined && pi !== opts.piece) continue;
    await pause();
    throwIfAborted(opts.signal);
    const given = opts.upperBounds?.[pi];
    if (given && given.length !== rows)
      throw new InputError(`must have ${rows} bounds for piece ${pi}, has ${given.length}`, { field: 'upperBounds', value: given.length });
    const U = Array.from(
      given ??
        specRowsUpperBounds(net, sizeBox, piece.P.subarray(0, rows * k), piece.q.subarray(0, rows), { method: opts.bound ?? 'best' }),
    );
    // One call for all rows (no check inside it): the signal is checked again right after.
    await pause();
    throwIfAborted(opts.signal);
    const { worst: L, at } = worstRows(piece, ys, pts.length);
    if (U.every((u) => u <= 0)) {
      return {
        patch: null,
        needed: false,
        piece: pi,
        upper: U,
        found: L,
        norm: 0,
        minimalNorm: 0,
        lowerBound: 0,
        witness: [],
        witnessViolation: Math.max(...L),
        notes: [`the bounds prove piece ${pi} of the safe set on the whole box: no patch needed`],
      };
    }
    const cp = constantPatchFor(
      piece,
      Float64Array.from(U, (u) => u + slackOf(u) + (opts.relativeSlack ?? 0) * Math.abs(u)),
    );
    const norm = cp ? cp.norm : Infinity;
    if (!best || norm < best.norm) best = { piece: pi, U, L, d: cp ? cp.d : null, norm, at };
  }
  const chosen = best!;
  const piece = pieces[chosen.piece];
  if (pieces.length > 1)
    notes.push(
      `union safe set: the box is mapped into piece ${chosen.piece} of ${pieces.length} (${opts.piece !== undefined ? 'given' : 'the one whose patch is smallest'})`,
    );
  const fromL = constantPatchFor(piece, Float64Array.from(chosen.L));
  const minimalNorm = fromL ? fromL.norm : Infinity;
  // The worst point found (largest row violation of the chosen piece) and its own minimal shift.
  let wr = 0;
  for (let r = 1; r < chosen.L.length; r++) if (chosen.L[r] > chosen.L[wr]) wr = r;
  const wi = chosen.at[wr];
  const witness = Array.from(flat.subarray(wi * n, (wi + 1) * n));
  const wv = worstRows(piece, ys.subarray(wi * k, (wi + 1) * k), 1).worst;
  const own = constantPatchFor(piece, Float64Array.from(wv));
  const lowerBound = own ? own.norm : Infinity;
  if (!chosen.d) {
    notes.push('no constant output shift satisfies the spec at the bounds of this box (the spec rows cannot all be met by one shift)');
    return {
      patch: null,
      needed: true,
      piece: chosen.piece,
      upper: chosen.U,
      found: chosen.L,
      norm: Infinity,
      minimalNorm,
      lowerBound,
      witness,
      witnessViolation: chosen.L[wr],
      notes,
    };
  }
  const { A, b } = boxRows(box);
  // The activation pattern at the box centre: a valid pattern string for the formats; the patch
  // carries no `rows` provenance, so its support is always written as these dense box rows.
  let pattern = '0'.repeat(Math.ceil(net.hiddenCount / 4));
  if (net.denseLayers) {
    const zs = forwardTrace(net.denseLayers, pts[0]);
    const bits: number[] = [];
    net.denseLayers.forEach((l, i) => {
      if (l.relu) for (const v of zs[i]) bits.push(v > 0 ? 1 : 0);
    });
    if (bits.length === net.hiddenCount) pattern = patternHex(bits);
  }
  const patch: RegionPatch = {
    kind: 'constant',
    A,
    b,
    radius: opts.radius,
    d: chosen.d,
    region: {
      points: [],
      pattern,
      constraints: b.length,
      patchNorm: chosen.norm,
      lowerBound,
      minimalityProof: 'box-bound',
      specPiece: pieces.length > 1 ? chosen.piece : undefined,
      box: { lower: [...box.lower], upper: [...box.upper], minimalNorm },
    },
  };
  return {
    patch,
    needed: true,
    piece: chosen.piece,
    upper: chosen.U,
    found: chosen.L,
    norm: chosen.norm,
    minimalNorm,
    lowerBound,
    witness,
    witnessViolation: chosen.L[wr],
    notes,
  };
}

/** The certificate of one box on a finished network, by bounds. */
export interface BoxCertificate {
  box: { lower: number[]; upper: number[] };
  method: 'bounds';
  status: 'certified' | 'refused';
  /** The piece proven (the one with the smallest proven bound). */
  piece: number;
  /** Chain index of the last patch whose support is exactly 1 on the whole box (−1: none). */
  anchor: number;
  /** Patches whose band reaches the box, and those in the convex mix the bound charges. */
  reaching: number;
  mixed: number;
  /** max_j (U_j + shift_j) with the rounding charge, on the proven piece; certified iff <= tolerance. */
  provenBound: number;
  tolerance: number;
  /** Per row of the proven piece: the bound of the original part and the patches' shift. */
  rows: { upper: number; shift: number }[];
  /** Per piece tried, per row: the bound of the original network on the box (pieces not tried: empty). */
  uppers: number[][];
  reason?: string;
  /**
   * On a refusal: a point of the box where the finished network's output lies outside every piece
   * of the safe set (evaluated by the finished network), with that violation (min over pieces of
   * the largest row), when the search finds one (sign-gradient ascent of the spec rows on the
   * original network, and random points). Absent: the refusal may be the bounds' looseness only.
   */
  witness?: { x: number[]; violation: number };
  ms: number;
}

/**
 * The box a box patch's band lies in: every point where its gate is > 0 is within r of the box on
 * each input (its support rows are the box faces, unit norm), so inside `box` widened by `r`,
 * rounded outward, clipped to `within` (the area: points outside it are not certified). The box
 * patches are sized from bounds over this very box ({@link boxPatch} `sizeBox`), and the
 * certificate bounds each mixed patch's term over it ({@link certifyBox}), so both see the same
 * bound (symbolic bounds are not monotone in the box: a part of a box can get a larger bound).
 */
export function bandBox(box: Box, r: number, within?: Box): Box {
  const out = (v: number) => 4 * Number.EPSILON * Math.abs(v) + Number.MIN_VALUE;
  const lower = box.lower.map((l, j) => {
    const v = l - r;
    const lo = v - out(v);
    return within ? Math.min(Math.max(within.lower[j], lo), l) : lo;
  });
  const upper = box.upper.map((u, j) => {
    const v = u + r;
    const hi = v + out(v);
    return within ? Math.max(Math.min(within.upper[j], hi), u) : hi;
  });
  return { lower, upper };
}

/**
 * The box of a patch whose support rows are all box faces (one coefficient ±1 each, both sides of
 * every input): read from the finished network's own rows, never from the repair's metadata.
 * Null for any other support.
 */
function supportBox(p: RegionPatch, n: number): Box | null {
  if (p.b.length !== 2 * n) return null;
  const lower = new Array<number>(n).fill(Number.NaN);
  const upper = new Array<number>(n).fill(Number.NaN);
  for (let i = 0; i < p.b.length; i++) {
    let at = -1;
    for (let j = 0; j < n; j++) {
      const a = p.A[i * n + j];
      if (a === 0) continue;
      if (at >= 0 || (a !== 1 && a !== -1)) return null;
      at = j;
    }
    if (at < 0) return null;
    // a = 1: x_j <= b; a = −1: −x_j <= b, x_j >= −b (negation is exact).
    if (p.A[i * n + at] === 1) upper[at] = p.b[i];
    else lower[at] = -p.b[i];
  }
  if (lower.some((v) => Number.isNaN(v)) || upper.some((v) => Number.isNaN(v))) return null;
  return { lower, upper };
}

/**
 * Per chain index, per piece, per row: a proven upper bound of P_j f − q_j over the patch's band
 * box ({@link bandBox}); filled lazily by {@link certifyBox}, shared by the boxes of one network.
 */
export type BandBounds = Map<number, (number[] | undefined)[]>;

/**
 * Which patches of a chain can reach a box, without testing every patch: box-supported patches
 * are filed by their band box ({@link bandBox}, derived from their own rows) in a grid over up to
 * four inputs (cells as wide as the median band), and only those filed in the cells the box
 * overlaps are tested; patches with other
 * supports, and bands much wider than most, are always tested. The test itself is
 * {@link bandReachesBox} (exact for every patch returned; a patch not returned has its band box
 * apart from the box along a grid input, so its band cannot reach it).
 */
export class BandIndex {
  private readonly always: number[] = [];
  /** Up to 3 inputs the grid spans (where the bands lie most apart), its origin, cell sizes and counts. */
  private readonly dims: number[] = [];
  private readonly origin: number[] = [];
  private readonly cell: number[] = [];
  private readonly count: number[] = [];
  private readonly cells = new Map<number, number[]>();
  private readonly stamp: Uint32Array;
  private tick = 0;

  constructor(readonly chain: readonly RegionPatch[]) {
    this.stamp = new Uint32Array(chain.length);
    const n = chain[0]?.A.length && chain[0].b.length ? chain[0].A.length / chain[0].b.length : 0;
    let bands: { i: number; box: Box }[] = [];
    chain.forEach((p, i) => {
      const sb = n > 0 ? supportBox(p, n) : null;
      if (sb) bands.push({ i, box: bandBox(sb, p.radius) });
      else this.always.push(i);
    });
    if (bands.length === 0) return;
    const median = (j: number) => {
      const w = bands.map((b) => b.box.upper[j] - b.box.lower[j]).sort((a, b) => a - b);
      return w[Math.floor(w.length / 2)];
    };
    const scored = Array.from({ length: n }, (_, j) => {
      const med = median(j);
      let lo = Infinity;
      let hi = -Infinity;
      for (const b of bands) {
        lo = Math.min(lo, b.box.lower[j]);
        hi = Math.max(hi, b.box.lower[j]);
      }
      return { j, med, score: med > 0 ? (hi - lo) / med : 0 };
    })
      .filter((d) => d.score > 2)
      .sort((a, b) => b.score - a.score)
      .slice(0, 4);
    // Bands wider than 4 × the median along a grid input are tested always (a few large box
    // patches would otherwise make the cells large).
    bands = bands.filter((b) => {
      const wide = scored.some((d) => b.box.upper[d.j] - b.box.lower[d.j] > 4 * d.med);
      if (wide) this.always.push(b.i);
      return !wide;
    });
    for (const d of scored) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const b of bands) {
        lo = Math.min(lo, b.box.lower[d.j]);
        hi = Math.max(hi, b.box.upper[d.j]);
      }
      if (bands.length === 0) continue;
      this.dims.push(d.j);
      this.origin.push(lo);
      this.cell.push(d.med);
      this.count.push(Math.floor((hi - lo) / d.med) + 1);
    }
    // Each band (at most 4 cells wide) is filed in every cell it overlaps (at most 5 per grid input).
    for (const b of bands) this.visit(b.box, (key) => this.file(key, b.i));
  }

  private file(key: number, i: number): void {
    const list = this.cells.get(key);
    if (list) list.push(i);
    else this.cells.set(key, [i]);
  }

  /**
   * Calls `f` with the key of every cell `box` overlaps (clamped to the grid); or, with `orAll`,
   * when those are more than the cells in use, with every cell in use.
   */
  private visit(box: Box, f: (key: number) => void, orAll = false): void {
    const lo: number[] = [];
    const hi: number[] = [];
    let total = 1;
    for (let t = 0; t < this.dims.length; t++) {
      const j = this.dims[t];
      lo.push(Math.max(0, Math.floor((box.lower[j] - this.origin[t]) / this.cell[t])));
      hi.push(Math.min(this.count[t] - 1, Math.floor((box.upper[j] - this.origin[t]) / this.cell[t])));
      if (hi[t] < lo[t]) return;
      total *= hi[t] - lo[t] + 1;
    }
    if (orAll && total > this.cells.size) {
      for (const key of this.cells.keys()) f(key);
      return;
    }
    const walk = (t: number, key: number): void => {
      if (t === this.dims.length) {
        f(key);
        return;
      }
      for (let c = lo[t]; c <= hi[t]; c++) walk(t + 1, key * this.count[t] + c);
    };
    walk(0, 0);
  }

  /** Chain indices (ascending) of the patches whose band reaches `box` ({@link bandReachesBox}). */
  reaching(box: Box): number[] {
    const out: number[] = [];
    for (const i of this.always) if (bandReachesBox(this.chain[i], box)) out.push(i);
    this.tick++;
    // A band box meeting the box shares a cell with it along every grid input: the cell index
    // floor((x − origin) / cell) is monotone in x in floating point too (both operations round
    // monotonically), so overlapping intervals get overlapping index ranges.
    this.visit(
      box,
      (key) => {
        for (const i of this.cells.get(key) ?? []) {
          if (this.stamp[i] === this.tick) continue;
          this.stamp[i] = this.tick;
          if (bandReachesBox(this.chain[i], box)) out.push(i);
        }
      },
      true,
    );
    return out.sort((x, y) => x - y);
  }
}

const bandIndexes = new WeakMap<readonly RegionPatch[], BandIndex>();

/** The {@link BandIndex} of a chain (built once per chain array). */
export function bandIndexOf(chain: readonly RegionPatch[]): BandIndex {
  let idx = bandIndexes.get(chain);
  if (!idx) {
    idx = new BandIndex(chain);
    bandIndexes.set(chain, idx);
  }
  return idx;
}

/** Is every support row of `p` satisfied on the whole box (so its support is 1 there, given the gate)? */
function holdsOnBox(p: RegionPatch, box: Box): boolean {
  const n = box.lower.length;
  for (let i = 0; i < p.b.length; i++) {
    let mx = -p.b[i];
    let mag = Math.abs(p.b[i]);
    let terms = 0;
    let unit = true;
    for (let j = 0; j < n; j++) {
      const a = p.A[i * n + j];
      if (a === 0) continue;
      terms++;
      unit &&= a === 1 || a === -1;
      const lo = a * box.lower[j];
      const hi = a * box.upper[j];
      mx += Math.max(lo, hi);
      mag += Math.max(Math.abs(lo), Math.abs(hi));
    }
    // A box face (one coefficient ±1): a·x is exact and the one subtraction keeps the sign of
    // the exact difference (rounding is monotone, 0 is exact), so no charge. Any other row: the
    // rounding of the row's maximum charged (as in bandReachesBox below).
    const charge = terms <= 1 && unit ? 0 : 4 * (n + 2) * Number.EPSILON * mag;
    if (mx + charge > 0) return false;
  }
  return true;
}

/**
 * Can the band of `p` reach the box? False only when some support row has a·x − b >= r on the
 * whole box (then that row's clamp term is 0, so g = 0 and the patch adds exactly nothing), with
 * the rounding of the row's minimum over the box charged (twin of certificate/band.rs).
 */
export function bandReachesBox(p: RegionPatch, box: Box): boolean {
  const n = box.lower.length;
  for (let i = 0; i < p.b.length; i++) {
    let mn = -p.b[i];
    let mag = Math.abs(p.b[i]);
    for (let j = 0; j < n; j++) {
      const a = p.A[i * n + j];
      if (a === 0) continue;
      const lo = a * box.lower[j];
      const hi = a * box.upper[j];
      mn += Math.min(lo, hi);
      mag += Math.max(Math.abs(lo), Math.abs(hi));
    }
    if (mn - 4 * (n + 2) * Number.EPSILON * mag >= p.radius) return false;
  }
  return true;
}

/**
 * Certifies the finished network on a box by bounds (module comment): every point of the box is
 * mapped into one convex piece of the spec. The bounds are computed on `rep.original` (the finished
 * network's own parameters) and the patches are read from `rep.patches`; nothing from the repair
 * is trusted. Without a patch whose support is 1 on the whole box, "no patch" (the original
 * output) is part of the mix.
 */
export async function certifyBox(
  rep: RepairedNetwork,
  box: Box,
  spec: Spec | SpecUnion,
  opts: {
    tolerance?: number;
    /** The sound bound of the original network's rows (ts/bounds.ts; default `best`). */
    bound?: BoundMethod;
    signal?: AbortSignal;
    /** Search a witness on a refusal (default true). */
    witness?: boolean;
    /** Per piece and row, a proven upper bound of P_j f − q_j on an enclosing box (used when smaller). */
    upperCap?: readonly (readonly number[])[];
    /** The area: the band boxes of mixed box patches are clipped to it (default: not clipped). */
    within?: Box;
    /** Cache of the band boxes' bounds (one per finished network and `within`). */
    bandBounds?: BandBounds;
    /** Chain indices of every patch whose band may reach the box (e.g. those reaching an enclosing box; default: the band index's). */
    candidates?: readonly number[];
  } = {},
): Promise<BoxCertificate> {
  const pause = periodicYield(50);
  const t0 = performance.now();
  const tolerance = opts.tolerance ?? 0;
  const chain = rep.patches;
  const gate = rep.boxGate;
  const k = rep.outputSize;
  const base = { box: { lower: [...box.lower], upper: [...box.upper] }, method: 'bounds' as const, tolerance };
  // The shared box gate is exactly 1 only inside its box.
  const inGate = !gate || box.lower.every((l, j) => l >= gate.lower[j] && box.upper[j] <= gate.upper[j]);
  const reach = new Array<boolean>(chain.length).fill(false);
  for (const i of opts.candidates ?? bandIndexOf(chain).reaching(box))
    if (opts.candidates === undefined || bandReachesBox(chain[i], box)) reach[i] = true;
  let anchor = -1;
  if (inGate) for (let i = 0; i < chain.length; i++) if (chain[i].kind === 'constant' && reach[i] && holdsOnBox(chain[i], box)) anchor = i;
  const mix: number[] = [];
  const affine: number[] = [];
  chain.forEach((p, i) => {
    if (!reach[i]) return;
    if (p.kind === 'constant') {
      if (i >= anchor) mix.push(i);
    } else affine.push(i);
  });
  let bestPiece = -1;
  let bestBound = Infinity;
  let bestRows: { upper: number; shift: number }[] = [];
  const pieces = piecesOf(spec);
  const uppers: number[][] = pieces.map(() => []);
  const n = box.lower.length;
  // A band box clipped to `within` holds the band's points of `within` only: so the box must lie in it.
  if (opts.within && box.lower.some((l, j) => !(l >= opts.within!.lower[j] && box.upper[j] <= opts.within!.upper[j])))
    throw new InputError('must lie inside `within` (the area the band boxes are clipped to)', { field: 'box' });
  const bandBounds = opts.bandBounds ?? new Map();
  // A proven bound of the row over patch i's band box: the only points where i's weight is > 0.
  const bandUpper = (i: number, pi: number, r: number): number => {
    let per = bandBounds.get(i);
    if (!per) {
      per = pieces.map(() => undefined);
      bandBounds.set(i, per);
    }
    let rows = per[pi];
    if (!rows) {
      const sb = supportBox(chain[i], n);
      const piece = pieces[pi];
      const nr = specRows(piece);
      rows = sb
        ? Array.from(
            specRowsUpperBounds(
              rep.original,
              bandBox(sb, chain[i].radius, opts.within),
              piece.P.subarray(0, nr * k),
              piece.q.subarray(0, nr),
              {
                method: opts.bound ?? 'best',
              },
            ),
          )
        : new Array<number>(nr).fill(Infinity);
      per[pi] = rows;
    }
    return rows[r];
  };
  // The piece the anchor patch was made for first: once a piece is proven the others are not tried.
  const first = anchor >= 0 ? (chain[anchor].region.specPiece ?? 0) : 0;
  const order = [first, ...pieces.map((_, i) => i).filter((i) => i !== first)];
  for (const pi of order) {
    if (bestBound <= tolerance) break;
    throwIfAborted(opts.signal);
    const piece = pieces[pi];
    let worst = -Infinity;
    const rows: { upper: number; shift: number }[] = [];
    const nr = specRows(piece);
    await pause();
    throwIfAborted(opts.signal);
    const U = specRowsUpperBounds(rep.original, box, piece.P.subarray(0, nr * k), piece.q.subarray(0, nr), {
      method: opts.bound ?? 'best',
    });
    await pause();
    throwIfAborted(opts.signal);
    for (let r = 0; r < nr; r++) {
      const c = piece.P.subarray(r * k, (r + 1) * k);
      // A bound proven on an enclosing box holds here too (bounds are not monotone in the box).
      const cap = opts.upperCap?.[pi]?.[r] ?? Infinity;
      const u = Math.min(cap, U[r]);
      uppers[pi][r] = u;
      // P_j f̂ − q_j = Σ_i w_i (P_j f − q_j + P_j d_i) over the convex mix (weights summing to 1;
      // without an anchor the original output is a term with d = 0), plus the affine patches. Term
      // i counts only where w_i > 0, inside patch i's band box, so it is bounded by the smaller of
      // u and the bound over that band box (computed only where u alone does not suffice).
      let mixed = anchor < 0 ? u : -Infinity;
      let mag = Math.abs(u);
      for (const i of mix) {
        let s = 0;
        for (let o = 0; o < k; o++) s += c[o] * chain[i].d[o];
        let t = u + s;
        if (t + 1e-12 * (1 + Math.abs(u) + Math.abs(s)) > tolerance) {
          const w = bandUpper(i, pi, r);
          if (w < u) t = w + s;
          mag = Math.max(mag, Math.abs(w));
        }
        mixed = Math.max(mixed, t);
        mag = Math.max(mag, Math.abs(s));
      }
      let affineSum = 0;
      for (const i of affine) {
        const H = chain[i].H;
        let s = 0;
        if (H) for (let o = 0; o < k; o++) s += Math.abs(c[o]) * H[o];
        else s = Infinity;
        affineSum += s;
      }
      const shift = mixed + affineSum - u;
      // The float sums above are charged a relative 1e-12 (far beyond their rounding error).
      const total = mixed + affineSum + 1e-12 * (1 + mag + Math.abs(affineSum));
      rows.push({ upper: u, shift });
      worst = Math.max(worst, total);
    }
    if (worst < bestBound || bestPiece < 0) {
      bestBound = worst;
      bestPiece = pi;
      bestRows = rows;
    }
  }
  const ok = bestBound <= tolerance;
  const witness = ok || opts.witness === false ? undefined : await refusalWitness(rep, box, spec, pause, opts.signal);
  return {
    ...base,
    status: ok ? 'certified' : 'refused',
    piece: bestPiece,
    anchor,
    uppers,
    reaching: reach.filter(Boolean).length,
    mixed: mix.length + affine.length,
    provenBound: bestBound,
    rows: bestRows,
    ...(witness ? { witness } : {}),
    ...(ok
      ? {}
      : {
          reason: `proven bound ${bestBound} > tolerance ${tolerance}${anchor < 0 ? ' (no patch has support 1 on the whole box: the original output is part of the mix)' : ''}`,
        }),
    ms: performance.now() - t0,
  };
}

/**
 * The worst point found for the finished network on a box, when it violates (see
 * `BoxCertificate.witness`): sign-gradient ascent of the union's violation v(x) = min over pieces
 * of the largest row, evaluated on the finished network, stepping along the gradient of the active
 * row on the original network (the patches add constants inside their supports); from the centre
 * and random starts.
 */
async function refusalWitness(
  rep: RepairedNetwork,
  box: Box,
  spec: Spec | SpecUnion,
  pause: () => Promise<void>,
  signal?: AbortSignal,
): Promise<{ x: number[]; violation: number } | undefined> {
  const n = box.lower.length;
  const k = rep.outputSize;
  const pieces = piecesOf(spec);
  const layers = rep.original.denseLayers;
  const rand = mulberry(9);
  const value = (y: Float64Array): { v: number; c: Float64Array<ArrayBufferLike> } => {
    let v = Infinity;
    let c: Float64Array<ArrayBufferLike> = new Float64Array(k);
    for (const piece of pieces) {
      const rows = specRows(piece);
      let worst = -Infinity;
      let at = 0;
      for (let r = 0; r < rows; r++) {
        let s = -piece.q[r];
        for (let o = 0; o < k; o++) s += piece.P[r * k + o] * y[o];
        if (s > worst) {
          worst = s;
          at = r;
        }
      }
      if (worst < v) {
        v = worst;
        c = piece.P.subarray(at * k, (at + 1) * k);
      }
    }
    return { v, c };
  };
  let best = -Infinity;
  let bestX: Float64Array | null = null;
  // Starts: the centre and the 15 worst of min(64·n, 256) uniform points (one batched forward pass
  // of the finished network): a violation left in a small part of the box is found far more often from
  // the points already closest to it than from 15 blind starts.
  const m = Math.min(64 * n, 256);
  const xs = Float64Array.from({ length: m * n }, (_, i) => box.lower[i % n] + rand() * (box.upper[i % n] - box.lower[i % n]));
  const ys = rep.forwardFlat(xs, m);
  const ranked = Array.from({ length: m }, (_, i) => ({ i, v: value(ys.subarray(i * k, (i + 1) * k)).v })).sort(
    (a, b) => b.v - a.v || a.i - b.i,
  );
  const starts = [Float64Array.from(box.lower, (l, j) => 0.5 * (l + box.upper[j]))];
  for (const { i } of ranked.slice(0, 15)) starts.push(xs.slice(i * n, (i + 1) * n));
  for (const x of starts) {
    await pause();
    throwIfAborted(signal);
    for (let t = 0; t < (layers ? 30 : 1); t++) {
      const { v, c } = value(rep.forwardFlat(x, 1));
      if (v > best) {
        best = v;
        bestX = Float64Array.from(x);
      }
      if (!layers) break;
      const { grad } = rowValueGrad(layers, x, c);
      const scale = 0.5 * 0.85 ** t;
      for (let j = 0; j < n; j++)
        x[j] = Math.min(Math.max(x[j] + scale * (box.upper[j] - box.lower[j]) * Math.sign(grad[j]), box.lower[j]), box.upper[j]);
    }
  }
  return best > 0 && bestX ? { x: Array.from(bestX), violation: best } : undefined;
}

/**
 * {@link certifyBox} on a box, and where it refuses, on its halves along the widest input, down to
 * `depth` splits (parts away from a reaching band drop those patches from the mix). Returns the
 * certificate of every part proven and the parts left without a proof.
 */
export async function certifyBoxParts(
  rep: RepairedNetwork,
  box: Box,
  spec: Spec | SpecUnion,
  depth: number,
  opts: {
    tolerance?: number;
    bound?: BoundMethod;
    signal?: AbortSignal;
    within?: Box;
    bandBounds?: BandBounds;
    /** Stop after this many refused parts (one is enough to refuse the box; default: every part walked). */
    maxRefused?: number;
    /** `each`: a witness searched on every refused part (default); `first`: until one is found. */
    witnesses?: 'each' | 'first';
  } = {},
): Promise<{ proven: BoxCertificate[]; refused: BoxCertificate[] }> {
  opts = { ...opts, bandBounds: opts.bandBounds ?? new Map() };
  const maxRefused = opts.maxRefused ?? Infinity;
  const proven: BoxCertificate[] = [];
  const refused: BoxCertificate[] = [];
  let witnessed = false;
  // The patches reaching the whole box: the only ones that can reach its parts.
  const candidates = bandIndexOf(rep.patches).reaching(box);
  const walk = async (b: Box, left: number, cap?: number[][]): Promise<void> => {
    if (refused.length >= maxRefused) return;
    throwIfAborted(opts.signal);
    const c = await certifyBox(rep, b, spec, { ...opts, witness: false, upperCap: cap, candidates });
    const caps = c.uppers.map((rows, pi) => rows.map((u, r) => Math.min(u, cap?.[pi]?.[r] ?? Infinity)));
    for (let pi = 0; pi < caps.length; pi++) if (caps[pi].length === 0 && cap?.[pi]) caps[pi] = [...cap[pi]];
    if (c.status === 'certified') {
      proven.push(c);
      return;
    }
    // A neighbouring box patch mixed here (later in the chain than the one whose support is 1 on
    // the whole box): its band is a slab of width r inside this box: cut just beyond it
    // first, so that the rest is provably out of that band (the cut does not count in `depth`:
    // each puts a band face on the part's boundary, at most twice per input and patch).
    for (const i of candidates) {
      if (i <= c.anchor || !bandReachesBox(rep.patches[i], b)) continue;
      const p = rep.patches[i];
      const pb = p.region.box;
      if (!pb) continue;
      for (let j = 0; j < b.lower.length; j++)
        for (const cut of [pb.lower[j] - 1.001 * p.radius, pb.upper[j] + 1.001 * p.radius])
          if (cut > b.lower[j] && cut < b.upper[j]) {
            const lo = { lower: [...b.lower], upper: [...b.upper] };
            const hi = { lower: [...b.lower], upper: [...b.upper] };
            lo.upper[j] = cut;
            hi.lower[j] = cut;
            await walk(lo, left, caps);
            await walk(hi, left, caps);
            return;
          }
    }
    let w = 0;
    for (let j = 1; j < b.lower.length; j++) if (b.upper[j] - b.lower[j] > b.upper[w] - b.lower[w]) w = j;
    const mid = 0.5 * (b.lower[w] + b.upper[w]);
    if (left <= 0 || !(mid > b.lower[w] && mid < b.upper[w])) {
      const witness =
        witnessed && opts.witnesses === 'first' ? undefined : await refusalWitness(rep, b, spec, periodicYield(50), opts.signal);
      witnessed ||= witness !== undefined;
      refused.push(witness ? { ...c, witness } : c);
      return;
    }
    const lo = { lower: [...b.lower], upper: [...b.upper] };
    const hi = { lower: [...b.lower], upper: [...b.upper] };
    lo.upper[w] = mid;
    hi.lower[w] = mid;
    await walk(lo, left - 1, caps);
    await walk(hi, left - 1, caps);
  };
  await walk(box, depth);
  return { proven, refused };
}
