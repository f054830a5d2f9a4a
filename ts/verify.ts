/**
 * Verification of VNN-LIB properties (issue 10): does any input of the property's input set map
 * into its unsafe output set? Branch and bound over the input box in the core (sound bounds,
 * counterexample search, exact decision of small boxes by their linear regions; see
 * crates/core/src/verify/ and ts/box-job.ts), here orchestrated:
 *
 * 1. per property (input set) of the file, the core searches breadth first from the whole box
 *    (the root's counterexample search included) until `jobs` boxes wait, or the answer is known;
 * 2. those boxes are jobs, run on this thread or in a worker pool: the frontier does not depend
 *    on the number of workers and each job is deterministic, so neither does the answer nor the
 *    statistics; outcomes are merged in job order (with `stopAtViolation`, the counterexample of
 *    the first violated job; later jobs are cancelled, earlier ones finish);
 * 3. a counterexample is checked by an independent float64 forward pass here (plain loops over
 *    the weights, not the core) against the property before it is reported.
 *
 * The answer is `holds` only when every part of every input box was proven safe, `violated` only
 * with a checked counterexample, `timeout` when `timeoutMs` passed first (the report says what was
 * proven), and `unknown` when some box could not be decided (the report says how much).
 */
import {
  type BoxLeaf,
  type BoxOutcome,
  type BoxRoot,
  type BoxStats,
  type BoxTask,
  CoreVerifier,
  type CoreVerifyOptions,
  DEFAULT_CORE_OPTIONS,
  type ProofMethodName,
  type PropertyData,
  runBoxTask,
  StepBudget,
  statsOf,
} from './box-job.js';
import { AbortError, InputError } from './errors.js';
import type { Vnnlib, VnnlibProperty } from './formats/vnnlib.js';
import { PrefixNetwork } from './network/prefix.js';
import type { Box, Network } from './network.js';
import { RepairPool } from './pool/pool.js';
import { yieldToEventLoop } from './util/event-loop.js';

export type VerifyStatus = 'holds' | 'violated' | 'unknown' | 'timeout';

export interface VerifyProgress {
  /** `search`: the first boxes, breadth first, on this thread; `jobs`: the jobs. */
  phase: 'search' | 'jobs';
  /** Property (input set) of the file, and how many there are. */
  property: number;
  properties: number;
  /** Share of the property's input box decided so far (proven safe, violated, or given up). */
  decided: number;
  boxes: number;
  regions: number;
  jobsDone: number;
  jobs: number;
  /** Network evaluations of the counterexample search so far (a long search shows here). */
  evaluations: number;
  elapsedMs: number;
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Stop after this long with a partial answer (`timeout`; where it stops depends on the machine and its load). */
  timeoutMs?: number;
  /**
   * Work budget per property (default: none): at most this many boxes bounded, the first search's
   * included; the rest is split evenly among the jobs (each job's share is fixed before any runs,
   * so the jobs, their ends and the answer are the same on one thread and in any pool). When it
   * is spent the answer is `unknown` (`budgetSpent`) and, with `collectLeaves`, the open boxes are
   * handed back as `pending`.
   */
  maxBoxes?: number;
  /** Run the jobs in this pool, or in that many workers (this call only). Default: this thread. */
  workers?: number | RepairPool;
  /** Boxes the first search hands out as jobs (default 16; the same for any number of workers). */
  jobs?: number;
  /** Bounds for inputs the property leaves unbounded (e.g. the model's declared range). */
  inputBox?: Box;
  /** Stop at the first counterexample (default true); else classify every box (repair needs all violating regions). */
  stopAtViolation?: boolean;
  /** Keep every finished box (`onLeaves`, or `result.leaves`): its status, proof and violating regions. */
  collectLeaves?: boolean;
  onLeaves?: (leaves: BoxLeaf[], property: number) => void;
  onProgress?: (e: VerifyProgress) => void;
  /** The core's branch-and-bound settings (defaults in ts/box-job.ts). */
  core?: Partial<CoreVerifyOptions>;
}

/** Share of an input box's volume by how it was decided. */
export interface ProofShares {
  empty: number;
  interval: number;
  symbolic: number;
  symbolicLp: number;
  lpRelaxation: number;
  regions: number;
  violated: number;
  unknown: number;
  /** Not decided (a timeout, or a search stopped at a counterexample). */
  undecided: number;
}

export interface VerifyStats {
  boxes: number;
  splits: number;
  leaves: number;
  exactLeaves: number;
  regions: number;
  violatingRegions: number;
  lps: number;
  evaluations: number;
  maxDepth: number;
  maxQueue: number;
}

export interface PropertyReport {
  index: number;
  status: VerifyStatus;
  shares: ProofShares;
  stats: VerifyStats;
  jobs: number;
  /** Smallest proven margin of a safe box (> 0), and smallest margin seen at a point. */
  minMargin: number;
  bestMargin: number;
  /** Jobs that failed (their boxes count as unknown; the other jobs' work stands). */
  errors: string[];
  /** Jobs that spent their work budget (`maxBoxes`), and the budget each job had (0: none). */
  budgetSpent: number;
  jobBudget: number;
  /** The clock (`timeoutMs`) stopped the search or a job before its end: the answer depends on the machine's speed and load. */
  cutByTime: boolean;
  ms: number;
}

export interface VerifyCounterexample {
  /** Which property (input set) it violates. */
  property: number;
  /** Inputs (flattened as the network takes them) and outputs by an independent float64 forward pass. */
  x: number[];
  y: number[];
  /** How deep inside the unsafe set y lies: max over the disjunct's rows of (row·y − bound), < 0. */
  margin: number;
}

export interface VerifyResult {
  status: VerifyStatus;
  counterexample?: VerifyCounterexample;
  properties: PropertyReport[];
  stats: VerifyStats;
  /** Shares of the input boxes' volume (mean over the properties) by how they were decided. */
  shares: ProofShares;
  /**
   * The largest proven upper bound of the violation over the safe boxes (−margin; < 0 means
   * proven with room to spare) and the tolerance proofs were held to (0: strict).
   */
  largestProvenBound: number;
  tolerance: number;
  leaves?: BoxLeaf[];
  /**
   * With `collectLeaves`: the boxes not decided when the time ran out (queued, being decided, or
   * jobs never started), in job order. With the leaves they tile the undecided share of the box:
   * a repair decides them itself instead of giving them up.
   */
  pending?: BoxRoot[];
  ms: number;
}

const ZERO_STATS: VerifyStats = {
  boxes: 0,
  splits: 0,
  leaves: 0,
  exactLeaves: 0,
  regions: 0,
  violatingRegions: 0,
  lps: 0,
  evaluations: 0,
  maxDepth: 0,
  maxQueue: 0,
};

function addStats(a: VerifyStats, b: BoxStats): VerifyStats {
  return {
    boxes: a.boxes + b.boxes,
    splits: a.splits + b.splits,
    leaves: a.leaves + b.leaves,
    exactLeaves: a.exactLeaves + b.exactLeaves,
    regions: a.regions + b.regions,
    violatingRegions: a.violatingRegions + b.violatingRegions,
    lps: a.lps + b.lps,
    evaluations: a.evaluations + b.evaluations,
    maxDepth: Math.max(a.maxDepth, b.maxDepth),
    maxQueue: Math.max(a.maxQueue, b.maxQueue),
  };
}

const SHARE_OF: Record<ProofMethodName, keyof ProofShares> = {
  empty: 'empty',
  interval: 'interval',
  symbolic: 'symbolic',
  'symbolic-lp': 'symbolicLp',
  'lp-relaxation': 'lpRelaxation',
  regions: 'regions',
};

function emptyShares(): ProofShares {
  return { empty: 0, interval: 0, symbolic: 0, symbolicLp: 0, lpRelaxation: 0, regions: 0, violated: 0, unknown: 0, undecided: 0 };
}

function addShares(s: ProofShares, b: BoxStats, weight: number): void {
  for (const [m, key] of Object.entries(SHARE_OF) as [ProofMethodName, keyof ProofShares][]) s[key] += weight * b.volume[m];
  s.violated += weight * b.violatedVolume;
  s.unknown += weight * b.unknownVolume;
}

function decidedOf(b: BoxStats): number {
  return Object.values(b.volume).reduce((a, v) => a + v, 0) + b.violatedVolume + b.unknownVolume;
}

/** A VNN-LIB property as the core's plain data; unbounded inputs take `fallback`'s bounds. */
export function propertyData(p: VnnlibProperty, inputs: number, fallback?: Box, file?: string): PropertyData {
  if (p.input.box.lower.length !== inputs)
    throw new InputError(`declares ${p.input.box.lower.length} inputs, the network has ${inputs}`, { file });
  const lower = p.input.box.lower.map((v, j) => Math.max(v, fallback ? fallback.lower[j] : -Infinity));
  const upper = p.input.box.upper.map((v, j) => Math.min(v, fallback ? fallback.upper[j] : Infinity));
  for (let j = 0; j < inputs; j++) {
    if (!Number.isFinite(lower[j]) || !Number.isFinite(upper[j]))
      throw new InputError('is unbounded in the property; give an input box (inputBox) to bound it', { file, field: `X_${j}` });
    if (lower[j] > upper[j])
      throw new InputError(`the input set is empty: X_${j} must lie in [${lower[j]}, ${upper[j]}]`, { file, field: `X_${j}` });
  }
  return {
    lower,
    upper,
    A: Array.from(p.input.rows.A),
    b: Array.from(p.input.rows.b),
    unsafe: p.unsafe.map((u) => ({ A: Array.from(u.A), b: Array.from(u.b) })),
  };
}

/**
 * The network's outputs at x in float64, by plain loops over the weights (independent of the
 * core): a dense chain layer by layer, any other graph value by value through its operators
 * (./network/prefix.ts, the same plain-JavaScript evaluation as a head repair's prefix).
 */
export function forwardFloat64(net: Network, x: readonly number[]): number[] {
  const layers = net.denseLayers;
  if (!layers) return Array.from(new PrefixNetwork(net.graph, [net.outputSize]).forwardFlat(Float64Array.from(x), 1));
  let h = x.slice();
  for (const l of layers) {
    const z = new Array<number>(l.outputs);
    for (let i = 0; i < l.outputs; i++) {
      let s = l.bias[i];
      for (let j = 0; j < l.inputs; j++) s += l.weights[i * l.inputs + j] * h[j];
      z[i] = l.relu && s < 0 ? 0 : s;
    }
    h = z;
  }
  return h;
}

/**
 * How deep y lies inside the property's unsafe set when x is in its input set: the smallest over
 * the disjuncts of max over their rows of (row·y − bound) — <= 0 means violated. +Infinity when x
 * is outside the input set.
 */
export function unsafeDepth(p: PropertyData, x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  for (let j = 0; j < n; j++) if (!(x[j] >= p.lower[j] && x[j] <= p.upper[j])) return Infinity;
  for (let r = 0; r < p.b.length; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += p.A[r * n + j] * x[j];
    if (s > p.b[r]) return Infinity;
  }
  const k = y.length;
  let best = Infinity;
  for (const u of p.unsafe) {
    let depth = -Infinity;
    for (let r = 0; r < u.b.length; r++) {
      let s = -u.b[r];
      for (let o = 0; o < k; o++) s += u.A[r * k + o] * y[o];
      depth = Math.max(depth, s);
    }
    best = Math.min(best, depth);
  }
  return best;
}

/** Share of `box` in `whole` over the inputs where `whole` has positive width (as the core counts). */
function shareOf(box: BoxRoot, whole: PropertyData): number {
  let s = 1;
  for (let j = 0; j < whole.lower.length; j++) {
    const w = whole.upper[j] - whole.lower[j];
    if (w > 0) s *= (box.upper[j] - box.lower[j]) / w;
  }
  return s;
}

function coreOptions(opts: VerifyOptions): CoreVerifyOptions {
  const o = { ...DEFAULT_CORE_OPTIONS, ...(opts.core ?? {}) };
  o.stopAtViolation = opts.stopAtViolation ?? true;
  o.collectLeaves = opts.collectLeaves === true;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' && !(Number.isInteger(v) && v >= 0 && v < 2 ** 32))
      throw new InputError('must be a whole number from 0 to 2^32 − 1', { field: `core.${k}`, value: v });
  }
  if (o.leafMaxPieces < 1 || o.maxDepth < 1) throw new InputError('must be at least 1', { field: 'core.leafMaxPieces/maxDepth' });
  return o;
}

/** The outcome of a job that failed: nothing decided, its box unknown. */
function failedOutcome(): BoxOutcome {
  const volume = { empty: 0, interval: 0, symbolic: 0, 'symbolic-lp': 0, 'lp-relaxation': 0, regions: 0 };
  const stats: BoxStats = {
    ...ZERO_STATS,
    pending: 0,
    volume,
    violatedVolume: 0,
    unknownVolume: 1,
    minMargin: Infinity,
    bestMargin: Infinity,
  };
  return { verdict: 'unknown', stats, ms: 0 };
}

interface PropertyRun {
  report: PropertyReport;
  counterexample?: { x: number[]; margin: number };
  leaves: BoxLeaf[];
  pending: BoxRoot[];
}

/**
 * Verifies every property (input set) of a VNN-LIB file, or the given ones, on `network`.
 * Properties are checked in order; a violated one ends the verification.
 */
export async function verify(
  network: Network,
  property: Vnnlib | VnnlibProperty | readonly VnnlibProperty[],
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const t0 = performance.now();
  const start = Date.now();
  const props: readonly VnnlibProperty[] = Array.isArray(property)
    ? property
    : 'properties' in (property as Vnnlib)
      ? (property as Vnnlib).properties
      : [property as VnnlibProperty];
  if (props.length === 0) throw new InputError('there is no property to verify', { field: 'property' });
  if ('outputs' in (property as Vnnlib) && (property as Vnnlib).outputs !== network.outputSize)
    throw new InputError(`the property declares ${(property as Vnnlib).outputs} outputs, the network has ${network.outputSize}`, {
      field: 'property',
    });
  const jobs = opts.jobs ?? 16;
  if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 4096))
    throw new InputError('must be an integer from 1 to 4096', { field: 'jobs', value: jobs });
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0))
    throw new InputError('must be a number > 0', { field: 'timeoutMs', value: opts.timeoutMs });
  if (opts.maxBoxes !== undefined && !(Number.isInteger(opts.maxBoxes) && opts.maxBoxes >= 1 && opts.maxBoxes < 2 ** 32))
    throw new InputError('must be a whole number from 1 to 2^32 − 1', { field: 'maxBoxes', value: opts.maxBoxes });
  const core = coreOptions(opts);
  const deadline = opts.timeoutMs !== undefined ? start + opts.timeoutMs : undefined;
  const data = props.map((p, i) => {
    for (const u of p.unsafe)
      if (u.A.length !== u.b.length * network.outputSize)
        throw new InputError(
          `an unsafe set of property ${i} has rows of ${u.A.length / Math.max(1, u.b.length)} outputs, the network has ${network.outputSize}`,
          {
            field: 'property',
          },
        );
    return propertyData(p, network.inputSize, opts.inputBox);
  });
  let pool: RepairPool | undefined;
  const own = typeof opts.workers === 'number';
  if (own) {
    const w = opts.workers as number;
    if (!(Number.isInteger(w) && w >= 1 && w <= 256))
      throw new InputError('must be an integer from 1 to 256', { field: 'workers', value: w });
  }
  const runs: PropertyRun[] = [];
  let status: VerifyStatus = 'holds';
  let counterexample: VerifyCounterexample | undefined;
  try {
    for (let i = 0; i < data.length; i++) {
      if (opts.workers !== undefined && !pool)
        pool = own ? await RepairPool.create({ size: opts.workers as number }) : (opts.workers as RepairPool);
      const run = await verifyOne(network, data[i], i, data.length, core, jobs, deadline, pool, opts, t0);
      runs.push(run);
      const st = run.report.status;
      if (st === 'violated') {
        const x = run.counterexample!.x;
        const y = forwardFloat64(network, x);
        const depth = unsafeDepth(data[i], x, y);
        if (depth <= 0) {
          counterexample = { property: i, x, y, margin: depth };
          status = 'violated';
          break;
        }
        // The core's point does not violate by the independent check (rounding at a tie): not an answer.
        run.report.status = 'unknown';
      }
      if (run.report.status === 'timeout') status = 'timeout';
      else if (run.report.status === 'unknown' && status !== 'timeout') status = 'unknown';
      if (deadline !== undefined && Date.now() >= deadline && i + 1 < data.length) {
        status = 'timeout';
        break;
      }
    }
  } finally {
    if (own && pool) await pool.close();
  }
  const shares = emptyShares();
  let stats = { ...ZERO_STATS };
  let minMargin = Infinity;
  for (const r of runs) {
    for (const k of Object.keys(shares) as (keyof ProofShares)[]) shares[k] += r.report.shares[k] / props.length;
    stats = addStats(stats, {
      ...r.report.stats,
      pending: 0,
      volume: {} as BoxStats['volume'],
      violatedVolume: 0,
      unknownVolume: 0,
      minMargin: 0,
      bestMargin: 0,
    });
    minMargin = Math.min(minMargin, r.report.minMargin);
  }
  // Properties never reached count as undecided.
  shares.undecided += (props.length - runs.length) / props.length;
  const leaves = opts.collectLeaves && !opts.onLeaves ? runs.flatMap((r) => r.leaves) : undefined;
  const pending = opts.collectLeaves ? runs.flatMap((r) => r.pending) : undefined;
  return {
    status,
    counterexample,
    properties: runs.map((r) => r.report),
    stats,
    shares,
    largestProvenBound: Number.isFinite(minMargin) ? -minMargin : -Infinity,
    tolerance: 0,
    leaves,
    ...(pending ? { pending } : {}),
    ms: performance.now() - t0,
  };
}

async function verifyOne(
  net: Network,
  data: PropertyData,
  index: number,
  count: number,
  core: CoreVerifyOptions,
  jobs: number,
  deadline: number | undefined,
  pool: RepairPool | undefined,
  opts: VerifyOptions,
  t0: number,
): Promise<PropertyRun> {
  const p0 = performance.now();
  const leaves: BoxLeaf[] = [];
  const pending: BoxRoot[] = [];
  const errors: string[] = [];
  // Kept per job and handed out in job order (a pool finishes jobs in any order): the leaves, and
  // what a repair builds from them, do not depend on the number of workers. `onLeaves` streams
  // them as they come instead.
  const jobLeaves: BoxLeaf[][] = [];
  const keepLeaves = (fresh: BoxLeaf[], job = -1) => {
    if (fresh.length === 0) return;
    if (opts.onLeaves) opts.onLeaves(fresh, index);
    else if (opts.collectLeaves) {
      if (job < 0) leaves.push(...fresh);
      else {
        jobLeaves[job] ??= [];
        jobLeaves[job].push(...fresh);
      }
    }
  };
  const progress = (
    phase: VerifyProgress['phase'],
    decided: number,
    boxes: number,
    regions: number,
    jobsDone: number,
    total: number,
    evaluations: number,
  ) =>
    opts.onProgress?.({
      phase,
      property: index,
      properties: count,
      decided,
      boxes,
      regions,
      jobsDone,
      jobs: total,
      evaluations,
      elapsedMs: performance.now() - t0,
    });

  // 1. The first boxes, breadth first, on this thread.
  const search = new CoreVerifier(net, { property: data, options: { ...core, maxBoxes: 0 } });
  let roots: BoxRoot[] = [];
  let first: BoxStats;
  let verdict: string;
  let cex: { x: number[]; margin: number } | undefined;
  try {
    const budget = new StepBudget();
    let boxes = -1;
    let bounding = false;
    for (;;) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      const st = budget.run((b) => search.expand(jobs, b));
      keepLeaves(search.takeLeaves());
      progress('search', decidedOf(statsOf(st)), st.boxes, st.regions, 0, 0, st.evaluations);
      verdict = st.verdict;
      if (st.counterexample) cex = { x: Array.from(st.counterexample), margin: st.counterexampleMargin ?? Number.NaN };
      const timedOut = deadline !== undefined && Date.now() >= deadline;
      // No new box, none under way and none finished: nothing is left to expand. (A large
      // network's box takes many steps: the core bounds it in bounded slices so that the
      // deadline and the signal are checked between them.)
      const stuck = st.boxes === boxes && !st.bounding && !bounding;
      if (st.verdict !== 'running' || st.pending >= jobs || stuck || timedOut) {
        first = statsOf(st);
        if (st.verdict === 'running') roots = search.pending();
        if (timedOut && st.verdict === 'running') verdict = 'timeout';
        break;
      }
      boxes = st.boxes;
      bounding = st.bounding;
      await yieldToEventLoop();
    }
  } finally {
    search.free();
  }
  const shares = emptyShares();
  addShares(shares, first, 1);
  let stats = addStats({ ...ZERO_STATS }, first);
  let minMargin = first.minMargin;
  let bestMargin = first.bestMargin;
  // The work budget: what the first search left of it, split evenly among the jobs before any
  // runs (a job's share does not depend on how the others went, nor on the number of workers).
  const jobBudget =
    opts.maxBoxes !== undefined && roots.length > 0 ? Math.max(1, Math.floor((opts.maxBoxes - first.boxes) / roots.length)) : 0;
  let budgetSpent = 0;
  let cutByTime = verdict === 'timeout';
  const finish = (status: VerifyStatus): PropertyRun => {
    const decided = Object.values(shares).reduce((a, v) => a + v, 0);
    shares.undecided = Math.max(0, 1 - decided);
    for (const l of jobLeaves) if (l) leaves.push(...l);
    return {
      report: {
        index,
        status,
        shares,
        stats,
        jobs: roots.length,
        minMargin,
        bestMargin,
        errors,
        budgetSpent,
        jobBudget,
        cutByTime,
        ms: performance.now() - p0,
      },
      counterexample: cex,
      leaves,
      pending,
    };
  };
  if (verdict !== 'running' && verdict !== 'timeout') return finish(verdict as VerifyStatus);
  if (verdict === 'timeout') {
    if (opts.collectLeaves) pending.push(...roots);
    return finish('timeout');
  }

  // 2. The jobs, in order.
  const tasks: BoxTask[] = roots.map((root) => ({ property: data, root, options: { ...core, maxBoxes: jobBudget }, deadline }));
  const outcomes: (BoxOutcome | undefined)[] = new Array(tasks.length).fill(undefined);
  const firstDecided = decidedOf(first);
  let doneShare = 0;
  let done = 0;
  const merge = (i: number, o: BoxOutcome) => {
    outcomes[i] = o;
    done++;
    doneShare += shareOf(roots[i], data) * decidedOf(o.stats);
    if (o.leaves) keepLeaves(o.leaves, i);
  };
  /** One job on this thread; a job that fails leaves its box unknown and the others' work stands. */
  const runHere = async (i: number): Promise<BoxOutcome> => {
    const share = shareOf(roots[i], data);
    try {
      return await runBoxTask(net, tasks[i], {
        signal: opts.signal,
        onLeaves: opts.collectLeaves ? (fresh) => keepLeaves(fresh, i) : undefined,
        onProgress: (s) =>
          progress(
            'jobs',
            firstDecided + doneShare + share * decidedOf(s),
            stats.boxes + s.boxes,
            stats.regions + s.regions,
            done,
            tasks.length,
            stats.evaluations + s.evaluations,
          ),
      });
    } catch (e) {
      if (e instanceof AbortError) throw e;
      errors.push(`job ${i}: ${(e as Error).message}`);
      return failedOutcome();
    }
  };
  if (!pool) {
    for (let i = 0; i < tasks.length; i++) {
      const o = await runHere(i);
      merge(i, o);
      stats = addStats(stats, o.stats);
      if (o.verdict === 'violated' && core.stopAtViolation) break;
      if (o.verdict === 'timeout') break;
    }
  } else {
    // Cancel the jobs after the first violated one once every job before it has finished: the
    // same counterexample as on one thread.
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let firstViolated = Infinity;
    try {
      await pool.solveBoxes(net, tasks, {
        signal: ctl.signal,
        onResult: (i, o) => {
          merge(i, o);
          if (o.verdict === 'violated' && core.stopAtViolation) firstViolated = Math.min(firstViolated, i);
          progress('jobs', firstDecided + doneShare, stats.boxes, stats.regions, done, tasks.length, stats.evaluations);
          if (firstViolated < Infinity && outcomes.slice(0, firstViolated).every((x) => x !== undefined)) ctl.abort('counterexample found');
        },
      });
    } catch (e) {
      if (e instanceof AbortError) {
        if (opts.signal?.aborted) throw e;
      } else {
        // A worker failed (the pool stops the whole batch): the finished jobs stand, the others
        // run here, one by one.
        errors.push(`workers: ${(e as Error).message}`);
        for (let i = 0; i < tasks.length && i <= firstViolated; i++) {
          if (outcomes[i] !== undefined) continue;
          const o = await runHere(i);
          merge(i, o);
          if (o.verdict === 'violated' && core.stopAtViolation) firstViolated = Math.min(firstViolated, i);
        }
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    for (let i = 0; i < tasks.length; i++) {
      const o = outcomes[i];
      if (!o) continue;
      if (i > firstViolated) {
        // Finished after the first violated job only because of scheduling: left out, as on one thread.
        outcomes[i] = undefined;
        jobLeaves[i] = [];
        continue;
      }
      stats = addStats(stats, o.stats);
    }
  }
  let status: VerifyStatus = 'holds';
  for (let i = 0; i < tasks.length; i++) {
    const o = outcomes[i];
    if (!o) {
      if (status === 'holds') status = 'timeout';
      if (deadline !== undefined) cutByTime = true;
      // A job never run (or cancelled): its whole box is still to decide.
      if (opts.collectLeaves && !(core.stopAtViolation && cex)) pending.push(roots[i]);
      continue;
    }
    if (o.pending) pending.push(...o.pending);
    if (o.verdict === 'budget') budgetSpent++;
    if (o.verdict === 'timeout') cutByTime = true;
    addShares(shares, o.stats, shareOf(roots[i], data));
    minMargin = Math.min(minMargin, o.stats.minMargin);
    bestMargin = Math.min(bestMargin, o.stats.bestMargin);
    if (o.verdict === 'violated') {
      status = 'violated';
      if (!cex && o.counterexample) cex = o.counterexample;
      if (core.stopAtViolation) break;
    } else if (o.verdict === 'timeout' && status !== 'violated') status = 'timeout';
    else if ((o.verdict === 'unknown' || o.verdict === 'budget') && status === 'holds') status = 'unknown';
  }
  // A search stopped at a counterexample (or timed out) leaves the rest undecided: not a timeout.
  if (status === 'timeout' && cex) status = 'violated';
  return finish(status);
}
