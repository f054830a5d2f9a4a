/**
 * One branch-and-bound job: a property verified on one sub-box of its input box, in the core
 * (crates/core/src/verify/), driven from here in slices of about 25 ms so that progress is
 * reported and an AbortSignal or a deadline takes effect between slices. Tasks and outcomes are
 * plain data, so the worker pool (ts/pool/) runs them as it runs region jobs; the same task gives
 * the same outcome on any thread.
 */
import { AbortError, InputError } from './errors.js';
import type { Network } from './network.js';
import { yieldToEventLoop } from './util/event-loop.js';
import * as abi from './wasm/abi.js';
import type { Core } from './wasm/raw.js';

/** A property as plain data: the input set and the unsafe output set (a union of `A y <= b`). */
export interface PropertyData {
  lower: number[];
  upper: number[];
  /** Extra input rows `A x <= b` (row-major, `b.length × inputs`); empty for a box. */
  A: number[];
  b: number[];
  unsafe: { A: number[]; b: number[] }[];
}

/** A sub-box of the property's box and its place in the whole search (seeds, depth, order). */
export interface BoxRoot {
  lower: number[];
  upper: number[];
  depth: number;
  id: number;
  priority: number;
}

export type LowerSlopeName = abi.NameOf<typeof abi.LowerSlope>;
export type ProofMethodName = abi.NameOf<typeof abi.ProofMethod>;

/** The core's branch-and-bound options (`VerifyOptions` of crates/core/src/verify/bab.rs). */
export interface CoreVerifyOptions {
  lowerSlope: LowerSlopeName;
  backSubstitute: boolean;
  bothSlopes: boolean;
  /** LP relaxation on boxes with at most this many unstable ReLUs (0: never). */
  lpMaxUnstable: number;
  /** Counterexample search: points at the root box, and on every other undecided box; descent steps. */
  rootSamples: number;
  boxSamples: number;
  attackSteps: number;
  /** Exact decision by linear regions when at most this many ReLUs are unstable on a box. */
  leafUnstable: number;
  leafMaxPieces: number;
  maxDepth: number;
  stopAtViolation: boolean;
  collectLeaves: boolean;
  bestFirst: boolean;
  queueCap: number;
  seed: number;
  /**
   * Work budget of one job (0: none): at most this many boxes bounded (an exact decision under
   * way is finished), then the job ends with verdict `budget` and hands back its open boxes.
   * Counted in boxes, not milliseconds: where a job stops depends only on the task.
   */
  maxBoxes: number;
}

export const DEFAULT_CORE_OPTIONS: CoreVerifyOptions = {
  lowerSlope: 'adaptive',
  backSubstitute: true,
  bothSlopes: true,
  lpMaxUnstable: 48,
  rootSamples: 16384,
  boxSamples: 2,
  attackSteps: 4,
  leafUnstable: 10,
  leafMaxPieces: 2000,
  maxDepth: 80,
  stopAtViolation: true,
  collectLeaves: false,
  bestFirst: true,
  queueCap: 20000,
  seed: 0,
  maxBoxes: 0,
};

/** A job: the property, the sub-box (absent: the whole input box), the options, a deadline. */
export interface BoxTask {
  property: PropertyData;
  root?: BoxRoot;
  options: CoreVerifyOptions;
  /** `Date.now()` after which the job stops with what it has (same clock in every worker). */
  deadline?: number;
}

/** `budget`: the job's work budget (`maxBoxes`) was spent; `timeout`: its deadline passed. */
export type BoxVerdict = 'holds' | 'violated' | 'unknown' | 'timeout' | 'budget';

/** Running totals of a job (volume shares relative to the job's box). */
export interface BoxStats {
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
  pending: number;
  /** Share of the box proven safe by each method. */
  volume: Record<ProofMethodName, number>;
  violatedVolume: number;
  unknownVolume: number;
  /** Smallest proven margin of a safe leaf (how close the proof came to failing). */
  minMargin: number;
  /** Smallest margin seen at a point (an upper bound of the true smallest margin). */
  bestMargin: number;
}

/** A finished box (with `collectLeaves`): what the repair of violated boxes builds on. */
export interface BoxLeaf {
  lower: number[];
  upper: number[];
  depth: number;
  status: 'safe' | 'violated' | 'unknown';
  method: ProofMethodName;
  /** Proven lower bound of the property margin on a safe leaf. */
  margin: number;
  /** Linear regions decided exactly, and how many of them violate. */
  regions: number;
  violatingRegions: number;
  counterexample?: { x: number[]; margin: number };
  /** Activation patterns of the violating regions. */
  patterns: Uint8Array[];
}

export interface BoxOutcome {
  verdict: BoxVerdict;
  stats: BoxStats;
  /** A violating point found in the box (the network's margin there is < 0). */
  counterexample?: { x: number[]; margin: number };
  /** Finished leaves (with `collectLeaves`). */
  leaves?: BoxLeaf[];
  /**
   * With `collectLeaves`, a job stopped by its deadline or its work budget hands back the boxes it had not decided
   * (its queue and the box being decided exactly), so that a repair can still decide them.
   */
  pending?: BoxRoot[];
  ms: number;
}

const METHOD_NAMES = Object.keys(abi.ProofMethod.values) as ProofMethodName[];

/** The core's options object for a task. */
function optionsObject(t: BoxTask): abi.ObjectOf<typeof abi.VERIFY_OPTIONS> {
  const o = t.options;
  const root = t.root;
  return {
    slope: o.lowerSlope,
    backSubstitute: o.backSubstitute,
    bothSlopes: o.bothSlopes,
    lpMaxUnstable: o.lpMaxUnstable,
    rootSamples: o.rootSamples,
    boxSamples: o.boxSamples,
    attackSteps: o.attackSteps,
    leafUnstable: o.leafUnstable,
    leafMaxPieces: o.leafMaxPieces,
    maxDepth: o.maxDepth,
    stopAtViolation: o.stopAtViolation,
    collectLeaves: o.collectLeaves,
    bestFirst: o.bestFirst,
    queueCap: o.queueCap,
    seed: o.seed,
    maxBoxes: o.maxBoxes,
    inputRows: t.property.b.length,
    disjuncts: t.property.unsafe.length,
    unsafeRows: t.property.unsafe.reduce((s, u) => s + u.b.length, 0),
    rootDepth: root?.depth ?? 0,
    rootId: root?.id ?? 1,
    rootPriority: root?.priority ?? -Infinity,
  };
}

/** A verification in the core behind a handle, stepped from here. Call {@link free} when done. */
export class CoreVerifier {
  private readonly core: Core;
  private readonly h: number;
  private readonly n: number;
  private readonly hidden: number;
  private released = false;
  status: abi.RecordOf<typeof abi.VERIFY_STATUS> | undefined;

  constructor(net: Network, task: BoxTask) {
    const n = net.inputSize;
    const k = net.outputSize;
    const p = task.property;
    if (p.lower.length !== n || p.upper.length !== n)
      throw new InputError(`the property has ${p.lower.length} inputs, the network ${n}`, { field: 'property' });
    for (const u of p.unsafe)
      if (u.A.length !== u.b.length * k)
        throw new InputError(`an unsafe set has ${u.A.length / Math.max(1, u.b.length)} outputs per row, the network ${k}`, {
          field: 'property',
        });
    const urows = p.unsafe.reduce((s, u) => s + u.b.length, 0);
    const dims = { inputs: n, outputs: k, inputRows: p.b.length, disjuncts: p.unsafe.length, unsafeRows: urows };
    const params = abi.encode(abi.VERIFY_PROPERTY, dims, {
      lower: p.lower,
      upper: p.upper,
      A: p.A,
      b: p.b,
      disjunctRows: p.unsafe.map((u) => u.b.length),
      unsafeA: p.unsafe.flatMap((u) => Array.from(u.A)),
      unsafeB: p.unsafe.flatMap((u) => Array.from(u.b)),
      rootLower: task.root ? task.root.lower : null,
      rootUpper: task.root ? task.root.upper : null,
    });
    const opts = abi.json(abi.VERIFY_OPTIONS, optionsObject(task));
    const { core, handle } = net.handle();
    this.core = core;
    this.n = n;
    this.hidden = net.hiddenCount;
    this.h = core.call('verification', [opts, params], ([po, pp], [ol, pl]) => core.exports.rr_verify_new(handle, po, ol, pp, pl));
  }

  private read(fn: (out: number) => number): abi.RecordOf<typeof abi.VERIFY_STATUS> {
    this.status = this.core.layout('verification', [], abi.VERIFY_STATUS, { methods: METHOD_NAMES.length, inputs: this.n }, ([o]) => fn(o));
    return this.status;
  }

  /** Works for about `budget` units (a box bound is about 10). */
  step(budget: number): abi.RecordOf<typeof abi.VERIFY_STATUS> {
    return this.read((o) => this.core.exports.rr_verify_step(this.h, budget, o));
  }

  /** Breadth first, without exact decisions, until `target` boxes wait (the jobs of a parallel run). */
  expand(target: number, budget: number): abi.RecordOf<typeof abi.VERIFY_STATUS> {
    return this.read((o) => this.core.exports.rr_verify_expand(this.h, target, budget, o));
  }

  /** The finished leaves since the last call (with `collectLeaves`). */
  takeLeaves(): BoxLeaf[] {
    const st = this.status;
    if (!st || st.leavesWaiting === 0) return [];
    const dims = { leaves: st.leavesWaiting, inputs: this.n, patternValues: st.patternValues };
    const r = this.core.layout('verification leaves', [], abi.VERIFY_LEAVES, dims, ([o]) => this.core.exports.rr_verify_leaves(this.h, o));
    const n = this.n;
    const out: BoxLeaf[] = [];
    let at = 0;
    for (let i = 0; i < st.leavesWaiting; i++) {
      const cx = Array.from(r.counterexample.subarray(i * n, (i + 1) * n));
      const patterns: Uint8Array[] = [];
      for (let p = 0; p < r.violatingRegions[i] && r.patterns.length > 0; p++) {
        patterns.push(r.patterns.slice(at, at + this.hidden));
        at += this.hidden;
      }
      out.push({
        lower: Array.from(r.lower.subarray(i * n, (i + 1) * n)),
        upper: Array.from(r.upper.subarray(i * n, (i + 1) * n)),
        depth: r.depth[i],
        status: abi.nameOf(abi.LeafStatus, r.status[i]) as BoxLeaf['status'],
        method: abi.nameOf(abi.ProofMethod, r.method[i]) as ProofMethodName,
        margin: r.margin[i],
        regions: r.regions[i],
        violatingRegions: r.violatingRegions[i],
        counterexample: Number.isNaN(cx[0]) ? undefined : { x: cx, margin: r.counterexampleMargin[i] },
        patterns,
      });
    }
    // The status' count is now stale: nothing waits any more.
    st.leavesWaiting = 0;
    st.patternValues = 0;
    return out;
  }

  /** The waiting boxes in canonical order. */
  pending(): BoxRoot[] {
    const st = this.status;
    if (!st || st.pending === 0) return [];
    const n = this.n;
    const r = this.core.layout('verification boxes', [], abi.VERIFY_BOXES, { boxes: st.pending, inputs: n }, ([o]) =>
      this.core.exports.rr_verify_pending(this.h, o),
    );
    return Array.from({ length: st.pending }, (_, i) => ({
      lower: Array.from(r.lower.subarray(i * n, (i + 1) * n)),
      upper: Array.from(r.upper.subarray(i * n, (i + 1) * n)),
      depth: r.depth[i],
      id: r.id[i],
      priority: r.priority[i],
    }));
  }

  free(): void {
    if (!this.released) {
      this.released = true;
      this.core.release(this.h);
    }
  }
}

/** Plain-data statistics of a status record. */
export function statsOf(st: abi.RecordOf<typeof abi.VERIFY_STATUS>): BoxStats {
  const volume = {} as Record<ProofMethodName, number>;
  METHOD_NAMES.forEach((m, i) => {
    volume[m] = st.volume[i];
  });
  return {
    boxes: st.boxes,
    splits: st.splits,
    leaves: st.leaves,
    exactLeaves: st.exactLeaves,
    regions: st.regions,
    violatingRegions: st.violatingRegions,
    lps: st.lps,
    evaluations: st.evaluations,
    maxDepth: st.maxDepth,
    maxQueue: st.maxQueue,
    pending: st.pending,
    volume,
    violatedVolume: st.violatedVolume,
    unknownVolume: st.unknownVolume,
    minMargin: st.minMargin,
    bestMargin: st.bestMargin,
  };
}

/** Adapts a step budget so that one step takes about `targetMs`. */
export class StepBudget {
  value: number;
  constructor(
    private readonly targetMs = 25,
    start = 100,
  ) {
    this.value = start;
  }
  /** Times one step. */
  run<T>(fn: (budget: number) => T): T {
    const t0 = performance.now();
    const r = fn(this.value);
    const ms = Math.max(0.05, performance.now() - t0);
    this.value = Math.round(Math.min(1e7, Math.max(5, this.value * Math.min(4, Math.max(0.25, this.targetMs / ms)))));
    return r;
  }
}

export interface BoxJobHooks {
  signal?: AbortSignal;
  /** After every slice: the statistics so far. */
  onProgress?: (stats: BoxStats) => void;
  /** Finished leaves, as they come (with `collectLeaves`); else they are returned in the outcome. */
  onLeaves?: (leaves: BoxLeaf[]) => void;
}

/** Runs one job to its end (a verdict, the deadline, or the signal) on this thread. */
export async function runBoxTask(net: Network, task: BoxTask, hooks: BoxJobHooks = {}): Promise<BoxOutcome> {
  const t0 = performance.now();
  const v = new CoreVerifier(net, task);
  const leaves: BoxLeaf[] = [];
  const budget = new StepBudget();
  try {
    for (;;) {
      if (hooks.signal?.aborted) throw new AbortError(hooks.signal.reason);
      const st = budget.run((b) => v.step(b));
      const fresh = v.takeLeaves();
      if (fresh.length) {
        if (hooks.onLeaves) hooks.onLeaves(fresh);
        else leaves.push(...fresh);
      }
      hooks.onProgress?.(statsOf(st));
      const timedOut = task.deadline !== undefined && Date.now() >= task.deadline;
      if (st.verdict !== 'running' || st.spent || timedOut) {
        // The budget before the clock: a job that spent its budget ends the same on any machine.
        const verdict: BoxVerdict = st.verdict !== 'running' ? st.verdict : st.spent ? 'budget' : 'timeout';
        const cx = st.counterexample;
        const pending = (verdict === 'timeout' || verdict === 'budget') && task.options.collectLeaves ? v.pending() : undefined;
        return {
          verdict,
          stats: statsOf(st),
          counterexample: cx ? { x: Array.from(cx), margin: st.counterexampleMargin ?? Number.NaN } : undefined,
          leaves: task.options.collectLeaves && !hooks.onLeaves ? leaves : undefined,
          ...(pending ? { pending } : {}),
          ms: performance.now() - t0,
        };
      }
      await yieldToEventLoop();
    }
  } finally {
    v.free();
  }
}
