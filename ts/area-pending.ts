/**
 * The boxes a branch and bound left undecided when its budget ran out (ts/verify.ts `pending`),
 * decided for an area repair (issue 10; ts/area-bab.ts) without enumerating their linear regions:
 *
 * 1. **bounds**: a box where sound upper bounds of every row of one convex piece of the safe set
 *    are <= 0 on the original network (ts/bounds.ts) needs nothing (it is re-proven on the
 *    finished network like any bounds box, ts/area-bab.ts step 5);
 * 2. **split**: a box whose patch from the bounds would be far larger than the one the violations
 *    found there need (the bound is loose, or no violation is found at all) is halved, down to
 *    `maxDepth` halvings of a pending box and while the phase's work limits last (`deadline`,
 *    `maxBoxes`). The open boxes are kept best first, the one whose patch from the bounds is
 *    largest split next, so that when the work runs out the boxes patched as they are have the
 *    smallest such patches left (depth first, the last boxes handed in were patched unsplit with
 *    shifts of ‖d‖∞ ~300 on N2,9 φ2 where ~0.02 is needed). A box is halved along the input whose
 *    worse half gets the smallest patch from the bounds, every input tried: on ACAS Xu the bound
 *    collapses along the two angle inputs (30 → 5 → 0.09 → proven in three halvings) and hardly
 *    moves along the others, which the gradient at the centre (smear) often picked instead.
 * 3. **box patch** (ts/box-patch.ts): any other box gets one constant patch sized from bounds over
 *    its band box (the box widened by the patch radius, clipped to the area: `bandBox`), so the
 *    shift is valid wherever its band reaches (the boxes are bounded over their band boxes from
 *    the start, so these are the bounds step 1 computed); the certificate bounds its term over
 *    the same box. With a union safe set, boxes whose bands touch each other (connected through
 *    neighbours) are mapped into one common piece, the one whose largest patch among them is
 *    smallest: where two bands overlap the chain mixes the two shifts convexly, and a mix of shifts
 *    valid for one convex piece stays in it, while a mix of two pieces may leave their union.
 *
 * Everything is deterministic (sample points from a fixed seed, boxes in a fixed order), and the
 * decision of a box never trusts a sample: samples only choose between splitting and patching.
 */
import { type BoundMethod, specRowsUpperBounds } from './bounds.js';
import { type BoxPatchResult, bandBox, boxPatch, rowValueGrad } from './box-patch.js';
import { throwIfAborted } from './errors.js';
import { constantPatchFor } from './minimal.js';
import type { Box, Network } from './network.js';
import { type Spec, specRows } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import { MaxHeap } from './util/heap.js';
import { mulberry } from './util/random.js';

export interface PendingOptions {
  /** Locality radius of the box patches. */
  radius: number;
  /** Halvings of one pending box at most (default 8). */
  maxDepth?: number;
  /** Boxes bounded at most in this phase (default 20,000); past it every open box is patched. */
  maxBoxes?: number;
  /**
   * `Date.now()` after which open boxes are patched without further splitting; the time spent
   * bounding the boxes handed in (each is bounded once in any case) is added to it.
   */
  deadline?: number;
  /** Extra room of the box patches relative to the bound (default 0.05; see `BoxPatchOptions`). */
  relativeSlack?: number;
  /** A box is split when its patch from the bounds exceeds this many times the one its samples need (default 2). */
  looseness?: number;
  /** The bound box patches are sized with (default `symbolic`; the certificate must use the same or a tighter one). */
  bound?: BoundMethod;
  signal?: AbortSignal;
  onProgress?: (boxesDone: number, boxesOpen: number) => void;
}

export interface PendingBox {
  lower: number[];
  upper: number[];
  /** Halvings from the pending box it came from. */
  depth: number;
  method: 'bounds' | 'box-patch' | 'no-patch';
  /** Convex piece proven (bounds) or patched into. */
  piece: number;
  patch?: BoxPatchResult;
}

export interface PendingResult {
  boxes: PendingBox[];
  /** Boxes bounded, and halvings done. */
  bounded: number;
  splits: number;
  /** Groups of touching patched boxes (each mapped into one piece of a union safe set). */
  groups: number;
  /** Time spent bounding and splitting, and building the patches. */
  splitMs: number;
  patchMs: number;
}

/** Inputs tried at most per split (step 3): in a full trial, and between full trials. */
const MAX_TRIED = 8;
const LEARNT_TRIED = 2;

function piecesOf(spec: Spec | SpecUnion): readonly Spec[] {
  return isSpecUnion(spec) ? spec.pieces : [spec];
}

/** Every piece's rows in one matrix (`first[p]`: the row piece p starts at). */
export function stackRows(pieces: readonly Spec[], k: number): { C: Float64Array; q: Float64Array; first: number[] } {
  const total = pieces.reduce((t, p) => t + specRows(p), 0);
  const C = new Float64Array(total * k);
  const q = new Float64Array(total);
  const first: number[] = [];
  let at = 0;
  for (const p of pieces) {
    first.push(at);
    const rows = specRows(p);
    C.set(p.P.subarray(0, rows * k), at * k);
    q.set(p.q.subarray(0, rows), at);
    at += rows;
  }
  return { C, q, first };
}

interface Open {
  box: Box;
  depth: number;
  /** ‖d‖∞ per piece of the patch from the bounds on the box (Infinity: no constant patch). */
  norms: number[];
  /** The piece with the smallest such patch (null: no piece has one). */
  best: { piece: number; norm: number } | null;
  /** The stacked rows' bounds over the box's band box (`stackRows`). */
  Uall: Float64Array;
}

/** Groups of boxes whose r-neighbourhoods meet (union-find), each in input order. */
function touchingGroups(boxes: readonly Box[], r: number): number[][] {
  const parent = boxes.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  // Sorted by lower end along input 0: only boxes overlapping there can touch (a sweep).
  const n = boxes[0]?.lower.length ?? 0;
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[a].lower[0] - boxes[b].lower[0] || a - b);
  const gap = 3 * r;
  for (let a = 0; a < order.length; a++) {
    const A = boxes[order[a]];
    for (let c = a + 1; c < order.length; c++) {
      const B = boxes[order[c]];
      if (B.lower[0] > A.upper[0] + gap) break;
      let meet = true;
      for (let j = 0; j < n && meet; j++) meet = A.lower[j] <= B.upper[j] + gap && B.lower[j] <= A.upper[j] + gap;
      if (meet) parent[find(order[a])] = find(order[c]);
    }
  }
  const groups = new Map<number, number[]>();
  boxes.forEach((_, i) => {
    const g = find(i);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  });
  return [...groups.values()];
}

/** Decides the pending boxes (module comment); the result's boxes tile them. */
export async function decidePending(
  net: Network,
  pending: readonly Box[],
  whole: Box,
  spec: Spec | SpecUnion,
  opts: PendingOptions,
): Promise<PendingResult> {
  const n = net.inputSize;
  const k = net.outputSize;
  const maxDepth = opts.maxDepth ?? 8;
  const maxBoxes = opts.maxBoxes ?? 20000;
  const looseness = opts.looseness ?? 2;
  const pieces = piecesOf(spec);
  const pause = periodicYield(50);
  const t0 = performance.now();
  const rand = mulberry(7);
  const out: PendingBox[] = [];
  const stacked = stackRows(pieces, k);
  // Best first: the open box whose patch from the bounds is largest is split next, so that when
  // the work runs out the boxes patched as they are have the smallest such patches left.
  const heap = new MaxHeap<Open>();
  let bounded = 0;
  let splits = 0;
  // Full split trials made, and per input how many it won (step 3).
  let trials = 0;
  const wins = new Array<number>(n).fill(0);
  const toPatch: Open[] = [];
  const patchIt = async (o: Open, piece: number) => {
    // A short worst-violation search: it only sizes the reported minimality gap, never the patch.
    const bp = await boxPatch(net, o.box, spec, {
      radius: opts.radius,
      sizeBox: bandBox(o.box, opts.radius, whole),
      search: { starts: 1, steps: 8, randomPoints: Math.min(8 * n, 64) },
      relativeSlack: opts.relativeSlack ?? 0.05,
      piece: pieces.length > 1 ? piece : undefined,
      bound,
      upperBounds: pieces.map((p, pi) => o.Uall.subarray(stacked.first[pi], stacked.first[pi] + specRows(p))),
      signal: opts.signal,
    });
    out.push({
      lower: [...o.box.lower],
      upper: [...o.box.upper],
      depth: o.depth,
      method: bp.needed ? (bp.patch ? 'box-patch' : 'no-patch') : 'bounds',
      piece: bp.piece,
      patch: bp,
    });
  };
  // 1. Bounds of every piece's rows on a box, in one pass (the rows stacked): proven, or opened
  // with the norm of its patch from the bounds (the loosest boxes are split first).
  //
  // The patch norms of a box from its stacked bounds: per piece (Infinity: no constant patch),
  // the smallest, and the piece proven (-1: none).
  const judge = (Uall: Float64Array): { norms: number[]; best: Open['best']; proven: number } => {
    const norms: number[] = [];
    let best: Open['best'] = null;
    for (let pi = 0; pi < pieces.length; pi++) {
      const piece = pieces[pi];
      const U = Uall.subarray(stacked.first[pi], stacked.first[pi] + specRows(piece));
      if (U.every((u) => u <= 0)) return { norms, best, proven: pi };
      const cp = constantPatchFor(piece, U);
      const norm = cp ? cp.norm : Infinity;
      norms.push(norm);
      if (!best || norm < best.norm) best = { piece: pi, norm };
    }
    return { norms, best, proven: -1 };
  };
  // Bounds over the band box (the box widened by the radius, clipped to the area): they prove the
  // box itself, and a box patched as it is is sized from these very bounds (no second pass).
  const bound = opts.bound ?? 'symbolic';
  const boundsOf = (box: Box): Float64Array => {
    bounded++;
    return specRowsUpperBounds(net, bandBox(box, opts.radius, whole), stacked.C, stacked.q, { method: bound });
  };
  const open = (box: Box, depth: number, Uall: Float64Array = boundsOf(box)): void => {
    const { norms, best, proven } = judge(Uall);
    if (proven >= 0) {
      out.push({ lower: [...box.lower], upper: [...box.upper], depth, method: 'bounds', piece: proven });
      return;
    }
    heap.push(best ? best.norm : Infinity, { box, depth, norms, best, Uall });
  };
  const opened0 = Date.now();
  for (const b of pending) {
    throwIfAborted(opts.signal);
    await pause();
    open(b, 0);
  }
  // The deadline limits the splitting: the boxes handed in are bounded once whatever happens (to
  // be proven, or patched from these bounds), so the time that took is not charged to it.
  const deadline = opts.deadline === undefined ? undefined : opts.deadline + (Date.now() - opened0);
  while (heap.size > 0) {
    throwIfAborted(opts.signal);
    await pause();
    opts.onProgress?.(out.length, heap.size);
    // The work left: past it every open box is patched as it is (the loosest were split first).
    const budgetLeft = (deadline === undefined || Date.now() < deadline) && bounded + 2 <= maxBoxes;
    if (!budgetLeft) break;
    const o = heap.pop()!;
    const b = o.box;
    const best = o.best;
    if (o.depth >= maxDepth || !best) {
      toPatch.push(o);
      continue;
    }
    // 2. Samples of the box: the centre and 2n random points; the worst value of each row of the chosen piece.
    const piece = pieces[best.piece];
    const rows = specRows(piece);
    const count = 2 * n + 1;
    const xs = new Float64Array(count * n);
    for (let j = 0; j < n; j++) xs[j] = 0.5 * (b.lower[j] + b.upper[j]);
    for (let i = 1; i < count; i++) for (let j = 0; j < n; j++) xs[i * n + j] = b.lower[j] + rand() * (b.upper[j] - b.lower[j]);
    const ys = net.forwardFlat(xs, count);
    const L = new Float64Array(rows).fill(-Infinity);
    for (let i = 0; i < count; i++)
      for (let r = 0; r < rows; r++) {
        let s = -piece.q[r];
        for (let o2 = 0; o2 < k; o2++) s += piece.P[r * k + o2] * ys[i * k + o2];
        L[r] = Math.max(L[r], s);
      }
    const need = constantPatchFor(piece, L);
    const needNorm = need ? need.norm : Infinity;
    if (needNorm > 0 && best.norm <= looseness * needNorm) {
      toPatch.push(o);
      continue;
    }
    // 3. Split where the bound gains most: the inputs tried (at most 8) are halved, and the one whose worse
    // half has the smallest patch from the bounds is taken (ties: the larger smear, normalised
    // width × |gradient| of the worst row at the centre). Its halves' bounds are kept. Every
    // input is tried in the first 8 splits and in every 8th after; in between only the two that
    // won most of the full trials (at least 1/8 each), else the one of largest smear (the inputs
    // where the bound gains are a property of the network and area, learnt as the splitting goes).
    let worstRow = 0;
    for (let r = 1; r < rows; r++) if (L[r] > L[worstRow]) worstRow = r;
    const centre = xs.subarray(0, n);
    const grad = net.denseLayers ? rowValueGrad(net.denseLayers, centre, piece.P.subarray(worstRow * k, (worstRow + 1) * k)).grad : null;
    const smear = new Array<number>(n).fill(-Infinity);
    let smearBest = -1;
    for (let j = 0; j < n; j++) {
      const w = whole.upper[j] - whole.lower[j];
      const mid = 0.5 * (b.lower[j] + b.upper[j]);
      if (!(w > 0) || !(mid > b.lower[j] && mid < b.upper[j])) continue;
      smear[j] = ((b.upper[j] - b.lower[j]) / w) * (grad ? Math.abs(grad[j]) * w + 1e-9 : 1);
      if (smearBest < 0 || smear[j] > smear[smearBest]) smearBest = j;
    }
    const full = trials < 8 || splits % 8 === 0;
    // At most 8 inputs tried in a full trial (a high-dimensional area, e.g. an MNIST ball: 2 × 784
    // bounds per split would be far too many), the winners first, then by smear; in between the
    // two best winners only (or the smear input while none has won 1/8 of the trials): every
    // input tried costs two bounds, of which only the chosen one's are kept, and on ACAS Xu the
    // same one or two inputs win nearly every trial, so trying more spends the phase's budget on
    // bounds thrown away (φ7: ~8 bounds per split instead of ~4, half the splits).
    const tried = smear
      .flatMap((sm, j) => (sm > -Infinity && (full || 8 * wins[j] >= trials) ? [j] : []))
      .sort((a, c) => wins[c] - wins[a] || smear[c] - smear[a] || a - c)
      .slice(0, full ? MAX_TRIED : LEARNT_TRIED);
    if (tried.length === 0 && smearBest >= 0) tried.push(smearBest);
    // Past the box budget only the smear input is halved (its halves bounded when opened).
    const withBounds = bounded + 2 * tried.length <= maxBoxes;
    let cut: { dim: number; score: number; lo: Box; hi: Box; Ulo?: Float64Array; Uhi?: Float64Array } | null = null;
    for (const j of withBounds ? tried : smearBest >= 0 ? [smearBest] : []) {
      throwIfAborted(opts.signal);
      const mid = 0.5 * (b.lower[j] + b.upper[j]);
      const lo = { lower: [...b.lower], upper: [...b.upper] };
      const hi = { lower: [...b.lower], upper: [...b.upper] };
      lo.upper[j] = mid;
      hi.lower[j] = mid;
      if (!withBounds) {
        cut = { dim: j, score: 0, lo, hi };
        break;
      }
      const Ulo = boundsOf(lo);
      const Uhi = boundsOf(hi);
      const normOf = (U: Float64Array) => {
        const v = judge(U);
        return v.proven >= 0 ? 0 : (v.best?.norm ?? Infinity);
      };
      const score = Math.max(normOf(Ulo), normOf(Uhi));
      if (!cut || score < cut.score || (score === cut.score && smear[j] > smear[cut.dim])) cut = { dim: j, score, lo, hi, Ulo, Uhi };
    }
    if (cut && withBounds && full) {
      trials++;
      wins[cut.dim]++;
    }
    if (!cut) {
      toPatch.push(o);
      continue;
    }
    splits++;
    open(cut.lo, o.depth + 1, cut.Ulo);
    open(cut.hi, o.depth + 1, cut.Uhi);
  }
  toPatch.push(...heap.drain());
  const splitMs = performance.now() - t0;
  // 4. The patches, one piece per group of touching boxes.
  const groups = touchingGroups(
    toPatch.map((t) => t.box),
    opts.radius,
  );
  const pieceOf = new Array<number>(toPatch.length).fill(0);
  for (const g of groups) {
    let bestPiece = 0;
    let bestWorst = Infinity;
    for (let pi = 0; pi < pieces.length; pi++) {
      const worst = g.reduce((m, i) => Math.max(m, toPatch[i].norms[pi] ?? Infinity), 0);
      if (worst < bestWorst) {
        bestWorst = worst;
        bestPiece = pi;
      }
    }
    for (const i of g) pieceOf[i] = bestPiece;
  }
  for (let i = 0; i < toPatch.length; i++) {
    throwIfAborted(opts.signal);
    await pause();
    opts.onProgress?.(out.length, toPatch.length - i);
    await patchIt(toPatch[i], pieceOf[i]);
  }
  opts.onProgress?.(out.length, 0);
  return { boxes: out, bounded, splits, groups: groups.length, splitMs, patchMs: performance.now() - t0 - splitMs };
}
