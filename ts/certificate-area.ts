/**
 * `certify --area` of a saved area repair without enumerating the area (issue 10): the file's
 * repair record carries the proof map of its repair (ts/area-proof.ts) — the pieces the area's box
 * was split into, and how each was proven. Nothing in it is trusted:
 *
 * 1. **cover**: the pieces must cover the area's box, checked exactly by re-playing the split tree
 *    from the box (comparisons of the saved floats only; `checkCover`);
 * 2. **every piece re-proven on the file's own parameters** (bounds recomputed on `rep.original`,
 *    patches and gate read from the file, as ts/certificate-boxes.ts does):
 *    - a `bounds` piece whose hint (proof map v2) names convex piece k of the safe set first by
 *      bounds of that piece alone on the finished network (as the repair's re-proof proved it);
 *    - a `bounds` piece (hinted "the original's proof stands", or without a hint) where every reaching patch only lowers every row of every piece of the
 *      safe set (so the finished network is safe wherever the original is; no patch reaching it
 *      included) first on the original network by the branch and bound (ts/verify.ts) without its
 *      counterexample search: the piece was one of its leaves in the repair, so the root box's
 *      bound sequence (which proves unions exactly: a piece may need two convex pieces of the safe
 *      set in different parts) mostly proves it at once — the repair's own re-proof takes the
 *      original's proof there as it stands;
 *    - other `bounds` pieces, those that failed above, and `box-patch` pieces by bounds on the
 *      finished network with every patch whose band reaches the piece (`certifyBoxParts`: one
 *      convex piece of the safe set for the original and every shifted output, split where it does
 *      not hold at once); a helped `bounds` piece where that fails too by the full branch and bound
 *      on the original (counterexample search included: a refusal names a witness);
 *    - `regions` pieces by enumerating the piece's linear regions on the original network (the
 *      record's region list is not used) and certifying each (region ∩ the area) with the region
 *      certificate of ts/certificate.ts, union semantics included;
 *    - `empty` and `unproven` pieces are refused (no re-proof of an empty input set is implemented).
 *
 * Certified only when the cover holds and every piece is proven. A file without a proof map (or
 * one made for another box) falls back to the enumeration of every linear region (`certify`), and
 * the report says so.
 */
import { type AreaProof, type CoverCheck, checkCover, PROOF_METHODS, type ProofMethod, shareIn } from './area-proof.js';
import { type BoundMethod, specRowsUpperBounds } from './bounds.js';
import {
  type BandBounds,
  type BoxCertificate,
  bandIndexOf,
  bandReachesBox,
  certifyBox,
  certifyBoxParts,
  helpsEveryPiece,
} from './box-patch.js';
import { type CertificateReport, type CertifyOptions, certify, certifyItems } from './certificate.js';
import { type Area, enumerateRegions } from './enumerate.js';
import { InputError, LpError, throwIfAborted } from './errors.js';
import type { VnnlibProperty } from './formats/vnnlib.js';
import type { Box } from './network.js';
import { patternHex } from './patch.js';
import type { RepairedNetwork } from './repaired.js';
import type { Spec } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import { verify } from './verify.js';

export interface AreaCertifyOptions extends Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'> {
  /** The safe set proven (the file's record.spec is not used: a re-proof is against what is asked). */
  spec: Spec | SpecUnion;
  /**
   * The unsafe output set `spec` is the closure of the complement of, as disjuncts (a VNN-LIB
   * property's, from which `safeSpec` made `spec`), for the branch and bound on `bounds` pieces.
   * Default: computed from the spec's pieces (one disjunct per choice of a row in each piece),
   * which for some unions is too many (ACAS Xu φ8: 3^8): then those pieces are proven by bounds
   * on the finished network only.
   */
  unsafe?: readonly { A: ArrayLike<number>; b: ArrayLike<number> }[];
  area: Area;
  /** Bound of the spec rows on `bounds` and `box-patch` pieces (default `symbolic`, as the repair). */
  bound?: BoundMethod;
  /** Halvings of a piece whose bound does not hold at once (default 10; band-face cuts do not count). */
  depth?: number;
  /** Most linear regions in one `regions` piece, and in the whole area on the fallback (default 100,000). */
  maxRegions?: number;
  /** Stop after this many refused pieces (default: every piece is tried; the report then lists every refusal). */
  maxRefused?: number;
  /** Time limit of the branch and bound on one `bounds` piece (default 10 s). */
  verifyMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: { phase: 'cover' | 'pieces' | 'regions' | 'enumerate'; done: number; total: number; elapsedMs: number }) => void;
}

/** A piece (or part of one) without a proof on the finished network, with a violating point when one was found. */
export interface RefusedPiece {
  /** Index into the record's pieces (−1: a linear region, see `pattern`). */
  piece: number;
  how: ProofMethod;
  lower: number[];
  upper: number[];
  reason: string;
  pattern?: string;
  witness?: number[];
  /** The finished network's violation at the witness (min over the safe set's pieces of the largest row; > 0 violates). */
  violation?: number;
}

export interface AreaCertificate {
  schemaVersion: 1;
  kind: 'area-certificate';
  status: 'certified' | 'not-certified';
  /** `record`: re-proven from the file's proof map; `enumeration`: every linear region (no usable proof map, see notes). */
  source: 'record' | 'enumeration';
  area: { lower: number[]; upper: number[]; inputSetRows: number };
  /** The exact cover check of the record's pieces (null on the enumeration fallback). */
  cover: CoverCheck | null;
  pieces: number;
  /** Per method: pieces, pieces proven, and the share of the area's box they prove (by volume over inputs of positive width). */
  byMethod: Record<ProofMethod, { pieces: number; proven: number; share: number }>;
  /** Bounds pieces proven by the branch and bound on the original network (see module comment). */
  provenByVerify: number;
  /** Bounds pieces proven by the one convex piece of the safe set their hint names (see module comment). */
  provenByHint: number;
  /** Bounds pieces proven on the original network by one bound of a piece of the safe set (every reaching patch helps; see module comment). */
  provenOnOriginal: number;
  /** Parts bounded (a piece split where its bound did not hold at once counts each part). */
  boundParts: number;
  /** Largest proven bound over the proven bound parts (<= tolerance). */
  largestProvenBound: number;
  /** Linear regions of the `regions` pieces, re-enumerated, and their certificate. */
  regions: { enumerated: number; certified: number; report: Omit<CertificateReport, 'perRegion'> | null };
  refused: RefusedPiece[];
  /** The region certificate of the whole area, on the enumeration fallback. */
  enumeration: CertificateReport | null;
  notes: string[];
  timingsMs: { total: number; cover: number; bounds: number; enumerate: number; regions: number };
}

const sameVector = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

/** The unsafe set of a safe set as disjuncts: outside every piece (one row chosen per piece; closed, which is stronger). */
function unsafeOf(spec: Spec | SpecUnion): { A: Float64Array; b: Float64Array }[] {
  const pieces = isSpecUnion(spec) ? spec.pieces : [spec];
  const k = pieces[0].outputs;
  let out: { A: number[]; b: number[] }[] = [{ A: [], b: [] }];
  for (const p of pieces) {
    const next: typeof out = [];
    for (const d of out)
      for (let j = 0; j < p.q.length; j++) {
        const row = Array.from(p.P.subarray(j * k, (j + 1) * k), (v) => -v);
        next.push({ A: [...d.A, ...row], b: [...d.b, -p.q[j]] });
      }
    out = next;
    if (out.length > 4096) throw new InputError('the unsafe set of this safe set has more than 4096 disjuncts', { field: 'spec' });
  }
  return out.map((d) => ({ A: Float64Array.from(d.A), b: Float64Array.from(d.b) }));
}

/** The property "the safe set holds on box `b`" for the branch and bound (ts/verify.ts). */
function pieceProperty(b: Box, unsafe: { A: Float64Array; b: Float64Array }[]): VnnlibProperty {
  return {
    input: { box: { lower: [...b.lower], upper: [...b.upper] }, rows: { A: new Float64Array(0), b: new Float64Array(0) } },
    unsafe,
  };
}

/**
 * The branch and bound's settings for re-proving a piece of a proof map: no counterexample search
 * (16,384 root samples per call cost most of a piece's time; a violating piece is still found by
 * the exact leaves, and the full search runs on a refusal).
 */
const QUICK_VERIFY = { rootSamples: 0, boxSamples: 0, attackSteps: 0 };

/** Refused parts of one piece after which its walk stops (the piece is refused at the first). */
const MAX_REFUSED_PARTS = 4;

/**
 * `certifyBoxParts` (ts/box-patch.ts: split first just beyond the face of a reaching box patch's
 * band, which does not count in `depth`, then halving the widest input) on a piece, stopped after
 * {@link MAX_REFUSED_PARTS} refused parts (one is enough to refuse it), with a witness searched
 * on those until one is found: a tampered file is refused in seconds, not after splitting every
 * part of its pieces to the last depth.
 */
async function provePiece(
  rep: RepairedNetwork,
  piece: Box,
  spec: Spec | SpecUnion,
  depth: number,
  opts: { tolerance?: number; bound: BoundMethod; signal?: AbortSignal; within?: Box; bandBounds?: BandBounds },
): Promise<{ proven: BoxCertificate[]; refused: BoxCertificate[] }> {
  const { proven, refused } = await certifyBoxParts(rep, piece, spec, depth, {
    ...opts,
    maxRefused: MAX_REFUSED_PARTS,
    witnesses: 'first',
  });
  const witnessed = refused.some((c) => c.witness);
  if (refused.length > 0 && !witnessed) {
    // The refused parts are where the bound failed, not necessarily where the network violates
    // (a part can be refused by a loose bound next to a true violation elsewhere in the piece):
    // the search is repeated once on the whole piece.
    const whole = await certifyBox(rep, piece, spec, { ...opts, witness: true });
    if (whole.witness) refused.unshift(whole);
  }
  return { proven, refused };
}

/**
 * Certifies a saved area repair on `opts.area` from its proof map (module comment), or by
 * enumerating every linear region when it has none.
 */
export async function certifyArea(rep: RepairedNetwork, opts: AreaCertifyOptions): Promise<AreaCertificate> {
  const t0 = performance.now();
  const { area, spec } = opts;
  const box = area.box;
  const byMethod = Object.fromEntries(PROOF_METHODS.map((m) => [m, { pieces: 0, proven: 0, share: 0 }])) as AreaCertificate['byMethod'];
  const out: AreaCertificate = {
    schemaVersion: 1,
    kind: 'area-certificate',
    status: 'not-certified',
    source: 'record',
    area: { lower: [...box.lower], upper: [...box.upper], inputSetRows: area.inputSet?.b.length ?? 0 },
    cover: null,
    pieces: 0,
    byMethod,
    provenByVerify: 0,
    provenByHint: 0,
    provenOnOriginal: 0,
    boundParts: 0,
    largestProvenBound: -Infinity,
    regions: { enumerated: 0, certified: 0, report: null },
    refused: [],
    enumeration: null,
    notes: [],
    timingsMs: { total: 0, cover: 0, bounds: 0, enumerate: 0, regions: 0 },
  };
  const progress = (phase: 'cover' | 'pieces' | 'regions' | 'enumerate', done: number, total: number) =>
    opts.onProgress?.({ phase, done, total, elapsedMs: performance.now() - t0 });
  const proof: AreaProof | undefined = rep.record?.proof;
  const why = !proof
    ? `the file has no proof map (record.proof: ${rep.record ? 'written before proof maps, or not by an area repair by branch and bound' : 'no repair record'})`
    : !(sameVector(proof.lower, box.lower) && sameVector(proof.upper, box.upper))
      ? `the file's proof map covers another box ([${proof.lower}] .. [${proof.upper}]) than the area given`
      : undefined;
  if (why || !proof) {
    // The existing certificate: every linear region of the area, on the finished network.
    out.source = 'enumeration';
    out.notes.push(`${why}: every linear region of the area was enumerated and certified instead`);
    const report = await certify(rep, {
      rtol: opts.rtol,
      tolerance: opts.tolerance,
      eps: opts.eps,
      maxPieces: opts.maxPieces,
      boundHelpful: opts.boundHelpful,
      spec,
      area,
      enumerate: { maxRegions: opts.maxRegions },
      signal: opts.signal,
      onProgress: (e) => progress('enumerate', e.done, e.total),
    });
    out.enumeration = report;
    out.status = report.status;
    out.regions = { enumerated: report.regions, certified: report.certifiedRegions, report: null };
    out.timingsMs.total = performance.now() - t0;
    return out;
  }

  // 1. The cover, exactly.
  const pieces = proof.pieces;
  out.pieces = pieces.length;
  const cover = checkCover(
    box,
    pieces.map(([, lower, upper]) => ({ lower, upper })),
  );
  out.cover = cover;
  out.timingsMs.cover = performance.now() - t0;
  progress('cover', 1, 1);
  for (const [how] of pieces) byMethod[how].pieces++;
  if (!cover.covered) {
    out.refused.push({
      piece: -1,
      how: 'unproven',
      lower: [...box.lower],
      upper: [...box.upper],
      reason: `the record's pieces do not cover the area (${cover.reason}): ${cover.message}`,
      ...(cover.witness ? { witness: cover.witness } : {}),
    });
    out.notes.push('the pieces were not re-proven: the cover check failed first');
    out.timingsMs.total = performance.now() - t0;
    return out;
  }

  // 2. Every piece on the finished network.
  const pause = periodicYield();
  const depth = opts.depth ?? 10;
  const bound = opts.bound ?? 'symbolic';
  const regionPieces: number[] = [];
  const tBounds = performance.now();
  const _n = rep.inputSize;
  const bandBoundsIn: BandBounds = new Map();
  const bandBoundsOut: BandBounds = new Map();
  // Per convex piece of the safe set proven alone (a hint): its own caches (a cache is per spec).
  const hintBandIn = new Map<number, BandBounds>();
  const hintBandOut = new Map<number, BandBounds>();
  const specPieces = isSpecUnion(spec) ? spec.pieces : [spec];
  // Every row of every piece, for one bound call on the original network.
  const allRows = {
    P: Float64Array.from(specPieces.flatMap((sp) => Array.from(sp.P.subarray(0, sp.q.length * sp.outputs)))),
    q: Float64Array.from(specPieces.flatMap((sp) => Array.from(sp.q))),
  };
  const rowStart = specPieces.map((_, k) => specPieces.slice(0, k).reduce((t, sp) => t + sp.q.length, 0));
  // The unsafe set as the branch and bound's disjuncts, when it has few enough (else no piece is
  // re-proven by the branch and bound: bounds on the finished network only).
  let unsafe: { A: Float64Array; b: Float64Array }[] | null | undefined;
  const unsafeSet = () => {
    if (unsafe === undefined && opts.unsafe) unsafe = opts.unsafe.map((d) => ({ A: Float64Array.from(d.A), b: Float64Array.from(d.b) }));
    if (unsafe === undefined)
      try {
        unsafe = unsafeOf(spec);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        unsafe = null;
        out.notes.push(`no piece re-proven by branch and bound: ${e.message}`);
      }
    return unsafe;
  };
  let done = 0;
  const enough = () => out.refused.length >= (opts.maxRefused ?? Infinity);
  for (let i = 0; i < pieces.length && !enough(); i++) {
    throwIfAborted(opts.signal);
    const [how, lower, upper] = pieces[i];
    const b: Box = { lower, upper };
    const share = shareIn(b, box);
    const refuse = (reason: string, extra: Partial<RefusedPiece> = {}) =>
      out.refused.push({ piece: i, how, lower: [...lower], upper: [...upper], reason, ...extra });
    if (how === 'regions') {
      regionPieces.push(i);
      continue;
    }
    if (how === 'unproven') refuse('the repair recorded no proof for this piece');
    else if (how === 'empty') refuse('recorded as outside the input set; re-proving an empty input set is not implemented');
    else {
      const reaching = bandIndexOf(rep.patches)
        .reaching(b)
        .filter((k) => bandReachesBox(rep.patches[k], b))
        .map((k) => rep.patches[k]);
      const helped = reaching.every((p) => helpsEveryPiece(p, spec));
      const clipped = inside(b, box);
      // How the repair re-proved the piece (the proof map's hint): only the order of the proofs tried.
      const hint = how === 'bounds' ? pieces[i][3] : undefined;
      if (hint !== undefined && hint >= 0 && hint < specPieces.length) {
        // By bounds of the one convex piece of the safe set the repair proved it with (a subset
        // of the safe set: proving it proves the piece), for the original and every shifted
        // output: one bound, without first trying the union's other pieces (each of which
        // bounds every reaching patch's band box when it fails).
        const caches = clipped ? hintBandIn : hintBandOut;
        if (!caches.has(hint)) caches.set(hint, new Map());
        const c = await certifyBox(rep, b, specPieces[hint], {
          tolerance: opts.tolerance,
          bound,
          signal: opts.signal,
          witness: false,
          ...(clipped ? { within: box } : {}),
          bandBounds: caches.get(hint),
        });
        out.boundParts++;
        if (c.status === 'certified') {
          out.provenByHint++;
          out.largestProvenBound = Math.max(out.largestProvenBound, c.provenBound);
          byMethod[how].proven++;
          byMethod[how].share += share;
          progress('pieces', ++done, pieces.length);
          await pause();
          continue;
        }
      }
      const u = how === 'bounds' && helped && (hint === undefined || hint === -1) ? unsafeSet() : null;
      if (u) {
        // Every patch reaching the piece keeps every safe output safe: the original network's
        // proof is the proof (as the repair's re-proof takes it), re-done here on the file's own
        // original: first one bound of every row of every piece of the safe set (a piece whose
        // rows all hold proves it), else by the branch and bound without its counterexample
        // search: the piece was a leaf of the repair's branch and bound, so the root box's bound
        // sequence (interval, symbolic, their LP combination of the spec rows, LP relaxation)
        // usually proves it at once.
        const U = specRowsUpperBounds(rep.original, b, allRows.P, allRows.q, { method: bound });
        const tol = opts.tolerance ?? 0;
        const onePiece = specPieces.some((sp, k) => U.subarray(rowStart[k], rowStart[k] + sp.q.length).every((v) => v <= tol));
        out.boundParts++;
        if (onePiece) {
          out.provenOnOriginal++;
          byMethod[how].proven++;
          byMethod[how].share += share;
          progress('pieces', ++done, pieces.length);
          await pause();
          continue;
        }
        const v = await verify(rep.original, pieceProperty(b, u), {
          signal: opts.signal,
          timeoutMs: opts.verifyMs ?? 10_000,
          core: QUICK_VERIFY,
        });
        if (v.status === 'holds') {
          out.provenByVerify++;
          byMethod[how].proven++;
          byMethod[how].share += share;
          progress('pieces', ++done, pieces.length);
          await pause();
          continue;
        }
      }
      // On the whole chain (the band index keeps every bound to the patches that reach a part),
      // with one cache of band-box bounds for all pieces: each patch's band box (clipped to the
      // area, as the repair sized its box patches: ts/box-patch.ts `bandBox`) is bounded once.
      const { proven, refused } = await provePiece(rep, b, spec, depth, {
        tolerance: opts.tolerance,
        bound,
        signal: opts.signal,
        ...(clipped ? { within: box } : {}),
        bandBounds: clipped ? bandBoundsIn : bandBoundsOut,
      });
      out.boundParts += proven.length + refused.length;
      for (const c of proven) out.largestProvenBound = Math.max(out.largestProvenBound, c.provenBound);
      let ok = refused.length === 0;
      const uu = !ok && how === 'bounds' && helped ? unsafeSet() : null;
      if (uu) {
        // The finished network is safe wherever the original is: the original's proof, by branch and bound (unions exactly).
        const v = await verify(rep.original, pieceProperty(b, uu), { signal: opts.signal, timeoutMs: opts.verifyMs ?? 10_000 });
        if (v.status === 'holds') {
          ok = true;
          out.provenByVerify++;
        } else if (v.counterexample) {
          refuse(`the original network violates the spec in this piece (branch and bound: ${v.status})`, {
            witness: v.counterexample.x,
            violation: -v.counterexample.margin,
          });
          progress('pieces', ++done, pieces.length);
          continue;
        }
      }
      if (ok) {
        byMethod[how].proven++;
        byMethod[how].share += share;
      } else {
        const w = refused.find((c) => c.witness);
        refuse(
          `${refused.length}${refused.length >= MAX_REFUSED_PARTS ? '+' : ''} part(s) not proven by bounds on the finished network (${refused[0].reason}; piece ${refused[0].piece}, ${refused[0].reaching} patch band(s) reach it)`,
          w?.witness ? { witness: w.witness.x, violation: w.witness.violation } : {},
        );
      }
    }
    progress('pieces', ++done, pieces.length);
    await pause();
  }
  out.timingsMs.bounds = performance.now() - tBounds;

  if (enough()) out.notes.push(`stopped at ${out.refused.length} refused piece(s) (maxRefused): the pieces after them were not tried`);
  // 3. The `regions` pieces: their linear regions re-enumerated, each certified (region ∩ the area).
  if (regionPieces.length > 0 && !enough()) {
    const tEnum = performance.now();
    const byPattern = new Map<string, { pattern: Uint8Array; slack: Float64Array; thin: boolean; pieces: number[] }>();
    const enumerated = new Set<number>();
    for (const i of regionPieces) {
      throwIfAborted(opts.signal);
      const [how, lower, upper] = pieces[i];
      try {
        const en = await enumerateRegions(
          rep.original,
          { box: { lower, upper }, inputSet: area.inputSet },
          { maxRegions: opts.maxRegions, signal: opts.signal },
        );
        for (const r of en.regions) {
          const key = patternHex(r.pattern);
          const old = byPattern.get(key);
          if (!old) byPattern.set(key, { pattern: r.pattern, slack: r.slack, thin: r.thin, pieces: [i] });
          else {
            // The same region from another piece: its cell's reach across hyperplanes is the larger one.
            old.slack = Float64Array.from(old.slack, (v, h) => Math.max(v, r.slack[h]));
            old.thin ||= r.thin;
            old.pieces.push(i);
          }
        }
        enumerated.add(i);
      } catch (e) {
        if (!(e instanceof InputError || e instanceof LpError)) throw e;
        out.refused.push({ piece: i, how, lower: [...lower], upper: [...upper], reason: `enumeration failed: ${(e as Error).message}` });
      }
      progress('regions', enumerated.size, regionPieces.length);
    }
    out.timingsMs.enumerate = performance.now() - tEnum;
    const tReg = performance.now();
    const list = [...byPattern.entries()];
    const pieceOf = new Map(rep.patches.map((p) => [p.region?.pattern, p.region?.specPiece]));
    const report = await certifyItems(
      rep,
      list.map(([hex, r]) => ({ pattern: r.pattern, spec, piece: pieceOf.get(hex), slack: r.slack, thin: r.thin })),
      area,
      {
        rtol: opts.rtol,
        tolerance: opts.tolerance,
        eps: opts.eps,
        maxPieces: opts.maxPieces,
        boundHelpful: opts.boundHelpful,
        scope: 'area',
        signal: opts.signal,
        onProgress: (e) => progress('regions', e.done, e.total),
      },
    );
    out.timingsMs.regions = performance.now() - tReg;
    const { perRegion, ...summary } = report;
    out.regions = { enumerated: list.length, certified: report.certifiedRegions, report: summary };
    const failedPieces = new Set<number>();
    for (const f of report.failedRegions) {
      const c = perRegion[f];
      const [, r] = list[f];
      for (const i of r.pieces) failedPieces.add(i);
      const [how, lower, upper] = pieces[r.pieces[0]];
      out.refused.push({
        piece: r.pieces[0],
        how,
        lower: [...lower],
        upper: [...upper],
        pattern: c.pattern,
        reason: `linear region ${c.pattern} not certified: ${c.reason}, proven bound ${c.maxViolation} > tolerance ${c.tolerance}`,
        ...(c.witness ? { witness: c.witness } : {}),
        ...(c.violationAtWitness !== null ? { violation: c.violationAtWitness } : {}),
      });
    }
    for (const i of enumerated)
      if (!failedPieces.has(i)) {
        byMethod.regions.proven++;
        byMethod.regions.share += shareIn({ lower: pieces[i][1], upper: pieces[i][2] }, box);
      }
  }
  // Every piece is either proven or listed in `refused` (a region piece with each failed region).
  out.status = out.refused.length === 0 ? 'certified' : 'not-certified';
  if (cover.flat > 0) out.notes.push(`${cover.flat} piece(s) of zero volume in the record (they cover nothing and need no proof)`);
  out.timingsMs.total = performance.now() - t0;
  return out;
}

/** Whether box `b` lies in box `a` (every face). */
function inside(b: Box, a: Box): boolean {
  return b.lower.every((l, j) => l >= a.lower[j] && b.upper[j] <= a.upper[j]);
}
