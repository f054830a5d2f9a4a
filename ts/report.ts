/**
 * The repair report: JSON with stable keys (schemaVersion 1). Adding keys is allowed within a
 * schema version; renaming or removing one bumps it.
 */
import type { CertificateReport } from './certificate.js';
import type { RegionPatch } from './patch.js';
import type { Refinement } from './refine.js';
import type { MinimalityProof } from './region.js';
import type { RegionTiming } from './region-job.js';
import type { TouchingConflict } from './touching.js';
import { VERSION } from './version.js';

/** What the reports of point-wise and area repair say about one repaired region. */
export interface PatchedRegionReport {
  /** Activation pattern (hex, see patternHex). */
  pattern: string;
  /** Rows of the linear region: hidden-neuron half-spaces + 2 box faces per input. */
  constraints: number;
  /** Rows kept in the support network after dropping redundant ones. */
  supportRows: number;
  patchKind: 'constant' | 'affine';
  /** Norm of the patch in the finished network. */
  patchNorm: number;
  lowerBound: number;
  /**
   * How the patch is proven minimal on the region; `band-constrained`: the patch was enlarged
   * beyond the region's minimal norm (`minimalNorm`) to stay valid where its band covers other
   * regions (chain composition, ts/compose.ts) — minimal among constant patches valid there too;
   * `cells`: the region had no constant patch and is patched by `cells` constant cell patches
   * (patchNorm: the largest) — see docs/COMPOSITION.md.
   */
  minimalityProof: MinimalityProof | 'band-constrained' | 'cells' | 'box-bound';
  /** The minimal norm on the region alone, when it differs from patchNorm. */
  minimalNorm?: number;
  /**
   * Cells the region was split into (`minimalityProof: 'cells'`): it has no constant patch and an
   * affine one would not compose soundly with its neighbours (patchNorm: the largest cell's; in an
   * area report chainPosition is the first cell's).
   */
  cells?: number;
  radius: number;
  lpMs: number;
  /** With a union spec (non-convex Φ_out): the convex piece the region was repaired with. */
  specPiece?: number;
  /** The LP backend whose answers (certified by the core) replaced the core simplex on this region, if it failed there. */
  lpFallback?: string;
}

/** A region whose LPs could not be solved (core simplex and fallback): not repaired. */
export interface FailedRegion {
  /** Indices of the points in it. */
  points: number[];
  /** Activation pattern (hex). */
  pattern: string;
  /** The failures, in the solvers' words. */
  reason: string;
}

/** One repaired region of a point-wise repair. */
export interface RegionReport extends PatchedRegionReport {
  /** Indices of the repaired points in this region. */
  points: number[];
}

export interface RepairReport {
  schemaVersion: 1;
  tool: { name: 'relu-repair'; version: string; wasm: 'simd' | 'scalar'; lp: string; regionLp: 'core-simplex' };
  result: {
    /**
     * `partial`: some regions could not be solved (`failedRegions`), every other buggy point is
     * fixed; `failed`: some point of a solved region is not fixed.
     */
    status: 'repaired' | 'partial' | 'failed' | 'nothing-to-repair';
    buggyPoints: number;
    fixedPoints: number;
    /** Points given for repair (buggy or not). */
    points: number;
    regions: number;
    maxPatchNorm: number;
    /** Points that do not satisfy their spec after repair (indices). */
    unfixedPoints: number[];
  };
  regions: RegionReport[];
  /** Regions that needed no patch (the spec already held on all of them). */
  unchangedRegions: { points: number[]; reason: string }[];
  /** Regions whose LPs could not be solved by the core simplex nor its fallback: not repaired. */
  failedRegions: FailedRegion[];
  timingsMs: { total: number; regions: number; lp: number; assembly: number; certify?: number };
  tolerances: {
    /** A point counts as fixed when max_j(P_j y − q_j) <= fixed · (1 + max|y|). */
    fixed: number;
    /** The constant patch is proven minimal when its norm <= t_LB · (1 + minimality). */
    minimality: number;
  };
  notes: string[];
  /** Certificate of the finished network on every point's linear region (when `certify` is on). */
  certificate?: CertificateReport;
  /** Radius refinement done because of failed certificates. */
  refinement?: Refinement;
  /**
   * Point-wise repair above 8 inputs with the default `certify: 'auto'`: what was proven about
   * patch bands and repaired regions with another spec (ts/repair.ts keepBandsApart).
   * `unresolved` > 0: those pairs are NOT proven (a band may break the other region's spec;
   * `certify: true` checks them).
   */
  bands?: BandsApart;
  /**
   * Repaired regions whose certificate fails because they touch a repaired region with another
   * spec (ts/touching.ts): the pair, the shared point and boundary neurons, the repaired
   * network's violation there, and why (INFEASIBLE: the specs contradict; CONFLICT: the later
   * patch wins and breaks the earlier spec). Only with a failed certificate.
   */
  conflicts?: TouchingConflict[];
}

export function buildReport(a: {
  backend: string;
  flavour: 'simd' | 'scalar';
  patches: readonly RegionPatch[];
  buggy: boolean[];
  fixed: boolean[];
  skipped: { points: number[]; reason: string }[];
  failed: FailedRegion[];
  timings: RegionTiming[];
  /** LP time of each patch's region, aligned with `patches`. */
  patchLpMs: number[];
  assemblyMs: number;
  totalMs: number;
  tolerance: number;
  notes: string[];
}): RepairReport {
  // One entry per repaired region: the cells of a split region (ts/compose.ts) after the first
  // are folded into it.
  const cellsOf = new Map<string, RegionPatch[]>();
  a.patches.forEach((p) => p.region.cell && cellsOf.set(p.region.pattern, [...(cellsOf.get(p.region.pattern) ?? []), p]));
  const regions: RegionReport[] = a.patches.flatMap((p, i) => {
    if (p.region.cell && p.region.cell.index > 0) return [];
    const cells = p.region.cell ? cellsOf.get(p.region.pattern)! : undefined;
    const constrained = p.region.bandConstrained;
    return [
      {
        points: p.region.points,
        pattern: p.region.pattern,
        constraints: p.region.constraints,
        supportRows: p.b.length,
        patchKind: p.kind,
        patchNorm: cells ? Math.max(...cells.map((c) => c.region.patchNorm)) : p.region.patchNorm,
        lowerBound: p.region.lowerBound,
        minimalityProof: cells ? 'cells' : constrained ? 'band-constrained' : p.region.minimalityProof,
        ...(constrained ? { minimalNorm: constrained.minimalNorm } : {}),
        ...(cells ? { cells: cells.length } : {}),
        radius: p.radius,
        lpMs: a.patchLpMs[i] ?? 0,
        ...(p.region.specPiece !== undefined ? { specPiece: p.region.specPiece } : {}),
        ...(p.region.lpFallback !== undefined ? { lpFallback: p.region.lpFallback } : {}),
      },
    ];
  });
  const unfixed = a.fixed.flatMap((f, i) => (f ? [] : [i]));
  const buggyCount = a.buggy.filter(Boolean).length;
  const fixedBuggy = a.buggy.filter((b, i) => b && a.fixed[i]).length;
  const inFailed = new Set(a.failed.flatMap((f) => f.points));
  const status =
    a.failed.length > 0
      ? unfixed.some((i) => !inFailed.has(i))
        ? 'failed'
        : 'partial'
      : unfixed.length > 0
        ? 'failed'
        : regions.length === 0
          ? 'nothing-to-repair'
          : 'repaired';
  const sum = (f: (t: RegionTiming) => number) => a.timings.reduce((s, t) => s + f(t), 0);
  return {
    schemaVersion: 1,
    tool: { name: 'relu-repair', version: VERSION, wasm: a.flavour, lp: a.backend, regionLp: 'core-simplex' },
    result: {
      status,
      buggyPoints: buggyCount,
      fixedPoints: fixedBuggy,
      points: a.fixed.length,
      regions: regions.length,
      maxPatchNorm: regions.reduce((m, r) => Math.max(m, r.patchNorm), 0),
      unfixedPoints: unfixed,
    },
    regions,
    unchangedRegions: a.skipped,
    failedRegions: a.failed,
    timingsMs: {
      total: a.totalMs,
      regions: sum((t) => t.regionMs),
      lp: sum((t) => t.lpMs),
      assembly: sum((t) => t.assemblyMs) + a.assemblyMs,
    },
    tolerances: { fixed: a.tolerance, minimality: 1e-9 },
    notes: a.notes,
  };
}

/** What ts/repair.ts `keepBandsApart` proved about patch bands and repaired regions with another spec. */
export interface BandsApart {
  /** (patch, repaired region) pairs whose specs differ. */
  otherSpecPairs: number;
  /** Pairs proven apart: the patch's support is 0 on the whole region. */
  provenApart: number;
  /** Of those, proven by the input box alone (no LP). */
  byBox: number;
  radiiShrunk: number;
  /** Depth LPs solved. */
  lps: number;
  /** Pairs not proven apart: the network is not proven on those regions. */
  unresolved: number;
  /**
   * Of the unresolved pairs, those whose regions touch (`at`: a point of both closed regions)
   * and whose specs contradict (no output satisfies both; `rows` of their intersection): no
   * continuous repair meets both specs at `at`. One entry per pair of regions.
   */
  infeasible?: { points: number[]; otherPoints: number[]; rows: number[]; at: number[] }[];
  /** Unresolved (patch, region) pairs that are such combinations. */
  infeasiblePairs?: number;
}

/**
 * What an area repair by branch and bound (ts/area-bab.ts) had decided when it was stopped at its
 * hard limit (`hardStopMs`; the CLI's `--hard-stop`): nothing is certified on a finished network
 * (the certificate runs last) and no network is returned, but the user learns how far it got —
 * the phase, the share of the box the branch and bound decided and how, the pending boxes decided
 * and how, the regions enumerated and the patches made so far.
 */
export interface AreaBabStopReport {
  schemaVersion: 1;
  kind: 'area-bab-stopped';
  status: 'stopped';
  message: string;
  /** The phase running at the stop (ts/area-bab.ts `AreaBabPhase`). */
  phase: string;
  limitMs: number;
  budgetMs: number;
  elapsedMs: number;
  /** The last progress of every phase reached, in order (verify: share of the box decided, in 1/1000). */
  phases: { phase: string; done: number; total: number; elapsedMs: number }[];
  /** Shares of the area's box (by volume over its inputs of positive width). */
  shares: {
    /** Decided by the branch and bound (proven safe, violated, or handed back), from its result or its last progress. */
    decided: number;
    /** From the branch and bound's result (null: stopped inside it): proven safe on the original network by bounds, by exact regions, violated, left undecided. */
    bounds: number | null;
    regions: number | null;
    violated: number | null;
    undecided: number | null;
    /** Boxes handed back and decided after it (null: not reached): proven by bounds on the original network, patched as a whole (not yet certified), without a patch. */
    pendingBounds: number | null;
    pendingBoxPatch: number | null;
    pendingNoPatch: number | null;
    /** Proven on the finished network: none (the certificate did not complete). */
    certified: 0;
  };
  verify: { status: string; boxes: number; leaves: number; exactLeaves: number; lps: number } | null;
  /** Linear regions enumerated in exact leaves (null: not reached), patches made so far (box patches among them). */
  regions: number | null;
  patches: number;
  boxPatches: number;
  notes: string[];
}
