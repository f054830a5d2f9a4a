/**
 * The per-region job of a repair (METHOD.md §2–§3): the minimal patch of one linear region and its
 * support rows, as a {@link RegionPatch}. One independent unit of work: everything it needs is in
 * the {@link RegionTask} (plain data), so the same function runs on the caller's thread
 * (`repair`, `repairArea`) and in the pool's workers (ts/pool/), below both.
 */
import { LpError } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import type { LpName } from './lp/select.js';
import { constantPatchByBackend, forceLpLimits, solveFullLp, supportRowsOrAll } from './minimal.js';
import type { Box, Network } from './network.js';
import type { RegionPatch } from './patch.js';
import { type ConstantPatchResult, type InputSet, LinearRegion, type MinimalityProof } from './region.js';
import type { Spec } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';

/** Time spent on one region (ms): building it, its LPs, and its patch (support rows). */
export interface RegionTiming {
  regionMs: number;
  lpMs: number;
  assemblyMs: number;
}

const now = () => performance.now();

/**
 * One independent unit of work: the minimal patch of one linear region. Everything it needs is in
 * the task (plain data), so it can run on any thread that holds the same network.
 */
export interface RegionTask {
  /** A point of the region (the first buggy point in it). */
  anchor: Float64Array;
  /** Indices of the repaired points in this region. */
  points: number[];
  /** Activation pattern (hex), for the report. */
  pattern: string;
  /** The intersection of the points' specs (a union: the cheapest piece is chosen). */
  spec: Spec | SpecUnion;
  box: Box;
  inputSet?: InputSet;
  prune: boolean;
  /** Largest locality radius (reduced later so that no buggy point is in another band). */
  radius: number;
  /** The region's activation pattern (area repair): the region is built from it, not from `anchor`. */
  activation?: ArrayLike<number>;
  /** Full-LP backend by name, for workers (the caller's thread passes its backend directly). */
  lp?: LpName;
  /**
   * When the core simplex cannot solve a region LP, solve it with the backend and have the core
   * certify the answer (default true).
   */
  lpFallback?: boolean;
  /** Pivot budget of each method of the core simplex during this job (default: the core's). */
  lpPivotLimit?: number;
  /**
   * Return a region whose LPs cannot be solved (core and fallback) as an outcome with `failure`
   * instead of throwing the LpError (point-wise repair: the other regions go on).
   */
  reportFailure?: boolean;
}

export interface RegionOutcome {
  /** The patch, or null when the spec already holds on the whole region (`reason`) or the region failed (`failure`). */
  patch: RegionPatch | null;
  reason?: string;
  /** Why the region could not be solved (only with `reportFailure`): it is not repaired. */
  failure?: string;
  /** Set when the core simplex failed on the region and the backend's certified answers were used. */
  lpFallback?: { backend: string; reason: string };
  /** What else the job had to do differently (e.g. redundant rows kept). */
  notes?: string[];
  timing: RegionTiming;
}

/**
 * The minimal patch of the task's region (lower bound and constant patch, else the full LP) with
 * its support rows, or no patch when the spec already holds on the whole region. LPs the core
 * simplex cannot solve go to the backend (`lpFallback`); a region that still cannot be solved is
 * an LpError, or with `reportFailure` an outcome naming why.
 */
export async function solveRegion(network: Network, task: RegionTask, backend: LpBackend): Promise<RegionOutcome> {
  const t0 = now();
  if (task.lpPivotLimit !== undefined) {
    const p = task.lpPivotLimit;
    forceLpLimits({ revised: p, rowGeneration: p, bland: p });
  }
  try {
    return isSpecUnion(task.spec)
      ? await solveRegionUnion(network, task as RegionTask & { spec: SpecUnion }, backend)
      : await solveOne(network, task as RegionTask & { spec: Spec }, backend);
  } catch (e) {
    if (!(task.reportFailure && e instanceof LpError)) throw e;
    return { patch: null, failure: e.message, timing: { regionMs: 0, lpMs: now() - t0, assemblyMs: 0 } };
  } finally {
    if (task.lpPivotLimit !== undefined) forceLpLimits(null);
  }
}

/** Names the task's region in messages and in the backend's LP labels. */
function regionName(task: RegionTask): string {
  const pts = task.points;
  return pts.length === 0
    ? `region ${task.pattern.slice(0, 16)}`
    : `region of point${pts.length > 1 ? 's' : ''} ${pts.slice(0, 5).join(', ')}${pts.length > 5 ? ', ...' : ''}`;
}

/**
 * The lower bound and constant patch by the core, or — when its simplex fails — by the backend
 * with every answer certified by the core. Throws an LpError naming both failures.
 */
async function constantPatchWithFallback(
  region: LinearRegion,
  task: RegionTask & { spec: Spec },
  backend: LpBackend,
): Promise<{ cp: ConstantPatchResult; lpFallback?: RegionOutcome['lpFallback'] }> {
  try {
    return { cp: region.constantPatch(task.spec) };
  } catch (e) {
    // Any LP failure here, proven emptiness included: the region contains its point, so the
    // core's "empty" can only be a numerical contradiction, which the backend may resolve.
    if (!(e instanceof LpError)) throw e;
    const name = regionName(task);
    if (task.lpFallback === false) throw new LpError(`${name}: ${e.message} (no LP fallback)`);
    try {
      const cp = await constantPatchByBackend(region, task.spec, backend, name);
      return { cp, lpFallback: { backend: backend.name, reason: e.message } };
    } catch (e2) {
      if (!(e2 instanceof LpError)) throw e2;
      throw new LpError(`${name}: ${e.message}; fallback ${backend.name}: ${e2.message}`);
    }
  }
}

/** The LP multipliers of each spec row (`rows × m` over the region's rows) on the support rows `index`. */
function supportDuals(duals: Float64Array, index: Int32Array, m: number): Float64Array | undefined {
  if (m === 0 || duals.length % m !== 0) return undefined;
  const rows = duals.length / m;
  const out = new Float64Array(rows * index.length);
  for (let j = 0; j < rows; j++) for (let i = 0; i < index.length; i++) out[j * index.length + i] = duals[j * m + index[i]];
  return out;
}

async function solveOne(network: Network, task: RegionTask & { spec: Spec }, backend: LpBackend): Promise<RegionOutcome> {
  const ta = now();
  const region = task.activation
    ? LinearRegion.ofPattern(network, task.activation, task.box, task.inputSet)
    : LinearRegion.ofPoint(network, task.anchor, task.box, task.inputSet);
  try {
    const tb = now();
    const { cp, lpFallback } = await constantPatchWithFallback(region, task, backend);
    const notes: string[] = [];
    if (cp.proof === 'not-needed') {
      return {
        patch: null,
        reason: 'the spec already holds on the whole linear region',
        ...(lpFallback ? { lpFallback } : {}),
        timing: { regionMs: tb - ta, lpMs: now() - tb, assemblyMs: 0 },
      };
    }
    let proof: MinimalityProof = cp.proof;
    let patchNorm = cp.norm;
    let kind: 'constant' | 'affine' = 'constant';
    let C: Float64Array | undefined;
    let d = cp.d;
    let H: Float64Array | undefined;
    if (cp.proof === 'full-lp') {
      const full = await solveFullLp(region, task.spec, backend, task.prune);
      proof = 'full-lp';
      if (cp.d && cp.norm <= full.norm) {
        // A feasible constant patch that is no larger than the LP optimum is optimal too.
        patchNorm = cp.norm;
      } else {
        ({ C, d, H } = full);
        patchNorm = full.norm;
        kind = 'affine';
      }
    }
    const tc = now();
    // Without pruning the support is every region row: read them directly (one copy of the
    // rows instead of three; at MNIST scale they are 3 MB).
    let support: { A: Float64Array; b: Float64Array; index: Int32Array };
    if (task.prune) {
      const pruned = supportRowsOrAll(region);
      support = pruned.rows;
      if (pruned.note) notes.push(`${regionName(task)}: ${pruned.note}`);
    } else support = { A: region.A, b: region.b, index: Int32Array.from({ length: region.rowCount }, (_, i) => i) };
    const neuronOf = region.neuronIndex;
    const norms = region.rowNorms;
    const lpDuals = cp.duals ? supportDuals(cp.duals, support.index, region.rowCount) : undefined;
    const patch: RegionPatch = {
      kind,
      A: support.A,
      b: support.b,
      rows: {
        index: support.index,
        neuron: Int32Array.from(support.index, (i) => neuronOf[i]),
        norm: Float64Array.from(support.index, (i) => norms[i]),
      },
      ...(task.inputSet ? { inputSet: task.inputSet } : {}),
      ...(lpDuals ? { lpDuals } : {}),
      radius: task.radius,
      C,
      d: d!,
      H,
      region: {
        points: task.points,
        pattern: task.pattern,
        constraints: region.constraintCount,
        patchNorm,
        lowerBound: cp.lowerBound,
        minimalityProof: proof,
      },
    };
    return {
      patch,
      ...(lpFallback ? { lpFallback } : {}),
      ...(notes.length ? { notes } : {}),
      timing: { regionMs: tb - ta, lpMs: tc - tb, assemblyMs: now() - tc },
    };
  } finally {
    region.free();
  }
}

/**
 * A non-convex spec (union of convex pieces): the minimal patch for every piece, keeping the
 * smallest (ties: the lower piece index), reported as `region.specPiece`. A piece that already
 * holds on the whole region means no patch. Pieces whose LPs fail (e.g. an empty piece) are
 * skipped; if all fail, the first failure is raised.
 */
async function solveRegionUnion(network: Network, task: RegionTask & { spec: SpecUnion }, backend: LpBackend): Promise<RegionOutcome> {
  let best: RegionOutcome | undefined;
  let bestPiece = -1;
  let firstError: unknown;
  const skipped: string[] = [];
  const timing: RegionTiming = { regionMs: 0, lpMs: 0, assemblyMs: 0 };
  for (let i = 0; i < task.spec.pieces.length; i++) {
    let outcome: RegionOutcome;
    try {
      outcome = await solveOne(network, { ...task, spec: task.spec.pieces[i] }, backend);
    } catch (e) {
      if (!(e instanceof LpError)) throw e;
      firstError ??= e;
      skipped.push(`${regionName(task)}: spec piece ${i} skipped (${e.message})`);
      continue;
    }
    timing.regionMs += outcome.timing.regionMs;
    timing.lpMs += outcome.timing.lpMs;
    timing.assemblyMs += outcome.timing.assemblyMs;
    if (!outcome.patch) return { patch: null, reason: `piece ${i} of the spec already holds on the whole linear region`, timing };
    if (!best || outcome.patch.region.patchNorm < best.patch!.region.patchNorm) {
      best = outcome;
      bestPiece = i;
    }
  }
  if (!best) throw firstError;
  best.patch!.region.specPiece = bestPiece;
  const notes = [...(best.notes ?? []), ...skipped];
  return { patch: best.patch, ...(best.lpFallback ? { lpFallback: best.lpFallback } : {}), ...(notes.length ? { notes } : {}), timing };
}
