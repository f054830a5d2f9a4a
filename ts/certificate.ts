/**
 * Certificates of a finished repaired network (METHOD.md §5, docs/COMPOSITION.md; twin of
 * crates/core/src/certificate/). For every region, the core rebuilds the original network's
 * affine map from the activation pattern and bounds every spec row over the region: for a chain,
 * first by the convex bound (the region's own patch, or cells that tile it, and each later patch
 * whose band reaches the region, one LP per spec row each); otherwise, or when that fails, by
 * splitting the region into pieces on which every ReLU of the patch networks that reach it has a
 * fixed state and maximising every spec row on every piece by LP. Nothing the repair computed is
 * reused as evidence: only the saved network (original + patches) and the spec. Refinement of
 * failing regions (which changes patches) is ts/refine.ts.
 *
 * A region is certified when every proven bound on P_j f̂(x) − q_j (weak-duality LP bound plus the
 * error budget of the piece's sign decisions) is <= its tolerance, the largest over pieces (or
 * convex candidates) and spec rows of
 *
 *   rtol·(1 + Y) + 64·ε·M,
 *
 * Y the magnitude of the original network's terms of the row (|P_j e − q_j| + Σ_i |(P_j F)_i|·
 * max|x_i| over the piece's bounding box), M the same magnitude of the piece's full row, patches
 * included (its float64 construction scales support slacks by 1/r, which cancel), ε = 2^-52. The
 * certificate is about the real-arithmetic function the network's parameters define; the float64
 * evaluation of f̂ adds rounding of the order of that same tolerance.
 */

import { type Area, checkArea, type EnumerateOptions, enumerateRegions } from './enumerate.js';
import { AbortError, InputError } from './errors.js';
import type { Box } from './network.js';
import { patternFromHex, patternHex } from './patch.js';
import type { RepairedNetwork } from './repaired.js';
import { type Spec, specRows, specViolation } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
import * as abi from './wasm/abi.js';
import type { Core } from './wasm/raw.js';

export interface CertifyOptions {
  /** Relative tolerance (default 1e-9). */
  rtol?: number;
  /** Decision slack in input units for splitting along patch ReLUs (default 0: split whenever needed). */
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

export interface RegionCertificate {
  /** Activation pattern of the region (hex, see patternHex). */
  pattern: string;
  certified: boolean;
  /** Largest proven bound on P_j f̂(x) − q_j over the region (<= tolerance: the spec holds). */
  maxViolation: number;
  /** Absolute tolerance rtol·(1 + Y) + 64·ε·M the bound was compared with (see the module comment). */
  tolerance: number;
  /** Spec row of `maxViolation`. */
  worstRow: number;
  /** Pieces the region was split into; cells the LP found empty (skipped). */
  pieces: number;
  emptyPieces: number;
  /** Patches whose band reaches the region: the first `exactPatches` modelled exactly, the rest
   * (constant patches with P_j·d <= 0 on every row) bounded by 0. */
  patches: number[];
  exactPatches: number;
  /** A point of the region where the largest violation of the pieces' maps is attained. */
  witness: number[] | null;
  /** max_j (P_j y − q_j) at the witness, y = the repaired network evaluated there (forward pass). */
  violationAtWitness: number | null;
  /** Largest decision error budget added to a bound (rounding-level). */
  errorBudget: number;
  lps: number;
  /** For a union spec: the piece this certificate is about (certified, or the closest to it). */
  specPiece?: number;
}

export interface CertificateReport {
  status: 'certified' | 'not-certified';
  /** What was certified: the regions of an area, or the regions the patches repaired. */
  scope: 'area' | 'repaired-regions' | 'regions';
  regions: number;
  certifiedRegions: number;
  /** Indices (into perRegion) of regions that are not certified. */
  failedRegions: number[];
  /** Largest proven violation bound over all regions (<= its region's tolerance when certified). */
  maxViolation: number;
  /** Largest actual violation found at a witness point (forward pass), or null if none violates. */
  largestViolationFound: number | null;
  tolerance: { relative: number; largestAbsolute: number; decisionEps: number };
  pieces: number;
  lps: number;
  /** Time taken (standalone certificates; repair reports keep it in timingsMs.certify). */
  ms?: number;
  perRegion: RegionCertificate[];
}

const releaser = new FinalizationRegistry<{ core: Core; handle: number }>(({ core, handle }) => {
  try {
    core.release(handle);
  } catch {
    /* instance gone */
  }
});

/** A core certifier for one repaired network and one spec, in a box (∩ H-polytope). */
export class Certifier {
  private readonly core: Core;
  private handle: number;
  readonly inputSize: number;
  readonly patches: number;

  constructor(
    readonly network: RepairedNetwork,
    readonly spec: Spec,
    readonly area: Area,
    readonly opts: Pick<CertifyOptions, 'rtol' | 'eps' | 'maxPieces' | 'boundHelpful'> = {},
  ) {
    const n = network.inputSize;
    checkArea(area, n);
    if (spec.outputs !== network.outputSize)
      throw new InputError(`has ${spec.outputs} outputs, the network has ${network.outputSize}`, { field: 'spec', value: spec.outputs });
    const rtol = opts.rtol ?? 1e-9;
    const eps = opts.eps ?? 0;
    const maxPieces = opts.maxPieces ?? 100_000;
    if (!(Number.isFinite(rtol) && rtol >= 0)) throw new InputError('must be a finite number >= 0', { field: 'rtol', value: rtol });
    if (!(Number.isFinite(eps) && eps >= 0)) throw new InputError('must be a finite number >= 0', { field: 'eps', value: eps });
    if (!(Number.isInteger(maxPieces) && maxPieces >= 1))
      throw new InputError('must be a whole number >= 1', { field: 'maxPieces', value: maxPieces });
    const { core, handle: rh } = network.handle();
    const A = area.inputSet?.A ?? new Float64Array(0);
    const b = area.inputSet?.b ?? new Float64Array(0);
    const o = abi.json(abi.CERTIFY_OPTIONS, { rtol, eps, maxPieces, boundHelpful: opts.boundHelpful !== false });
    this.handle = core.call('certifier', [area.box.lower, area.box.upper, A, b, spec.P, spec.q, o], ([lo, hi, pa, pb, pp, pq, po], lens) =>
      core.exports.rr_certifier_new(rh, lo, hi, pa, pb, b.length, pp, pq, specRows(spec), po, lens[6]),
    );
    this.core = core;
    this.inputSize = n;
    this.patches = network.patches.length;
    releaser.register(this, { core, handle: this.handle }, this);
  }

  /** Certifies the spec on the linear region of `pattern` (of the original network). */
  region(pattern: ArrayLike<number>): RegionCertificate {
    if (this.handle <= 0) throw new InputError('this Certifier was freed');
    const hidden = this.network.original.hiddenCount;
    if (pattern.length !== hidden)
      throw new InputError(`has ${pattern.length} entries, the network has ${hidden} hidden neurons`, {
        field: 'pattern',
        value: pattern.length,
      });
    const n = this.inputSize;
    const h = this.handle;
    const c = this.core.layout('certificate', [pattern], abi.REGION_CERTIFICATE, { inputs: n, patches: this.patches }, ([pp, o]) =>
      this.core.exports.rr_certifier_region(h, pp, o),
    );
    const witness = c.witness ? Array.from(c.witness) : null;
    let violationAtWitness: number | null = null;
    if (witness) violationAtWitness = specViolation(this.spec, this.network.forwardFlat(Float64Array.from(witness), 1));
    return {
      pattern: patternHex(pattern),
      certified: c.certified,
      maxViolation: c.maxViolation,
      tolerance: c.tolerance,
      pieces: c.pieces,
      emptyPieces: c.emptyPieces,
      lps: c.lps,
      worstRow: c.worstRow,
      errorBudget: c.errorBudget,
      exactPatches: c.exactPatches,
      patches: Array.from(c.patches),
      witness,
      violationAtWitness,
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
  rtol: number,
  eps: number,
  ms: number,
): CertificateReport {
  const failed = perRegion.flatMap((c, i) => (c.certified ? [] : [i]));
  const found = perRegion.reduce(
    (m, c) => (c.violationAtWitness !== null && c.violationAtWitness > 0 ? Math.max(m, c.violationAtWitness) : m),
    -Infinity,
  );
  return {
    status: failed.length === 0 && perRegion.length > 0 ? 'certified' : 'not-certified',
    scope,
    regions: perRegion.length,
    certifiedRegions: perRegion.length - failed.length,
    failedRegions: failed,
    maxViolation: perRegion.reduce((m, c) => Math.max(m, c.maxViolation), -Infinity),
    largestViolationFound: Number.isFinite(found) ? found : null,
    tolerance: { relative: rtol, largestAbsolute: perRegion.reduce((m, c) => Math.max(m, c.tolerance), 0), decisionEps: eps },
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
  spec: Spec,
  opts: CertifyOptions & { area?: Area; scope?: CertificateReport['scope'] } = {},
): Promise<CertificateReport> {
  const t0 = performance.now();
  const area = opts.area ?? (network.inputBox ? { box: network.inputBox } : undefined);
  if (!area) throw new InputError('no input domain: the repaired network has no inputBox; pass an area', { field: 'area' });
  const cert = new Certifier(network, spec, area, opts);
  const out: RegionCertificate[] = [];
  try {
    const pause = periodicYield();
    for (let i = 0; i < patterns.length; i++) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      out.push(cert.region(patterns[i]));
      opts.onProgress?.({ phase: 'certify', done: i + 1, total: patterns.length, elapsedMs: performance.now() - t0 });
      await pause();
    }
  } finally {
    cert.free();
  }
  return summarise(out, opts.scope ?? 'regions', opts.rtol ?? 1e-9, opts.eps ?? 0, performance.now() - t0);
}

/**
 * Certifies a saved repaired network: on every linear region of the original network in `area`
 * when given (the whole area, repaired or not), else on the regions its patches repaired (their
 * saved activation patterns) inside the network's input box. A union spec is certified per
 * region with one of its pieces (the one the region's patch was made for first).
 */
export async function certify(
  network: RepairedNetwork,
  opts: CertifyOptions & { spec: Spec | SpecUnion; area?: Area; enumerate?: Omit<EnumerateOptions, 'signal'> },
): Promise<CertificateReport> {
  const t0 = performance.now();
  const hidden = network.original.hiddenCount;
  let items: CertificationItem[];
  let area: Area;
  if (opts.area) {
    area = opts.area;
    const en = await enumerateRegions(network.original, area, { ...opts.enumerate, signal: opts.signal });
    const pieceOf = new Map(network.patches.map((p) => [p.region?.pattern, p.region?.specPiece]));
    items = en.regions.map((r) => ({ pattern: r.pattern, spec: opts.spec, piece: pieceOf.get(patternHex(r.pattern)) }));
  } else {
    if (network.patches.length === 0) throw new InputError('the network has no patches; pass an area to certify', { field: 'patches' });
    const box: Box | undefined = network.inputBox;
    if (!box) throw new InputError('the repaired network has no inputBox; pass an area', { field: 'inputBox' });
    area = { box };
    const seen = new Set<string>();
    items = [];
    network.patches.forEach((p, i) => {
      const hex = p.region?.pattern;
      if (hex === undefined)
        throw new InputError('has no activation pattern; pass an area to certify', { field: `patches[${i}].region.pattern` });
      if (!seen.has(hex)) {
        seen.add(hex);
        items.push({
          pattern: patternFromHex(hex, hidden, `patches[${i}].region.pattern`),
          spec: opts.spec,
          ownPatch: i,
          piece: p.region.specPiece,
        });
      }
    });
  }
  const rep = await certifyItems(network, items, area, { ...opts, scope: opts.area ? 'area' : 'repaired-regions' });
  return { ...rep, ms: performance.now() - t0 };
}

/**
 * One region to certify: its activation pattern, its spec, and the patch that repaired it (if
 * any). For a non-convex spec (a union of convex pieces) the region is certified when one piece
 * holds on all of it: `piece` (the one its patch was made for) is tried first, then the others.
 */
export interface CertificationItem {
  pattern: ArrayLike<number>;
  spec: Spec | SpecUnion;
  ownPatch?: number;
  piece?: number;
}

/** Certifies each item with its own spec (one core certifier per distinct spec). */
export async function certifyItems(
  network: RepairedNetwork,
  items: readonly CertificationItem[],
  area: Area,
  opts: CertifyOptions & { scope: CertificateReport['scope']; only?: readonly number[]; previous?: readonly RegionCertificate[] },
): Promise<CertificateReport> {
  const t0 = performance.now();
  const certifiers = new Map<Spec, Certifier>();
  const out: RegionCertificate[] = opts.previous ? [...opts.previous] : new Array(items.length);
  const todo = opts.only ?? items.map((_, i) => i);
  const certifierOf = (spec: Spec) => {
    let c = certifiers.get(spec);
    if (!c) {
      c = new Certifier(network, spec, area, opts);
      certifiers.set(spec, c);
    }
    return c;
  };
  try {
    const pause = periodicYield();
    for (let t = 0; t < todo.length; t++) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      const i = todo[t];
      const spec = items[i].spec;
      if (isSpecUnion(spec)) {
        const first = items[i].piece ?? 0;
        const order = [first, ...spec.pieces.keys()].filter((p, j, all) => all.indexOf(p) === j && p < spec.pieces.length);
        let best: RegionCertificate | undefined;
        for (const p of order) {
          const c = { ...certifierOf(spec.pieces[p]).region(items[i].pattern), specPiece: p };
          if (!best || c.maxViolation - c.tolerance < best.maxViolation - best.tolerance) best = c;
          if (c.certified) break;
        }
        out[i] = best!;
      } else out[i] = certifierOf(spec).region(items[i].pattern);
      opts.onProgress?.({ phase: 'certify', done: t + 1, total: todo.length, elapsedMs: performance.now() - t0 });
      await pause();
    }
  } finally {
    certifiers.forEach((c) => c.free());
  }
  return summarise(out, opts.scope, opts.rtol ?? 1e-9, opts.eps ?? 0, performance.now() - t0);
}
