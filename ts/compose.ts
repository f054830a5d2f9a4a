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
 *    instead (ts/refine.ts `certifyWithRefinement`).
 * 3. **Affine patches** are summed, not mixed (w·(C x + d) is not a ReLU network). Where one
 *    breaks a certificate, it is replaced by its region's smallest constant patch if one exists
 *    (`BandExpander.toConstant`), which then joins the chain; where none exists (the output
 *    varies more over the region than the spec allows), the region is split into cells, each
 *    with a constant patch (`BandExpander.split`); failing that, its radius is shrunk.
 */
import { EmptySetError } from './errors.js';
import { constantPatchFor } from './minimal.js';
import type { Box, Network } from './network.js';
import { patternFromHex, patternHex, type RegionPatch } from './patch.js';
import { type InputSet, LinearRegion } from './region.js';
import { type Spec, specRows } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';

/** Chain order: constant patches by increasing norm (stable), then the affine ones (summed). */
export function chainOrder(patches: readonly RegionPatch[]): number[] {
  const idx = patches.map((_, i) => i);
  const key = (i: number) => (patches[i].kind === 'constant' ? 0 : 1);
  const norm = (i: number) => patches[i].d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return idx.sort((a, b) => key(a) - key(b) || (key(a) === 0 ? norm(a) - norm(b) : 0) || a - b);
}

export type ExpandOutcome = 'expanded' | 'valid' | 'unreached' | 'infeasible';

/**
 * Per patch: the worst violations its d must cover, per convex piece of the safe set (its own
 * region's piece, and the piece of every region its band reaches), and the radius they were
 * computed at.
 */
interface Need {
  v: Map<number, Float64Array>;
  radius: number;
  minimalNorm: number;
}

/**
 * Makes chain patches valid on the pieces of other regions their bands cover (rule 2 above).
 * Mutates the patch (`d`, `region.patchNorm`, `region.bandConstrained`).
 */
export class BandExpander {
  private readonly needs = new Map<RegionPatch, Need>();
  /** The convex pieces of the safe set (one for a convex spec). */
  private readonly pieces: readonly Spec[];
  /** The piece chosen for each unpatched region (by pattern hex): one per region, for every band. */
  private readonly regionPiece = new Map<string, number | null>();

  constructor(
    readonly network: Network,
    readonly spec: Spec | SpecUnion,
    readonly box: Box,
    readonly inputSet?: InputSet,
  ) {
    this.pieces = isSpecUnion(spec) ? spec.pieces : [spec];
  }

  /**
   * The refinement hooks of `certifyWithRefinement` (ts/refine.ts) for the chain `patches`
   * (mutated in place), the certified regions' activation patterns and, for a union safe set,
   * the piece of each region that has its own patch.
   */
  hooks(patches: readonly RegionPatch[], patterns: readonly ArrayLike<number>[], pieces?: readonly (number | undefined)[]) {
    return {
      expand: (p: number, item: number) => this.expand(patches[p], patterns[item], pieces?.[item]),
      toConstant: (p: number) => this.toConstant(patches[p]),
      split: (p: number) => this.split(patches[p]),
    };
  }

  private ownPiece(patch: RegionPatch): number {
    return this.pieces.length > 1 ? (patch.region.specPiece ?? 0) : 0;
  }

  private worst(pattern: ArrayLike<number>, band: RegionPatch | undefined, relax: number, piece: number): Float64Array | null {
    const region = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
    try {
      if (band) region.intersect({ A: band.A, b: band.b.map((b) => b + relax) });
      return region.constantPatch(this.pieces[piece], { exactRows: true }).worstUpper;
    } catch (e) {
      if (e instanceof EmptySetError) return null; // the piece is empty: the band does not reach the region
      throw e;
    } finally {
      region.free();
    }
  }

  /**
   * The piece of a union safe set that an unpatched region is held to wherever bands reach it:
   * the piece the original network satisfies on the whole region with the most slack (or, when
   * no single piece holds on all of it, on the part the band reaches). One piece per region for
   * every band, so that at each point the original output and every patch mixed in lie in the
   * same convex piece, and so does their convex mix. null: no single piece holds there.
   */
  private pieceOf(pattern: ArrayLike<number>, band: RegionPatch): number | null {
    if (this.pieces.length === 1) return 0;
    const key = patternHex(pattern);
    const known = this.regionPiece.get(key);
    if (known !== undefined) return known;
    const choose = (within?: RegionPatch): number | null => {
      let best: number | null = null;
      let bestSlack = Infinity;
      for (let i = 0; i < this.pieces.length; i++) {
        const w = this.worst(pattern, within, within?.radius ?? 0, i);
        if (!w) continue;
        const worst = w.reduce((m, x) => Math.max(m, x), -Infinity);
        if (worst <= 0 && worst < bestSlack) [best, bestSlack] = [i, worst];
      }
      return best;
    };
    const whole = choose();
    if (whole !== null) {
      this.regionPiece.set(key, whole);
      return whole;
    }
    return choose(band);
  }

  private need(patch: RegionPatch): Need {
    let need = this.needs.get(patch);
    if (!need || need.radius !== patch.radius) {
      const pattern = patternFromHex(patch.region.pattern, this.network.hiddenCount, 'pattern');
      // Its own part of its region: the whole region, or a cell of it relaxed by the radius (a
      // cell's weight reaches into the neighbouring cells of the region, where the certificate
      // bounds it too).
      const own = this.ownPiece(patch);
      const v = this.worst(pattern, patch, patch.region.cell ? patch.radius : 0, own);
      if (!v) throw new EmptySetError(`the region of patch pattern ${patch.region.pattern} is empty`);
      need = {
        v: new Map([[own, v]]),
        radius: patch.radius,
        minimalNorm: need?.minimalNorm ?? patch.region.bandConstrained?.minimalNorm ?? patch.region.patchNorm,
      };
      this.needs.set(patch, need);
    }
    return need;
  }

  /**
   * Makes `patch` valid on the piece of the region `pattern` its band covers: `valid` when it
   * already is, `unreached` when the band misses the region, `expanded` when d was recomputed,
   * `infeasible` when no constant patch is valid on the region and all pieces so far. For a union
   * safe set, `piece` is the region's piece when it has its own patch; an unpatched region gets
   * one (see `pieceOf`), and d must keep the region's output in that piece where it reaches.
   */
  expand(patch: RegionPatch, pattern: ArrayLike<number>, piece?: number): ExpandOutcome {
    if (patch.kind !== 'constant') return 'infeasible';
    const target = this.pieces.length === 1 ? 0 : (piece ?? this.pieceOf(pattern, patch));
    if (target === null) return 'infeasible';
    const v = this.worst(pattern, patch, patch.radius, target);
    if (!v) return 'unreached';
    // Every piece checked is kept: a later recomputation of d stays valid on all of them.
    const need = this.need(patch);
    const had = need.v.get(target);
    need.v.set(target, had ? had.map((x, j) => Math.max(x, v[j])) : v);
    const spec = this.pieces[target];
    const rows = specRows(spec);
    const k = spec.outputs;
    const scale = 1 + patch.d.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    let valid = true;
    for (let j = 0; j < rows && valid; j++) {
      let s = v[j];
      for (let o = 0; o < k; o++) s += spec.P[j * k + o] * patch.d[o];
      valid = s <= 1e-12 * scale;
    }
    if (valid) return 'valid';
    // The smallest d valid for every piece it must keep: their rows stacked (one convex set).
    const used = [...need.v.keys()].sort((a, b) => a - b);
    const P = Float64Array.from(used.flatMap((i) => Array.from(this.pieces[i].P)));
    const q = Float64Array.from(used.flatMap((i) => Array.from(this.pieces[i].q)));
    const worst = Float64Array.from(used.flatMap((i) => Array.from(need.v.get(i)!)));
    const best = constantPatchFor(used.length === 1 ? this.pieces[used[0]] : { outputs: k, P, q }, worst);
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
      const cp = region.constantPatch(this.pieces[this.ownPiece(patch)], { exactRows: true });
      [d, norm] = [cp.d, cp.norm];
    } finally {
      region.free();
    }
    if (!d) return false;
    const minimalNorm = patch.region.patchNorm;
    Object.assign(patch, { kind: 'constant', d });
    delete patch.C;
    delete patch.H;
    patch.region.patchNorm = norm;
    patch.region.bandConstrained = { minimalNorm };
    this.needs.delete(patch);
    return true;
  }

  /**
   * Splits the region of an affine patch that admits no constant patch into cells (region ∩
   * axis-aligned boxes, by bisection at the middle of the cell's extent along its widest side)
   * until every cell relaxed by the patch's radius has a constant patch; returns those constant
   * cell patches (support: the patch's rows plus the cut faces), or null when `maxCells` is not
   * enough. The cells tile the region's bounding box, which the certificate checks
   * (crates/core/src/certificate/chain.rs `tiling_cells`): together they stand in for the region's patch.
   */
  split(patch: RegionPatch, maxCells = 256): RegionPatch[] | null {
    const n = this.network.inputSize;
    const pattern = patternFromHex(patch.region.pattern, this.network.hiddenCount, 'pattern');
    const r = patch.radius;
    const region = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
    type Cut = { j: number; upper: boolean; c: number };
    const rows = (cuts: Cut[], relax: number) => ({
      A: Float64Array.from(cuts.flatMap((cut) => Array.from({ length: n }, (_, j) => (j === cut.j ? (cut.upper ? 1 : -1) : 0)))),
      b: Float64Array.from(cuts.map((cut) => (cut.upper ? cut.c : -cut.c) + relax)),
    });
    const extent = (cuts: Cut[], j: number): [number, number] | null => {
      const cell = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
      try {
        if (cuts.length) cell.intersect(rows(cuts, 0));
        const e = new Float64Array(n);
        e[j] = 1;
        const hi = cell.maximize(e).lower;
        e[j] = -1;
        return [-cell.maximize(e).lower, hi];
      } catch (e) {
        if (e instanceof EmptySetError) return null;
        throw e;
      } finally {
        cell.free();
      }
    };
    const leaves: { cuts: Cut[]; d: Float64Array; norm: number }[] = [];
    try {
      const width = Array.from({ length: n }, (_, j) => extent([], j)).map((w) => (w ? w[1] - w[0] : 0));
      const todo: Cut[][] = [[]];
      while (todo.length > 0) {
        if (leaves.length + todo.length > maxCells) return null;
        const cuts = todo.pop()!;
        // The constant patch of the cell relaxed by r (valid on its own band inside the region).
        const cell = LinearRegion.ofPattern(this.network, pattern, this.box, this.inputSet);
        let found: { d: Float64Array; norm: number } | null = null;
        try {
          if (cuts.length) cell.intersect(rows(cuts, r));
          const cp = cell.constantPatch(this.pieces[this.ownPiece(patch)], { exactRows: true });
          if (cp.d) found = { d: cp.d, norm: cp.norm };
        } finally {
          cell.free();
        }
        if (found) {
          leaves.push({ cuts, ...found });
          continue;
        }
        // Split along the side that is widest relative to the region's extent.
        let best = -1;
        let bestRel = 0;
        let range: [number, number] = [0, 0];
        for (let j = 0; j < n; j++) {
          if (!(width[j] > 0)) continue;
          const e = extent(cuts, j);
          if (!e) continue;
          const rel = (e[1] - e[0]) / width[j];
          if (rel > bestRel) [best, bestRel, range] = [j, rel, e];
        }
        if (best < 0 || !(range[1] - range[0] > 4 * r)) return null;
        const c = 0.5 * (range[0] + range[1]);
        todo.push([...cuts, { j: best, upper: true, c }], [...cuts, { j: best, upper: false, c }]);
      }
    } finally {
      region.free();
    }
    const minimalNorm = patch.region.patchNorm;
    return leaves.map((leaf, index) => {
      const cut = rows(leaf.cuts, 0);
      const A = new Float64Array(patch.A.length + cut.A.length);
      A.set(patch.A);
      A.set(cut.A, patch.A.length);
      const b = new Float64Array(patch.b.length + cut.b.length);
      b.set(patch.b);
      b.set(cut.b, patch.b.length);
      const cellPatch: RegionPatch = {
        kind: 'constant',
        A,
        b,
        radius: r,
        d: leaf.d,
        region: { ...patch.region, patchNorm: leaf.norm, bandConstrained: { minimalNorm }, cell: { index, of: leaves.length } },
        ...(patch.inputSet ? { inputSet: patch.inputSet } : {}),
      };
      return cellPatch;
    });
  }
}
