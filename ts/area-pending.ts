/**
 * The boxes a branch and bound left undecided when its budget ran out (ts/verify.ts `pending`),
 * decided for an area repair (issue 10; ts/area-bab.ts) without enumerating their linear regions:
 *
 * 1. **bounds**: a box where sound upper bounds of every row of one convex piece of the safe set
 *    are <= 0 on the original network (ts/bounds.ts) needs nothing (it is re-proven on the
 *    finished network like any bounds box, ts/area-bab.ts step 5);
 * 2. **split**: a box whose patch from the bounds would be far larger than the one the violations
 *    found there need (the bound is loose, or no violation is found at all) is halved along the
 *    input of largest smear (normalised width × |gradient| of the worst row at the centre), down
 *    to `maxDepth` halvings of a pending box and while the phase's deadline and box budget last;
 * 3. **box patch** (ts/box-patch.ts): any other box gets one constant patch sized from bounds over
 *    its band box (the box widened by the patch radius, clipped to the area: `bandBox`), so the
 *    shift is valid wherever its band reaches; the certificate bounds its term over the same box. With a union safe set, boxes whose bands touch each other (connected through
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
import { mulberry } from './util/random.js';

export interface PendingOptions {
  /** Locality radius of the box patches. */
  radius: number;
  /** Halvings of one pending box at most (default 8). */
  maxDepth?: number;
  /** Boxes bounded at most in this phase (default 20,000); past it every open box is patched. */
  maxBoxes?: number;
  /** `Date.now()` after which open boxes are patched without further splitting. */
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
}

interface ToPatch extends Open {
  /** ‖d‖∞ per piece of the patch from the bounds on the box (Infinity: no constant patch). */
  norms: number[];
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
  // Depth first (a stack), the pending boxes in their given order.
  const stack: Open[] = pending.map((b) => ({ box: b, depth: 0 })).reverse();
  let bounded = 0;
  let splits = 0;
  const toPatch: ToPatch[] = [];
  const patchIt = async (o: Open, piece: number) => {
    // A short worst-violation search: it only sizes the reported minimality gap, never the patch.
    const bp = await boxPatch(net, o.box, spec, {
      radius: opts.radius,
      sizeBox: bandBox(o.box, opts.radius, whole),
      search: { starts: 0, steps: 8 },
      relativeSlack: opts.relativeSlack ?? 0.05,
      piece: pieces.length > 1 ? piece : undefined,
      bound: opts.bound ?? 'symbolic',
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
  while (stack.length > 0) {
    throwIfAborted(opts.signal);
    await pause();
    opts.onProgress?.(out.length, stack.length);
    const o = stack.pop()!;
    const b = o.box;
    bounded++;
    // 1. Bounds of every piece's rows on the box itself, in one pass (the rows stacked).
    let best: { piece: number; U: Float64Array; norm: number } | null = null;
    const norms: number[] = [];
    let proven = -1;
    const Uall = specRowsUpperBounds(net, b, stacked.C, stacked.q, { method: 'symbolic' });
    for (let pi = 0; pi < pieces.length && proven < 0; pi++) {
      const piece = pieces[pi];
      const U = Uall.slice(stacked.first[pi], stacked.first[pi] + specRows(piece));
      if (U.every((u) => u <= 0)) {
        proven = pi;
        break;
      }
      const cp = constantPatchFor(piece, U);
      const norm = cp ? cp.norm : Infinity;
      norms.push(norm);
      if (!best || norm < best.norm) best = { piece: pi, U, norm };
    }
    if (proven >= 0) {
      out.push({ lower: [...b.lower], upper: [...b.upper], depth: o.depth, method: 'bounds', piece: proven });
      continue;
    }
    const budgetLeft = (opts.deadline === undefined || Date.now() < opts.deadline) && bounded + stack.length < maxBoxes;
    if (o.depth >= maxDepth || !budgetLeft || !best) {
      toPatch.push({ ...o, norms });
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
      toPatch.push({ ...o, norms });
      continue;
    }
    // 3. Split along the input of largest smear.
    let worstRow = 0;
    for (let r = 1; r < rows; r++) if (L[r] > L[worstRow]) worstRow = r;
    const centre = xs.subarray(0, n);
    const grad = net.denseLayers ? rowValueGrad(net.denseLayers, centre, piece.P.subarray(worstRow * k, (worstRow + 1) * k)).grad : null;
    let dim = -1;
    let score = -Infinity;
    for (let j = 0; j < n; j++) {
      const w = whole.upper[j] - whole.lower[j];
      if (!(w > 0) || !(b.upper[j] > b.lower[j])) continue;
      const width = b.upper[j] - b.lower[j];
      const sc = (width / w) * (grad ? Math.abs(grad[j]) * w + 1e-9 : 1);
      if (sc > score) {
        score = sc;
        dim = j;
      }
    }
    const mid = dim >= 0 ? 0.5 * (b.lower[dim] + b.upper[dim]) : Number.NaN;
    if (!(mid > b.lower[dim] && mid < b.upper[dim])) {
      toPatch.push({ ...o, norms });
      continue;
    }
    splits++;
    const lo = { lower: [...b.lower], upper: [...b.upper] };
    const hi = { lower: [...b.lower], upper: [...b.upper] };
    lo.upper[dim] = mid;
    hi.lower[dim] = mid;
    stack.push({ box: hi, depth: o.depth + 1 }, { box: lo, depth: o.depth + 1 });
  }
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
