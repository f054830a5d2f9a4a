/**
 * Sound composition of many constant patches (METHOD.md §4).
 *
 * The repaired network mixes its constant patches as a chain (ts/repaired.ts `Composition`): at
 * every input the patches whose band covers it are combined convexly, and on a patched region
 * only that region's patch and the later ones count. Since the spec Φ_out is convex, the spec
 * holds on a region R as soon as f + d_i satisfies it on R ∩ band_i for every patch i that can
 * be mixed in there (R's own patch on all of R). Two rules make that true:
 *
 * 1. **Order** (`chainOrder`): constant patches by increasing norm. For label specs every patch
 *    is t·w with one direction w per label, and a larger t only lowers every spec row, so a later
 *    patch of the same label is valid wherever an earlier one is (METHOD.md §4 (b)); the
 *    certificate then bounds those regions by their own patch alone.
 * 2. **Band validity** (`BandExpander.expand`): where a later patch i is not valid on a piece R ∩ band_i
 *    (band_i ⊆ {x : A_i x <= b_i + r_i}), d_i is recomputed as the smallest constant patch valid on
 *    its own region *and* on those pieces (one LP per spec row and piece, then the constant-patch
 *    problem min ‖d‖∞ s.t. P d <= −v). Its norm then exceeds the region's minimal norm by the
 *    amount reported (`minimalNorm` vs `patchNorm`); when no such patch exists the radius is shrunk
 *    instead (ts/certificate.ts `certifyWithRefinement`).
 * 3. **Affine patches** are summed, not mixed (w·(C x + d) is not a ReLU network). Where one
 *    breaks a certificate, it is replaced by its region's smallest constant patch if one exists
 *    (`BandExpander.toConstant`), which then joins the chain; otherwise its radius is shrunk.
 */
import { LpError } from './errors.js';
import type { Box, Network } from './network.js';
import { patternFromHex } from './enumerate.js';
import type { RegionPatch } from './patch.js';
import { type InputSet, LinearRegion } from './region.js';
import { type Spec, specRows } from './spec.js';
import { getCore } from './wasm/raw.js';

/** Chain order: constant patches by increasing norm (stable), then the affine ones (summed). */
export function chainOrder(patches: readonly RegionPatch[]): number[] {
  const idx = patches.map((_, i) => i);
  const key = (i: number) => (patches[i].kind === 'constant' ? 0 : 1);
  const norm = (i: number) => patches[i].d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return idx.sort((a, b) => key(a) - key(b) || (key(a) === 0 ? norm(a) - norm(b) : 0) || a - b);
}

/** min ‖d‖∞ s.t. P d <= −v (v: worst violations per spec row); null when no constant patch exists. */
export function constantPatchFor(spec: Spec, v: Float64Array): { d: Float64Array; norm: number } | null {
  const core = getCore();
  const rows = specRows(spec);
  const k = spec.outputs;
  const [out] = core.run('constant patch', [spec.P, spec.q, v], [2 + k], ([p, q, vv, o]) => core.exports.rr_constant_patch(p, q, rows, k, vv, o));
  return out[0] === 1 ? { d: out.slice(2), norm: out[1] } : null;
}

export type ExpandOutcome = 'expanded' | 'valid' | 'unreached' | 'infeasible';

/** Per patch: the worst violations its d must cover, and the radius they were computed at. */
interface Need {
  v: Float64Array;
  radius: number;
  minimalNorm: number;
}

/**
 * Makes chain patches valid on the pieces of other regions their bands cover (rule 2 above).
 * Mutates the patch (`d`, `region.patchNorm`, `region.bandConstrained`).
 */
export class BandExpander {
  private readonly needs = new Map<RegionPatch, Need>();

  constructor(
    readonly network: Network,
    readonly spec: Spec,
    readonly box: Box,
    readonly inputSet?: InputSet,
  ) {}

  private worst(pattern: ArrayLike<number>, band?: RegionPatch): Float64Array | null {
    const region = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
    try {
      if (band) region.intersect({ A: band.A, b: band.b.map((b) => b + band.radius) });
      return region.constantPatch(this.spec, { exactRows: true }).worstUpper;
    } catch (e) {
      if (e instanceof LpError) return null; // the piece is empty: the band does not reach the region
      throw e;
    } finally {
      region.free();
    }
  }

  private need(patch: RegionPatch): Need {
    let need = this.needs.get(patch);
    if (!need || need.radius !== patch.radius) {
      const pattern = patternFromHex(patch.region.pattern, this.network.hiddenCount, 'pattern');
      const v = this.worst(pattern);
      if (!v) throw new LpError(`the region of patch pattern ${patch.region.pattern} is empty`);
      need = { v, radius: patch.radius, minimalNorm: need?.minimalNorm ?? patch.region.patchNorm };
      this.needs.set(patch, need);
    }
    return need;
  }

  /**
   * Makes `patch` valid on the piece of the region `pattern` its band covers: `valid` when it
   * already is, `unreached` when the band misses the region, `expanded` when d was recomputed,
   * `infeasible` when no constant patch is valid on the region and all pieces so far.
   */
  expand(patch: RegionPatch, pattern: ArrayLike<number>): ExpandOutcome {
    if (patch.kind !== 'constant') return 'infeasible';
    const v = this.worst(pattern, patch);
    if (!v) return 'unreached';
    // Every piece checked is kept: a later recomputation of d stays valid on all of them.
    const need = this.need(patch);
    need.v = need.v.map((x, j) => Math.max(x, v[j]));
    const rows = specRows(this.spec);
    const k = this.spec.outputs;
    const scale = 1 + patch.d.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    let valid = true;
    for (let j = 0; j < rows && valid; j++) {
      let s = v[j];
      for (let o = 0; o < k; o++) s += this.spec.P[j * k + o] * patch.d[o];
      valid = s <= 1e-12 * scale;
    }
    if (valid) return 'valid';
    const best = constantPatchFor(this.spec, need.v);
    if (!best) return 'infeasible';
    patch.d = best.d;
    patch.region.patchNorm = best.norm;
    patch.region.bandConstrained = { minimalNorm: need.minimalNorm };
    return 'expanded';
  }

  /**
   * Replaces an affine patch by the smallest constant patch on its region (which then joins the
   * chain), when one exists: affine patches are summed, not mixed, so near other regions only a
   * constant patch composes soundly. Returns false when no constant patch exists.
   */
  toConstant(patch: RegionPatch): boolean {
    if (patch.kind !== 'affine') return false;
    const pattern = patternFromHex(patch.region.pattern, this.network.hiddenCount, 'pattern');
    const region = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
    let d: Float64Array | null;
    let norm: number;
    try {
      const cp = region.constantPatch(this.spec, { exactRows: true });
      [d, norm] = [cp.d, cp.norm];
    } finally {
      region.free();
    }
    if (!d) return false;
    const minimalNorm = patch.region.patchNorm;
    Object.assign(patch, { kind: 'constant', d, C: undefined, H: undefined });
    delete patch.C;
    delete patch.H;
    patch.region.patchNorm = norm;
    patch.region.bandConstrained = { minimalNorm };
    this.needs.delete(patch);
    return true;
  }
}
