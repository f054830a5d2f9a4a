/**
 * Area repair driven by branch and bound (issue 10, AREA-AT-SCALE.md §2–§3): the verify engine
 * (ts/verify.ts) splits the area's box and proves most of it safe by sound bounds; only the boxes
 * it decides by their linear regions (violated, or too close to call) are enumerated here, and
 * every violating region among them gets its minimal patch, composed and certified as in
 * ts/area.ts (ts/assemble.ts). The certificate covers the whole box on the finished network:
 *
 * - **exact leaves**: every linear region of the leaf box is a certificate item (the region ∩ the
 *   area's box, a superset of its part in the leaf), certified on the repaired network with the
 *   union semantics of ts/certificate.ts;
 * - **boxes proven by bounds**: a box no patch band reaches keeps its proof (every gate g_i is 0
 *   there, so the repaired network adds nothing: docs/COMPOSITION.md fact 4); a box a band reaches
 *   is re-proven for the finished network: the chain mixes the constant patches convexly
 *   (f̂ = f + Σ w_i d_i, w_i >= 0, Σ w_i <= 1, w_i = 0 outside band i) and adds the affine ones
 *   clamped (|h_a| <= H_a), so for every row j of one convex piece of the safe set
 *   P_j f̂ − q_j <= U_j + max(0, max_i P_j·d_i) + Σ_a |P_j|·H_a, U_j the proven bound of P_j f − q_j
 *   on the box (ts/bounds.ts). One piece must hold for all rows (the same piece for the original
 *   and every shifted output: a mix of two pieces may leave a union); otherwise the box is split
 *   and re-bounded, and what stays unproven is listed with its reason.
 *
 * "repaired" only when every part of the box has a proof on the finished network.
 */

import { decidePending, type PendingBox } from './area-pending.js';
import { areaProof, type BoundsHint, type ProofMethod, shareIn } from './area-proof.js';
import { assemble } from './assemble.js';
import { type BoundMethod, specRowsUpperBounds } from './bounds.js';
import type { BoxLeaf, CoreVerifyOptions } from './box-job.js';
import { type BandBounds, bandIndexOf, bandReachesBox, boxPatch, certifyBoxParts, helpsEveryPiece } from './box-patch.js';
import type { CertificateReport, CertifyOptions } from './certificate.js';
import { type Area, type EnumeratedRegion, enumerateRegions, RegionLimitError } from './enumerate.js';
import { AbortError, InputError, LpError, RepairError, throwIfAborted } from './errors.js';
import type { VnnlibProperty } from './formats/vnnlib.js';
import type { LpBackend } from './lp/backend.js';
import type { LpName } from './lp/select.js';
import type { Box, Network } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import type { RepairPool } from './pool/pool.js';
import type { Refinement } from './refine.js';
import { solveRegion } from './region-job.js';
import { resolveAreaJob } from './repair-options.js';
import type { RepairedNetwork } from './repaired.js';
import type { AreaBabStopReport } from './report.js';
import type { Spec } from './spec.js';
import { describeSpec } from './spec.js';
import { isSpecUnion, MAX_SPEC_PIECES, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import { type ProofShares, type VerifyResult, verify } from './verify.js';
import { VERSION } from './version.js';
import { getCore, init } from './wasm/raw.js';

export type AreaBabPhase = 'verify' | 'pending' | 'leaves' | 'check' | 'certify' | 'reprove' | 'done';

export interface AreaBabProgress {
  phase: AreaBabPhase;
  /** Work units done and in all for this phase (verify: share of the box decided, in 1/1000). */
  done: number;
  total: number;
  elapsedMs: number;
}

export interface AreaBabOptions {
  area: Area;
  spec?: Spec | SpecUnion;
  /**
   * The unsafe output set the safe set is the closure of the complement of (a VNN-LIB property's
   * disjuncts): verified as given. Default: computed from the spec (one disjunct per choice of a
   * row in each convex piece).
   */
  unsafe?: readonly { A: ArrayLike<number>; b: ArrayLike<number> }[];
  label?: number;
  margin?: number;
  /** Largest locality radius (default 1e-3 × the narrowest positive side of the area's box). */
  radius?: number;
  prune?: boolean | 'auto';
  lp?: LpBackend | LpName;
  /** Certificate tolerances (as `repairArea`). */
  certificate?: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'>;
  refineRounds?: number;
  /**
   * Optional time cap of the whole repair (ms; default none). The phases are limited by work
   * budgets (`verify.maxBoxes`, `pending.maxBoxes`; defaults from the network's size,
   * {@link defaultWorkBudget}), so that the same network, area and options give the same boxes,
   * patches and proof map on any machine, at any load, with any number of workers. A cap cuts
   * them short where they would run past it: the branch and bound at
   * {@link CAP_VERIFY_SHARE} of it, the splitting of the boxes it leaves undecided at
   * {@link CAP_PENDING_SHARE} of it (then every open box is patched); the patches and the
   * certificate are not cut (the hard stop is). A result cut by the cap depends on the machine's
   * speed and load, and says so (`budget.cutByTime`).
   */
  timeoutMs?: number;
  /**
   * The branch and bound: work budget (boxes bounded, default {@link defaultWorkBudget}), its own
   * time cap, first jobs, the core's options.
   */
  verify?: { maxBoxes?: number; timeoutMs?: number; jobs?: number; core?: Partial<CoreVerifyOptions> };
  /**
   * How the boxes the branch and bound leaves undecided are decided (ts/area-pending.ts):
   * `maxBoxes` is that phase's work budget (boxes bounded; default {@link defaultWorkBudget}).
   */
  pending?: { maxDepth?: number; maxBoxes?: number; looseness?: number };
  /**
   * Run the branch and bound's jobs in this pool, or in that many worker threads (this call
   * only; default: this thread). The result is the same with any number of workers: every job's
   * work budget is fixed before any runs (ts/verify.ts).
   */
  workers?: number | RepairPool;
  /** Most linear regions in one exact leaf box (default 20,000). */
  maxLeafRegions?: number;
  /** How deep a band-reached safe box is split to re-prove it (default 6: at most 64 parts). */
  reproveDepth?: number;
  /**
   * An exact leaf with more than `maxLeafRegions` regions gets one box patch (ts/box-patch.ts)
   * instead of per-region patches, certified by bounds on the finished network (split up to
   * `reproveDepth` times where the bound does not hold at once). Default: on for more than 8
   * inputs; off: such a leaf stays unproven.
   */
  boxPatches?: boolean;
  /**
   * The sound bound box patches are sized and certified with (ts/bounds.ts; default `symbolic`:
   * a budget end hands back thousands of boxes, where the LP relaxation's cost per row would
   * dominate). Sizing and certificate use the same method, so a patch is never sized tighter
   * than the certificate can prove.
   */
  boxBound?: BoundMethod;
  /**
   * Hard stop (ms): the repair is stopped outright here with an AbortError naming the limit and
   * the phase; nothing is returned, nothing certified. Default 2 × `timeoutMs` + 30 s with a time
   * cap, {@link DEFAULT_HARD_STOP_MS} without.
   */
  hardStopMs?: number;
  onProgress?: (e: AreaBabProgress) => void;
  signal?: AbortSignal;
}

/** A part of the box without a proof on the finished network, and why. */
export interface UnprovenPart {
  lower: number[];
  upper: number[];
  /** Share of the area's box. */
  share: number;
  reason: 'undecided' | 'unknown-leaf' | 'pending-no-patch' | 'enumeration-failed' | 'band-bound' | 'region-not-certified' | 'box-patch';
  detail: string;
}

export interface AreaBabReport {
  schemaVersion: 1;
  kind: 'area-bab';
  tool: { name: 'relu-repair'; version: string; wasm: 'simd' | 'scalar'; lp: string };
  area: { lower: number[]; upper: number[]; inputSetRows: number };
  spec: string;
  result: {
    /** `holds`: proven on the original network, nothing changed; `repaired`: every part of the box proven on the finished network. */
    status: 'holds' | 'repaired' | 'not-certified';
    /** Distinct linear regions enumerated in exact leaves, those that violated (each patched), patches in the chain (box patches included). */
    regions: number;
    buggyRegions: number;
    patches: number;
    maxPatchNorm: number;
    certified: boolean;
  };
  /** Shares of the area's box (by volume over its inputs of positive width). */
  shares: {
    /** Proven safe by bounds on the original network (interval, symbolic, LP relaxation). */
    bounds: number;
    /** Decided by exact regions (certified region by region on the finished network). */
    regions: number;
    /** Bounds boxes a patch band reaches, re-proven on the finished network. */
    reproven: number;
    /** Leaves patched as a whole and proven by bounds on the finished network (see `boxPatches`). */
    boxes: number;
    /** Boxes left undecided by the branch and bound, proven by bounds afterwards (see `pending`). */
    pendingBounds: number;
    /** Without a proof (see `unproven`). */
    unproven: number;
    verify: ProofShares;
  };
  verify: { status: VerifyResult['status']; boxes: number; leaves: number; exactLeaves: number; lps: number; ms: number };
  /**
   * The work budgets and how they were used: the branch and bound's (boxes, per job, jobs that
   * spent theirs), the pending phase's (boxes), the time cap if any, and whether the cap cut a
   * phase short (then the result depends on the machine and its load; otherwise it does not).
   */
  budget: {
    verifyBoxes: number;
    jobs: number;
    jobBoxes: number;
    jobsSpent: number;
    /** The pending phase's budget: `pending.maxBoxes`, or the default rule's (see {@link PENDING_SPLIT_ROOM}). */
    pendingBoxes: number;
    pendingBounded: number;
    /** Boxes bounded by the confirmation run (0: none; see {@link CONFIRM_HOLDS_FACTOR}). */
    confirmBoxes: number;
    timeCapMs: number | null;
    cutByTime: boolean;
    workers: number;
  };
  /**
   * The boxes the branch and bound left undecided at its budget (ts/area-pending.ts): how many it
   * handed back, how they were split, and per final box how it was decided (bounds on the original
   * network, or a box patch), with the shares of the area's box per method.
   */
  pending: {
    /** Boxes handed back by the branch and bound, and its exact leaves decided with them (see ts/area-bab.ts step 1b). */
    handedBack: number;
    leavesJoined: number;
    bounded: number;
    splits: number;
    /** Groups of touching box-patched boxes (one piece of a union safe set each). */
    groups: number;
    splitMs: number;
    patchMs: number;
    shares: { bounds: number; boxPatch: number; noPatch: number };
    boxes: { lower: number[]; upper: number[]; depth: number; method: PendingBox['method']; piece: number; share: number }[];
    ms: number;
  };
  leaves: { bounds: number; exact: number; bandReached: number; reproveParts: number };
  /**
   * Leaves patched as a whole (too many regions): per box, its share, the patch norm from the sound
   * bounds vs the norm from the worst violations found (minimality gap), and its certificate by
   * bounds on the finished network (parts proven, largest proven bound vs tolerance).
   */
  boxPatches: {
    lower: number[];
    upper: number[];
    share: number;
    status: 'certified' | 'not-certified' | 'no-patch' | 'holds';
    patchNorm: number;
    minimalNorm: number;
    lowerBound: number;
    parts: number;
    provenBound: number;
    tolerance: number;
  }[];
  certificate: Omit<CertificateReport, 'ms'> | null;
  refinement: Refinement | null;
  unproven: UnprovenPart[];
  /** Regions whose patch LP broke down (the certificate decides them). */
  unpatchedRegions: number;
  timingsMs: { total: number; verify: number; pending: number; enumerate: number; repair: number; certify: number; reprove: number };
  notes: string[];
}

export interface AreaBabResult {
  /** The repaired network (with no patches when the property holds: the original function). */
  network: RepairedNetwork;
  report: AreaBabReport;
  /** The patches' regions (pattern hex) and the verify run (its leaves). */
  verification: VerifyResult;
}

const now = () => performance.now();

/** Shares of a time cap (`timeoutMs`) past which the verify and pending phases are cut short. */
export const CAP_VERIFY_SHARE = 0.2;
export const CAP_PENDING_SHARE = 0.35;
/** Hard stop without a time cap: nothing here should take this long on an ACAS-sized network. */
export const DEFAULT_HARD_STOP_MS = 600_000;

/**
 * Work of the default budgets, in weight·layer units. Bounding one box costs about one
 * back-substitution through every earlier layer, ∝ (weights) × (layers), for the intermediate
 * bounds (the same for any property), and then work per output row, per disjunct of the unsafe
 * set (the branch and bound) or per convex piece of the safe set (the pending phase bounds every
 * row per box and sizes a patch per piece; the box patches it makes are certified per piece). So
 * the cost of one box is (weights × layers) × max(1, rows × disjuncts / 4) for the branch and
 * bound and (weights × layers) × max(1, rows × pieces / 16) for the pending phase: both factors
 * are 1 for ACAS Xu φ2 (4 unsafe rows in 1 disjunct; 4 safe rows in 4 pieces) and for anything
 * smaller (there the fixed part dominates). Measured on φ7 (6 unsafe rows in 2 disjuncts, factor
 * 3; 18 safe rows in 9 pieces, factor 10): a branch-and-bound box costs about 2.8 times one of φ2,
 * a pending box (with its patch and certificate) 10 to 20 times. The default budget in boxes is
 * WORK / cost: a network twice as deep or wide, or a larger property, gets fewer boxes and about
 * the same time. Reference, ACAS Xu φ2 (13,255 weights and biases, 7 layers): about 2,000 boxes for
 * the branch and bound and 4,000 for the pending phase, each phase about 1–3 s on one thread of this
 * 2-core machine at low load (bench/acasxu-repair.mjs).
 */
export const BAB_WORK = 2_000 * 92_785;
export const PENDING_WORK = 4_000 * 92_785;
/**
 * The pending phase's default budget is at least (1 + this) × the boxes the branch and bound
 * hands it (ts/area-pending.ts): each is bounded once whatever happens, and a budget of about
 * that many leaves no split at all (ACAS Xu φ7 on N1,9: 394 boxes for 384 handed back, every one
 * patched as it came, the largest shift ‖d‖∞ 24.5 where ~0.001 is witnessed). With this room the
 * loosest of them can be split about 1.5 times each on average (~4 bounds per split,
 * ts/area-pending.ts step 3), best first: the time grows with the boxes handed back, which the
 * branch and bound's own budget limits.
 */
export const PENDING_SPLIT_ROOM = 3;
/** The default budgets never go below these (a tiny network or a large property still gets a real search) nor above 10⁶ boxes. */
export const MIN_BAB_BOXES = 256;
/**
 * When the branch and bound's default budget ends with no counterexample anywhere in the box, it
 * is run again with this many times the budget (stopping at the first counterexample) before any
 * box is patched: a property that holds must not be "repaired".
 */
export const CONFIRM_HOLDS_FACTOR = 32;
export const MIN_PENDING_BOXES = 256;

/**
 * The default work budgets (boxes bounded) of the branch and bound and of the pending phase for
 * `net` (rule above), for an unsafe set of `unsafe.rows` rows (all disjuncts together) in
 * `unsafe.disjuncts` disjuncts and a safe
 * set of `safe.rows` rows in `safe.pieces` convex pieces (defaults: as ACAS Xu φ2).
 */
export function defaultWorkBudget(
  net: Network,
  unsafe: { rows: number; disjuncts: number } = { rows: 4, disjuncts: 1 },
  safe: { rows: number; pieces: number } = { rows: 4, pieces: 4 },
): { verifyBoxes: number; pendingBoxes: number } {
  const weights = net.layers.reduce((t, l) => t + l.weights.length + l.bias.length, 0);
  const units = Math.max(1, weights * net.layers.length);
  const clamp = (v: number, lo: number) => Math.min(1_000_000, Math.max(lo, Math.round(v)));
  const pendingBoxes = clamp(PENDING_WORK / (units * Math.max(1, (safe.rows * safe.pieces) / 16)), MIN_PENDING_BOXES);
  // Every box the branch and bound leaves open is bounded at least once more by the pending phase
  // (and then, at worst, patched and certified on its own): it hands back about as many boxes as
  // it bounded, so it gets no more than the pending phase can bound.
  const verifyBoxes = Math.min(pendingBoxes, clamp(BAB_WORK / (units * Math.max(1, (unsafe.rows * unsafe.disjuncts) / 4)), MIN_BAB_BOXES));
  return { verifyBoxes, pendingBoxes };
}

function emptyPending(): AreaBabReport['pending'] {
  return {
    handedBack: 0,
    leavesJoined: 0,
    bounded: 0,
    splits: 0,
    groups: 0,
    splitMs: 0,
    patchMs: 0,
    shares: { bounds: 0, boxPatch: 0, noPatch: 0 },
    boxes: [],
    ms: 0,
  };
}

/** The convex pieces of a safe set. */
function piecesOf(spec: Spec | SpecUnion): readonly Spec[] {
  return isSpecUnion(spec) ? spec.pieces : [spec];
}

/**
 * The unsafe set of a safe set as VNN-LIB disjuncts: outside every piece means, for every piece,
 * some row with P_j y >= q_j (closed: the verifier proves the strict side, which is stronger).
 * One disjunct per choice of a row in each piece.
 */
export function unsafeDisjuncts(spec: Spec | SpecUnion): { A: Float64Array; b: Float64Array }[] {
  const pieces = piecesOf(spec);
  const k = pieces[0].outputs;
  let count = 1;
  for (const p of pieces) {
    count *= p.q.length;
    if (count > MAX_SPEC_PIECES)
      throw new InputError(`the unsafe set of this safe set has more than ${MAX_SPEC_PIECES} disjuncts (rows chosen per piece)`, {
        field: 'spec',
      });
  }
  const out: { A: Float64Array; b: Float64Array }[] = [];
  const choice = new Array<number>(pieces.length).fill(0);
  for (let c = 0; c < count; c++) {
    const A = new Float64Array(pieces.length * k);
    const b = new Float64Array(pieces.length);
    pieces.forEach((p, i) => {
      const j = choice[i];
      for (let o = 0; o < k; o++) A[i * k + o] = -p.P[j * k + o];
      b[i] = -p.q[j];
    });
    out.push({ A, b });
    for (let i = 0; i < pieces.length; i++) {
      choice[i]++;
      if (choice[i] < pieces[i].q.length) break;
      choice[i] = 0;
    }
  }
  return out;
}

/** The leaf box inside the area's box (the engine widens inputs the area fixes by ~1e-12). */
function clip(l: { lower: readonly number[]; upper: readonly number[] }, whole: Box): Box {
  const lower = l.lower.map((v, j) => Math.min(Math.max(v, whole.lower[j]), whole.upper[j]));
  const upper = l.upper.map((v, j) => Math.max(Math.min(v, whole.upper[j]), lower[j]));
  return { lower, upper };
}

/**
 * The most the reaching patches can raise row `c` of the spec at any point of a box: the chain's
 * constant patches are mixed convexly (max(0, max_i c·d_i)); affine patches are summed and
 * clamped by H (Σ_a |c|·H_a). Rounded up by a relative 1e-12.
 */
function rowShift(c: ArrayLike<number>, patches: readonly RegionPatch[]): number {
  let mix = 0;
  let affine = 0;
  for (const p of patches) {
    if (p.kind === 'constant') {
      let s = 0;
      for (let o = 0; o < c.length; o++) s += c[o] * p.d[o];
      mix = Math.max(mix, s);
    } else {
      const H = p.H;
      if (!H) return Infinity;
      for (let o = 0; o < c.length; o++) affine += Math.abs(c[o]) * H[o];
    }
  }
  const s = mix + affine;
  return s + 1e-12 * (1 + s);
}

/**
 * Proves one box safe on the finished network by the shifted bounds (module comment), splitting
 * along its widest input up to `depth` times. Returns the parts left without a proof; the proven
 * parts go to `proven` with how each was proven (the proof map's hint, ts/area-proof.ts).
 */
function reproveBox(
  net: Network,
  spec: Spec | SpecUnion,
  box: Box,
  patches: readonly RegionPatch[],
  depth: number,
  counter: { parts: number },
  proven: (Box & { hint?: BoundsHint })[] = [],
): Box[] {
  counter.parts++;
  // A long chain through its band index (built once per chain); the parts' short lists directly.
  const reaching =
    patches.length > 64
      ? bandIndexOf(patches)
          .reaching(box)
          .map((i) => patches[i])
      : patches.filter((p) => bandReachesBox(p, box));
  if (reaching.length === 0 || reaching.every((p) => helpsEveryPiece(p, spec))) {
    proven.push({ lower: [...box.lower], upper: [...box.upper], hint: -1 });
    return [];
  }
  const specPieces = piecesOf(spec);
  for (let pi = 0; pi < specPieces.length; pi++) {
    const piece = specPieces[pi];
    const k = piece.outputs;
    let ok = true;
    let U: Float64Array | null = null;
    for (let j = 0; j < piece.q.length && ok; j++) {
      const c = piece.P.subarray(j * k, (j + 1) * k);
      const shift = rowShift(c, reaching);
      if (!Number.isFinite(shift)) {
        ok = false;
        break;
      }
      U ??= specRowsUpperBounds(net, box, piece.P, piece.q);
      const u = U[j];
      const total = u + shift;
      ok = total + 1e-12 * (Math.abs(u) + shift) <= 0;
    }
    if (ok) {
      proven.push({ lower: [...box.lower], upper: [...box.upper], hint: pi });
      return [];
    }
  }
  if (depth <= 0) return [box];
  // A box patch's band is a slab of width r outside its faces: cut there first (just beyond the
  // band, so that the far part is provably out of it), then halve the widest side. Such cuts do
  // not count in `depth`: each puts a face of the patch's band on the part's boundary, so a part
  // is cut at most twice per input and reaching box patch.
  for (const p of reaching) {
    const pb = p.region.box;
    if (!pb) continue;
    for (let j = 0; j < box.lower.length; j++)
      for (const c of [pb.lower[j] - 1.001 * p.radius, pb.upper[j] + 1.001 * p.radius])
        if (c > box.lower[j] && c < box.upper[j]) {
          const left = { lower: [...box.lower], upper: [...box.upper] };
          const right = { lower: [...box.lower], upper: [...box.upper] };
          left.upper[j] = c;
          right.lower[j] = c;
          return [
            ...reproveBox(net, spec, left, reaching, depth, counter, proven),
            ...reproveBox(net, spec, right, reaching, depth, counter, proven),
          ];
        }
  }
  let widest = 0;
  for (let j = 1; j < box.lower.length; j++) if (box.upper[j] - box.lower[j] > box.upper[widest] - box.lower[widest]) widest = j;
  const mid = 0.5 * (box.lower[widest] + box.upper[widest]);
  if (!(mid > box.lower[widest] && mid < box.upper[widest])) return [box];
  const left = { lower: [...box.lower], upper: [...box.upper] };
  const right = { lower: [...box.lower], upper: [...box.upper] };
  left.upper[widest] = mid;
  right.lower[widest] = mid;
  return [
    ...reproveBox(net, spec, left, reaching, depth - 1, counter, proven),
    ...reproveBox(net, spec, right, reaching, depth - 1, counter, proven),
  ];
}

/**
 * Saves the proof map (ts/area-proof.ts) in the record of the finished network: every piece of the
 * area's box with the way it was proven, so that `certify --area` re-proves the file piece by piece
 * (ts/certificate-area.ts) instead of enumerating the box.
 */
function recordProof(rep: RepairedNetwork, box: Box, parts: { how: ProofMethod; boxes: readonly (Box & { hint?: BoundsHint })[] }[]): void {
  if (rep.record) rep.record = { ...rep.record, proof: areaProof(box, parts) };
}

interface Item {
  region: EnumeratedRegion;
  patch?: number;
}

/**
 * Repairs every violating linear region of the area found by branch and bound, and certifies the
 * finished network on the whole area (module comment). A property that already holds is reported
 * `holds` with the original network's function unchanged (no patch).
 */
export async function repairAreaBab(network: Network, opts: AreaBabOptions): Promise<AreaBabResult> {
  const capMs = opts.timeoutMs;
  if (capMs !== undefined && !(capMs > 0)) throw new InputError('must be a number > 0', { field: 'timeoutMs', value: capMs });
  const budgetMs = capMs ?? 0;
  const hardMs = opts.hardStopMs ?? (capMs !== undefined ? 2 * capMs + 30_000 : DEFAULT_HARD_STOP_MS);
  if (!(hardMs > 0)) throw new InputError('must be a number > 0', { field: 'hardStopMs', value: hardMs });
  let phase: AreaBabPhase = 'verify';
  const hard = new AbortController();
  const timer = setTimeout(
    () =>
      hard.abort(
        new RepairError(
          `area repair stopped at its hard limit of ${(hardMs / 1000).toFixed(1)} s (${capMs !== undefined ? `budget ${(capMs / 1000).toFixed(1)} s` : 'no time cap'}) in phase "${phase}": nothing is certified, no network`,
        ),
      ),
    hardMs,
  );
  const signal = opts.signal ? AbortSignal.any([opts.signal, hard.signal]) : hard.signal;
  const state: StopState = { phases: new Map(), patches: [] };
  const t0 = now();
  try {
    return await repairWithin(
      network,
      {
        ...opts,
        signal,
        onProgress: (e) => {
          phase = e.phase;
          state.phases.set(e.phase, e);
          opts.onProgress?.(e);
        },
      },
      state,
    );
  } catch (e) {
    // The hard stop (not the caller's signal): what was decided so far, as a report.
    if (hard.signal.aborted && !opts.signal?.aborted && (e instanceof AbortError || (e as Error)?.name === 'AbortError'))
      throw new AreaBabStopped(
        hard.signal.reason,
        stopReport(state, opts.area.box, phase, hardMs, budgetMs, now() - t0, hard.signal.reason),
      );
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Thrown when an area repair reaches its hard limit (`hardStopMs`): an AbortError (nothing
 * certified, no network) carrying what was decided so far (`report`).
 */
export class AreaBabStopped extends AbortError {
  constructor(
    reason: unknown,
    readonly report: AreaBabStopReport,
  ) {
    super(reason);
  }
}

/** What the phases of one repair had produced, read at a hard stop. */
interface StopState {
  phases: Map<AreaBabPhase, AreaBabProgress>;
  verify?: VerifyResult;
  pending?: { boxes: readonly PendingBox[] };
  regions?: number;
  patches: readonly RegionPatch[];
}

function stopReport(
  st: StopState,
  box: Box,
  phase: AreaBabPhase,
  limitMs: number,
  budgetMs: number,
  elapsedMs: number,
  reason: unknown,
): AreaBabStopReport {
  const s = st.verify?.shares;
  const ver = st.verify;
  const vp = st.phases.get('verify');
  const share = (k: PendingBox['method']) =>
    st.pending ? st.pending.boxes.filter((b) => b.method === k).reduce((t, b) => t + shareIn(b, box), 0) : null;
  const notes = [
    `stopped in phase "${phase}" after ${(elapsedMs / 1000).toFixed(1)} s (hard limit ${(limitMs / 1000).toFixed(1)} s, ${budgetMs > 0 ? `time cap ${(budgetMs / 1000).toFixed(1)} s` : 'no time cap'}): nothing is certified on a repaired network and no network is returned`,
  ];
  if (!ver) notes.push('stopped inside the branch and bound: the shares by method are not known, only the share decided so far');
  return {
    schemaVersion: 1,
    kind: 'area-bab-stopped',
    status: 'stopped',
    message: reason instanceof Error ? reason.message : String(reason),
    phase,
    limitMs,
    budgetMs,
    elapsedMs,
    phases: [...st.phases.values()].map((e) => ({ phase: e.phase, done: e.done, total: e.total, elapsedMs: e.elapsedMs })),
    shares: {
      decided: s ? 1 - s.undecided : vp ? vp.done / vp.total : 0,
      bounds: s ? s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation : null,
      regions: s ? s.regions : null,
      violated: s ? s.violated : null,
      undecided: s ? s.undecided : null,
      pendingBounds: share('bounds'),
      pendingBoxPatch: share('box-patch'),
      pendingNoPatch: share('no-patch'),
      certified: 0,
    },
    verify: ver
      ? { status: ver.status, boxes: ver.stats.boxes, leaves: ver.stats.leaves, exactLeaves: ver.stats.exactLeaves, lps: ver.stats.lps }
      : null,
    regions: st.regions ?? null,
    patches: st.patches.length,
    boxPatches: st.patches.filter((p) => p.region?.box).length,
    notes,
  };
}

async function repairWithin(
  network: Network,
  opts: AreaBabOptions,
  state: StopState = { phases: new Map(), patches: [] },
): Promise<AreaBabResult> {
  await init();
  const t0 = now();
  const n = network.inputSize;
  throwIfAborted(opts.signal);
  const { box, inputSet, spec, rMax, prune, backend } = resolveAreaJob(network, opts);
  const maxLeafRegions = opts.maxLeafRegions ?? 20000;
  const capMs = opts.timeoutMs;
  const start = Date.now();
  const unsafeSet = opts.unsafe ?? unsafeDisjuncts(spec);
  const defaults = defaultWorkBudget(
    network,
    { rows: unsafeSet.reduce((t, u) => t + u.b.length, 0), disjuncts: unsafeSet.length },
    { rows: piecesOf(spec).reduce((t, p) => t + p.q.length, 0), pieces: piecesOf(spec).length },
  );
  const verifyBoxes = opts.verify?.maxBoxes ?? defaults.verifyBoxes;
  const pendingBoxesBudget = opts.pending?.maxBoxes ?? defaults.pendingBoxes;
  for (const [field, v] of [
    ['verify.maxBoxes', verifyBoxes],
    ['pending.maxBoxes', pendingBoxesBudget],
  ] as const)
    if (!(Number.isInteger(v) && v >= 1 && v < 2 ** 32))
      throw new InputError('must be a whole number from 1 to 2^32 − 1', { field, value: v });
  const verifyCap = opts.verify?.timeoutMs ?? (capMs !== undefined ? CAP_VERIFY_SHARE * capMs : undefined);
  const pendingDeadline = capMs !== undefined ? start + CAP_PENDING_SHARE * capMs : undefined;
  const workers = typeof opts.workers === 'number' ? opts.workers : opts.workers ? opts.workers.size : 0;
  const reproveDepth = opts.reproveDepth ?? 6;
  const boxPatchesOn = opts.boxPatches ?? n > 8;
  const progress = (phase: AreaBabPhase, done: number, total: number) => opts.onProgress?.({ phase, done, total, elapsedMs: now() - t0 });
  const notes: string[] = [];
  const unproven: UnprovenPart[] = [];

  // 1. Branch and bound over the box: every leaf classified, none skipped at a counterexample.
  const property: VnnlibProperty = {
    input: {
      box: { lower: [...box.lower], upper: [...box.upper] },
      rows: {
        A: inputSet ? Float64Array.from(inputSet.A) : new Float64Array(0),
        b: inputSet ? Float64Array.from(inputSet.b) : new Float64Array(0),
      },
    },
    unsafe: opts.unsafe ? opts.unsafe.map((u) => ({ A: Float64Array.from(u.A), b: Float64Array.from(u.b) })) : unsafeDisjuncts(spec),
  };
  const runVerify = (maxBoxes: number, stopAtViolation: boolean, jobs = opts.verify?.jobs) =>
    verify(network, property, {
      signal: opts.signal,
      timeoutMs: verifyCap,
      maxBoxes,
      workers: opts.workers,
      jobs,
      core: opts.verify?.core,
      stopAtViolation,
      collectLeaves: true,
      onProgress: (e) => progress('verify', Math.round(e.decided * 1000), 1000),
    });
  let ver = await runVerify(verifyBoxes, false);
  // The default budget ran out without a single counterexample in the box: before patching boxes
  // where nothing is known to be wrong, go on as `verify` would, up to CONFIRM_HOLDS_FACTOR times
  // the budget, stopping at the first counterexample. A property that holds then leaves the
  // network unchanged (ACAS Xu N3,3 φ2: 19,073 boxes where the default budget is 1,992). Counted
  // in boxes, so the outcome does not depend on the machine; an explicit `verify.maxBoxes` is
  // taken as the user's limit and not extended.
  let confirmBoxes = 0;
  if (
    opts.verify?.maxBoxes === undefined &&
    ver.status !== 'holds' &&
    ver.status !== 'violated' &&
    !ver.counterexample &&
    ver.stats.violatingRegions === 0
  ) {
    // One job: the budget is not split evenly among sub-boxes, the hardest one gets what it needs.
    const confirm = await runVerify(verifyBoxes * CONFIRM_HOLDS_FACTOR, true, 1);
    confirmBoxes = confirm.stats.boxes;
    if (confirm.status === 'holds') ver = confirm;
  }
  const tVerify = now();
  state.verify = ver;
  const leaves: BoxLeaf[] = ver.leaves ?? [];
  const pr = ver.properties[0];
  const s = ver.shares;
  const boundsShare = s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation;
  const base = {
    schemaVersion: 1 as const,
    kind: 'area-bab' as const,
    tool: { name: 'relu-repair' as const, version: VERSION, wasm: getCore().flavour, lp: backend.name },
    area: { lower: [...box.lower], upper: [...box.upper], inputSetRows: inputSet?.b.length ?? 0 },
    spec: isSpecUnion(spec) ? `union of ${spec.pieces.length} convex pieces over ${spec.outputs} outputs` : describeSpec(spec),
    verify: {
      status: ver.status,
      boxes: ver.stats.boxes,
      leaves: ver.stats.leaves,
      exactLeaves: ver.stats.exactLeaves,
      lps: ver.stats.lps,
      ms: tVerify - t0,
    },
  };
  const budget: AreaBabReport['budget'] = {
    verifyBoxes,
    jobs: pr?.jobs ?? 0,
    jobBoxes: pr?.jobBudget ?? 0,
    jobsSpent: pr?.budgetSpent ?? 0,
    pendingBoxes: pendingBoxesBudget,
    pendingBounded: 0,
    confirmBoxes,
    timeCapMs: capMs ?? null,
    // The branch and bound stopped by its clock (its own cap or the repair's).
    cutByTime: ver.status === 'timeout' || ver.properties.some((p) => p.cutByTime),
    workers,
  };
  if (ver.status === 'holds') {
    const assembly = await assemble(network, [], [], { box, inputSet, radius: rMax, certify: false, scope: 'area' });
    recordProof(assembly.network, box, [
      {
        how: 'bounds',
        boxes: leaves.filter((l) => l.method !== 'regions' && l.method !== 'empty').map((l) => ({ ...clip(l, box), hint: -1 })),
      },
      { how: 'regions', boxes: leaves.filter((l) => l.method === 'regions').map((l) => clip(l, box)) },
      { how: 'empty', boxes: leaves.filter((l) => l.method === 'empty').map((l) => clip(l, box)) },
    ]);
    progress('done', 1, 1);
    return {
      network: assembly.network,
      verification: ver,
      report: {
        ...base,
        budget,
        result: { status: 'holds', regions: 0, buggyRegions: 0, patches: 0, maxPatchNorm: 0, certified: true },
        shares: { bounds: boundsShare, regions: s.regions, reproven: 0, boxes: 0, pendingBounds: 0, unproven: 0, verify: s },
        pending: emptyPending(),
        leaves: {
          bounds: leaves.filter((l) => l.method !== 'regions').length,
          exact: ver.stats.exactLeaves,
          bandReached: 0,
          reproveParts: 0,
        },
        boxPatches: [],
        certificate: null,
        refinement: null,
        unproven: [],
        unpatchedRegions: 0,
        timingsMs: { total: now() - t0, verify: tVerify - t0, pending: 0, enumerate: 0, repair: 0, certify: 0, reprove: 0 },
        notes: [
          `the property holds on the whole area (proven by branch and bound, largest proven bound ${ver.largestProvenBound}); nothing to repair`,
        ],
      },
    };
  }
  // The boxes not decided at the budget are handed back (ts/verify.ts `pending`) and decided
  // below; what they do not cover (failed jobs) stays undecided. Shares are sums of float
  // volumes: a remainder below 1e-9 is their rounding, not a box.
  const pendingBoxes = (ver.pending ?? []).map((b) => clip(b, box));
  const handedBack = pendingBoxes.reduce((t, b) => t + shareIn(b, box), 0);
  const uncovered = s.undecided - handedBack;
  if (uncovered > 1e-9 || !(pr && pr.errors.length === 0)) {
    // Failed jobs leave parts of the box undecided: listed, never certified.
    unproven.push({
      lower: [...box.lower],
      upper: [...box.upper],
      share: Math.max(0, uncovered),
      reason: 'undecided',
      detail: `branch and bound ended ${ver.status} with ${(100 * s.undecided).toFixed(4)} % of the box undecided, ${(100 * handedBack).toFixed(4)} % handed back as boxes${pr?.errors.length ? `; ${pr.errors.join('; ')}` : ''}`,
    });
  }
  const boundLeaves: Box[] = [];
  let exactLeaves: Box[] = [];
  for (const l of leaves) {
    const b = clip(l, box);
    if (l.status === 'safe' && l.method !== 'regions') {
      if (l.method !== 'empty') boundLeaves.push(b);
    } else exactLeaves.push(b);
  }
  // With boxes handed back there will be box patches, and a linear region of an exact leaf (the
  // region ∩ the area's box, a certificate item) reaches into the neighbouring patched boxes,
  // where its certificate must model their patches: far too slow with hundreds of them. So then
  // the exact leaves are decided like the handed-back boxes (bounds, split, box patch), and the
  // whole box is certified by bounds.
  const leavesJoined = pendingBoxes.length > 0 ? exactLeaves.length : 0;
  if (leavesJoined > 0) {
    pendingBoxes.push(...exactLeaves);
    exactLeaves = [];
  }
  const tPending0 = now();
  // The pending phase's budget (default): the rule's, and at least room to split every box the
  // branch and bound left undecided (PENDING_SPLIT_ROOM; its exact leaves joined to them are
  // bounded once each). Both are counts fixed by the network, the area and the branch and
  // bound's own deterministic result: the same with any number of workers. (What the branch and
  // bound's jobs left unspent is not added: on φ2 it cost ×1.4 time for patches already ≤ 0.2.)
  const handedBackCount = pendingBoxes.length - leavesJoined;
  const pendingBudget =
    opts.pending?.maxBoxes ?? Math.min(1_000_000, Math.max(pendingBoxesBudget, (1 + PENDING_SPLIT_ROOM) * handedBackCount + leavesJoined));
  budget.pendingBoxes = pendingBudget;
  const pend = await decidePending(network, pendingBoxes, box, spec, {
    radius: rMax,
    maxDepth: opts.pending?.maxDepth,
    maxBoxes: pendingBudget,
    looseness: opts.pending?.looseness,
    bound: opts.boxBound ?? 'symbolic',
    deadline: pendingDeadline,
    signal: opts.signal,
    onProgress: (d, o) => progress('pending', d, d + o),
  });
  state.pending = pend;
  const pendingReport = emptyPending();
  pendingReport.handedBack = pendingBoxes.length - leavesJoined;
  pendingReport.leavesJoined = leavesJoined;
  pendingReport.bounded = pend.bounded;
  pendingReport.splits = pend.splits;
  pendingReport.groups = pend.groups;
  pendingReport.splitMs = pend.splitMs;
  pendingReport.patchMs = pend.patchMs;
  pendingReport.ms = now() - tPending0;
  budget.pendingBounded = pend.bounded;
  // The deadline passed while boxes were still being split: they were patched sooner than the
  // work budget says (a box split at the deadline cannot be told from one split by the budget).
  if (pendingDeadline !== undefined && Date.now() >= pendingDeadline && pend.bounded < pendingBudget) budget.cutByTime = true;

  // 2. Every linear region of the exact leaves (violated, too close to call, unknown).
  const byPattern = new Map<string, Item>();
  const boxLeaves: Box[] = [];
  const enumerated: Box[] = [];
  let exactShare = 0;
  for (let i = 0; i < exactLeaves.length; i++) {
    throwIfAborted(opts.signal);
    const b = exactLeaves[i];
    try {
      const en = await enumerateRegions(network, { box: b, inputSet }, { maxRegions: maxLeafRegions, signal: opts.signal });
      for (const r of en.regions) {
        const key = patternHex(r.pattern);
        const old = byPattern.get(key);
        if (!old) byPattern.set(key, { region: r });
        else {
          // The same region seen from another leaf: its cell's reach across hyperplanes is the larger one.
          const slack = Float64Array.from(old.region.slack, (v, h) => Math.max(v, r.slack[h]));
          old.region = { ...old.region, slack, thin: old.region.thin || r.thin };
        }
      }
      exactShare += shareIn(b, box);
      enumerated.push(b);
    } catch (e) {
      if (!(e instanceof InputError || e instanceof LpError)) throw e;
      if (e instanceof RegionLimitError && boxPatchesOn) {
        boxLeaves.push(b);
        progress('leaves', i + 1, exactLeaves.length);
        continue;
      }
      unproven.push({
        lower: [...b.lower],
        upper: [...b.upper],
        share: shareIn(b, box),
        reason: 'enumeration-failed',
        detail: (e as Error).message,
      });
    }
    progress('leaves', i + 1, exactLeaves.length);
  }
  const tEnum = now();
  const items = [...byPattern.values()];
  state.regions = items.length;

  // 3. The minimal patch of every violating region (over the region ∩ the area's box).
  const patches: RegionPatch[] = [];
  state.patches = patches;
  let unpatched = 0;
  const pause = periodicYield();
  for (let i = 0; i < items.length; i++) {
    throwIfAborted(opts.signal);
    const r = items[i].region;
    try {
      const out = await solveRegion(
        network,
        { anchor: r.centre, points: [], pattern: patternHex(r.pattern), spec, box, inputSet, prune, radius: rMax, activation: r.pattern },
        backend,
      );
      if (out.patch) {
        items[i].patch = patches.length;
        patches.push(out.patch);
      }
    } catch (e) {
      if (!(e instanceof LpError)) throw e;
      unpatched++;
    }
    progress('check', i + 1, items.length);
    await pause();
  }
  const regionPatches = patches.length;
  // 3b. One box patch per leaf with too many regions (ts/box-patch.ts).
  const boxReport: AreaBabReport['boxPatches'] = [];
  const boxOf: { box: Box; row: number }[] = [];
  let boxesShare = 0;
  for (const b of boxLeaves) {
    throwIfAborted(opts.signal);
    const bp = await boxPatch(network, b, spec, { radius: rMax, bound: opts.boxBound ?? 'symbolic', signal: opts.signal });
    const row = {
      lower: [...b.lower],
      upper: [...b.upper],
      share: shareIn(b, box),
      status: 'holds' as AreaBabReport['boxPatches'][number]['status'],
      patchNorm: bp.patch ? bp.norm : 0,
      minimalNorm: bp.minimalNorm,
      lowerBound: bp.lowerBound,
      parts: 0,
      provenBound: -Infinity,
      tolerance: 0,
    };
    boxReport.push(row);
    if (!bp.needed) {
      // Proven safe by bounds on the original network: re-proven like any bounds box (step 5).
      boundLeaves.push(b);
      boxesShare += row.share;
    } else if (bp.patch) {
      patches.push(bp.patch);
      boxOf.push({ box: b, row: boxReport.length - 1 });
    } else {
      row.status = 'no-patch';
      unproven.push({ lower: [...b.lower], upper: [...b.upper], share: row.share, reason: 'box-patch', detail: bp.notes.join('; ') });
    }
    await pause();
  }
  // 3c. The pending boxes (step 1b): proven by bounds (re-proven in step 5 like any bounds box),
  // or patched as a whole (certified in step 4b like the leaves above).
  let pendingBounds = 0;
  for (const pb of pend.boxes) {
    const b = { lower: pb.lower, upper: pb.upper };
    const share = shareIn(b, box);
    pendingReport.boxes.push({ lower: pb.lower, upper: pb.upper, depth: pb.depth, method: pb.method, piece: pb.piece, share });
    if (pb.method === 'bounds') {
      boundLeaves.push(b);
      pendingBounds += share;
      pendingReport.shares.bounds += share;
      continue;
    }
    const bp = pb.patch!;
    if (pb.method === 'no-patch' || !bp.patch) {
      pendingReport.shares.noPatch += share;
      unproven.push({ lower: pb.lower, upper: pb.upper, share, reason: 'pending-no-patch', detail: bp.notes.join('; ') });
      continue;
    }
    pendingReport.shares.boxPatch += share;
    boxReport.push({
      lower: pb.lower,
      upper: pb.upper,
      share,
      status: 'holds',
      patchNorm: bp.norm,
      minimalNorm: bp.minimalNorm,
      lowerBound: bp.lowerBound,
      parts: 0,
      provenBound: -Infinity,
      tolerance: 0,
    });
    patches.push(bp.patch);
    boxOf.push({ box: b, row: boxReport.length - 1 });
  }
  const tRepair = now();

  // 4. The chain, certified on every region of the exact leaves (with refinement).
  const assembly = await assemble(
    network,
    patches,
    items.map((it) => ({ pattern: it.region.pattern, spec, patch: it.patch, slack: it.region.slack, thin: it.region.thin })),
    {
      box,
      inputSet,
      radius: rMax,
      certify: true,
      scope: 'area',
      certificate: opts.certificate,
      rounds: opts.refineRounds,
      signal: opts.signal,
      onProgress: (e) => progress('certify', e.done, e.total),
    },
  );
  const { certificate, refinement } = assembly.certified!;
  for (const f of certificate.failedRegions) {
    const c = certificate.perRegion[f];
    unproven.push({
      lower: [...box.lower],
      upper: [...box.upper],
      share: 0,
      reason: 'region-not-certified',
      detail: `region ${c.pattern}: ${c.reason}, proven bound ${c.maxViolation} > tolerance ${c.tolerance}${c.witness ? ` (witness ${JSON.stringify(c.witness)})` : ''}`,
    });
  }
  // 4b. The box-patched leaves, by bounds on the finished network.
  const bandBounds: BandBounds = new Map();
  for (const { box: b, row } of boxOf) {
    // Box patches get 4 more halvings than bounds boxes: their refusals are thin band slabs.
    const { proven, refused } = await certifyBoxParts(assembly.network, b, spec, reproveDepth + 4, {
      bound: opts.boxBound ?? 'symbolic',
      signal: opts.signal,
      within: box,
      bandBounds,
    });
    const r = boxReport[row];
    r.parts = proven.length + refused.length;
    r.provenBound = [...proven, ...refused].reduce((m, c) => Math.max(m, c.provenBound), -Infinity);
    r.status = refused.length === 0 ? 'certified' : 'not-certified';
    boxesShare += shareIn(b, box) - refused.reduce((t, c) => t + shareIn(c.box, box), 0);
    for (const c of refused)
      unproven.push({
        lower: c.box.lower,
        upper: c.box.upper,
        share: shareIn(c.box, box),
        reason: 'box-patch',
        detail: `box patch not proven here: ${c.reason}; piece ${c.piece}, ${c.reaching} patch bands reach it, ${c.mixed} mixed (anchor ${c.anchor}); per row bound + shift ${c.rows.map((r) => `${r.upper} + ${r.shift}`).join(', ')}${c.witness ? `; witness ${JSON.stringify(c.witness.x)} (violation ${c.witness.violation})` : '; no violating point found'}`,
      });
    await pause();
  }
  const tCert = now();

  // 5. The boxes proven by bounds, on the finished network.
  const finished = assembly.patches;
  let bandReached = 0;
  let reproven = 0;
  const counter = { parts: 0 };
  // The bounds pieces of the proof map: each leaf, or the parts its re-proof split it into, with how each was proven.
  const boundPieces: (Box & { hint?: BoundsHint })[] = [];
  for (let i = 0; i < boundLeaves.length; i++) {
    throwIfAborted(opts.signal);
    const b = boundLeaves[i];
    if (bandIndexOf(finished).reaching(b).length === 0) {
      boundPieces.push({ ...b, hint: -1 });
      continue;
    }
    bandReached++;
    const left = reproveBox(network, spec, b, finished, reproveDepth, counter, boundPieces);
    boundPieces.push(...left);
    const lost = left.reduce((t, x) => t + shareIn(x, box), 0);
    reproven += shareIn(b, box) - lost;
    for (const x of left)
      unproven.push({
        lower: [...x.lower],
        upper: [...x.upper],
        share: shareIn(x, box),
        reason: 'band-bound',
        detail: 'a patch band reaches this box and no convex piece of the safe set is proven for the original and every shifted output',
      });
    progress('reprove', i + 1, boundLeaves.length);
    if (i % 16 === 15) await pause();
  }
  progress('reprove', boundLeaves.length, boundLeaves.length);
  const tReprove = now();

  const unprovenShare = unproven.reduce((t, u) => t + u.share, 0);
  // No region items (everything decided by bounds and box patches): nothing for the region
  // certificate to prove (it reports an empty run as not certified).
  const certified = (certificate.status === 'certified' || items.length === 0) && unproven.length === 0;
  if (budget.cutByTime)
    notes.push(
      `the time cap (${((capMs ?? 0) / 1000).toFixed(1)} s) cut the work budgets short: the boxes, patches and proof map depend on this machine's speed and load (without a cap they are the same on any machine)`,
    );
  if (unpatched > 0) notes.push(`${unpatched} region(s) got no patch because their LP broke down; the certificate decides them`);
  if (!certified)
    notes.push(
      `${unproven.length} part(s) of the area have no proof on the finished network (see unproven); it must not be used as a certified repair`,
    );
  const chain = assembly.patches;
  recordProof(assembly.network, box, [
    { how: 'bounds', boxes: boundPieces },
    { how: 'regions', boxes: enumerated },
    { how: 'box-patch', boxes: boxOf.map((o) => o.box) },
    { how: 'empty', boxes: leaves.filter((l) => l.status === 'safe' && l.method === 'empty').map((l) => clip(l, box)) },
    {
      how: 'unproven',
      boxes: [
        ...unproven.filter((u) => u.reason === 'enumeration-failed' || u.reason === 'pending-no-patch'),
        ...boxReport.filter((r) => r.status === 'no-patch'),
      ],
    },
  ]);
  progress('done', 1, 1);
  return {
    network: assembly.network,
    verification: ver,
    report: {
      ...base,
      budget,
      result: {
        // Nothing patched and everything proven (a budget that ended before the proof was complete, its pending boxes proven after): the property holds.
        status: certified ? (chain.length === 0 ? 'holds' : 'repaired') : 'not-certified',
        regions: items.length,
        buggyRegions: regionPatches,
        patches: chain.length,
        maxPatchNorm: chain.reduce((m, p) => Math.max(m, p.region.patchNorm), 0),
        certified,
      },
      shares: { bounds: boundsShare, regions: exactShare, reproven, boxes: boxesShare, pendingBounds, unproven: unprovenShare, verify: s },
      pending: pendingReport,
      leaves: { bounds: boundLeaves.length, exact: exactLeaves.length, bandReached, reproveParts: counter.parts },
      boxPatches: boxReport,
      certificate: (({ ms: _ms, ...c }) => c)(certificate),
      refinement,
      unproven,
      unpatchedRegions: unpatched,
      timingsMs: {
        total: now() - t0,
        verify: tVerify - t0,
        pending: pendingReport.ms,
        enumerate: tEnum - tVerify - pendingReport.ms,
        repair: tRepair - tEnum,
        certify: tCert - tRepair,
        reprove: tReprove - tCert,
      },
      notes,
    },
  };
}
