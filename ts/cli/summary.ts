/**
 * The CLI's one-line account of how minimal the patches are, in the report's own words: a patch
 * counts as proven minimal only when the report says so (`constant-patch` / `full-lp`) and its
 * norm is the region's minimal norm; enlarged (`band-constrained`), split (`cells`) and replaced
 * patches are named as such, never folded into "minimality proven".
 */
import type { CertificateReport } from '../certificate.js';

/** The fields of a point-wise (`RegionReport`) or area (`AreaRegionReport`) region entry used here. */
export interface RegionMinimality {
  minimalityProof: string;
  patchNorm: number;
  /** The region's own minimal norm, when the report gives it. */
  minimalNorm?: number;
  cells?: number;
}

/** Relative slack when comparing patchNorm with minimalNorm (the report's minimality tolerance). */
const REL = 1e-9;

export interface MinimalityCounts {
  /** Proof name (constant-patch, full-lp) → regions whose patch is proven minimal by it. */
  proven: Map<string, number>;
  /** Enlarged beyond the region's minimum to stay valid on neighbouring bands. */
  enlarged: number;
  /** Split into cells with constant patches; `cells` in all. */
  split: number;
  cells: number;
  /** A proof kind but a norm above the region's minimum (an affine patch replaced by a constant one). */
  replaced: number;
}

export function minimalityCounts(regions: readonly RegionMinimality[]): MinimalityCounts {
  const c: MinimalityCounts = { proven: new Map(), enlarged: 0, split: 0, cells: 0, replaced: 0 };
  for (const g of regions) {
    if (g.minimalityProof === 'cells') {
      c.split++;
      c.cells += g.cells ?? 0;
    } else if (g.minimalityProof === 'band-constrained') c.enlarged++;
    else if (g.minimalNorm !== undefined && g.patchNorm > g.minimalNorm * (1 + REL) + 1e-300) c.replaced++;
    else c.proven.set(g.minimalityProof, (c.proven.get(g.minimalityProof) ?? 0) + 1);
  }
  return c;
}

/** "42 proven minimal (42 by constant-patch); 3 enlarged beyond their region's minimum ..." */
export function minimalityText(regions: readonly RegionMinimality[]): string {
  if (regions.length === 0) return 'no patches';
  const c = minimalityCounts(regions);
  const parts: string[] = [];
  const provenTotal = [...c.proven.values()].reduce((a, b) => a + b, 0);
  if (provenTotal > 0) parts.push(`${provenTotal} proven minimal (${[...c.proven].map(([p, n]) => `${n} by ${p}`).join(', ')})`);
  if (c.enlarged > 0)
    parts.push(
      `${c.enlarged} enlarged beyond their region's minimal norm to stay valid where their bands reach other regions (band-constrained; minimalNorm in the report)`,
    );
  if (c.replaced > 0)
    parts.push(
      `${c.replaced} affine patch(es) replaced by a larger constant patch that composes soundly (not minimal; minimalNorm in the report)`,
    );
  if (c.split > 0)
    parts.push(
      `${c.split} region(s) with no constant patch split into ${c.cells} cells with constant patches (not minimal; minimalNorm in the report)`,
    );
  return `patches: ${parts.join('; ')}`;
}

export function fmt(v: number, digits = 6): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(digits);
}

/** How the tolerance reads: the absolute one asked for, or the relative one, beside the scale of the rows' values. */
function toleranceText(c: CertificateReport): string {
  const t = c.tolerance;
  const asked =
    t.absolute !== null ? `tolerance ${fmt(t.absolute)}` : `tolerance <= ${fmt(t.largestAbsolute)} (${fmt(t.relative)} relative)`;
  return `${asked}, rounding <= ${fmt(t.rounding)}, spec rows' values up to ${fmt(t.outputScale)}`;
}

const REASON_TEXT: Record<string, string> = {
  bound: 'proven bound above the tolerance',
  unresolved: 'a cell too thin for the LP to resolve',
  pieceLimit: 'more pieces than the limit',
  unionLimit: "more LPs for the union's pieces than the limit",
  violated: 'the network violates the spec at the witness',
};

export function certificateText(c: CertificateReport): string {
  if (c.status === 'certified') {
    return `${c.certifiedRegions}/${c.regions} regions certified (largest proven bound ${fmt(c.maxViolation)}, ${toleranceText(c)}, ${c.pieces} pieces)`;
  }
  if (c.failedRegions.length === 0) {
    return `${c.regions} regions certified, but the file does not match its own repair record (mismatch below)`;
  }
  const found =
    c.largestViolationFound === null
      ? 'no violating point found above the tolerance (the bounds do not close)'
      : `largest violation found ${fmt(c.largestViolationFound)}`;
  const why = Object.entries(c.reasons)
    .map(([r, k]) => `${k} ${REASON_TEXT[r] ?? r}`)
    .join(', ');
  const thin =
    c.thinFailed > 0
      ? `; ${c.thinFailed} of them cells thinner than the enumeration's minRadius${c.reasons.unresolved ? ' that could not be resolved' : ''}`
      : '';
  return `${c.failedRegions.length} of ${c.regions} regions not certified (${why}${thin}; largest proven bound ${fmt(c.maxViolation)}, ${toleranceText(c)}; ${found})`;
}

/** Warnings a certificate reader must see: a tolerance that is large next to the scale of the values it bounds. */
export function certificateWarnings(c: CertificateReport): string[] {
  const t = c.tolerance;
  const tol = t.absolute ?? t.largestAbsolute;
  if (c.regions > 0 && tol > 1e-6 * t.outputScale)
    return [
      `warning: the tolerance ${fmt(tol)} exceeds 1e-6 of the scale of the spec rows' values on the area (${fmt(t.outputScale)}); violations up to it are not excluded (--tolerance sets it)`,
    ];
  return [];
}
