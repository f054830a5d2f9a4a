/**
 * Area repair (METHOD.md §1, §4, §5): find every linear region of the network inside an input
 * box or H-polytope, check each against the spec (one LP per spec row over the region), give every
 * violating region its minimal patch, and prove the finished network correct on every region of
 * the area — the repaired ones and the ones that were already correct — with the independent
 * certificate of ts/certificate.ts. The constant patches are composed as a chain (ts/compose.ts):
 * at every input a convex combination of the patches whose band covers it. Where a certificate
 * fails because of another patch's band, that patch is made valid on the piece of the region its
 * band covers (or, when it cannot be, its radius is shrunk) and the affected regions are
 * certified again.
 */
import { type CertificateReport, type CertifyOptions, type CertificationItem, type Refinement, certifyWithRefinement } from './certificate.js';
import { AbortError, InputError } from './errors.js';
import { type Area, type EnumerateOptions, type EnumeratedRegion, type Enumeration, checkArea, enumerateRegions } from './enumerate.js';
import { GlpkBackend } from './lp/glpk.js';
import type { LpBackend } from './lp/backend.js';
import { type LpName, backendByName } from './lp/select.js';
import { type SpecUnion, isSpecUnion } from './spec-union.js';
import type { Network } from './network.js';
import { type RegionPatch, patternHex } from './patch.js';
import type { MinimalityProof } from './region.js';
import { RepairedNetwork } from './repaired.js';
import { defaultRadius, resolveSpecs, solveRegion } from './repair.js';
import { BandExpander, chainOrder } from './compose.js';
import { type Spec, describeSpec } from './spec.js';
import { VERSION } from './version.js';
import { getCore, init } from './wasm/raw.js';

export interface AreaProgress {
  phase: 'enumerate' | 'check' | 'certify' | 'done';
  /** Work units done and in all for this phase (regions; for `enumerate`, regions found so far). */
  done: number;
  total: number;
  elapsedMs: number;
}

export interface AreaRepairOptions {
  /** The input area: a box, optionally ∩ {x : A x <= b}. */
  area: Area;
  /**
   * Φ_out for the whole area, or a label (`label`, with `margin`). A non-convex `SpecUnion` (e.g.
   * a VNN-LIB safe set) is repaired per region with its cheapest convex piece, and a region is
   * certified when one piece holds on all of it.
   */
  spec?: Spec | SpecUnion;
  label?: number;
  margin?: number;
  /** Largest locality radius (input units). Default 1e-3 × the narrowest side of the area's box. */
  radius?: number;
  /** Drop redundant rows from the supports (default `auto`: inputs of dimension <= 16). */
  prune?: boolean | 'auto';
  /** Backend for the full minimal-patch LP (general specs only): `'glpk'` (default), `'highs'` or an object. */
  lp?: LpBackend | LpName;
  /** Region enumeration: eps, minRadius, maxRegions (default 100,000). */
  enumerate?: Omit<EnumerateOptions, 'onProgress' | 'signal'>;
  /** Certificate: rtol (default 1e-9), maxPieces, boundHelpful. */
  certificate?: Pick<CertifyOptions, 'rtol' | 'eps' | 'maxPieces' | 'boundHelpful'>;
  /** Radius refinement rounds when a certificate fails (default 4). */
  refineRounds?: number;
  onProgress?: (e: AreaProgress) => void;
  signal?: AbortSignal;
}

export interface AreaRegionReport {
  /** Index of the region in the enumeration. */
  index: number;
  pattern: string;
  /** A point deep inside the region and the radius of the largest ball around it in the region. */
  centre: number[];
  chebyshevRadius: number;
  constraints: number;
  supportRows: number;
  patchKind: 'constant' | 'affine';
  /** Norm of the patch in the finished network. */
  patchNorm: number;
  lowerBound: number;
  /**
   * How the patch is proven minimal on the region; `band-constrained`: enlarged beyond the
   * region's minimal norm (`minimalNorm`) to stay valid where its band covers other regions
   * (chain composition, ts/compose.ts) — minimal among constant patches valid there too;
   * `cells`: split into cells (see `cells`), `minimalNorm` the affine minimal norm.
   */
  minimalityProof: MinimalityProof | 'band-constrained' | 'cells';
  /** The minimal norm on the region alone (= patchNorm unless band-constrained). */
  minimalNorm: number;
  /** Position of the patch in the chain (constant patches) or null (affine: summed). */
  chainPosition: number | null;
  /**
   * `cells`: the region has no constant patch and an affine one would not compose soundly with
   * its neighbours, so it is split into this many cells with constant patches (patchNorm: the
   * largest; chainPosition: the first cell's).
   */
  cells?: number;
  radius: number;
  lpMs: number;
  /** For a union spec: the convex piece the patch maps the region into. */
  specPiece?: number;
}

export interface AreaRepairReport {
  schemaVersion: 1;
  kind: 'area';
  tool: { name: 'relu-repair'; version: string; wasm: 'simd' | 'scalar'; lp: string; regionLp: 'core-simplex' };
  area: { lower: number[]; upper: number[]; inputSetRows: number };
  spec: string;
  result: {
    /** `repaired`: every region of the area is certified; `not-certified`: some are not. */
    status: 'repaired' | 'nothing-to-repair' | 'not-certified';
    regions: number;
    /** Regions on which the spec failed somewhere (before repair), all repaired. */
    buggyRegions: number;
    correctRegions: number;
    certifiedRegions: number;
    maxPatchNorm: number;
  };
  enumeration: { regions: number; thinCells: number; emptyCells: number; lps: number; eps: number; minRadius: number; ms: number };
  regions: AreaRegionReport[];
  certificate: CertificateReport;
  refinement: Refinement;
  timingsMs: { total: number; enumerate: number; repair: number; certify: number };
  notes: string[];
}

export interface AreaRepairResult {
  network: RepairedNetwork;
  report: AreaRepairReport;
  /** Every region of the area (activation pattern, inner ball), in enumeration order. */
  regions: EnumeratedRegion[];
}

const now = () => performance.now();
const yieldToEventLoop = (): Promise<void> =>
  typeof setImmediate === 'function' ? new Promise((r) => setImmediate(r)) : new Promise((r) => setTimeout(r, 0));

/** Repairs every linear region of the area that violates the spec, and certifies all of them. */
export async function repairArea(network: Network, opts: AreaRepairOptions): Promise<AreaRepairResult> {
  await init();
  const t0 = now();
  const n = network.inputSize;
  if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
  checkArea(opts.area, n);
  const { box, inputSet } = opts.area;
  if (opts.spec !== undefined && opts.label !== undefined) throw new InputError('give either "spec" or "label", not both', { field: 'spec' });
  const [spec] = resolveSpecs(network, 1, { spec: opts.spec, labels: opts.label, margin: opts.margin });
  const rMax = opts.radius ?? defaultRadius(box);
  if (!(Number.isFinite(rMax) && rMax > 0)) throw new InputError('must be a finite number > 0', { field: 'radius', value: rMax });
  const prune = opts.prune === undefined || opts.prune === 'auto' ? n <= 16 : opts.prune;
  const backend = typeof opts.lp === 'string' ? backendByName(opts.lp) : (opts.lp ?? new GlpkBackend());
  const progress = (phase: AreaProgress['phase'], done: number, total: number) => opts.onProgress?.({ phase, done, total, elapsedMs: now() - t0 });

  // 1. Every linear region of the area.
  const en: Enumeration = await enumerateRegions(network, opts.area, {
    ...opts.enumerate,
    signal: opts.signal,
    onProgress: (e) => progress('enumerate', e.regions, e.regions + e.pending),
  });
  const tEnum = now();

  // 2. Check each region (LP max of every spec row) and patch the violating ones.
  const solved: RegionPatch[] = [];
  const patchOf = new Map<number, number>();
  const reports: AreaRegionReport[] = [];
  let last = now();
  for (let i = 0; i < en.regions.length; i++) {
    if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
    const r = en.regions[i];
    const outcome = await solveRegion(
      network,
      { anchor: r.centre, points: [], pattern: patternHex(r.pattern), spec, box, inputSet, prune, radius: rMax, activation: r.pattern },
      backend,
    );
    if (outcome.patch) {
      patchOf.set(i, solved.length);
      solved.push(outcome.patch);
      const p = outcome.patch;
      reports.push({
        index: i,
        pattern: p.region.pattern,
        centre: Array.from(r.centre),
        chebyshevRadius: r.radius,
        constraints: p.region.constraints,
        supportRows: p.b.length,
        patchKind: p.kind,
        patchNorm: p.region.patchNorm,
        lowerBound: p.region.lowerBound,
        minimalityProof: p.region.minimalityProof,
        minimalNorm: p.region.patchNorm,
        chainPosition: null,
        radius: p.radius,
        lpMs: outcome.timing.lpMs,
        ...(p.region.specPiece !== undefined ? { specPiece: p.region.specPiece } : {}),
      });
    }
    progress('check', i + 1, en.regions.length);
    if (now() - last > 20) {
      await yieldToEventLoop();
      last = now();
    }
  }
  const tRepair = now();

  // 3. The chain: constant patches by increasing norm (ts/compose.ts), affine ones summed.
  const order = chainOrder(solved);
  const patches = order.map((j) => solved[j]);
  const position = new Map(order.map((j, pos) => [j, pos]));
  patchOf.forEach((j, i) => patchOf.set(i, position.get(j)!));
  const expander = isSpecUnion(spec) ? undefined : new BandExpander(network, spec, box, inputSet);

  // 4. Certify every region of the area on the finished network (refining patches if needed).
  const items: CertificationItem[] = en.regions.map((r, i) => ({
    pattern: r.pattern,
    spec,
    ownPatch: patchOf.get(i),
    piece: patchOf.has(i) ? patches[patchOf.get(i)!].region.specPiece : undefined,
  }));
  // One box indicator shared by every patch (supports carry no box rows), with the smallest radius.
  const boxGateOf = () => ({ lower: [...box.lower], upper: [...box.upper], radius: patches.reduce((r, p) => Math.min(r, p.radius), rMax) });
  const { network: repaired, certificate, refinement } = await certifyWithRefinement(() => new RepairedNetwork(network, patches, box, boxGateOf(), 'chain'), items, opts.area, {
    ...opts.certificate,
    scope: 'area',
    rounds: opts.refineRounds,
    ...expander?.hooks(patches, items.map((it) => it.pattern)),
    signal: opts.signal,
    onProgress: (e) => progress('certify', e.done, e.total),
  });
  for (const rep of reports) {
    const p = patches[patchOf.get(rep.index)!];
    rep.radius = p.radius;
    rep.patchNorm = p.region.patchNorm;
    rep.patchKind = p.kind;
    rep.chainPosition = p.kind === 'constant' ? patchOf.get(rep.index)! : null;
    if (p.region.bandConstrained) {
      rep.minimalityProof = 'band-constrained';
      rep.minimalNorm = p.region.bandConstrained.minimalNorm;
    }
    const split = refinement.splitPatches.find((x) => x.patch === patchOf.get(rep.index));
    if (split) {
      rep.minimalityProof = 'cells';
      rep.cells = split.cells.length;
      rep.patchNorm = Math.max(...split.cells.map((c) => patches[c].region.patchNorm));
    }
  }
  const tCert = now();
  progress('done', en.regions.length, en.regions.length);

  const notes: string[] = [];
  if (en.thin > 0) notes.push(`${en.thin} cell(s) thinner than minRadius ${en.minRadius} were not counted as regions (their points lie within that distance of counted regions)`);
  if (en.empty > 0) notes.push(`${en.empty} cell(s) were found empty by the LP (no point within its feasibility tolerance) and skipped`);
  if (refinement.constantPatches.length > 0) {
    notes.push(`${refinement.constantPatches.length} affine patch(es) replaced by their region's smallest constant patch, which composes soundly with the neighbours' (see regions[].minimalNorm)`);
  }
  if (refinement.splitPatches.length > 0) {
    notes.push(
      `${refinement.splitPatches.length} region(s) with no constant patch split into ${refinement.splitPatches.reduce((t, x) => t + x.cells.length, 0)} cells with constant patches (regions[].cells)`,
    );
  }
  if (refinement.expandedPatches.length > 0) {
    notes.push(`band validity: ${refinement.expandedPatches.length} patch(es) enlarged beyond their region's minimal norm to stay valid where their band covers other regions (see regions[].minimalNorm)`);
  }
  if (refinement.shrunkPatches.length > 0) notes.push(`radius refinement: ${refinement.shrunkPatches.length} patch radius(es) shrunk in ${refinement.rounds} round(s)`);
  if (certificate.status !== 'certified') {
    notes.push(
      `${certificate.failedRegions.length} region(s) are not certified (largest proven bound ${certificate.maxViolation}, ` +
        `largest violation found ${certificate.largestViolationFound ?? 'none'}); the network must not be used as a certified repair`,
    );
  }
  const report: AreaRepairReport = {
    schemaVersion: 1,
    kind: 'area',
    tool: { name: 'relu-repair', version: VERSION, wasm: getCore().flavour, lp: backend.name, regionLp: 'core-simplex' },
    area: { lower: [...box.lower], upper: [...box.upper], inputSetRows: inputSet?.b.length ?? 0 },
    spec: isSpecUnion(spec) ? `union of ${spec.pieces.length} convex pieces over ${spec.outputs} outputs` : describeSpec(spec),
    result: {
      status: certificate.status !== 'certified' ? 'not-certified' : patches.length === 0 ? 'nothing-to-repair' : 'repaired',
      regions: en.regions.length,
      buggyRegions: reports.length,
      correctRegions: en.regions.length - reports.length,
      certifiedRegions: certificate.certifiedRegions,
      maxPatchNorm: reports.reduce((m, r) => Math.max(m, r.patchNorm), 0),
    },
    enumeration: { regions: en.regions.length, thinCells: en.thin, emptyCells: en.empty, lps: en.lps, eps: en.eps, minRadius: en.minRadius, ms: en.ms },
    regions: reports,
    certificate: (({ ms: _ms, ...c }) => c)(certificate),
    refinement,
    timingsMs: { total: now() - t0, enumerate: tEnum - t0, repair: tRepair - tEnum, certify: tCert - tRepair },
    notes,
  };
  return { network: repaired, report, regions: en.regions };
}

