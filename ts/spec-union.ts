/**
 * Non-convex output specifications: a union of convex pieces Φ_out = ∪_i { y : P_i y <= q_i }
 * (e.g. the safe set of a VNN-LIB property whose unsafe set is an intersection of several
 * atoms). The repair LP needs a convex set, so each region is repaired with one piece: the one
 * whose proven-minimal patch is smallest (`repair()` reports it as `regions[i].specPiece`). The
 * patch is then minimal among patches that map the region into that piece; a patch that spreads
 * the region over several pieces could in principle be smaller.
 */
import { InputError } from './errors.js';
import { intersectSpecs, type Spec, specViolation } from './spec.js';

export interface SpecUnion {
  readonly outputs: number;
  /** The convex pieces (at least one). */
  readonly pieces: readonly Spec[];
}

/** Largest number of pieces a union may have (also when intersecting unions). */
export const MAX_SPEC_PIECES = 4096;

export function isSpecUnion(s: unknown): s is SpecUnion {
  return typeof s === 'object' && s !== null && Array.isArray((s as SpecUnion).pieces);
}

/** A union of convex pieces; a single piece is returned as that piece. */
export function unionSpec(pieces: readonly Spec[]): Spec | SpecUnion {
  if (pieces.length === 0) throw new InputError('a union of specs needs at least one piece (the safe set is empty)', { field: 'spec' });
  const k = pieces[0].outputs;
  pieces.forEach((p, i) => {
    if (p.outputs !== k)
      throw new InputError(`has ${p.outputs} outputs, piece 0 has ${k}`, { field: `spec.pieces[${i}]`, value: p.outputs });
  });
  if (pieces.length > MAX_SPEC_PIECES)
    throw new InputError(`a union of ${pieces.length} pieces is too large (limit ${MAX_SPEC_PIECES})`, { field: 'spec' });
  return pieces.length === 1 ? pieces[0] : { outputs: k, pieces: [...pieces] };
}

/** <= 0 iff y lies in the spec (for a union: in at least one piece). */
export function violationOf(s: Spec | SpecUnion, y: ArrayLike<number>): number {
  if (!isSpecUnion(s)) return specViolation(s, y);
  let best = Infinity;
  for (const p of s.pieces) best = Math.min(best, specViolation(p, y));
  return best;
}

/** The intersection of specs that may be unions: the union of the pairwise intersections. */
export function intersectAny(specs: readonly (Spec | SpecUnion)[]): Spec | SpecUnion {
  if (specs.length === 0) throw new InputError('no spec to intersect');
  if (specs.every((s) => s === specs[0])) return specs[0];
  if (!specs.some(isSpecUnion)) return intersectSpecs(specs as Spec[]);
  let acc: Spec[] = [];
  specs.forEach((s, i) => {
    const ps = isSpecUnion(s) ? s.pieces : [s];
    if (i === 0) acc = [...ps];
    else {
      const next: Spec[] = [];
      for (const a of acc) for (const p of ps) next.push(intersectSpecs([a, p]));
      if (next.length > MAX_SPEC_PIECES)
        throw new InputError(`intersecting the points' specs gives more than ${MAX_SPEC_PIECES} pieces`, { field: 'spec' });
      acc = next;
    }
  });
  return unionSpec(acc);
}
