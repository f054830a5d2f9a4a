/**
 * Point-wise repair (REASSURE, METHOD.md §2–§4): group the buggy points by linear region, find
 * each region's minimal patch (ts/region-job.ts, on this thread or in the pool's workers), give
 * every patch a locality radius that keeps the other buggy points outside its band, then compose
 * and certify f̂ = f + Σ h_A (ts/assemble.ts) and check every point.
 */
import { type Assembly, assemble } from './assemble.js';
import { type CertifyOptions, checkSafeSetNotEmpty } from './certificate.js';
import { InputError, throwIfAborted } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import type { LpName } from './lp/select.js';
import { type Box, checkBox, flattenPoints, type Network, type Points } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import { type RepairPool, solveInWorkers } from './pool/pool.js';
import { type InputSet, slackExcess } from './region.js';
import { type RegionTask, type RegionTiming, solveRegion } from './region-job.js';
import { checkConflictingLabels, checkInputSet, resolveBackend, resolvePrune, resolveRadius, resolveSpecs } from './repair-options.js';
import type { RepairedNetwork } from './repaired.js';
import { buildReport, type RepairReport } from './report.js';
import type { Spec } from './spec.js';
import { intersectAny, type SpecUnion, violationOf } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import { getCore, init } from './wasm/raw.js';

export interface RepairProgress {
  phase: 'regions' | 'assembly' | 'certify' | 'done';
  /** Regions processed so far, and in all. */
  done: number;
  total: number;
  elapsedMs: number;
}

export interface RepairOptions {
  /** The buggy inputs. */
  points: Points;
  /**
   * Φ_out for every point, or one per point. Alternatively `labels`. A `SpecUnion` (non-convex
   * Φ_out, e.g. a VNN-LIB safe set) is repaired per region with its cheapest convex piece.
   */
  spec?: Spec | SpecUnion | readonly (Spec | SpecUnion)[];
  /** Label spec(s): one label for every point or one per point. */
  labels?: number | readonly number[];
  /** Margin for label specs (default 0: the label must be a non-strict argmax). */
  margin?: number;
  /** Input domain that bounds every linear region. Default: the range the model declares. */
  inputBox?: Box;
  /**
   * An input polytope {x : A x <= b} the repair is restricted to (e.g. a property's input set):
   * each repaired region is the linear region ∩ box ∩ this set, and nothing outside it changes
   * beyond the locality radius. Every point must lie in it.
   */
  inputSet?: InputSet;
  /**
   * Largest locality radius r (input units). Each patch gets r_A = min(radius, half the
   * smallest face distance from its region to any other buggy point), so no buggy point lies in
   * another region's band. Default: 1e-3 × the narrowest side of the input box.
   */
  radius?: number;
  /**
   * Drop redundant region rows from the supports (LP per row; exact up to `1e-9`). Default
   * `auto`: on for inputs of dimension <= 16.
   */
  prune?: boolean | 'auto';
  /**
   * Backend for the full LP: `'glpk'` (glpk.js, the default), `'highs'`, or an object. With
   * `workers`, give a name (an object cannot move to worker threads).
   */
  lp?: LpBackend | LpName;
  /** Tolerance when counting a point as fixed: violation <= tolerance · (1 + max|y|). */
  tolerance?: number;
  /**
   * Certify the finished network on the linear region of every given point (METHOD.md §5; the
   * report gets a `certificate` section). Default `auto`: on for inputs of dimension <= 8.
   */
  certify?: boolean | 'auto';
  /** Certificate options (rtol, eps, maxPieces, boundHelpful) and radius refinement rounds (default 4). */
  certificate?: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'> & { refineRounds?: number };
  onProgress?: (e: RepairProgress) => void;
  signal?: AbortSignal;
  /**
   * Solve the regions in worker threads: a {@link RepairPool} (see `createPool`), or a number of
   * workers started for this call only. The result is bit for bit the one-thread result. The
   * workers use the backend named by `lp` (an `lp` object cannot move to workers).
   */
  workers?: RepairPool | number;
}

export interface RepairResult {
  network: RepairedNetwork;
  report: RepairReport;
}

const now = () => performance.now();

/** Repairs the linear region of every buggy point. */
export async function repair(network: Network, opts: RepairOptions): Promise<RepairResult> {
  await init();
  const t0 = now();
  const n = network.inputSize;
  throwIfAborted(opts.signal);
  const job = checkOptions(network, opts);
  const yOrig = network.forwardFlat(job.flat, job.count);
  const groups = groupByRegion(network, job);
  const progress = (phase: RepairProgress['phase'], done: number) =>
    opts.onProgress?.({ phase, done, total: groups.length, elapsedMs: now() - t0 });
  const solved = await solveGroups(network, job, groups, opts, progress);

  progress('assembly', groups.length);
  const ta = now();
  const notes = limitRadii(solved.patches, job.flat, job.count, n);
  const certifyOpt = opts.certify ?? 'auto';
  const certify = certifyOpt === 'auto' ? n <= 8 : certifyOpt;
  if (certify) progress('certify', groups.length);
  const assembly = await assemble(
    network,
    solved.patches,
    groups.map((g, gi) => ({ pattern: g.pattern, spec: g.spec, patch: solved.groupPatch[gi] })),
    {
      box: job.box,
      inputSet: opts.inputSet,
      radius: job.rMax,
      certify,
      scope: 'regions',
      certificate: opts.certificate,
      rounds: opts.certificate?.refineRounds,
      signal: opts.signal,
    },
  );
  const tb = now();
  const yRep = assembly.network.forwardFlat(job.flat, job.count);
  const assemblyMs = tb - ta - assembly.certifyMs + (now() - tb);
  const { buggy, fixed } = checkPoints(job, yOrig, yRep, network.outputSize);
  progress('done', groups.length);

  const report = buildReport({
    backend: solved.lpName ?? job.backend.name,
    flavour: getCore().flavour,
    patches: assembly.patches,
    buggy,
    fixed,
    skipped: solved.skipped,
    timings: solved.timings,
    patchLpMs: assembly.order.map((j) => solved.patchLpMs[j]),
    assemblyMs,
    totalMs: now() - t0,
    tolerance: job.tolerance,
    notes,
  });
  if (report.result.status === 'failed') {
    // Never hand back a network that fails its own check silently: the report says which points.
    report.notes.push('some points are not fixed; see result.unfixedPoints');
  }
  addCertificate(report, assembly);
  return { network: assembly.network, report };
}

/** The checked inputs of one repair, with defaults resolved. */
interface PointJob {
  flat: Float64Array;
  count: number;
  /** Φ_out of every point. */
  specs: (Spec | SpecUnion)[];
  box: Box;
  /** Largest locality radius. */
  rMax: number;
  prune: boolean;
  tolerance: number;
  backend: LpBackend;
  /** The backend's name when the caller named it (workers build their own). */
  lpName?: LpName;
}

function checkOptions(network: Network, opts: RepairOptions): PointJob {
  const n = network.inputSize;
  const { flat, count } = flattenPoints(opts.points, n);
  if (count === 0) throw new InputError('there are no points to repair', { field: 'points' });
  const specs = resolveSpecs(network, count, opts);
  checkConflictingLabels(flat, count, n, specs);
  for (const s of new Set(specs)) checkSafeSetNotEmpty(s);
  const box = opts.inputBox ?? network.info.inputBox;
  if (!box) {
    throw new InputError(
      'no input domain: give an input box (the linear regions must be bounded for a finite minimal patch); the model declares no input range',
      {
        field: 'inputBox',
      },
    );
  }
  checkBox(box, n);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < n; j++) {
      const v = flat[i * n + j];
      if (v < box.lower[j] || v > box.upper[j]) {
        throw new InputError(`lies outside the input box [${box.lower[j]}, ${box.upper[j]}]`, { field: `points[${i}][${j}]`, value: v });
      }
    }
  }
  if (opts.inputSet) checkInputSet(opts.inputSet, flat, count, n);
  const rMax = resolveRadius(opts.radius, box);
  const prune = resolvePrune(opts.prune, n);
  const tolerance = opts.tolerance ?? 1e-9;
  const lpName: LpName | undefined = typeof opts.lp === 'string' ? opts.lp : undefined;
  const backend = resolveBackend(opts.lp);
  if (opts.workers !== undefined && opts.lp !== undefined && typeof opts.lp !== 'string') {
    throw new InputError('an LP backend object cannot move to worker threads: with "workers", name the backend ("glpk" or "highs")', {
      field: 'lp',
    });
  }
  return { flat, count, specs, box, rMax, prune, tolerance, backend, lpName };
}

/** The buggy points of one linear region: one patch per group. */
interface Group {
  /** Activation pattern, and its hex form. */
  pattern: ArrayLike<number>;
  key: string;
  points: number[];
  /** The intersection of the points' specs. */
  spec: Spec | SpecUnion;
}

/** Groups the points by activation pattern, in order of first appearance. */
function groupByRegion(network: Network, job: PointJob): Group[] {
  const groups: Omit<Group, 'spec'>[] = [];
  const byKey = new Map<string, Omit<Group, 'spec'>>();
  network.patterns(job.flat).forEach((pattern, i) => {
    const key = patternHex(pattern);
    let g = byKey.get(key);
    if (!g) {
      g = { pattern, key, points: [] };
      byKey.set(key, g);
      groups.push(g);
    }
    g.points.push(i);
  });
  return groups.map((g) => ({ ...g, spec: intersectAny(g.points.map((i) => job.specs[i])) }));
}

/** The outcomes of the groups' region jobs, in group order. */
interface Solved {
  patches: RegionPatch[];
  /** LP time of each patch's region, aligned with `patches`. */
  patchLpMs: number[];
  /** Per group: the index of its patch (none when the spec already held on the whole region). */
  groupPatch: (number | undefined)[];
  timings: RegionTiming[];
  skipped: { points: number[]; reason: string }[];
  /** The LP backend's name as the workers report it. */
  lpName?: string;
}

/** The minimal patch of every group's region, on this thread or in the pool's workers. */
async function solveGroups(
  network: Network,
  job: PointJob,
  groups: Group[],
  opts: RepairOptions,
  progress: (phase: 'regions', done: number) => void,
): Promise<Solved> {
  const n = network.inputSize;
  const pause = periodicYield();
  progress('regions', 0);
  const taskOf = (g: Group): RegionTask => ({
    anchor: job.flat.slice(g.points[0] * n, (g.points[0] + 1) * n),
    points: g.points,
    pattern: g.key,
    spec: g.spec,
    box: job.box,
    inputSet: opts.inputSet,
    prune: job.prune,
    radius: job.rMax,
    lp: job.lpName,
  });
  // With workers, every region is solved up front (in parallel); the loop below then takes the
  // outcomes in the same order as on one thread.
  const pooled =
    opts.workers === undefined
      ? undefined
      : await solveInWorkers(network, groups.map(taskOf), opts.workers, {
          signal: opts.signal,
          onProgress: (done) => progress('regions', done),
        });
  const solved: Solved = { patches: [], patchLpMs: [], groupPatch: [], timings: [], skipped: [], lpName: pooled?.lpName };
  for (let gi = 0; gi < groups.length; gi++) {
    await pause();
    throwIfAborted(opts.signal);
    const g = groups[gi];
    const outcome = pooled ? pooled.outcomes[gi] : await solveRegion(network, taskOf(g), job.backend);
    solved.timings.push(outcome.timing);
    solved.groupPatch.push(outcome.patch ? solved.patches.length : undefined);
    if (outcome.patch) {
      solved.patches.push(outcome.patch);
      solved.patchLpMs.push(outcome.timing.lpMs);
    } else {
      solved.skipped.push({ points: g.points, reason: outcome.reason! });
    }
    if (!pooled) progress('regions', gi + 1);
  }
  return solved;
}

/**
 * No buggy point may sit in another region's band (where that patch is partly on): each radius
 * becomes at most half the summed face excess of the nearest other point. Returns notes on points
 * that lie on another region's closed region (a shared face), where both patches apply.
 */
function limitRadii(patches: RegionPatch[], flat: Float64Array, count: number, n: number): string[] {
  const notes: string[] = [];
  for (const p of patches) {
    const own = new Set(p.region.points);
    const others: number[] = [];
    for (let i = 0; i < count; i++) if (!own.has(i)) others.push(i);
    if (others.length === 0) continue;
    const xs = new Float64Array(others.length * n);
    others.forEach((i, j) => xs.set(flat.subarray(i * n, (i + 1) * n), j * n));
    const excess = slackExcess(p.A, p.b, n, xs);
    let closest = Infinity;
    excess.forEach((v, j) => {
      if (v > 0) closest = Math.min(closest, v);
      else
        notes.push(
          `point ${others[j]} lies on the closed linear region of point ${p.region.points[0]} (a shared face); both patches apply there`,
        );
    });
    if (Number.isFinite(closest)) p.radius = Math.min(p.radius, closest / 2);
  }
  return notes;
}

/** Per point: buggy before repair, and fixed after (violation <= tolerance · (1 + max|y|)). */
function checkPoints(job: PointJob, yOrig: Float64Array, yRep: Float64Array, k: number): { buggy: boolean[]; fixed: boolean[] } {
  const fixed: boolean[] = [];
  const buggy: boolean[] = [];
  for (let i = 0; i < job.count; i++) {
    const yo = yOrig.subarray(i * k, (i + 1) * k);
    const yr = yRep.subarray(i * k, (i + 1) * k);
    const scale = 1 + yr.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    buggy.push(violationOf(job.specs[i], yo) > 0);
    fixed.push(violationOf(job.specs[i], yr) <= job.tolerance * scale);
  }
  return { buggy, fixed };
}

/** The certificate section of the report (when the network was certified). */
function addCertificate(report: RepairReport, assembly: Assembly): void {
  const certified = assembly.certified;
  if (!certified) return;
  const { ms: _ms, ...certificate } = certified.certificate;
  report.certificate = certificate;
  report.refinement = certified.refinement;
  report.timingsMs.certify = assembly.certifyMs;
  if (certified.refinement.rounds > 0)
    report.notes.push(
      `radius refinement: ${certified.refinement.shrunkPatches.length} patch radius(es) shrunk in ${certified.refinement.rounds} round(s)`,
    );
  if (certified.certificate.status !== 'certified') {
    report.notes.push(`the certificate fails on ${certified.certificate.failedRegions.length} region(s); see certificate.failedRegions`);
  }
}
