/**
 * Patch networks (METHOD.md §2; twin of crates/core/src/patch.rs), with clamp gating:
 *
 *   g_A(x) = ReLU( Σ_i [ReLU(γ s_i + 1) − ReLU(γ s_i)] − m + 1 ),   s_i = b_i − a_i·x,  γ = 1/r
 *   constant patch:  h_A(x) = d · g_A(x)
 *   affine patch:    h_A(x) = ReLU(p + H g_A) − ReLU(p − H g_A) − H g_A,   p = C x + d
 *
 * g_A = 1 on the region and 0 wherever Σ_i (a_i·x − b_i)⁺ >= r (rows normalised, so r is a
 * distance in input units): the patch is exactly p on A and exactly 0 beyond r from every face
 * set, with no domain-wide constant K.
 */
import { InputError } from './errors.js';
import type { InputSet, MinimalityProof } from './region.js';

export interface PatchNetwork {
  kind: 'constant' | 'affine';
  /** Support rows a_i·x <= b_i, row-major `m × inputs`, ‖a_i‖₂ = 1. */
  A: Float64Array;
  b: Float64Array;
  /** Locality radius r (input units). */
  radius: number;
  /** Affine part (affine patches only), `outputs × inputs`. */
  C?: Float64Array;
  d: Float64Array;
  /** Clamp bounds H_j >= max over the region of |p_j| (affine patches only). */
  H?: Float64Array;
}

/**
 * Where a patch's support rows come from: row `index[i]` of the linear region of the patch's
 * activation pattern (hidden neuron `neuron[i]`, or −1 for a row of the input set), whose
 * pre-activation had norm `norm[i]` before normalisation. With it, the rows can be recomputed
 * exactly from the network and the pattern (compact JSON), and an exporter can compute them from
 * the network's own pre-activations instead of dense rows (compact ONNX).
 */
export interface SupportRows {
  index: Int32Array;
  neuron: Int32Array;
  norm: Float64Array;
}

/** What a patch repairs and how well: reported and saved with the patch. */
export interface PatchRegionInfo {
  /** Indices (into the repaired points) of the points in this linear region. */
  points: number[];
  /** Activation pattern as a hex string (4 neurons per digit, first neuron = high bit). */
  pattern: string;
  /** Rows of the region: hidden-neuron half-spaces + 2 box faces per input. */
  constraints: number;
  /** ‖p‖∞ over the region. */
  patchNorm: number;
  /** t_LB: no affine patch on this region has a smaller norm. */
  lowerBound: number;
  /** `box-bound`: a box patch (ts/box-patch.ts), sized from a sound bound; its gap is in `box`. */
  minimalityProof: MinimalityProof | 'box-bound';
  /**
   * Set on a box patch (ts/box-patch.ts): its support is this box's faces, and `minimalNorm` is the
   * norm of the constant patch built from the worst violations found (no constant patch valid on
   * the box is smaller; `patchNorm` is the one built from the sound bound).
   */
  box?: { lower: number[]; upper: number[]; minimalNorm: number };
  /** With a union spec (non-convex Φ_out): the index of the convex piece this region was repaired with. */
  specPiece?: number;
  /**
   * Set when the patch was enlarged to stay valid on the parts of neighbouring regions its band
   * covers (chain composition, ts/compose.ts): `patchNorm` is then the smallest norm of a constant
   * patch valid there too, and `minimalNorm` the minimal norm on the region alone.
   */
  bandConstrained?: { minimalNorm: number };
  /** Set on the cells of a region split into several constant patches (ts/compose.ts). */
  cell?: { index: number; of: number };
  /** Set when the core simplex failed on the region and this backend's certified answers were used (ts/minimal.ts). */
  lpFallback?: string;
}

export interface RegionPatch extends PatchNetwork {
  region: PatchRegionInfo;
  /** Provenance of the support rows, when they are rows of the region of `region.pattern`. */
  rows?: SupportRows;
  /** The input set the region was intersected with (raw rows), if any. */
  inputSet?: InputSet;
  /**
   * Per row of the spec the patch was solved for, the multipliers of that row's LP over the
   * region on each support row (`spec rows × support rows`, row-major): an untrusted hint for
   * the certificate (see `Certifier.region`), kept in memory only (never saved).
   */
  lpDuals?: Float64Array;
}

export function patternHex(p: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < p.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) v = (v << 1) | (i + j < p.length && p[i + j] ? 1 : 0);
    s += v.toString(16);
  }
  return s;
}

/**
 * A support row that is a box face: x_j <= b (`sign` 1) or −x_j <= b (`sign` −1), i.e. exactly one
 * non-zero coefficient, ±1; null for any other row. Exporters write such rows element-wise.
 */
export function boxFace(row: ArrayLike<number>): { input: number; sign: 1 | -1 } | null {
  let nz = -1;
  for (let j = 0; j < row.length; j++) {
    if (row[j] === 0) continue;
    if (nz >= 0) return null;
    nz = j;
  }
  return nz >= 0 && (row[nz] === 1 || row[nz] === -1) ? { input: nz, sign: row[nz] as 1 | -1 } : null;
}

/** Activation pattern from its hex form ({@link patternHex}): 4 neurons per digit, high bit first. */
export function patternFromHex(hex: string, hidden: number, field = 'pattern'): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-f]*$/i.test(hex) || hex.length !== Math.ceil(hidden / 4)) {
    throw new InputError(`must be ${Math.ceil(hidden / 4)} hex digits (${hidden} hidden neurons)`, { field, value: hex });
  }
  const out = new Uint8Array(hidden);
  for (let i = 0; i < hidden; i++) out[i] = (parseInt(hex[i >> 2], 16) >> (3 - (i & 3))) & 1;
  return out;
}
