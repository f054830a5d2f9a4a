/**
 * The proof map of an area repair (issue 10): the boxes the branch and bound (ts/area-bab.ts)
 * split the area's box into, each with the way it was proven, saved in the repair record so that
 * `certify --area` can re-prove the file piece by piece instead of enumerating every linear region
 * of the box (ts/certificate-area.ts). The map only says *where* to look and *which* proof to try:
 * nothing in it is evidence. Whether the pieces cover the box is checked exactly here
 * ({@link checkCover}); every piece is re-proven on the file's own parameters there.
 *
 * Format (version 2), compact because a φ2 box has thousands of pieces:
 *   { "version": 2, "lower": [...], "upper": [...], "pieces": [[how, [lower...], [upper...], hint?], ...] }
 * with `how` one of {@link PROOF_METHODS} and, on a `bounds` piece, an optional `hint` saying how
 * the repair's own re-proof on the finished network went ({@link BoundsHint}). Where that re-proof
 * split a leaf of the branch and bound, the leaf's parts are pieces of their own (the cover check
 * replays the split like any other). Version 1 (no hints) is read too. A hint is a hint: a wrong one
 * makes `certify --area` try the other proofs, it never proves anything.
 */
import { InputError } from './errors.js';
import type { Box } from './network.js';

export const AREA_PROOF_VERSION = 2;
/** The versions {@link areaProofFromJson} reads. */
export const AREA_PROOF_VERSIONS = [1, 2] as const;

/**
 * How a piece was proven by the repair: `bounds` (sound bounds on the original network, re-proven
 * on the finished one where a patch band reaches it), `regions` (every linear region of the piece
 * certified), `box-patch` (patched as a whole and proven by bounds on the finished network),
 * `empty` (the area's input-set rows exclude the piece), `unproven` (no proof: never certified).
 */
export const PROOF_METHODS = ['bounds', 'regions', 'box-patch', 'empty', 'unproven'] as const;
export type ProofMethod = (typeof PROOF_METHODS)[number];

/**
 * How the repair re-proved a `bounds` piece on the finished network: `-1`, the original network's
 * proof stands (no patch band reaches the piece, or every reaching patch keeps every safe output
 * safe: ts/box-patch.ts `helpsEveryPiece`), so the piece is re-proven on the original network;
 * `k >= 0`, by bounds of the convex piece k of the safe set (the union's k-th piece) for the
 * original and every shifted output.
 */
export type BoundsHint = number;

export type ProofPiece = [how: ProofMethod, lower: number[], upper: number[], hint?: BoundsHint];

export interface AreaProof {
  version: (typeof AREA_PROOF_VERSIONS)[number];
  /** The box the pieces cover (the area's box). */
  lower: number[];
  upper: number[];
  pieces: ProofPiece[];
}

/** The proof map of a repair: pieces in the order given (`boxes` per method, a `bounds` box with its hint when it has one). */
export function areaProof(box: Box, parts: { how: ProofMethod; boxes: readonly (Box & { hint?: BoundsHint })[] }[]): AreaProof {
  const pieces: ProofPiece[] = [];
  for (const { how, boxes } of parts)
    for (const b of boxes) {
      const piece: ProofPiece = [how, Array.from(b.lower), Array.from(b.upper)];
      if (how === 'bounds' && b.hint !== undefined) piece.push(b.hint);
      pieces.push(piece);
    }
  return { version: AREA_PROOF_VERSION, lower: Array.from(box.lower), upper: Array.from(box.upper), pieces };
}

/** A proof map read from JSON, checked field by field (`n` inputs). */
export function areaProofFromJson(v: unknown, n: number, file: string | undefined, field = 'record.proof'): AreaProof {
  const o = v as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError('must be an object', { file, field, value: v });
  const version = o.version as AreaProof['version'];
  if (!AREA_PROOF_VERSIONS.includes(version))
    throw new InputError(`version must be ${AREA_PROOF_VERSIONS.join(' or ')} (this relu-repair reads no other)`, {
      file,
      field: `${field}.version`,
      value: o.version,
    });
  const vec = (x: unknown, at: string): number[] => {
    if (!Array.isArray(x) || x.length !== n || !x.every((t) => typeof t === 'number' && Number.isFinite(t)))
      throw new InputError(`must be an array of ${n} finite numbers`, { file, field: at, value: x });
    return x as number[];
  };
  const ordered = (lo: number[], hi: number[], at: string) => {
    const j = lo.findIndex((l, i) => !(l <= hi[i]));
    if (j >= 0) throw new InputError(`lower[${j}] > upper[${j}]`, { file, field: at, value: [lo[j], hi[j]] });
  };
  const lower = vec(o.lower, `${field}.lower`);
  const upper = vec(o.upper, `${field}.upper`);
  ordered(lower, upper, field);
  if (!Array.isArray(o.pieces)) throw new InputError('must be an array of [how, lower, upper]', { file, field: `${field}.pieces` });
  const pieces = o.pieces.map((p: unknown, i: number): ProofPiece => {
    const at = `${field}.pieces[${i}]`;
    const hinted = version >= 2 && Array.isArray(p) && p.length === 4 && p[0] === 'bounds';
    if (!Array.isArray(p) || (p.length !== 3 && !hinted))
      throw new InputError(`must be [how, lower, upper]${version >= 2 ? ' (or ["bounds", lower, upper, hint])' : ''}`, {
        file,
        field: at,
        value: p,
      });
    if (!PROOF_METHODS.includes(p[0]))
      throw new InputError(`how must be one of ${PROOF_METHODS.join(', ')}`, { file, field: `${at}[0]`, value: p[0] });
    const lo = vec(p[1], `${at}[1]`);
    const hi = vec(p[2], `${at}[2]`);
    ordered(lo, hi, at);
    if (!hinted) return [p[0] as ProofMethod, lo, hi];
    if (!Number.isInteger(p[3]) || p[3] < -1)
      throw new InputError('hint must be an integer >= -1 (-1: the original network; k: piece k of the safe set)', {
        file,
        field: `${at}[3]`,
        value: p[3],
      });
    return [p[0] as ProofMethod, lo, hi, p[3] as number];
  });
  return { version, lower, upper, pieces };
}

export type CoverCheck =
  | { covered: true /** Pieces of zero volume (no positive width on an input where the box has one): they cover nothing. */; flat: number }
  | {
      covered: false;
      reason: 'outside' | 'uncovered' | 'not-a-split';
      message: string;
      /** A point of the box no piece contains (`uncovered`), or of a piece outside the box (`outside`); none for `not-a-split`. */
      witness?: number[];
      flat: number;
    };

/**
 * Do the pieces cover the box (as closed sets)? Decided exactly, by comparisons of the saved
 * floats only (no volume sums, whose rounding could hide a gap): the split tree is re-played from
 * the box. A box is covered when a piece contains it; otherwise it is cut along an input at a value
 * c where no piece crosses c (every piece lies on one side: found by sorting the pieces by their
 * lower end and sweeping the largest upper end), and each side must be covered by the pieces on
 * that side. Sound for any pieces (the two sides make up the box); complete for the pieces of a
 * split tree (guillotine cuts), which is what a repair writes. A gap is named by a point inside the
 * box part left without a piece (interior to it, so no piece of another part reaches it).
 */
export function checkCover(box: Box, pieces: readonly { lower: ArrayLike<number>; upper: ArrayLike<number> }[]): CoverCheck {
  const n = box.lower.length;
  const wide: number[] = [];
  for (let j = 0; j < n; j++) if (box.upper[j] > box.lower[j]) wide.push(j);
  let flat = 0;
  const live: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    for (let j = 0; j < n; j++)
      if (p.lower[j] < box.lower[j] || p.upper[j] > box.upper[j])
        return {
          covered: false,
          reason: 'outside',
          message: `piece ${i} reaches outside the box on input ${j} ([${p.lower[j]}, ${p.upper[j]}] vs [${box.lower[j]}, ${box.upper[j]}])`,
          witness: Array.from(p.lower[j] < box.lower[j] ? p.lower : p.upper),
          flat,
        };
    if (wide.some((j) => !(p.upper[j] > p.lower[j]))) flat++;
    else live.push(i);
  }
  const contains = (p: { lower: ArrayLike<number>; upper: ArrayLike<number> }, b: Box) =>
    wide.every((j) => p.lower[j] <= b.lower[j] && p.upper[j] >= b.upper[j]);
  const centre = (b: Box) => Array.from(b.lower, (l, j) => 0.5 * (l + b.upper[j]));
  const stack: { b: Box; idx: number[] }[] = [{ b: { lower: Array.from(box.lower), upper: Array.from(box.upper) }, idx: live }];
  while (stack.length > 0) {
    const { b, idx } = stack.pop()!;
    if (idx.length === 0)
      return {
        covered: false,
        reason: 'uncovered',
        message: `no piece covers the box part [${b.lower}] .. [${b.upper}]`,
        witness: centre(b),
        flat,
      };
    if (idx.some((i) => contains(pieces[i], b))) continue;
    if (idx.length === 1) {
      // One piece, strictly inside the part on some input: a point between its face and the part's.
      const p = pieces[idx[0]];
      const x = centre(b);
      for (const j of wide) {
        if (p.lower[j] > b.lower[j]) x[j] = 0.5 * (b.lower[j] + p.lower[j]);
        else if (p.upper[j] < b.upper[j]) x[j] = 0.5 * (p.upper[j] + b.upper[j]);
        else continue;
        break;
      }
      // A gap narrower than one float step has no float point strictly inside: the witness is then on its edge.
      return {
        covered: false,
        reason: 'uncovered',
        message: `the box part [${b.lower}] .. [${b.upper}] is covered only in part (by piece ${idx[0]})`,
        witness: x,
        flat,
      };
    }
    let cut: { j: number; c: number; left: number[]; right: number[] } | undefined;
    for (const j of wide) {
      const sorted = [...idx].sort((u, v) => pieces[u].lower[j] - pieces[v].lower[j]);
      let maxUp = -Infinity;
      for (let k = 0; k < sorted.length; k++) {
        const lo = pieces[sorted[k]].lower[j];
        if (k > 0 && lo >= maxUp && maxUp > b.lower[j] && maxUp < b.upper[j]) {
          cut = { j, c: maxUp, left: sorted.slice(0, k), right: sorted.slice(k) };
          break;
        }
        maxUp = Math.max(maxUp, pieces[sorted[k]].upper[j]);
      }
      // Every piece ends below the part's upper face: the slab above them is a gap.
      if (!cut && maxUp < b.upper[j] && maxUp > b.lower[j]) cut = { j, c: maxUp, left: sorted, right: [] };
      // Every piece starts above the part's lower face: the slab below them is a gap.
      const minLo = pieces[sorted[0]].lower[j];
      if (!cut && minLo > b.lower[j]) cut = { j, c: minLo, left: [], right: sorted };
      if (cut) break;
    }
    if (!cut)
      return {
        covered: false,
        reason: 'not-a-split',
        message: `the ${idx.length} pieces in the box part [${b.lower}] .. [${b.upper}] are not a split tree (they overlap or no cut separates them): the cover is not checked`,
        flat,
      };
    const lo = { lower: [...b.lower], upper: [...b.upper] };
    const hi = { lower: [...b.lower], upper: [...b.upper] };
    lo.upper[cut.j] = cut.c;
    hi.lower[cut.j] = cut.c;
    stack.push({ b: lo, idx: cut.left }, { b: hi, idx: cut.right });
  }
  return { covered: true, flat };
}

/** Share of `b` in `whole` over the inputs where `whole` has positive width. */
export function shareIn(b: Box, whole: Box): number {
  let s = 1;
  for (let j = 0; j < whole.lower.length; j++) {
    const w = whole.upper[j] - whole.lower[j];
    if (w > 0) s *= Math.max(0, Math.min(b.upper[j], whole.upper[j]) - Math.max(b.lower[j], whole.lower[j])) / w;
  }
  return s;
}
