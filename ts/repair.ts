/**
 * Point-wise repair (REASSURE, METHOD.md §2–§4): group the buggy points by linear region, find
 * each region's minimal patch (ts/region-job.ts, on this thread or in the pool's workers), give
 * every patch a locality radius that keeps the other buggy points outside its band, then compose
 * and certify f̂ = f + Σ h_A (ts/assemble.ts) and check every point.
 */
import { type Assembly, assemble } from './assemble.js';
import { type CertifyOptions, checkSafeSetNotEmpty, contradictingRows } from './certificate.js';
import { EmptySetError, InputError, LpError, throwIfAborted } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import type { LpName } from './lp/select.js';
import { type Box, checkBox, flattenPoints, type Network, type Points } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import { type RepairPool, solveInWorkers } from './pool/pool.js';
import { BandIndex, forwardAt, type PatchSignature, REL } from './reach.js';
import { type InputSet, LinearRegion, slackExcess } from './region.js';
import { type RegionTask, type RegionTiming, solveRegion } from './region-job.js';
import { checkConflictingLabels, checkInputSet, resolveBackend, resolvePrune, resolveRadius, resolveSpecs } from './repair-options.js';
import type { RepairedNetwork } from './repaired.js';
import { type BandsApart, buildReport, type FailedRegion, type RepairReport } from './report.js';
import { intersectSpecs, type Spec } from './spec.js';
import { intersectAny, isSpecUnion, type SpecUnion, violationOf } from './spec-union.js';
import { conflictNotes, type TouchingConflict, touchingConflicts } from './touching.js';
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
   * Backend for the full LP, and the fallback of region LPs the core simplex cannot solve:
   * `'glpk'` (glpk.js, the default), `'highs'`, or an object. With `workers`, give a name (an
   * object cannot move to worker threads).
   */
  lp?: LpBackend | LpName;
  /**
   * When the core simplex cannot solve a region's LPs (after its own fallback methods): solve them
   * with the `lp` backend, every answer certified by the core (default true). A region that still
   * cannot be solved is reported in `failedRegions` (status `partial`); the others are repaired.
   */
  lpFallback?: boolean;
  /**
   * Pivot budget of each method of the core simplex per LP (default 20·(rows + inputs) + 1000):
   * bounds the time of one LP; a region past it goes to the fallback.
   */
  lpPivotLimit?: number;
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
const EPS = 2 ** -52;

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
  // Regions that could not be solved are reported, not certified: they have no patch.
  const live = groups.map((_, gi) => gi).filter((gi) => !solved.failedGroups.has(gi));

  progress('assembly', groups.length);
  const ta = now();
  // Which bands can reach which points: sound bounds from the first layer (ts/reach.ts), so that
  // the radii and the final check cost per point what its own patch costs.
  const index = job.count > 1 ? BandIndex.of(network, job.flat, job.count) : undefined;
  const patternOf = new Map(groups.map((g) => [g.key, g.pattern]));
  const signature = (p: RegionPatch) => {
    const pattern = patternOf.get(p.region.pattern);
    return index && pattern ? index.signature(p, pattern) : undefined;
  };
  const notes = limitRadii(solved.patches, job.flat, job.count, n, index, signature);
  const certifyOpt = opts.certify ?? 'auto';
  const certify = certifyOpt === 'auto' ? n <= 8 : certifyOpt;
  // Without a certificate, a band reaching a repaired region with another spec can break it
  // (issue 14 item 4). Prove every such band apart (shrinking radii where that suffices) and say
  // what was not proven: certifying instead costs far more than the repair in high dimension
  // (seconds per MNIST region against ~50 ms for its repair), so `--certify` is the user's call.
  let bands: BandsApart | undefined;
  if (!certify && certifyOpt === 'auto') {
    bands = await keepBandsApart(network, job, groups, live, solved, index, signature, opts.inputSet, opts.signal);
    for (const c of bands.infeasible ?? [])
      notes.push(
        `INFEASIBLE: the specs of point(s) ${c.points.join(', ')} and of point(s) ${c.otherPoints.join(', ')} contradict (no output satisfies both: rows ${c.rows.join(', ')} of their intersection), and their linear regions touch (a point of both is in report.bands.infeasible): no continuous network meets both specs there; relax one of them or drop a point`,
      );
    const unknown = bands.unresolved - (bands.infeasiblePairs ?? 0);
    if (unknown > 0) {
      notes.push(
        `NOT PROVEN: ${unknown} patch band(s) may reach a repaired region with another spec (no positive first-layer slack bound); certify (--certify) to check them`,
      );
    } else if (bands.unresolved > 0) {
      // Every unresolved pair is an infeasible combination, reported above.
    } else if (bands.otherSpecPairs > 0) {
      notes.push(
        `every patch band is proven to stay off the ${bands.otherSpecPairs} (patch, region) pair(s) with another spec (${bands.lps} LPs, ${bands.radiiShrunk} radius(es) shrunk); regions with the same spec are covered by the composition`,
      );
    }
  }
  const assembly = await assemble(
    network,
    solved.patches,
    live.map((gi) => ({ pattern: groups[gi].pattern, spec: groups[gi].spec, patch: solved.groupPatch[gi] })),
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
  const yRep = index
    ? forwardAt(assembly.network, job.flat, job.count, candidatePatches(assembly.patches, job.count, index, signature))
    : assembly.network.forwardFlat(job.flat, job.count);
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
    failed: solved.failed,
    timings: solved.timings,
    patchLpMs: assembly.order.map((j) => solved.patchLpMs[j]),
    assemblyMs,
    totalMs: now() - t0,
    tolerance: job.tolerance,
    notes: [...notes, ...solved.notes],
  });
  if (report.result.status === 'failed') {
    // Never hand back a network that fails its own check silently: the report says which points.
    report.notes.push('some points are not fixed; see result.unfixedPoints');
  }
  if (solved.failed.length > 0)
    report.notes.push(
      `${solved.failed.length} region(s) could not be solved and are not repaired (see failedRegions); the network patches the other regions only`,
    );
  addCertificate(report, assembly);
  if (bands) report.bands = bands;
  const conflicts = certificateConflicts(assembly, groups, live, job);
  if (conflicts) {
    report.conflicts = conflicts;
    report.notes.push(...conflictNotes(conflicts, 'linear region', 'report.conflicts'));
  }
  return { network: assembly.network, report };
}

/**
 * Why regions are not certified, when that is because they touch a repaired region with another
 * spec (ts/touching.ts): the pairs whose earlier region failed its certificate, the shared point
 * and boundary, and INFEASIBLE (the specs contradict there) or CONFLICT (the later patch wins and
 * breaks the earlier spec). Only failed regions are examined (one LP per spec row and touching
 * pair): a certified region has no such conflict. Undefined without a failed certificate.
 */
function certificateConflicts(assembly: Assembly, groups: Group[], live: number[], job: PointJob): TouchingConflict[] | undefined {
  const cert = assembly.certified?.certificate;
  if (!cert || cert.status === 'certified') return undefined;
  const failed = new Set(cert.failedRegions.map((i) => cert.perRegion[i]?.pattern));
  const specOfPoint = new Map<number, Spec | SpecUnion>();
  for (const gi of live) for (const i of groups[gi].points) specOfPoint.set(i, groups[gi].spec);
  const specOf = (pts: readonly number[]) => specOfPoint.get(pts[0]) ?? intersectAny(pts.map((i) => job.specs[i]));
  return touchingConflicts(assembly.network, specOf, job.box, job.tolerance, (p) => failed.has(p.region.pattern));
}

/**
 * Proves that no patch's band reaches a repaired region (one of the other groups, patched or not)
 * whose spec differs from the patch's own: there the patch is not known to keep the spec.
 * (Regions with the same spec are covered by the composition: ts/compose.ts.) For a dense ReLU
 * first layer, the rows of first-layer neurons are the same hyperplanes in every region: where
 * the region is on the other side of one of the patch's rows, that row's excess on the region is
 * the region's own slack below the hyperplane. So the minimum over the region of the summed
 * slacks of those rows bounds the patch's excess there from below (ts/reach.ts `slackSum`), and
 * the support is 0 on the whole region once it reaches the radius: one LP per pair, stopped as
 * soon as that is proven (LinearRegion.maxUnlessBelow, certified). A radius the minimum cannot
 * reach is shrunk to it when it is positive (smaller radii keep every other guarantee); pairs
 * with no positive bound (e.g. adjacent regions) are unresolved and reported.
 */
async function keepBandsApart(
  network: Network,
  job: PointJob,
  groups: Group[],
  live: number[],
  solved: Solved,
  index: BandIndex | undefined,
  signature: (p: RegionPatch) => PatchSignature | undefined,
  inputSet: InputSet | undefined,
  signal: AbortSignal | undefined,
): Promise<BandsApart> {
  const pause = periodicYield();
  const out: BandsApart = { otherSpecPairs: 0, provenApart: 0, byBox: 0, radiiShrunk: 0, lps: 0, unresolved: 0 };
  const specKey = groups.map((g) => JSON.stringify(g.spec));
  const groupOf = new Map(groups.map((g, gi) => [g.key, gi]));
  const regions = new Map<number, LinearRegion>();
  const boxScale = Math.max(1, ...job.box.lower.map(Math.abs), ...job.box.upper.map(Math.abs));
  const regionOf = (gb: number): LinearRegion => {
    let r = regions.get(gb);
    if (!r) {
      r = LinearRegion.ofPattern(network, groups[gb].pattern, job.box, inputSet);
      regions.set(gb, r);
    }
    return r;
  };
  // Unresolved pairs of regions with contradicting specs: a common point of both closed regions
  // (one LP on the first region cut by the second's rows) makes the combination infeasible.
  const combos = new Map<string, boolean>();
  const infeasibleCombination = (ga: number, gb: number): boolean => {
    const key = ga < gb ? `${ga},${gb}` : `${gb},${ga}`;
    const known = combos.get(key);
    if (known !== undefined) return known;
    let found = false;
    const [sa, sb] = [groups[ga].spec, groups[gb].spec];
    const rows = isSpecUnion(sa) || isSpecUnion(sb) || sa.outputs !== sb.outputs ? null : contradictingRows(intersectSpecs([sa, sb]));
    if (rows) {
      const ra = LinearRegion.ofPattern(network, groups[ga].pattern, job.box, inputSet);
      try {
        const rb = regionOf(gb);
        ra.intersect({ A: rb.A, b: rb.b });
        const at = ra.maximize(new Float64Array(network.inputSize)).x;
        const combo = { points: groups[ga].points, otherPoints: groups[gb].points, rows, at: Array.from(at) };
        if (out.infeasible) out.infeasible.push(combo);
        else out.infeasible = [combo];
        found = true;
      } catch (e) {
        // Empty: the regions do not touch. Any other LP failure: not decided (stays NOT PROVEN).
        if (!(e instanceof EmptySetError || e instanceof LpError)) throw e;
      } finally {
        ra.free();
      }
    }
    combos.set(key, found);
    return found;
  };
  try {
    for (const p of solved.patches) {
      const ga = groupOf.get(p.region.pattern);
      for (const gb of live) {
        if (gb === ga || (ga !== undefined && specKey[gb] === specKey[ga])) continue;
        await pause();
        throwIfAborted(signal);
        out.otherSpecPairs++;
        const sig = index && signature(p);
        if (!sig) {
          out.unresolved++;
          continue;
        }
        const ks = index!.differing(sig, groups[gb].pattern);
        const cap = () => p.radius * (1 + REL);
        // One LP, stopped as soon as it proves the summed slack of those rows over the region
        // reaches the radius (exact otherwise, so that a radius can shrink to it).
        let sum = 0;
        if (ks.length > 0) {
          try {
            const s = index!.slackSum(ks, groups[gb].pattern, boxScale);
            // The box alone first (no LP): max of c·x over the box.
            let boxMax = 0;
            for (let j = 0; j < s.c.length; j++) boxMax += Math.max(s.c[j] * job.box.lower[j], s.c[j] * job.box.upper[j]);
            boxMax += Math.abs(boxMax) * 4 * s.c.length * EPS;
            if (s.b - boxMax - s.guard >= cap()) {
              sum = s.b - boxMax - s.guard;
              out.byBox++;
            } else {
              const upper = regionOf(gb).maxUnlessBelow(s.c, s.b - s.guard - cap());
              out.lps++;
              sum = Math.max(0, s.b - upper - s.guard);
            }
          } catch {
            // No certified maximum: the pair stays unresolved.
          }
        }
        if (sum >= cap()) out.provenApart++;
        else if (sum > 0) {
          p.radius = sum / (1 + 2 * REL);
          out.radiiShrunk++;
          out.provenApart++;
        } else {
          out.unresolved++;
          if (ga !== undefined && infeasibleCombination(ga, gb)) out.infeasiblePairs = (out.infeasiblePairs ?? 0) + 1;
        }
      }
    }
  } finally {
    for (const r of regions.values()) r.free();
  }
  return out;
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
  if (opts.lpPivotLimit !== undefined && !(Number.isInteger(opts.lpPivotLimit) && opts.lpPivotLimit >= 0))
    throw new InputError('must be a whole number >= 0', { field: 'lpPivotLimit', value: opts.lpPivotLimit });
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
  /** Regions whose LPs could not be solved (core simplex and fallback), and their group indices. */
  failed: FailedRegion[];
  failedGroups: Set<number>;
  /** Notes of the region jobs (LP fallbacks, redundant rows kept). */
  notes: string[];
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
    lpFallback: opts.lpFallback,
    lpPivotLimit: opts.lpPivotLimit,
    reportFailure: true,
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
  const solved: Solved = {
    patches: [],
    patchLpMs: [],
    groupPatch: [],
    timings: [],
    skipped: [],
    failed: [],
    failedGroups: new Set(),
    notes: [],
    lpName: pooled?.lpName,
  };
  for (let gi = 0; gi < groups.length; gi++) {
    await pause();
    throwIfAborted(opts.signal);
    const g = groups[gi];
    const outcome = pooled ? pooled.outcomes[gi] : await solveRegion(network, taskOf(g), job.backend);
    solved.timings.push(outcome.timing);
    solved.groupPatch.push(outcome.patch ? solved.patches.length : undefined);
    if (outcome.lpFallback) {
      solved.notes.push(
        `LP fallback: the core simplex failed on the region of point(s) ${g.points.join(', ')} (${outcome.lpFallback.reason}); solved by ${outcome.lpFallback.backend}, every answer certified by the core`,
      );
      if (outcome.patch) outcome.patch.region.lpFallback = outcome.lpFallback.backend;
    }
    solved.notes.push(...(outcome.notes ?? []));
    if (outcome.failure !== undefined) {
      solved.failed.push({ points: g.points, pattern: g.key, reason: outcome.failure });
      solved.failedGroups.add(gi);
    } else if (outcome.patch) {
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
 * that lie on another region's closed region (a shared face), where both patches apply. With an
 * index, points whose excess is provably >= twice the radius (they cannot lower it) are skipped
 * without computing it.
 */
function limitRadii(
  patches: RegionPatch[],
  flat: Float64Array,
  count: number,
  n: number,
  index: BandIndex | undefined,
  signature: (p: RegionPatch) => PatchSignature | undefined,
): string[] {
  const notes: string[] = [];
  for (const p of patches) {
    const own = new Set(p.region.points);
    const sig = index && signature(p);
    const cap = 2 * p.radius * (1 + 1e-6);
    const others: number[] = [];
    for (let i = 0; i < count; i++) if (!own.has(i) && !(sig && index!.lowerBound(sig, i, cap) >= cap)) others.push(i);
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

/** Per point, the chain positions of the patches whose support the index cannot prove 0 there. */
function candidatePatches(
  chain: readonly RegionPatch[],
  count: number,
  index: BandIndex,
  signature: (p: RegionPatch) => PatchSignature | undefined,
): number[][] {
  const sigs = chain.map(signature);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const c: number[] = [];
    chain.forEach((p, j) => {
      const sig = sigs[j];
      if (!sig || !index.vanishes(sig, i, p.radius)) c.push(j);
    });
    out.push(c);
  }
  return out;
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
