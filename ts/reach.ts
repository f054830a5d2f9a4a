/**
 * Which patch bands can reach which points and regions (twin of crates/core/src/reach.rs), so
 * that point-wise repair costs per point what the point's own region costs, not points × patches
 * (issue 14).
 *
 * A patch's support is 0 wherever Σ_i (a_i·x − b_i)⁺ >= r over its rows (ts/patch.ts). For a
 * network whose first layer is dense and ReLU, the rows of the first-layer neurons are the same
 * hyperplanes in every region: row k of a region reads ∓z_k(x)/‖W_k‖, z_k = W_k·x + c_k, minus
 * for an active neuron. So at a point x whose first-layer state differs from the patch's region
 * at neuron k, that row alone contributes |z_k(x)|/‖W_k‖: the sum over such neurons is a lower
 * bound on the excess, computed from bit patterns and one forward pass of the first layer, with
 * the rounding of both sides covered by a guard. {@link BandIndex} keeps these per point;
 * {@link forwardAt} evaluates a repaired network through the patches the bound cannot exclude.
 */
import { InputError } from './errors.js';
import type { Network } from './network.js';
import type { RegionPatch } from './patch.js';
import type { RepairedNetwork } from './repaired.js';

/** The first-layer states of a patch's region and which first-layer neurons its support has rows for. */
export interface PatchSignature {
  /** State bits (1 = active) of the first-layer neurons, 32 per word. */
  bits: Uint32Array;
  /** Bit k set when the support has the row of first-layer neuron k. */
  mask: Uint32Array;
}

/** Relative slack on the bound: covers the rounding of the core's support evaluation (m² ε for m rows) with room. */
export const REL = 1e-6;
const EPS = 2 ** -52;

export class BandIndex {
  /** First-layer neurons (the first `h` entries of every activation pattern). */
  readonly h: number;
  private readonly words: number;
  /** Per point: state bits of the first-layer neurons. */
  private readonly bits: Uint32Array;
  /** Per point and first-layer neuron: a lower bound on |z_k(x)| / ‖W_k‖ (rounding guard subtracted). */
  private readonly depth: Float64Array;
  /** Per first-layer neuron: its row in every region (neurons with W_k = 0 have none: −1). */
  private readonly rows: Int32Array;
  private readonly first: { n: number; W: ArrayLike<number>; c: ArrayLike<number>; norms: Float64Array };

  private constructor(
    h: number,
    bits: Uint32Array,
    depth: Float64Array,
    rows: Int32Array,
    first: { n: number; W: ArrayLike<number>; c: ArrayLike<number>; norms: Float64Array },
  ) {
    this.h = h;
    this.words = Math.ceil(h / 32);
    this.bits = bits;
    this.depth = depth;
    this.rows = rows;
    this.first = first;
  }

  /** The index of `count` points (row-major `flat`), or undefined when the network's first layer is not a dense ReLU layer. */
  static of(network: Network, flat: Float64Array, count: number): BandIndex | undefined {
    const first = network.denseLayers?.[0];
    if (!first?.relu) return undefined;
    const n = first.inputs;
    const h = first.outputs;
    const words = Math.ceil(h / 32);
    const W = first.weights;
    const c = first.bias;
    const norms = new Float64Array(h);
    for (let k = 0; k < h; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += W[k * n + j] * W[k * n + j];
      norms[k] = Math.sqrt(s);
    }
    const bits = new Uint32Array(count * words);
    const depth = new Float64Array(count * h);
    for (let p = 0; p < count; p++) {
      const x = flat.subarray(p * n, (p + 1) * n);
      for (let k = 0; k < h; k++) {
        let z = c[k];
        let mag = Math.abs(c[k]);
        const row = k * n;
        for (let j = 0; j < n; j++) {
          const t = W[row + j] * x[j];
          z += t;
          mag += Math.abs(t);
        }
        // The pattern's rule: a pre-activation >= 0 is active.
        if (z >= 0) bits[p * words + (k >> 5)] |= 1 << (k & 31);
        // |z| computed here and the core's a·x − b both err by at most (n + 2)ε·mag (relative to ‖W_k‖).
        const guard = 2 * (n + 2) * EPS * mag;
        depth[p * h + k] = norms[k] > 0 ? Math.max(0, Math.abs(z) - guard) / (norms[k] * (1 + 1e-12)) : 0;
      }
    }
    // Regions have one row per non-constant neuron in pattern order (crates/core/src/network/
    // linearise.rs): a first-layer neuron is constant exactly when its weight row is 0.
    const rows = new Int32Array(h);
    let r = 0;
    for (let k = 0; k < h; k++) rows[k] = norms[k] > 0 ? r++ : -1;
    return new BandIndex(h, bits, depth, rows, { n, W, c, norms });
  }

  /**
   * The sum of the slacks b_k − a_k·x of the first-layer rows `ks` of the region of `pattern`, as
   * `b − c·x`, and a bound on how far it can differ from the same sum of the core's rows on the
   * box `[−scale, scale]ⁿ` (rounding of the normalisation and of both dot products). Its minimum
   * over the region bounds the excess of a patch with the opposite rows there.
   */
  slackSum(ks: readonly number[], pattern: ArrayLike<number>, scale: number): { c: Float64Array; b: number; guard: number } {
    const { n, W, c: bias, norms } = this.first;
    const c = new Float64Array(n);
    let b = 0;
    let guard = 0;
    for (const k of ks) {
      if (!(norms[k] > 0)) continue;
      // Active neuron: row −z_k ≤ 0; inactive: z_k ≤ 0 (normalised).
      const s = pattern[k] ? -1 : 1;
      let l1 = Math.abs(bias[k]);
      for (let j = 0; j < n; j++) {
        c[j] += (s * W[k * n + j]) / norms[k];
        l1 += Math.abs(W[k * n + j]) * scale;
      }
      b -= (s * bias[k]) / norms[k];
      guard += (4 * (n + 4) * EPS * l1) / norms[k];
    }
    return { c, b, guard: guard * (1 + ks.length * EPS * 8) + ks.length * EPS * Math.abs(b) * 8 };
  }

  /** The row of first-layer neuron `k` in every linear region (−1: none). */
  rowOf(k: number): number {
    return this.rows[k];
  }

  /** Point `p`'s distance bound from the hyperplane of first-layer neuron `k` (an upper bound on the depth of its region below that row). */
  pointDepth(p: number, k: number): number {
    return this.depth[p * this.h + k];
  }

  /**
   * The first-layer neurons where the region of `pattern` is on the other side of one of the
   * patch's rows: on that region the row's excess is the region's own slack below the same
   * hyperplane, so the sum of those slacks bounds the patch's excess there from below.
   */
  differing(sig: PatchSignature, pattern: ArrayLike<number>): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.h; k++) {
      const inMask = (sig.mask[k >> 5] >>> (k & 31)) & 1;
      if (inMask && ((sig.bits[k >> 5] >>> (k & 31)) & 1) !== (pattern[k] ? 1 : 0)) out.push(k);
    }
    return out;
  }

  /** The signature of a patch made for the region of `pattern` (first `h` entries are the first-layer states). */
  signature(patch: RegionPatch, pattern: ArrayLike<number>): PatchSignature | undefined {
    if (!patch.rows || pattern.length < this.h) return undefined;
    const bits = new Uint32Array(this.words);
    const mask = new Uint32Array(this.words);
    for (let k = 0; k < this.h; k++) if (pattern[k]) bits[k >> 5] |= 1 << (k & 31);
    for (const k of patch.rows.neuron) if (k >= 0 && k < this.h) mask[k >> 5] |= 1 << (k & 31);
    return { bits, mask };
  }

  /**
   * A lower bound on the excess Σ_i (a_i·x − b_i)⁺ of the patch's support at point `p`, summed
   * over the first-layer rows where the point's state differs; it stops as soon as it reaches `cap`.
   */
  lowerBound(sig: PatchSignature, p: number, cap: number): number {
    let sum = 0;
    const base = p * this.words;
    const d = p * this.h;
    for (let w = 0; w < this.words; w++) {
      let diff = ((this.bits[base + w] ^ sig.bits[w]) & sig.mask[w]) >>> 0;
      while (diff !== 0) {
        const low = diff & -diff;
        const k = (w << 5) + (31 - Math.clz32(low));
        sum += this.depth[d + k];
        if (sum >= cap) return sum;
        diff = (diff ^ low) >>> 0;
      }
    }
    return sum;
  }

  /** Whether the support of the patch (radius `radius`) is provably 0 at point `p`. */
  vanishes(sig: PatchSignature, p: number, radius: number): boolean {
    const cap = radius * (1 + REL);
    return this.lowerBound(sig, p, cap) >= cap;
  }
}

/**
 * The repaired network at `count` points, each through the patches listed for it (indices into
 * `network.patches`, increasing): bit for bit {@link RepairedNetwork.forwardFlat} wherever every
 * other patch's support is 0 (crates/core/src/reach.rs `forward_at`).
 */
export function forwardAt(
  network: RepairedNetwork,
  flat: Float64Array,
  count: number,
  candidates: readonly (readonly number[])[],
): Float64Array {
  if (candidates.length !== count)
    throw new InputError(`has ${candidates.length} candidate lists for ${count} points`, { field: 'candidates' });
  const off = new Float64Array(count + 1);
  candidates.forEach((c, p) => {
    off[p + 1] = off[p] + c.length;
  });
  const cands = new Float64Array(off[count]);
  candidates.forEach((c, p) => {
    cands.set(c, off[p]);
  });
  const { core, handle } = network.handle();
  return core.run('repaired forward at points', [flat, off, cands], [count * network.outputSize], ([xs, po, pc, o]) =>
    core.exports.rr_repaired_forward_at(handle, xs, count, po, pc, cands.length, o),
  )[0];
}
