/**
 * Refinement of a repair whose certificate fails (docs/COMPOSITION.md "Making it true"): for the
 * regions that fail by more than their error budget, the patches modelled exactly there are made
 * valid on the pieces of other regions their bands cover (band validity), affine patches are
 * replaced by constant ones or split into cells, and as a last resort radii are shrunk; every
 * region a changed patch reaches is certified again (ts/certificate.ts). Unlike the certificate,
 * which only reads the network, this module mutates the patches; the repair steps themselves are
 * hooks (ts/compose.ts `BandExpander.hooks`).
 */
import { type CertificateReport, type CertificationItem, type CertifyOptions, certifyItems } from './certificate.js';
import type { ExpandOutcome } from './compose.js';
import type { Area } from './enumerate.js';
import type { RegionPatch } from './patch.js';
import type { RepairedNetwork } from './repaired.js';

export interface Refinement {
  /** Rounds of refinement (a round that does not reduce the failures is undone). */
  rounds: number;
  /** Patches whose radius was shrunk (indices), and by how much in all (factor). */
  shrunkPatches: number[];
  factor: number;
  /** Chain patches enlarged to be valid on the band pieces they cover (ts/compose.ts). */
  expandedPatches: number[];
  /** Affine patches replaced by constant ones (ts/compose.ts). */
  constantPatches: number[];
  /** Affine patches whose region was split into constant cells: the patch index and its cells. */
  splitPatches: { patch: number; cells: number[] }[];
}

/** Makes chain patch `patch` valid on the band piece of item `item`'s region (ts/compose.ts). */
export type ExpandHook = (patch: number, item: number) => ExpandOutcome;
/** Replaces affine patch `patch` by a constant one, in place; false when none exists (ts/compose.ts). */
export type ToConstantHook = (patch: number) => boolean;
/** Constant cell patches that together replace affine patch `patch`, or null (ts/compose.ts). */
export type SplitHook = (patch: number) => RegionPatch[] | null;

/**
 * Certifies every item and, where a region fails by more than its error budget, refines the
 * other patches modelled exactly on it: a constant patch of a chain is first made valid on the
 * region's piece of its band (`expand`, ts/compose.ts); any other patch, or one for which no
 * valid constant patch exists, gets its radius shrunk (×1/4 per round). Up to `rounds` rounds
 * (default 4, 8 for a chain); a round that does not reduce the failures is undone and ends the refinement (in a
 * chain the rounds go on until two in a row bring no fewer failures, and the state with the fewest
 * failures is returned).
 * Every region those patches reach is certified again. Patches are mutated (radius, d); the
 * returned network is built from them. A failure no band causes (the region's own patch) stays
 * a failure and is reported as such.
 */
export async function certifyWithRefinement(
  build: () => RepairedNetwork,
  items: readonly CertificationItem[],
  area: Area,
  opts: CertifyOptions & {
    scope: CertificateReport['scope'];
    rounds?: number;
    expand?: ExpandHook;
    toConstant?: ToConstantHook;
    split?: SplitHook;
  },
): Promise<{ network: RepairedNetwork; certificate: CertificateReport; refinement: Refinement }> {
  const t0 = performance.now();
  let network = build();
  let report = await certifyItems(network, items, area, opts);
  const rounds = opts.rounds ?? (network.composition === 'chain' ? 8 : 4);
  const shrunk = new Set<number>();
  const expanded = new Set<number>();
  const converted = new Set<number>();
  const splits: { patch: number; cells: number[] }[] = [];
  let done = 0;
  // In a chain every step only adds validity, but one patch enlarged can expose another (a
  // neighbour no longer dominated): rounds go on, and the best state seen is kept.
  const isChain = network.composition === 'chain';
  const capture = () => ({
    patches: (network.patches as RegionPatch[]).map((q) => ({ ...q, region: { ...q.region } })),
    network,
    report,
    shrunk: [...shrunk],
    expanded: [...expanded],
    converted: [...converted],
    splits: [...splits],
    done,
  });
  let best = isChain ? capture() : undefined;
  let stagnant = 0;
  for (; done < rounds && report.failedRegions.length > 0; done++) {
    // Only failures that remain after the error budget can come from a band; only the patches
    // modelled exactly there (the first exactPatches) can have pushed the wrong way.
    const shrink = new Set<number>();
    const suspects = new Set<number>();
    for (const i of report.failedRegions) {
      const c = report.perRegion[i];
      if (c.maxViolation - c.errorBudget <= c.tolerance) continue;
      for (const p of c.patches.slice(0, c.exactPatches)) {
        const kind = network.patches[p].kind;
        // An own constant patch is valid on its region by construction; an own affine one is
        // summed with the others' bands and may need to become constant.
        if (p === items[i].ownPatch && !(kind === 'affine' && isChain && opts.toConstant)) continue;
        suspects.add(p);
      }
    }
    const changed = new Set<number>();
    const all = network.patches as RegionPatch[];
    const roundSplits: { patch: number; cells: number[] }[] = [];
    for (const p of suspects) {
      const patch = network.patches[p];
      if (isChain && patch.kind === 'affine' && opts.toConstant) {
        if (opts.toConstant(p)) {
          changed.add(p);
          converted.add(p);
          continue;
        }
        // No constant patch on the whole region: constant patches on cells of it. The first
        // cell takes the patch's place, the others go to the end of the chain.
        const cells = opts.split?.(p);
        if (cells && cells.length > 0) {
          Object.assign(all[p], cells[0]);
          delete all[p].C;
          delete all[p].H;
          delete all[p].rows;
          const indices = [p];
          for (const c of cells.slice(1)) indices.push(all.push(c) - 1);
          roundSplits.push({ patch: p, cells: indices });
          indices.forEach((c) => changed.add(c));
        } else shrink.add(p);
      }
    }
    // Chain patches: valid on every piece of a region their band covers (all of them, so that
    // enlarging d for one piece cannot break another).
    if (isChain && opts.expand) {
      const reach = new Map<number, number[]>();
      report.perRegion.forEach((c, i) => c.patches.forEach((p) => p !== items[i].ownPatch && reach.set(p, [...(reach.get(p) ?? []), i])));
      // Cells reach where their patch did, and their own region.
      for (const { patch, cells } of roundSplits) {
        const own = items.findIndex((it) => it.ownPatch === patch);
        const where = [...new Set([...(reach.get(patch) ?? []), ...(own >= 0 ? [own] : [])])];
        cells.forEach((c) => reach.set(c, where));
        cells.forEach((c) => suspects.add(c));
      }
      for (const p of suspects) {
        if (network.patches[p].kind !== 'constant' || shrink.has(p)) continue;
        for (const i of reach.get(p) ?? []) {
          const outcome = opts.expand(p, i);
          if (outcome === 'expanded') changed.add(p);
          if (outcome === 'infeasible') {
            shrink.add(p);
            break;
          }
        }
      }
    } else suspects.forEach((p) => !changed.has(p) && shrink.add(p));
    if (shrink.size === 0 && changed.size === 0) break;
    const saved = new Map<number, number>();
    shrink.forEach((p) => {
      const patch = network.patches[p] as { radius: number };
      saved.set(p, patch.radius);
      patch.radius /= 4;
    });
    const previous = { network, report };
    network = build();
    const touched = (p: number) => shrink.has(p) || changed.has(p);
    const only = report.perRegion.flatMap((c, i) => (!c.certified || c.patches.some(touched) ? [i] : []));
    report = await certifyItems(network, items, area, { ...opts, only, previous: report.perRegion });
    if (!isChain && report.failedRegions.length >= previous.report.failedRegions.length) {
      // A sum: no better, undo this round (only radii change there) and stop. A chain goes on
      // and keeps its best state (below).
      saved.forEach((r, p) => ((network.patches[p] as { radius: number }).radius = r));
      ({ network, report } = previous);
      break;
    }
    saved.forEach((_, p) => shrunk.add(p));
    const cellSet = new Set(roundSplits.flatMap((x) => x.cells));
    changed.forEach((p) => !converted.has(p) && !cellSet.has(p) && expanded.add(p));
    splits.push(...roundSplits);
    if (best && report.failedRegions.length < best.report.failedRegions.length) {
      best = capture();
      stagnant = 0;
    } else if (++stagnant >= 2) {
      // Two rounds without fewer failures: what remains is not a matter of radii.
      done++;
      break;
    }
  }
  if (best && best.report.failedRegions.length < report.failedRegions.length) {
    const all = network.patches as RegionPatch[];
    all.splice(0, all.length, ...best.patches);
    ({ network, report } = best);
    network = build();
    [shrunk, expanded, converted].forEach((set) => set.clear());
    best.shrunk.forEach((p) => shrunk.add(p));
    best.expanded.forEach((p) => expanded.add(p));
    best.converted.forEach((p) => converted.add(p));
    splits.splice(0, splits.length, ...best.splits);
    done = best.done;
  }
  return {
    network,
    certificate: { ...report, ms: performance.now() - t0 },
    refinement: {
      rounds: done,
      shrunkPatches: [...shrunk].sort((a, b) => a - b),
      factor: 0.25,
      expandedPatches: [...expanded].sort((a, b) => a - b),
      constantPatches: [...converted].sort((a, b) => a - b),
      splitPatches: splits,
    },
  };
}
