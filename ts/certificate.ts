/**
 * Certificates of a finished repaired network (METHOD.md §5, docs/COMPOSITION.md; twin of
 * crates/core/src/certificate/). For every region, the core rebuilds the original network's
 * affine map from the activation pattern and bounds every spec row over the region: for a chain,
 * first by the convex bound (the region's own patch, or cells that cover it, and each later patch
 * whose band reaches the region, one LP per spec row each); otherwise, or when that fails, by
 * splitting the region into pieces on which every ReLU of the patch networks that reach it (and
 * of the box gate) has a fixed state and maximising every spec row on every piece by LP — for a
 * union safe set, the union's violation, exactly (a point is safe when *some* piece holds there).
 * Nothing the repair computed is reused as evidence: only the saved network (original, patches,
 * gate, radii, supports, composition, order) and the spec. That a patch covers its region, that
 * the gate is 1 there, that cells cover a region: proven from the parameters, never assumed.
 * Refinement of failing regions (which changes patches) is ts/refine.ts.
 *
 * **No point left out.** Over an area, the regions come from the enumeration (ts/enumerate.ts),
 * which drops no cell: a cell thinner than `minRadius` is a region too (flagged `thin`), and a
 * region whose cell reaches across a hyperplane it was not split by carries that reach (`slack`);
 * the certificate relaxes the region by it and charges its cost. A cell the LP cannot resolve is
 * a region "not certified" with reason `unresolved`, never skipped.
 *
 * **What a bound is.** A region is certified when, for every spec row j, the proven bound on
 * P_j f̂(x) − q_j over the region — the LP's weak-duality bound + the error budget of sign
 * decisions made without splitting + a rigorous bound on the float64 rounding of the region's
 * map and of the piece rows (crates/core/src/certificate/tolerance.rs) — is at most the row's
 * tolerance: the absolute `tolerance` asked for, or by default rtol·(1 + V_j), V_j the largest
 * |P_j f(x) − q_j| over the region's box (the scale of the row's *values*; reported as `scale`).
 * The certificate is about the real-arithmetic function the network's parameters define.
 * Finally the repaired network itself is evaluated at the certificate's witness: a violation
 * above the tolerance there makes the region not certified (reason `violated`), so a certified
 * report never lists a violation found above its tolerance.
 */

import type { BoundMethod } from './bounds.js';
import { certifySavedBoxes, isBoxPatch, type SavedBoxesReport } from './certificate-boxes.js';
import { type Area, checkArea, type EnumerateOptions, enumerateRegions } from './enumerate.js';
import { AbortError, InputError } from './errors.js';
import type { Box } from './network.js';
import { patternFromHex, patternHex } from './patch.js';
import type { RepairedNetwork } from './repaired.js';
import { type Spec, specRows } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import * as abi from './wasm/abi.js';
import { type Core, getCore } from './wasm/raw.js';

export interface CertifyOptions {
  /** Relative tolerance (default 1e-9): row j may exceed 0 by at most rtol·(1 + V_j), V_j the scale of its values. */
  rtol?: number;
  /** Absolute tolerance: certified only when every proven bound (rounding included) is at most this (overrides `rtol`). */
  tolerance?: number;
  /** Decision slack in input units for splitting along patch ReLUs (default 0: split whenever needed; charged either way). */
  eps?: number;
  /** Largest number of pieces per region (default 100,000). */
  maxPieces?: number;
  /**
   * Bound constant patches that only lower every spec row (P_j·d <= 0 for every row j, as all
   * label-spec patches do) by 0 instead of modelling them: sound, and far fewer pieces. Default true.
   */
  boundHelpful?: boolean;
  onProgress?: (e: CertificationProgress) => void;
  signal?: AbortSignal;
}

export interface CertificationProgress {
  phase: 'certify';
  done: number;
  total: number;
  elapsedMs: number;
}

/** Why a region is not certified (`certified` when it is). */
export type CertificateReason = abi.NameOf<typeof abi.Reason>;

export interface RegionCertificate {
  /** Activation pattern of the region (hex, see patternHex). */
  pattern: string;
  certified: boolean;
  /**
   * `certified`; `bound` (a proven bound exceeds its tolerance); `unresolved` (a cell too thin for
   * the LP: no bound); `pieceLimit` / `unionLimit` (more pieces or union LPs than the limits);
   * `violated` (the repaired network violates the spec beyond the tolerance at the witness).
   */
  reason: CertificateReason;
  /** Largest proven bound on P_j f̂(x) − q_j over the region, rounding and decision budgets included (for a union: on the union's violation). */
  maxViolation: number;
  /** Absolute tolerance the bounds were compared with (the largest over rows; each row has its own). */
  tolerance: number;
  /** Largest rounding allowance included in a bound. */
  rounding: number;
  /** Largest |P_j f(x) − q_j| over the region's box: the scale of the rows' values. */
  scale: number;
  /** Spec row of `maxViolation` (stacked over the pieces of a union). */
  worstRow: number;
  /** Pieces the region was split into; cells the LP could not resolve. */
  pieces: number;
  emptyPieces: number;
  /** Patches whose band reaches the region: the first `exactPatches` modelled exactly, the rest
   * (constant patches with P_j·d <= 0 on every row) bounded by 0. */
  patches: number[];
  exactPatches: number;
  /** A point of the region where the largest violation of the pieces' maps is attained, and that value (the maps', not the network's). */
  witness: number[] | null;
  witnessValue: number | null;
  /** The repaired network's own violation at the witness (forward pass; for a union, min over pieces). */
  violationAtWitness: number | null;
  /** The witness lies in the region itself (LP points may lie outside it within the LP's tolerance). */
  witnessInRegion: boolean;
  /** Largest decision error budget included in a bound. */
  errorBudget: number;
  lps: number;
  /** For a union spec certified by one piece on the whole region: that piece. */
  specPiece?: number;
  /** The region's cell was thinner than the enumeration's `minRadius`. */
  thin?: boolean;
}

export interface CertificateReport {
  status: 'certified' | 'not-certified';
  /** What was certified: the regions of an area, or the regions the patches repaired. */
  scope: 'area' | 'repaired-regions' | 'regions';
  regions: number;
  certifiedRegions: number;
  /** Indices (into perRegion) of regions that are not certified. */
  failedRegions: number[];
  /** Why the failed regions failed: count per reason. */
  reasons: Partial<Record<CertificateReason, number>>;
  /** Regions whose cell was thinner than the enumeration's minRadius, and how many of them are not certified. */
  thinRegions: number;
  thinFailed: number;
  /** Largest proven violation bound over all regions (<= its region's tolerance when certified). */
  maxViolation: number;
  /** Largest violation of the repaired network found at a witness above its region's tolerance, or null (never with `certified`). */
  largestViolationFound: number | null;
  tolerance: {
    relative: number;
    /** The absolute tolerance asked for, or null (then rtol·(1 + scale) per row). */
    absolute: number | null;
    largestAbsolute: number;
    decisionEps: number;
    /** Largest rounding allowance included in a bound. */
    rounding: number;
    /** Largest |P_j f(x) − q_j| over the regions (the scale of the spec rows' values over the area). */
    outputScale: number;
  };
  pieces: number;
  lps: number;
  /** Time taken (standalone certificates; repair reports keep it in timingsMs.certify). */
  ms?: number;
  /** Without an area: the patches of the file and the regions they (and its record) name. */
  covered?: { patches: number; regions: string[] };
  /**
   * Without an area: the boxes patched as a whole (box patches; ts/certificate-boxes.ts), each
   * proven by bounds on the file's own parameters. Certified only when every box is, none is
   * unchecked, and record and patches agree on them.
   */
  boxes?: SavedBoxesReport;
  /**
   * Differences between what the file records (its repair, `record`) and what it has or what was
   * asked. A file that lost patches or patched regions is not certified (`patches`, `regions`);
   * a different area or spec is reported, the certificate then covers what was asked (`area`, `spec`).
   */
  mismatch?: { what: 'patches' | 'regions' | 'boxes' | 'area' | 'spec'; message: string }[];
  perRegion: RegionCertificate[];
}

const releaser = new FinalizationRegistry<{ core: Core; handle: number }>(({ core, handle }) => {
  try {
    core.release(handle);
  } catch {
    /* instance gone */
  }
});

/** The stacked rows of a safe set and the row count of each piece (one piece: convex). */
function stacked(spec: Spec | SpecUnion): { P: Float64Array; q: Float64Array; pieceRows: Float64Array } {
  if (!isSpecUnion(spec)) return { P: spec.P, q: spec.q, pieceRows: Float64Array.of(specRows(spec)) };
  const rows = spec.pieces.reduce((s, p) => s + specRows(p), 0);
  const P = new Float64Array(rows * spec.outputs);
  const q = new Float64Array(rows);
  let r = 0;
  for (const p of spec.pieces) {
    P.set(p.P, r * spec.outputs);
    q.set(p.q, r);
    r += specRows(p);
  }
  return { P, q, pieceRows: Float64Array.from(spec.pieces, specRows) };
}

/**
 * Rows of a convex spec that contradict each other (no output satisfies them together), found by
 * an LP (a Farkas certificate), or null. An empty safe set is refused before any work with them.
 */
export function contradictingRows(spec: Spec): number[] | null {
  const core = getCore();
  const rows = specRows(spec);
  const r = core.layout('spec check', [spec.P, spec.q], abi.SPEC_CONTRADICTION, { rows }, ([pp, pq, o]) =>
    core.exports.rr_spec_contradiction(pp, pq, rows, spec.outputs, o),
  );
  return r.count > 0 ? Array.from(r.rows) : null;
}

/** Throws an InputError naming `file` and the rows when the safe set `spec` is empty (every piece of a union). */
export function checkSafeSetNotEmpty(spec: Spec | SpecUnion, file?: string): void {
  const pieces = isSpecUnion(spec) ? spec.pieces : [spec];
  const found = pieces.map(contradictingRows);
  if (found.every((r) => r !== null)) {
    const which = found.map((r, i) => (pieces.length > 1 ? `piece ${i}: rows ${r!.join(', ')}` : `rows ${r!.join(', ')}`)).join('; ');
    throw new InputError(`the safe output set P y <= q is empty: no output satisfies ${which} together`, {
      file,
      field: 'spec',
      value: found[0]!.join(','),
    });
  }
}

/** A core certifier for one repaired network and one safe set (convex or a union), in a box (∩ H-polytope). */
export class Certifier {
  private readonly core: Core;
  private handle: number;
  readonly inputSize: number;
  readonly patches: number;

  constructor(
    readonly network: RepairedNetwork,
    readonly spec: Spec | SpecUnion,
    readonly area: Area,
    readonly opts: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'> = {},
  ) {
    const n = network.inputSize;
    checkArea(area, n);
    if (spec.outputs !== network.outputSize)
      throw new InputError(`has ${spec.outputs} outputs, the network has ${network.outputSize}`, { field: 'spec', value: spec.outputs });
    const rtol = opts.rtol ?? 1e-9;
    const eps = opts.eps ?? 0;
    const maxPieces = opts.maxPieces ?? 100_000;
    const tolerance = opts.tolerance ?? Number.NaN;
    if (!(Number.isFinite(rtol) && rtol >= 0)) throw new InputError('must be a finite number >= 0', { field: 'rtol', value: rtol });
    if (opts.tolerance !== undefined && !(Number.isFinite(opts.tolerance) && opts.tolerance >= 0))
      throw new InputError('must be a finite number >= 0', { field: 'tolerance', value: opts.tolerance });
    if (!(Number.isFinite(eps) && eps >= 0)) throw new InputError('must be a finite number >= 0', { field: 'eps', value: eps });
    if (!(Number.isInteger(maxPieces) && maxPieces >= 1))
      throw new InputError('must be a whole number >= 1', { field: 'maxPieces', value: maxPieces });
    const { core, handle: rh } = network.handle();
    const A = area.inputSet?.A ?? new Float64Array(0);
    const b = area.inputSet?.b ?? new Float64Array(0);
    const o = abi.json(abi.CERTIFY_OPTIONS, { rtol, tolerance, eps, maxPieces, boundHelpful: opts.boundHelpful !== false });
    const { P, q, pieceRows } = stacked(spec);
    this.handle = core.call(
      'certifier',
      [area.box.lower, area.box.upper, A, b, P, q, pieceRows, o],
      ([lo, hi, pa, pb, pp, pq, pr, po], lens) =>
        core.exports.rr_certifier_new(rh, lo, hi, pa, pb, b.length, pp, pq, q.length, pr, pieceRows.length, po, lens[7]),
    );
    this.core = core;
    this.inputSize = n;
    this.patches = network.patches.length;
    releaser.register(this, { core, handle: this.handle }, this);
  }

  /**
   * Certifies the spec on the linear region of `pattern` (of the original network), relaxed by
   * `slack` (the enumeration's decision errors, one per hidden neuron; default none), trying
   * union piece `piece` first.
   *
   * `hint` (optional, untrusted): the hidden neurons whose rows the repair kept for this region
   * (those the others and the box do not imply). The core then skips its own implied-row tests
   * and proves the certificate over the polytope of those rows only, recomputed from the network
   * — a superset of the region, so a proof over it holds on the region; any other verdict is
   * decided again on the region itself (crates/core/src/certificate/certifier.rs). A wrong hint
   * can cost time, never soundness. Ignored for dense networks.
   *
   * `duals` (optional, untrusted, with `hint` only): per stacked spec row, the multipliers of the
   * repair's LP of that row over its region on the rows of the hinted neurons (`rows × hint.length`).
   * The core first tries each row's bound as their weak-duality bound on the rows it recomputed
   * (a bound valid for any multipliers >= 0, rounding included) and solves an LP only for a row
   * that bound does not prove (METHOD.md §5.2).
   */
  region(
    pattern: ArrayLike<number>,
    slack?: ArrayLike<number>,
    piece?: number,
    hint?: ArrayLike<number>,
    duals?: ArrayLike<number>,
  ): RegionCertificate {
    if (this.handle <= 0) throw new InputError('this Certifier was freed');
    const hidden = this.network.original.hiddenCount;
    if (pattern.length !== hidden)
      throw new InputError(`has ${pattern.length} entries, the network has ${hidden} hidden neurons`, {
        field: 'pattern',
        value: pattern.length,
      });
    if (slack !== undefined && slack.length !== hidden)
      throw new InputError(`has ${slack.length} entries, the network has ${hidden} hidden neurons`, {
        field: 'slack',
        value: slack.length,
      });
    const n = this.inputSize;
    const h = this.handle;
    const sl = slack ? Float64Array.from(slack) : new Float64Array(hidden);
    if (hint !== undefined) {
      for (let i = 0; i < hint.length; i++)
        if (!(Number.isInteger(hint[i]) && hint[i] >= 0 && hint[i] < hidden))
          throw new InputError(`entry ${i} is ${hint[i]}: not a hidden neuron (0..${hidden - 1})`, { field: 'hint', value: hint[i] });
    }
    const hints = hint ? Float64Array.from(hint) : new Float64Array(0);
    const mult = hint && duals ? Float64Array.from(duals) : new Float64Array(0);
    const c = this.core.layout(
      'certificate',
      [Float64Array.from(pattern), sl, hints, mult],
      abi.REGION_CERTIFICATE,
      { inputs: n, patches: this.patches },
      ([pp, ps, ph, pd, o]) =>
        this.core.exports.rr_certifier_region(
          h,
          pp,
          ps,
          piece ?? -1,
          ph,
          hint ? hints.length : -1,
          pd,
          hint && duals ? mult.length : -1,
          o,
        ),
    );
    return {
      pattern: patternHex(pattern),
      certified: c.certified,
      reason: c.reason,
      maxViolation: c.maxViolation,
      tolerance: c.tolerance,
      rounding: c.rounding,
      scale: c.scale,
      pieces: c.pieces,
      emptyPieces: c.emptyPieces,
      lps: c.lps,
      worstRow: c.worstRow,
      errorBudget: c.errorBudget,
      exactPatches: c.exactPatches,
      patches: Array.from(c.patches),
      witness: c.witness ? Array.from(c.witness) : null,
      witnessValue: c.witness ? c.witnessValue : null,
      violationAtWitness: c.witnessViolation,
      witnessInRegion: c.witnessInRegion,
      ...(c.specPiece !== null ? { specPiece: c.specPiece } : {}),
    };
  }

  free(): void {
    if (this.handle > 0) {
      releaser.unregister(this);
      this.core.release(this.handle);
      this.handle = 0;
    }
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

export function summarise(
  perRegion: RegionCertificate[],
  scope: CertificateReport['scope'],
  opts: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps'>,
  ms: number,
): CertificateReport {
  const failed = perRegion.flatMap((c, i) => (c.certified ? [] : [i]));
  const reasons: Partial<Record<CertificateReason, number>> = {};
  for (const i of failed) reasons[perRegion[i].reason] = (reasons[perRegion[i].reason] ?? 0) + 1;
  // Violations found at the witnesses of regions that are not certified, above their tolerance
  // (within it the spec holds to the stated tolerance). A certified region's witness never
  // violates above its tolerance inside the region (else it is not certified: `violated`); one
  // just outside it (LP tolerance) belongs to another region, which answers for it.
  const found = failed.reduce((m, i) => {
    const c = perRegion[i];
    return c.violationAtWitness !== null && c.violationAtWitness > c.tolerance ? Math.max(m, c.violationAtWitness) : m;
  }, -Infinity);
  const max = (f: (c: RegionCertificate) => number, from = 0) => perRegion.reduce((m, c) => Math.max(m, f(c)), from);
  return {
    status: failed.length === 0 && perRegion.length > 0 ? 'certified' : 'not-certified',
    scope,
    regions: perRegion.length,
    certifiedRegions: perRegion.length - failed.length,
    failedRegions: failed,
    reasons,
    thinRegions: perRegion.filter((c) => c.thin).length,
    thinFailed: failed.filter((i) => perRegion[i].thin).length,
    maxViolation: max((c) => c.maxViolation, -Infinity),
    largestViolationFound: Number.isFinite(found) ? found : null,
    tolerance: {
      relative: opts.rtol ?? 1e-9,
      absolute: opts.tolerance ?? null,
      largestAbsolute: max((c) => c.tolerance),
      decisionEps: opts.eps ?? 0,
      rounding: max((c) => c.rounding),
      outputScale: max((c) => c.scale),
    },
    pieces: perRegion.reduce((s, c) => s + c.pieces, 0),
    lps: perRegion.reduce((s, c) => s + c.lps, 0),
    ms,
    perRegion,
  };
}

/**
 * Certifies `spec` on the linear regions of the given activation patterns for the repaired
 * network, in `area` (default: the network's input box).
 */
export async function certifyRegions(
  network: RepairedNetwork,
  patterns: readonly ArrayLike<number>[],
  spec: Spec | SpecUnion,
  opts: CertifyOptions & { area?: Area; scope?: CertificateReport['scope'] } = {},
): Promise<CertificateReport> {
  const area = opts.area ?? (network.inputBox ? { box: network.inputBox } : undefined);
  if (!area) throw new InputError('no input domain: the repaired network has no inputBox; pass an area', { field: 'area' });
  const items = patterns.map((pattern) => ({ pattern, spec }));
  return certifyItems(network, items, area, { ...opts, scope: opts.scope ?? 'regions' });
}

/**
 * Certifies a saved repaired network: on every linear region of the original network in `area`
 * when given (the whole area, repaired or not, every cell of its enumeration included), else on
 * the regions its patches repaired and the regions its repair record names (their saved
 * activation patterns) inside the network's input box, and on the boxes its box patches and its
 * record name, by bounds (`boxes`; ts/certificate-boxes.ts). A file whose record (what its repair made)
 * does not match what it has, or the area and spec asked for, is reported not certified with the
 * differences (`mismatch`).
 */
export async function certify(
  network: RepairedNetwork,
  opts: CertifyOptions & {
    spec: Spec | SpecUnion;
    area?: Area;
    enumerate?: Omit<EnumerateOptions, 'signal'>;
    /** Bound used to prove box patches' boxes (default `best`; ts/certificate-boxes.ts). */
    boxBound?: BoundMethod;
    /** Halvings of a box whose bound is refused (default 6 up to 16 inputs, else 0). */
    boxDepth?: number;
  },
): Promise<CertificateReport> {
  const t0 = performance.now();
  const hidden = network.original.hiddenCount;
  let items: CertificationItem[];
  let area: Area;
  const mismatch: NonNullable<CertificateReport['mismatch']> = [];
  const record = network.record;
  let covered: CertificateReport['covered'];
  if (opts.area) {
    area = opts.area;
    const en = await enumerateRegions(network.original, area, { ...opts.enumerate, signal: opts.signal });
    const pieceOf = new Map(network.patches.map((p) => [p.region?.pattern, p.region?.specPiece]));
    items = en.regions.map((r) => ({
      pattern: r.pattern,
      spec: opts.spec,
      piece: pieceOf.get(patternHex(r.pattern)),
      slack: r.slack,
      thin: r.thin,
    }));
    if (record?.area && !sameArea(record.area, area))
      mismatch.push({
        what: 'area',
        message:
          `the file was repaired on the area box [${record.area.lower.join(', ')}] .. [${record.area.upper.join(', ')}]` +
          `${record.area.A ? ` ∩ ${record.area.A.length} rows` : ''}, not the one certified here (this certificate covers the area given)`,
      });
  } else {
    if (network.patches.length === 0 && !record)
      throw new InputError('the network has no patches; pass an area to certify', { field: 'patches' });
    const box: Box | undefined = network.inputBox;
    if (!box) throw new InputError('the repaired network has no inputBox; pass an area', { field: 'inputBox' });
    area = { box };
    const seen = new Set<string>();
    items = [];
    const add = (hex: string, field: string, ownPatch?: number, piece?: number) => {
      if (seen.has(hex)) return;
      seen.add(hex);
      items.push({ pattern: patternFromHex(hex, hidden, field), spec: opts.spec, ownPatch, piece });
    };
    network.patches.forEach((p, i) => {
      // A box patch's support is its box, its pattern a placeholder: its box is proven below.
      if (isBoxPatch(p)) return;
      const hex = p.region?.pattern;
      if (hex === undefined)
        throw new InputError('has no activation pattern; pass an area to certify', { field: `patches[${i}].region.pattern` });
      add(hex, `patches[${i}].region.pattern`, i, p.region.specPiece);
    });
    if (record) {
      // Regions the repair made patches for, whether or not the file still has them.
      record.regions.forEach((hex, i) => add(hex, `record.regions[${i}]`));
      const named = new Set(network.patches.map((p) => p.region?.pattern));
      const lost = record.regions.filter((hex) => !named.has(hex));
      if (record.patches !== network.patches.length)
        mismatch.push({
          what: 'patches',
          message: `the file records ${record.patches} patch(es) from its repair, it has ${network.patches.length}`,
        });
      if (lost.length > 0)
        mismatch.push({
          what: 'regions',
          message: `${lost.length} region(s) the repair patched have no patch in the file (patterns ${lost.join(', ')})`,
        });
    }
    covered = { patches: network.patches.length, regions: [...seen] };
  }
  if (record?.spec && !sameSpec(record.spec, opts.spec))
    mismatch.push({ what: 'spec', message: 'the file was repaired for another spec than the one certified here (its record.spec)' });
  const rep = await certifyItems(network, items, area, { ...opts, scope: opts.area ? 'area' : 'repaired-regions' });
  const out: CertificateReport = { ...rep, ms: performance.now() - t0, ...(covered ? { covered } : {}) };
  if (!opts.area) {
    const boxes = await certifySavedBoxes(network, opts.spec, {
      tolerance: opts.tolerance,
      bound: opts.boxBound,
      depth: opts.boxDepth,
      signal: opts.signal,
      // Boxes count as items after the regions (a box can take seconds: 784 inputs, LP bounds).
      onBox: (done, total) =>
        opts.onProgress?.({ phase: 'certify', done: rep.regions + done, total: rep.regions + total, elapsedMs: performance.now() - t0 }),
    });
    if (boxes.total > 0 || boxes.unchecked.length > 0 || boxes.mismatch.length > 0) {
      out.boxes = boxes;
      for (const m of boxes.mismatch) mismatch.push({ what: 'boxes', message: m });
      // Certified: every region and every box proven, and something proven at all.
      const regionsOk = rep.failedRegions.length === 0;
      const boxesOk = boxes.certified === boxes.total && boxes.unchecked.length === 0;
      out.status = regionsOk && boxesOk && rep.regions + boxes.total > 0 ? 'certified' : 'not-certified';
      out.ms = performance.now() - t0;
    }
  }
  if (mismatch.length > 0) {
    out.mismatch = mismatch;
    // A file that lost patches its repair made is not what it claims to be, even when every
    // region checked here holds; another area or spec only says what this certificate covers.
    if (mismatch.some((m) => m.what === 'patches' || m.what === 'regions' || m.what === 'boxes')) out.status = 'not-certified';
  }
  return out;
}

function sameArea(a: NonNullable<RepairedNetwork['record']>['area'], b: Area): boolean {
  if (!a) return false;
  const same = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.from(x).every((v, i) => v === y[i]);
  const setA = a.A ? a.A.flat() : [];
  const setB = b.inputSet ? Array.from(b.inputSet.A) : [];
  return (
    same(a.lower, b.box.lower) &&
    same(a.upper, b.box.upper) &&
    same(setA, setB) &&
    same(a.b ?? [], b.inputSet ? Array.from(b.inputSet.b) : [])
  );
}

function sameSpec(recorded: NonNullable<RepairedNetwork['record']>['spec'], spec: Spec | SpecUnion): boolean {
  if (!recorded) return true;
  const pieces = isSpecUnion(spec) ? spec.pieces : [spec];
  if (recorded.pieces.length !== pieces.length) return false;
  return recorded.pieces.every((r, i) => {
    const s = pieces[i];
    return (
      r.q.length === s.q.length &&
      r.q.every((v, j) => v === s.q[j]) &&
      r.P.every((row, j) => row.length === s.outputs && row.every((v, o) => v === s.P[j * s.outputs + o]))
    );
  });
}

/**
 * One region to certify: its activation pattern, its spec, and the patch that repaired it (if
 * any). For a union spec the region is certified when at every point some piece holds (exactly,
 * see the module comment); `piece` (the one its patch was made for) is tried first by the convex
 * tier. `slack` and `thin` come from the enumeration (see the module comment).
 */
export interface CertificationItem {
  pattern: ArrayLike<number>;
  spec: Spec | SpecUnion;
  ownPatch?: number;
  piece?: number;
  slack?: ArrayLike<number>;
  thin?: boolean;
}

/**
 * The hidden neurons whose rows the repair kept for an item's region: the neuron rows of its own
 * patch's support, when those are rows of the region of the item's pattern. An untrusted hint
 * for the core (see {@link Certifier.region}); none when the provenance is missing or differs.
 */
function rowsHint(network: RepairedNetwork, it: CertificationItem): { rows: Int32Array; duals?: Float64Array } | undefined {
  const own = it.ownPatch === undefined ? undefined : network.patches[it.ownPatch];
  if (!own?.rows || own.region.pattern !== patternHex(it.pattern)) return undefined;
  const neuron = own.rows.neuron;
  const keep: number[] = [];
  for (let i = 0; i < neuron.length; i++) if (neuron[i] >= 0) keep.push(i);
  const rows = Int32Array.from(keep, (i) => neuron[i]);
  // The multipliers of the repair's LPs, on the kept rows, when they were solved for this very
  // spec (a convex spec with as many rows): untrusted, see Certifier.region.
  const m = neuron.length;
  const specRowCount = 'pieces' in it.spec ? -1 : it.spec.q.length;
  if (!own.lpDuals || m === 0 || own.lpDuals.length !== specRowCount * m) return { rows };
  const duals = new Float64Array(specRowCount * keep.length);
  for (let j = 0; j < specRowCount; j++) for (let t = 0; t < keep.length; t++) duals[j * keep.length + t] = own.lpDuals[j * m + keep[t]];
  return { rows, duals };
}

/** Certifies each item with its own spec (one core certifier per distinct spec). */
export async function certifyItems(
  network: RepairedNetwork,
  items: readonly CertificationItem[],
  area: Area,
  opts: CertifyOptions & { scope: CertificateReport['scope']; only?: readonly number[]; previous?: readonly RegionCertificate[] },
): Promise<CertificateReport> {
  const t0 = performance.now();
  const out: RegionCertificate[] = opts.previous ? [...opts.previous] : new Array(items.length);
  // The items of one spec after another, each spec's certifier freed before the next is made: a
  // core certifier holds its own copy of the repaired network (for a CNN, every patch's support
  // rows: tens of MB each), so only one is alive at a time (the wasm heap never shrinks).
  const bySpec = new Map<Spec | SpecUnion, number[]>();
  for (const i of opts.only ?? items.map((_, i) => i)) {
    const list = bySpec.get(items[i].spec);
    if (list) list.push(i);
    else bySpec.set(items[i].spec, [i]);
  }
  const total = [...bySpec.values()].reduce((s, l) => s + l.length, 0);
  let done = 0;
  const pause = periodicYield();
  for (const [spec, list] of bySpec) {
    const c = new Certifier(network, spec, area, opts);
    try {
      for (const i of list) {
        if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
        const it = items[i];
        const hint = rowsHint(network, it);
        const r = c.region(it.pattern, it.slack, it.piece, hint?.rows, hint?.duals);
        out[i] = it.thin ? { ...r, thin: true } : r;
        opts.onProgress?.({ phase: 'certify', done: ++done, total, elapsedMs: performance.now() - t0 });
        await pause();
      }
    } finally {
      c.free();
    }
  }
  return summarise(out, opts.scope, opts, performance.now() - t0);
}
