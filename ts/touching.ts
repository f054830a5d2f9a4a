/**
 * Repaired regions that touch a region with another spec (issue 12 item 4: found on the latent
 * regions of head repair, where the tail's regions of differently labelled points meet).
 *
 * On a linear region a constant patch adds one vector d to the whole closed region. When the
 * closed regions A and B of two repaired points share a point z (their rows hold together there),
 * continuity forces one output at z: in a chain the later patch wins (its support is 1 on its own
 * closed region, and it overrides the earlier ones, docs/COMPOSITION.md), so f(z) + d_B must also
 * meet A's spec. When the two specs contradict (no output meets both), no continuous network can
 * (INFEASIBLE, as ts/repair.ts reports for dense point-wise repair); when they meet only in a
 * narrow set (two label specs at margin 0: a tie), constant patches do not hit it and the spec of
 * A fails near z. Either way A's guarantee cannot be certified: this finds the pairs, the worst
 * shared point (one LP per row of A's spec over A ∩ B, on f + d_B) and the repaired network's own
 * violation there (a forward pass), so that the report says why instead of "not certified".
 */
import { contradictingRows } from './certificate.js';
import { EmptySetError, LpError } from './errors.js';
import type { Box } from './network.js';
import { patternFromHex, type RegionPatch } from './patch.js';
import { LinearRegion } from './region.js';
import type { RepairedNetwork } from './repaired.js';
import { intersectSpecs, type Spec, specViolation } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';

/** Two repaired regions that touch, the earlier one's spec failing where they meet. */
export interface TouchingConflict {
  /** Points of the earlier region in the chain (whose spec fails at `at`). */
  points: number[];
  /** Points of the later region (whose patch wins at `at`). */
  otherPoints: number[];
  /** Chain positions of the two patches (earlier, later). */
  patches: [number, number];
  /** A point of both closed regions (∩ the box) where the earlier spec's worst row is attained. */
  at: number[];
  /** The repaired network's violation of the earlier region's spec at `at` (forward pass; > 0: it fails). */
  violation: number;
  /** Rows of the two specs that no output meets together (INFEASIBLE), or null when they can meet. */
  contradictingRows: number[] | null;
  /**
   * Hidden neurons whose states differ between the two regions: the hyperplanes the shared
   * boundary lies on (one: a shared facet; more: a lower-dimensional face).
   */
  neurons: number[];
  /** Why the earlier region's spec fails (INFEASIBLE or CONFLICT, in words). */
  why: string;
}

/**
 * The pairs of constant-patched regions of `network` with different specs (`specOf`: the spec
 * of a region, given its repaired points) whose closed regions touch
 * within `box` and where the repaired network violates the earlier region's spec at the worst
 * shared point by more than `tolerance`·(1 + |outputs|).
 */
export function touchingConflicts(
  network: RepairedNetwork,
  specOf: (points: readonly number[]) => Spec | SpecUnion,
  box: Box,
  tolerance = 1e-9,
  only?: (earlier: RegionPatch) => boolean,
): TouchingConflict[] {
  const original = network.original;
  const n = original.inputSize;
  const k = original.outputSize;
  const patches = network.patches.map((p, pos) => ({ p, pos })).filter(({ p }) => p.kind === 'constant' && !p.region.cell);
  const out: TouchingConflict[] = [];
  const key = (s: Spec | SpecUnion) => JSON.stringify(s);
  for (const [ia, { p: pa, pos: posA }] of patches.entries()) {
    if (only && !only(pa)) continue;
    const sa = specOf(pa.region.points);
    if (isSpecUnion(sa)) continue;
    let region: LinearRegion | undefined;
    try {
      for (const { p: pb, pos: posB } of patches.slice(ia + 1)) {
        const sb = specOf(pb.region.points);
        if (key(sb) === key(sa)) continue;
        region?.free();
        region = LinearRegion.ofPattern(original, patternFromHex(pa.region.pattern, original.hiddenCount), box);
        const { F, e } = region;
        let rb: LinearRegion | undefined;
        try {
          rb = LinearRegion.ofPattern(original, patternFromHex(pb.region.pattern, original.hiddenCount), box);
          region.intersect({ A: rb.A, b: rb.b });
        } catch (err) {
          if (err instanceof EmptySetError || err instanceof LpError) continue;
          throw err;
        } finally {
          rb?.free();
        }
        // The worst row of A's spec on f + d_B over A ∩ B (f is continuous: A's map holds there).
        let worst = -Infinity;
        let at: Float64Array | undefined;
        const rows = sa.q.length;
        try {
          for (let j = 0; j < rows; j++) {
            const c = new Float64Array(n);
            let k0 = -sa.q[j];
            for (let o = 0; o < k; o++) {
              const w = sa.P[j * k + o];
              if (w === 0) continue;
              for (let t = 0; t < n; t++) c[t] += w * F[o * n + t];
              k0 += w * (e[o] + pb.d[o]);
            }
            const m = region.maximize(c);
            if (m.upper + k0 > worst) {
              worst = m.upper + k0;
              at = m.x;
            }
          }
        } catch (err) {
          // Empty (the regions do not touch), or not decided: no conflict is claimed.
          if (err instanceof EmptySetError || err instanceof LpError) continue;
          throw err;
        }
        if (!at) continue;
        const y = network.forwardFlat(at, 1);
        const violation = specViolation(sa, y);
        const scale = 1 + Math.max(...Array.from(y, Math.abs));
        if (!(violation > tolerance * scale)) continue;
        const clash = isSpecUnion(sb) || sb.outputs !== sa.outputs ? null : contradictingRows(intersectSpecs([sa, sb]));
        const neurons = differingNeurons(pa.region.pattern, pb.region.pattern, original.hiddenCount);
        const where =
          neurons.length === 1
            ? `the facet of neuron ${neurons[0]}`
            : `a face of neurons ${neurons.slice(0, 8).join(', ')}${neurons.length > 8 ? ', ...' : ''}`;
        out.push({
          points: [...pa.region.points],
          otherPoints: [...pb.region.points],
          patches: [posA, posB],
          at: Array.from(at),
          violation,
          contradictingRows: clash,
          neurons,
          why: clash
            ? `INFEASIBLE: the regions share ${where} and their specs contradict (rows ${clash.join(', ')} of their intersection): no output meets both there, so no continuous network can`
            : `CONFLICT: the regions share ${where}; the later patch wins there and the earlier spec fails by ${violation.toPrecision(3)} (constant patches cannot meet both specs at a shared point)`,
        });
      }
    } finally {
      region?.free();
    }
  }
  return out;
}

/** Hidden neurons whose states differ between two hex patterns. */
function differingNeurons(a: string, b: string, hidden: number): number[] {
  const pa = patternFromHex(a, hidden);
  const pb = patternFromHex(b, hidden);
  const out: number[] = [];
  for (let i = 0; i < hidden; i++) if (pa[i] !== pb[i]) out.push(i);
  return out;
}

/** One report note per region whose spec fails where it touches others (`what`: e.g. "linear region"). */
export function conflictNotes(conflicts: readonly TouchingConflict[], what: string, where: string): string[] {
  const notes: string[] = [];
  for (const pts of new Set(conflicts.map((c) => c.points.join(', ')))) {
    const mine = conflicts.filter((c) => c.points.join(', ') === pts);
    const others = mine.map((c) => c.otherPoints.join(', ')).join('; ');
    const worst = Math.max(...mine.map((c) => c.violation)).toPrecision(3);
    const rows = mine.find((c) => c.contradictingRows);
    notes.push(
      rows
        ? `INFEASIBLE: the ${what} of point(s) ${pts} touches that of point(s) ${rows.otherPoints.join(', ')}, whose spec contradicts its own (rows ${rows.contradictingRows!.join(', ')} of their intersection): no continuous network meets both specs at a shared point (${where})`
        : `CONFLICT: the ${what} of point(s) ${pts} touches those of point(s) ${others} (other specs): constant patches cannot meet both specs at a shared point, the later patch wins there and the spec of point(s) ${pts} is violated by up to ${worst} (points in ${where}); relax a spec or drop a point`,
    );
  }
  return notes;
}
