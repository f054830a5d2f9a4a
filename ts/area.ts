/**
 * Area repair, the library's one entry ({@link repairArea}): by `method` — `enumerate` (below),
 * `bab` (ts/area-bab.ts: branch and bound over the box, regions enumerated only where bounds do not
 * decide) or `box` (ts/area-box.ts: the whole box as one box patch, certified by bounds) — with the
 * CLI's defaults (`box` above 64 inputs, `bab` for a VNN-LIB property's area, `enumerate` otherwise).
 *
 * Enumeration (METHOD.md §1, §4, §5): find every linear region of the network inside an input
 * box or H-polytope (ts/enumerate.ts), check each against the spec and give every violating
 * region its minimal patch (ts/region-job.ts: one LP per spec row over the region, then the
 * patch), and prove the finished network correct on every region of the area — the repaired ones
 * and the ones that were already correct — with the independent certificate, refining patches
 * where it fails (ts/assemble.ts: the chain, band validity, cells, radii).
 */

import { type AreaBabOptions, type AreaBabProgress, type AreaBabResult, repairAreaBab } from './area-bab.js';
import { type AreaBoxResult, repairAreaBox } from './area-box.js';
import { assemble } from './assemble.js';
import type { BoxSearchOptions } from './box-patch.js';
import type { CertificateReport, CertifyOptions } from './certificate.js';
import { type Area, type EnumeratedRegion, type EnumerateOptions, type Enumeration, enumerateRegions } from './enumerate.js';
import { InputError, LpError, throwIfAborted } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import type { LpName } from './lp/select.js';
import type { Network } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import type { Refinement } from './refine.js';
import type { InputSet } from './region.js';
import { solveRegion } from './region-job.js';
import { resolveAreaJob } from './repair-options.js';
import type { RepairedNetwork } from './repaired.js';
import type { PatchedRegionReport } from './report.js';
import { describeSpec, type Spec } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { periodicYield } from './util/event-loop.js';
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
  /** Certificate: rtol (default 1e-9) or an absolute tolerance, maxPieces, boundHelpful. */
  certificate?: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'>;
  /** Radius refinement rounds when a certificate fails (default 4). */
  refineRounds?: number;
  onProgress?: (e: AreaProgress) => void;
  signal?: AbortSignal;
}

/** One repaired region of the area (see {@link PatchedRegionReport}). */
export interface AreaRegionReport extends PatchedRegionReport {
  /** Index of the region in the enumeration. */
  index: number;
  /** A point deep inside the region and the radius of the largest ball around it in the region. */
  centre: number[];
  chebyshevRadius: number;
  /** The minimal norm on the region alone (= patchNorm unless band-constrained or cells). */
  minimalNorm: number;
  /** Position of the patch in the chain (constant patches) or null (affine: summed). */
  chainPosition: number | null;
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
  enumeration: {
    regions: number;
    /** Regions thinner than minRadius (kept and certified like any other). */
    thinCells: number;
    /** Regions whose cell reaches across a hyperplane without a split (the reach is charged by the certificate). */
    slackRegions: number;
    /** Sign decisions the LP could not make (made on bounding boxes, their reach charged). */
    forcedDecisions: number;
    emptyCells: number;
    lps: number;
    eps: number;
    minRadius: number;
    ms: number;
  };
  /** Regions whose patch LP failed (no patch; the certificate decides them like any other). */
  unpatchedRegions: number[];
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

/**
 * Area repair by enumerating every linear region (`repairArea` with `method: 'enumerate'`):
 * repairs every linear region of the area that violates the spec, and certifies all of them.
 */
export async function repairAreaEnumerate(network: Network, opts: AreaRepairOptions): Promise<AreaRepairResult> {
  await init();
  const t0 = now();
  throwIfAborted(opts.signal);
  const { box, inputSet, spec, rMax, prune, backend } = resolveAreaJob(network, opts);
  const progress = (phase: AreaProgress['phase'], done: number, total: number) =>
    opts.onProgress?.({ phase, done, total, elapsedMs: now() - t0 });

  // 1. Every linear region of the area.
  const en: Enumeration = await enumerateRegions(network, opts.area, {
    ...opts.enumerate,
    signal: opts.signal,
    onProgress: (e) => progress('enumerate', e.regions, e.regions + e.pending),
  });
  const tEnum = now();

  // 2. Check each region (LP max of every spec row) and patch the violating ones.
  const { patches, reports, unpatched } = await patchRegions(
    network,
    en.regions,
    { spec, box, inputSet, prune, radius: rMax, backend, signal: opts.signal },
    (done) => progress('check', done, en.regions.length),
  );
  const tRepair = now();

  // 3. The chain, certified on every region of the area (refining patches where needed).
  const patchOf = new Map(reports.map((r, j) => [r.index, j]));
  const assembly = await assemble(
    network,
    patches,
    en.regions.map((r, i) => ({ pattern: r.pattern, spec, patch: patchOf.get(i), slack: r.slack, thin: r.thin })),
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
  // The reports as the finished network has the patches (refinement changes them).
  reports.forEach((rep, j) => {
    const position = assembly.position[j];
    const p = assembly.patches[position];
    rep.radius = p.radius;
    rep.patchNorm = p.region.patchNorm;
    rep.patchKind = p.kind;
    rep.chainPosition = p.kind === 'constant' ? position : null;
    if (p.region.bandConstrained) {
      rep.minimalityProof = 'band-constrained';
      rep.minimalNorm = p.region.bandConstrained.minimalNorm;
    }
    const split = refinement.splitPatches.find((x) => x.patch === position);
    if (split) {
      rep.minimalityProof = 'cells';
      rep.cells = split.cells.length;
      rep.patchNorm = Math.max(...split.cells.map((c) => assembly.patches[c].region.patchNorm));
    }
  });
  const tCert = now();
  progress('done', en.regions.length, en.regions.length);

  const report: AreaRepairReport = {
    schemaVersion: 1,
    kind: 'area',
    tool: { name: 'relu-repair', version: VERSION, wasm: getCore().flavour, lp: backend.name, regionLp: 'core-simplex' },
    area: { lower: [...box.lower], upper: [...box.upper], inputSetRows: inputSet?.b.length ?? 0 },
    spec: isSpecUnion(spec) ? `union of ${spec.pieces.length} convex pieces over ${spec.outputs} outputs` : describeSpec(spec),
    result: {
      status: certificate.status !== 'certified' ? 'not-certified' : assembly.patches.length === 0 ? 'nothing-to-repair' : 'repaired',
      regions: en.regions.length,
      buggyRegions: reports.length,
      correctRegions: en.regions.length - reports.length,
      certifiedRegions: certificate.certifiedRegions,
      maxPatchNorm: reports.reduce((m, r) => Math.max(m, r.patchNorm), 0),
    },
    enumeration: {
      regions: en.regions.length,
      thinCells: en.thin,
      slackRegions: en.slackRegions,
      forcedDecisions: en.forced,
      emptyCells: en.empty,
      lps: en.lps,
      eps: en.eps,
      minRadius: en.minRadius,
      ms: en.ms,
    },
    unpatchedRegions: unpatched,
    regions: reports,
    certificate: (({ ms: _ms, ...c }) => c)(certificate),
    refinement,
    timingsMs: { total: now() - t0, enumerate: tEnum - t0, repair: tRepair - tEnum, certify: tCert - tRepair },
    notes: areaNotes(en, certificate, refinement, unpatched),
  };
  return { network: assembly.network, report, regions: en.regions };
}

/**
 * The minimal patch of every region on which the spec fails somewhere (the others get none), and
 * one report entry per patch, in enumeration order.
 */
async function patchRegions(
  network: Network,
  regions: readonly EnumeratedRegion[],
  job: {
    spec: Spec | SpecUnion;
    box: Area['box'];
    inputSet?: InputSet;
    prune: boolean;
    radius: number;
    backend: LpBackend;
    signal?: AbortSignal;
  },
  onProgress: (done: number) => void,
): Promise<{ patches: RegionPatch[]; reports: AreaRegionReport[]; unpatched: number[] }> {
  const patches: RegionPatch[] = [];
  const reports: AreaRegionReport[] = [];
  const unpatched: number[] = [];
  const pause = periodicYield();
  for (let i = 0; i < regions.length; i++) {
    throwIfAborted(job.signal);
    const r = regions[i];
    const { spec, box, inputSet, prune, radius } = job;
    let outcome: Awaited<ReturnType<typeof solveRegion>>;
    try {
      outcome = await solveRegion(
        network,
        { anchor: r.centre, points: [], pattern: patternHex(r.pattern), spec, box, inputSet, prune, radius, activation: r.pattern },
        job.backend,
      );
    } catch (e) {
      // An LP that breaks down on one region (a sliver at the limit of its tolerance) leaves that
      // region without a patch; the others' work stands, and the certificate decides it.
      if (!(e instanceof LpError)) throw e;
      unpatched.push(i);
      onProgress(i + 1);
      continue;
    }
    if (outcome.patch) {
      patches.push(outcome.patch);
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
    onProgress(i + 1);
    await pause();
  }
  return { patches, reports, unpatched };
}

/** What the report's notes say about the enumeration, the refinement and the certificate. */
function areaNotes(en: Enumeration, certificate: CertificateReport, refinement: Refinement, unpatched: number[]): string[] {
  const notes: string[] = [];
  if (en.thin > 0)
    notes.push(
      `${en.thin} region(s) are thinner than minRadius ${en.minRadius}; they are repaired and certified like the others (${certificate.thinFailed} of them not certified)`,
    );
  if (en.slackRegions > 0)
    notes.push(
      `${en.slackRegions} region(s) reach across a hyperplane by less than the LP can split (rounding level, or eps ${en.eps}); the certificate charges that reach`,
    );
  if (en.forced > 0) notes.push(`${en.forced} sign decision(s) the LP could not make were made on bounding boxes, their reach charged`);
  if (unpatched.length > 0)
    notes.push(
      `${unpatched.length} region(s) got no patch because their LP broke down (regions ${unpatched.join(', ')}); see the certificate`,
    );
  if (refinement.constantPatches.length > 0) {
    notes.push(
      `${refinement.constantPatches.length} affine patch(es) replaced by their region's smallest constant patch, which composes soundly with the neighbours' (see regions[].minimalNorm)`,
    );
  }
  if (refinement.splitPatches.length > 0) {
    notes.push(
      `${refinement.splitPatches.length} region(s) with no constant patch split into ${refinement.splitPatches.reduce((t, x) => t + x.cells.length, 0)} cells with constant patches (regions[].cells)`,
    );
  }
  if (refinement.expandedPatches.length > 0) {
    notes.push(
      `band validity: ${refinement.expandedPatches.length} patch(es) enlarged beyond their region's minimal norm to stay valid where their band covers other regions (see regions[].minimalNorm)`,
    );
  }
  if (refinement.shrunkPatches.length > 0)
    notes.push(`radius refinement: ${refinement.shrunkPatches.length} patch radius(es) shrunk in ${refinement.rounds} round(s)`);
  if (certificate.status !== 'certified') {
    notes.push(
      `${certificate.failedRegions.length} region(s) are not certified (largest proven bound ${certificate.maxViolation}, ` +
        `largest violation found ${certificate.largestViolationFound ?? 'none'}); the network must not be used as a certified repair`,
    );
  }
  return notes;
}

/** How {@link repairArea} repairs an area (module comment). */
export type AreaMethod = 'enumerate' | 'bab' | 'box';

/** Inputs above which no linear region enumeration finishes (an MNIST ball: 0.7 regions/s): the default is then `box`. */
export const BOX_METHOD_ABOVE_INPUTS = 64;

/**
 * Options of {@link repairArea}: those of every method; each method reads its own and an option
 * that belongs to another method only is an InputError naming it.
 * - all: `area`, `spec` | `label` (+ `margin`), `radius`, `signal`;
 * - `enumerate`: `prune`, `lp`, `enumerate` (maxRegions, eps, minRadius), `certificate`, `refineRounds`, `onProgress`;
 * - `bab`: `unsafe` (a VNN-LIB property's unsafe set), `prune`, `lp`, `certificate`, `refineRounds`,
 *   `verify`, `maxLeafRegions`, `reproveDepth`, `boxPatches`, `onProgress`;
 * - `box`: `search`, `certificate.tolerance`.
 */
export interface RepairAreaOptions extends Omit<AreaRepairOptions, 'onProgress'> {
  /** Default as the CLI's: `box` above 64 inputs, else `bab` when `unsafe` is given (a VNN-LIB property), else `enumerate`. */
  method?: AreaMethod;
  unsafe?: AreaBabOptions['unsafe'];
  verify?: AreaBabOptions['verify'];
  maxLeafRegions?: number;
  reproveDepth?: number;
  boxPatches?: boolean;
  search?: BoxSearchOptions;
  /** `enumerate` reports AreaProgress, `bab` AreaBabProgress (`box` none). */
  onProgress?: (e: AreaProgress | AreaBabProgress) => void;
}

/**
 * What {@link repairArea} returns: the chosen method's own result, tagged with `method`, and
 * `certified` (the finished network is certified on the whole area, or the spec was proven to
 * hold there already). `network` and `report` are in every variant; `report.kind` is `area`,
 * `area-bab` or `area-box` accordingly.
 */
export type RepairAreaResult =
  | (AreaRepairResult & { method: 'enumerate'; certified: boolean })
  | (AreaBabResult & { method: 'bab'; certified: boolean })
  | (AreaBoxResult & { method: 'box'; certified: boolean });

/** The method {@link repairArea} uses for `opts` on `network` (the CLI's defaults). */
export function areaMethodFor(network: Network, opts: Pick<RepairAreaOptions, 'method' | 'unsafe'>): AreaMethod {
  const m = opts.method;
  if (m !== undefined && m !== 'enumerate' && m !== 'bab' && m !== 'box')
    throw new InputError('must be "enumerate", "bab" or "box"', { field: 'method', value: m });
  return m ?? (network.inputSize > BOX_METHOD_ABOVE_INPUTS ? 'box' : opts.unsafe !== undefined ? 'bab' : 'enumerate');
}

const ONLY: Record<string, AreaMethod[]> = {
  enumerate: ['enumerate'],
  unsafe: ['bab'],
  verify: ['bab'],
  maxLeafRegions: ['bab'],
  reproveDepth: ['bab'],
  boxPatches: ['bab'],
  search: ['box'],
  prune: ['enumerate', 'bab'],
  lp: ['enumerate', 'bab'],
  refineRounds: ['enumerate', 'bab'],
  onProgress: ['enumerate', 'bab'],
};

/**
 * Repairs an area of the input (a box, optionally ∩ {x : A x <= b}) so that the spec holds on all
 * of it, and certifies the finished network there, by `method` (module comment; default as the
 * CLI's). Returns the method's own result ({@link RepairAreaResult}).
 */
export async function repairArea(
  network: Network,
  opts: RepairAreaOptions & { method: 'enumerate' },
): Promise<Extract<RepairAreaResult, { method: 'enumerate' }>>;
export async function repairArea(
  network: Network,
  opts: RepairAreaOptions & { method: 'bab' },
): Promise<Extract<RepairAreaResult, { method: 'bab' }>>;
export async function repairArea(
  network: Network,
  opts: RepairAreaOptions & { method: 'box' },
): Promise<Extract<RepairAreaResult, { method: 'box' }>>;
export async function repairArea(network: Network, opts: RepairAreaOptions): Promise<RepairAreaResult>;
export async function repairArea(network: Network, opts: RepairAreaOptions): Promise<RepairAreaResult> {
  const method = areaMethodFor(network, opts);
  for (const [key, methods] of Object.entries(ONLY))
    if ((opts as unknown as Record<string, unknown>)[key] !== undefined && !methods.includes(method))
      throw new InputError(`applies to method ${methods.join(' or ')} only, not "${method}"`, { field: key });
  const { method: _m, unsafe, verify, maxLeafRegions, reproveDepth, boxPatches, search, onProgress, ...common } = opts;
  if (method === 'enumerate') {
    const r = await repairAreaEnumerate(network, { ...common, onProgress });
    return { ...r, method, certified: r.report.result.status !== 'not-certified' };
  }
  if (method === 'bab') {
    const r = await repairAreaBab(network, {
      area: common.area,
      spec: common.spec,
      label: common.label,
      margin: common.margin,
      radius: common.radius,
      prune: common.prune,
      lp: common.lp,
      certificate: common.certificate,
      refineRounds: common.refineRounds,
      unsafe,
      verify,
      maxLeafRegions,
      reproveDepth,
      boxPatches,
      onProgress,
      signal: common.signal,
    });
    return { ...r, method, certified: r.report.result.status !== 'not-certified' };
  }
  const c = common.certificate;
  if (c && (c.rtol !== undefined || c.eps !== undefined || c.maxPieces !== undefined || c.boundHelpful !== undefined))
    throw new InputError('method "box" takes only certificate.tolerance (it certifies by bounds, not regions)', { field: 'certificate' });
  const r = await repairAreaBox(network, {
    area: common.area,
    spec: common.spec,
    label: common.label,
    margin: common.margin,
    radius: common.radius,
    search,
    tolerance: c?.tolerance,
    signal: common.signal,
  });
  return { ...r, method, certified: r.report.result.certified };
}
