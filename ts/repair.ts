/**
 * Point-wise repair (REASSURE, METHOD.md §2–§4): group the buggy points by linear region, find
 * each region's minimal patch (lower bound + constant patch, else the full LP), wrap it in a
 * patch network with a locality radius that keeps every other buggy point outside its band, and
 * assemble f̂ = f + Σ h_A.
 */
import { type CertifyOptions, certifyWithRefinement } from './certificate.js';
import { AbortError, InputError, LpError, RepairError, throwIfAborted } from './errors.js';
import { GlpkBackend } from './lp/glpk.js';
import { type LpName, backendByName } from './lp/select.js';
import type { LpBackend } from './lp/backend.js';
import { buildFullPatchLp } from './lp/full-lp.js';
import { type Box, type Network, type Points, checkBox, flattenPoints } from './network.js';
import { type RegionPatch, patternHex } from './patch.js';
import { type InputSet, LinearRegion, type MinimalityProof, slackExcess } from './region.js';
import { RepairedNetwork } from './repaired.js';
import { BandExpander, chainOrder } from './compose.js';
import { type RepairReport, buildReport } from './report.js';
import { type Spec, labelSpec } from './spec.js';
import { type SpecUnion, intersectAny, isSpecUnion, violationOf } from './spec-union.js';
import { getCore, init } from './wasm/raw.js';
import { type PoolJobResult, type RepairPool, solveInWorkers } from './pool/pool.js';

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
  certificate?: Pick<CertifyOptions, 'rtol' | 'eps' | 'maxPieces' | 'boundHelpful'> & { refineRounds?: number };
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

export interface RegionTiming {
  regionMs: number;
  lpMs: number;
  assemblyMs: number;
}

const now = () => performance.now();

/** Yields to the event loop so that an AbortSignal can fire during long synchronous work. */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, 0));
}

export function resolveSpecs(network: Network, count: number, opts: Pick<RepairOptions, 'spec' | 'labels' | 'margin'>): (Spec | SpecUnion)[] {
  const k = network.outputSize;
  if (opts.spec !== undefined && opts.labels !== undefined) throw new InputError('give either "spec" or "labels", not both', { field: 'spec' });
  let specs: (Spec | SpecUnion)[];
  if (opts.spec !== undefined) {
    if (Array.isArray(opts.spec)) {
      if (opts.spec.length !== count) throw new InputError(`has ${opts.spec.length} specs for ${count} points`, { field: 'spec', value: opts.spec.length });
      specs = [...(opts.spec as (Spec | SpecUnion)[])];
    } else {
      specs = new Array(count).fill(opts.spec as Spec | SpecUnion);
    }
  } else if (opts.labels !== undefined) {
    const labels = typeof opts.labels === 'number' ? new Array(count).fill(opts.labels) : [...opts.labels];
    if (labels.length !== count) throw new InputError(`has ${labels.length} labels for ${count} points`, { field: 'labels', value: labels.length });
    const cache = new Map<number, Spec>();
    specs = labels.map((y, i) => {
      let s = cache.get(y);
      if (!s) {
        s = labelSpec(y, k, { margin: opts.margin, field: typeof opts.labels === 'number' ? 'label' : `labels[${i}]` });
        cache.set(y, s);
      }
      return s;
    });
  } else {
    throw new InputError('no specification: give "spec" (P y <= q) or "labels"', { field: 'spec' });
  }
  specs.forEach((s, i) => {
    if (s.outputs !== k) throw new InputError(`has ${s.outputs} outputs, the network has ${k}`, { field: `spec[${i}]`, value: s.outputs });
  });
  return specs;
}

function checkInputSet(set: InputSet, flat: Float64Array, count: number, n: number): void {
  const m = set.b.length;
  if (set.A.length !== m * n) throw new InputError(`has ${set.A.length} coefficients for ${m} rows of ${n} inputs`, { field: 'inputSet.A', value: set.A.length });
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < m; r++) {
      let v = -set.b[r];
      let scale = Math.abs(set.b[r]);
      for (let j = 0; j < n; j++) {
        v += set.A[r * n + j] * flat[i * n + j];
        scale += Math.abs(set.A[r * n + j] * flat[i * n + j]);
      }
      if (v > 1e-12 * (1 + scale)) throw new InputError(`lies outside the input set (row ${r} exceeded by ${v})`, { field: `points[${i}]`, value: Array.from(flat.subarray(i * n, (i + 1) * n)) });
    }
  }
}

export function defaultRadius(box: Box): number {
  let side = Infinity;
  for (let j = 0; j < box.lower.length; j++) {
    const w = box.upper[j] - box.lower[j];
    if (w > 0) side = Math.min(side, w);
  }
  return Number.isFinite(side) ? 1e-3 * side : 1e-3;
}

interface Group {
  key: string;
  points: number[];
}

/** Repairs the linear region of every buggy point. */
export async function repair(network: Network, opts: RepairOptions): Promise<RepairResult> {
  await init();
  const t0 = now();
  const n = network.inputSize;
  const k = network.outputSize;
  throwIfAborted(opts.signal);
  const { flat, count } = flattenPoints(opts.points, n);
  if (count === 0) throw new InputError('there are no points to repair', { field: 'points' });
  const specs = resolveSpecs(network, count, opts);
  const box = opts.inputBox ?? network.info.inputBox;
  if (!box) {
    throw new InputError('no input domain: give an input box (the linear regions must be bounded for a finite minimal patch); the model declares no input range', {
      field: 'inputBox',
    });
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
  const rMax = opts.radius ?? defaultRadius(box);
  if (!(Number.isFinite(rMax) && rMax > 0)) throw new InputError('must be a finite number > 0', { field: 'radius', value: rMax });
  const prune = opts.prune === undefined || opts.prune === 'auto' ? n <= 16 : opts.prune;
  const tolerance = opts.tolerance ?? 1e-9;
  const lpName: LpName | undefined = typeof opts.lp === 'string' ? opts.lp : undefined;
  const backend = typeof opts.lp === 'string' ? backendByName(opts.lp) : (opts.lp ?? new GlpkBackend());
  if (opts.workers !== undefined && opts.lp !== undefined && typeof opts.lp !== 'string') {
    throw new InputError('an LP backend object cannot move to worker threads: with "workers", name the backend ("glpk" or "highs")', { field: 'lp' });
  }

  // Group points by activation pattern: one patch per linear region.
  const yOrig = network.forwardFlat(flat, count);
  const patterns = network.patterns(flat);
  const groups: Group[] = [];
  const byKey = new Map<string, Group>();
  patterns.forEach((p, i) => {
    const key = patternHex(p);
    let g = byKey.get(key);
    if (!g) {
      g = { key, points: [] };
      byKey.set(key, g);
      groups.push(g);
    }
    g.points.push(i);
  });

  const patches: RegionPatch[] = [];
  /** Per group: its spec and the index of its patch (none when the spec already held). */
  const groupSpec: (Spec | SpecUnion)[] = [];
  const groupPiece: (number | undefined)[] = [];
  const groupPatch: (number | undefined)[] = [];
  const timings: RegionTiming[] = [];
  const patchLpMs: number[] = [];
  const skipped: { points: number[]; reason: string }[] = [];
  let lastYield = now();
  const progress = (phase: RepairProgress['phase'], done: number) =>
    opts.onProgress?.({ phase, done, total: groups.length, elapsedMs: now() - t0 });
  progress('regions', 0);
  const makeTask = (g: Group): RegionTask => ({
    anchor: flat.slice(g.points[0] * n, (g.points[0] + 1) * n),
    points: g.points,
    pattern: g.key,
    spec: intersectAny(g.points.map((i) => specs[i])),
    box,
    inputSet: opts.inputSet,
    prune,
    radius: rMax,
    lp: lpName,
  });
  // With workers, every region is solved up front (in parallel); the loop below then assembles
  // the outcomes in the same order as on one thread.
  let pooled: PoolJobResult | undefined;
  if (opts.workers !== undefined) {
    pooled = await solveInWorkers(network, groups.map(makeTask), opts.workers, { signal: opts.signal, onProgress: (done) => progress('regions', done) });
  }

  for (let gi = 0; gi < groups.length; gi++) {
    if (now() - lastYield > 20) {
      await yieldToEventLoop();
      lastYield = now();
    }
    if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
    const g = groups[gi];
    const outcome = pooled ? pooled.outcomes[gi] : await solveRegion(network, makeTask(g), backend);
    timings.push(outcome.timing);
    groupSpec.push(intersectAny(g.points.map((i) => specs[i])));
    groupPiece.push(outcome.patch?.region.specPiece);
    groupPatch.push(outcome.patch ? patches.length : undefined);
    if (outcome.patch) {
      patches.push(outcome.patch);
      patchLpMs.push(outcome.timing.lpMs);
    } else {
      skipped.push({ points: g.points, reason: outcome.reason! });
    }
    if (!pooled) progress('regions', gi + 1);
  }

  // Radii: no buggy point may sit in another region's band (where the patch is partly on).
  progress('assembly', groups.length);
  const ta = now();
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
      else notes.push(`point ${others[j]} lies on the closed linear region of point ${p.region.points[0]} (a shared face); both patches apply there`);
    });
    if (Number.isFinite(closest)) p.radius = Math.min(p.radius, closest / 2);
  }
  // The chain (ts/compose.ts): constant patches by increasing norm, affine ones after (summed).
  const order = chainOrder(patches);
  const position = new Map(order.map((j, pos) => [j, pos]));
  const inOrder = order.map((j) => patches[j]);
  patches.splice(0, patches.length, ...inOrder);
  patchLpMs.splice(0, patchLpMs.length, ...order.map((j) => patchLpMs[j]));
  const chainPatchOf = groupPatch.map((j) => (j === undefined ? undefined : position.get(j)));
  // One box indicator for all patches, with the smallest patch radius (so that "r_A outside a
  // face" includes the box faces for every patch).
  const boxGateOf = () => ({ lower: [...box.lower], upper: [...box.upper], radius: patches.reduce((r, p) => Math.min(r, p.radius), rMax) });
  let repaired = new RepairedNetwork(network, patches, box, boxGateOf(), 'chain');
  let assemblyMs = now() - ta;

  // Certificate of the finished network on every point's region (and radius refinement).
  const certifyOpt = opts.certify ?? 'auto';
  const doCertify = certifyOpt === 'auto' ? n <= 8 : certifyOpt;
  let certified: Awaited<ReturnType<typeof certifyWithRefinement>> | undefined;
  const tc = now();
  if (doCertify && groups.length > 0) {
    progress('certify', groups.length);
    const items = groups.map((g, gi) => ({ pattern: patterns[g.points[0]], spec: groupSpec[gi], ownPatch: chainPatchOf[gi], piece: groupPiece[gi] }));
    // Band validity needs one convex spec for every region (else only radii are refined).
    const one = groupSpec.every((s) => s === groupSpec[0]) && !isSpecUnion(groupSpec[0]) ? (groupSpec[0] as Spec) : undefined;
    const expander = one ? new BandExpander(network, one, box, opts.inputSet) : undefined;
    certified = await certifyWithRefinement(() => new RepairedNetwork(network, patches, box, boxGateOf(), 'chain'), items, { box, inputSet: opts.inputSet }, {
      ...opts.certificate,
      rounds: opts.certificate?.refineRounds,
      ...expander?.hooks(patches, items.map((it) => it.pattern)),
      scope: 'regions',
      signal: opts.signal,
    });
    repaired = certified.network;
  }
  const certifyMs = now() - tc;
  const tb = now();
  const yRep = repaired.forwardFlat(flat, count);
  assemblyMs += now() - tb;

  const fixed: boolean[] = [];
  const buggy: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const yo = yOrig.subarray(i * k, (i + 1) * k);
    const yr = yRep.subarray(i * k, (i + 1) * k);
    const scale = 1 + yr.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    buggy.push(violationOf(specs[i], yo) > 0);
    fixed.push(violationOf(specs[i], yr) <= tolerance * scale);
  }
  progress('done', groups.length);
  const report = buildReport({
    backend: pooled?.lpName ?? backend.name,
    flavour: getCore().flavour,
    patches,
    buggy,
    fixed,
    skipped,
    timings,
    patchLpMs,
    assemblyMs,
    totalMs: now() - t0,
    tolerance,
    notes,
  });
  if (report.result.status === 'failed') {
    // Never hand back a network that fails its own check silently: the report says which points.
    report.notes.push('some points are not fixed; see result.unfixedPoints');
  }
  if (certified) {
    const { ms: _ms, ...certificate } = certified.certificate;
    report.certificate = certificate;
    report.refinement = certified.refinement;
    report.timingsMs.certify = certifyMs;
    report.regions.forEach((r, i) => (r.radius = patches[i].radius));
    if (certified.refinement.rounds > 0) report.notes.push(`radius refinement: ${certified.refinement.shrunkPatches.length} patch radius(es) shrunk in ${certified.refinement.rounds} round(s)`);
    if (certified.certificate.status !== 'certified') {
      report.notes.push(`the certificate fails on ${certified.certificate.failedRegions.length} region(s); see certificate.failedRegions`);
    }
  }
  return { network: repaired, report };
}

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
}

export interface RegionOutcome {
  /** The patch, or null when the spec already holds on the whole region. */
  patch: RegionPatch | null;
  reason?: string;
  timing: RegionTiming;
}

export async function solveRegion(network: Network, task: RegionTask, backend: LpBackend): Promise<RegionOutcome> {
  if (isSpecUnion(task.spec)) return solveRegionUnion(network, task as RegionTask & { spec: SpecUnion }, backend);
  const ta = now();
  const region = task.activation
    ? LinearRegion.ofPattern(network, task.activation, task.box, task.inputSet)
    : LinearRegion.ofPoint(network, task.anchor, task.box, task.inputSet);
  try {
    const tb = now();
    const cp = region.constantPatch(task.spec);
    if (cp.proof === 'not-needed') {
      return { patch: null, reason: 'the spec already holds on the whole linear region', timing: { regionMs: tb - ta, lpMs: now() - tb, assemblyMs: 0 } };
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
    const support = region.supportRows(task.prune);
    const neuronOf = region.neuronIndex;
    const norms = region.rowNorms;
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
    return { patch, timing: { regionMs: tb - ta, lpMs: tc - tb, assemblyMs: now() - tc } };
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
  const timing: RegionTiming = { regionMs: 0, lpMs: 0, assemblyMs: 0 };
  for (let i = 0; i < task.spec.pieces.length; i++) {
    let outcome: RegionOutcome;
    try {
      outcome = await solveRegion(network, { ...task, spec: task.spec.pieces[i] }, backend);
    } catch (e) {
      if (!(e instanceof LpError)) throw e;
      firstError ??= e;
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
  return { patch: best.patch, timing };
}

/** Outputs grouped by the spec rows that couple them (union-find); untouched outputs are left out. */
export function outputGroups(spec: Spec): number[][] {
  const k = spec.outputs;
  const parent = [...Array(k).keys()];
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const used = new Array(k).fill(false);
  for (let j = 0; j < spec.q.length; j++) {
    let first = -1;
    for (let i = 0; i < k; i++) {
      if (spec.P[j * k + i] === 0) continue;
      used[i] = true;
      if (first < 0) first = i;
      else parent[find(i)] = find(first);
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < k; i++) {
    if (!used[i]) continue;
    const r = find(i);
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(i);
  }
  return [...groups.values()];
}

/** The full LP, then an independent check of its answer on the region by the core's LPs. */
async function solveFullLp(region: LinearRegion, spec: Spec, backend: LpBackend, prune: boolean) {
  const n = region.inputSize;
  const k = region.outputSize;
  const rows = prune ? region.supportRows(true) : { A: region.A, b: region.b };
  const Freg = region.F;
  const ereg = region.e;
  // Outputs that no spec row couples are independent problems: solve one (much smaller) LP per
  // group; the norm is the largest group optimum. An output box over k outputs is k LPs, each
  // about 1/k of the full one.
  const C = new Float64Array(k * n);
  const d = new Float64Array(k);
  let optimum = 0;
  for (const group of outputGroups(spec)) {
    const rowsOf = [...Array(spec.q.length).keys()].filter((j) => group.some((i) => spec.P[j * k + i] !== 0));
    const sub: Spec = {
      outputs: group.length,
      P: Float64Array.from(rowsOf.flatMap((j) => group.map((i) => spec.P[j * k + i]))),
      q: Float64Array.from(rowsOf.map((j) => spec.q[j])),
    };
    const Fg = new Float64Array(group.length * n);
    group.forEach((i, gi) => Fg.set(Freg.subarray(i * n, (i + 1) * n), gi * n));
    const { lp, decode } = buildFullPatchLp(
      { n, k: group.length, G: rows.A, h: rows.b, lower: region.box.lower, upper: region.box.upper, F: Fg, e: Float64Array.from(group.map((i) => ereg[i])) },
      sub,
    );
    const part = decode((await backend.solve(lp, `full minimal-patch LP (outputs ${group.join(', ')})`)).x);
    group.forEach((i, gi) => {
      C.set(part.C.subarray(gi * n, (gi + 1) * n), i * n);
      d[i] = part.d[gi];
    });
    optimum = Math.max(optimum, part.t);
  }
  const sol = { objective: optimum };
  // Certify: the spec holds on the region with the patch, and the patch's norm, by core LPs.
  let residual = -Infinity;
  for (let j = 0; j < spec.q.length; j++) {
    const c = new Float64Array(n);
    let constant = -spec.q[j];
    for (let i = 0; i < k; i++) {
      const pji = spec.P[j * k + i];
      if (pji === 0) continue;
      for (let cc = 0; cc < n; cc++) c[cc] += pji * (Freg[i * n + cc] + C[i * n + cc]);
      constant += pji * (ereg[i] + d[i]);
    }
    residual = Math.max(residual, region.maximize(c).upper + constant);
  }
  const scale = 1 + Math.abs(sol.objective) + ereg.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  if (residual > 1e-7 * scale) {
    throw new LpError(`full minimal-patch LP: the patch from ${backend.name} violates the spec on the region by ${residual} (tolerance ${1e-7 * scale})`);
  }
  const H = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const ci = C.subarray(i * n, (i + 1) * n);
    const up = region.maximize(ci).upper + d[i];
    const dn = region.maximize(ci.map((v) => -v)).upper - d[i];
    H[i] = Math.max(0, up, dn);
  }
  const norm = H.reduce((a, v) => Math.max(a, v), 0);
  if (!(norm <= sol.objective * (1 + 1e-6) + 1e-9 * scale)) {
    throw new RepairError(`full minimal-patch LP: certified patch norm ${norm} exceeds the LP optimum ${sol.objective}`);
  }
  return { C, d, H, norm, residual };
}
