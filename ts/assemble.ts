/**
 * The last step of every repair, point-wise and area alike (METHOD.md §4–§5, docs/COMPOSITION.md):
 * the region patches composed into one repaired network, then certified on every given region,
 * with refinement where a certificate fails.
 *
 * 1. **Chain** (ts/compose.ts `chainOrder`): constant patches by increasing norm, affine ones
 *    after them (summed).
 * 2. **Box gate**: one indicator of the input box shared by every patch (supports carry no box
 *    rows), with the smallest patch radius, so that "r_A outside a face" includes the box faces
 *    for every patch.
 * 3. **Certificate with refinement** (ts/refine.ts): band validity, constant replacements and
 *    cells (ts/compose.ts `BandExpander`) need one spec for every region — convex, or a union
 *    whose regions are each held to one piece; with different specs per region only radii are
 *    refined.
 */
import type { CertificateReport, CertificationItem, CertifyOptions } from './certificate.js';
import { BandExpander, chainOrder } from './compose.js';
import type { Box, Network } from './network.js';
import { patternHex, type RegionPatch } from './patch.js';
import { certifyWithRefinement, type Refinement } from './refine.js';
import type { InputSet } from './region.js';
import { RepairedNetwork, type RepairRecord, recordBoxesOf } from './repaired.js';
import type { Spec } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';

/** One region to certify on the finished network. */
export interface AssemblyItem {
  /** Activation pattern of the region (of the original network). */
  pattern: ArrayLike<number>;
  spec: Spec | SpecUnion;
  /** Index, into the patches given to {@link assemble}, of the patch made for this region. */
  patch?: number;
  /** The enumeration's decision errors of the region's cell and whether it is thin (ts/enumerate.ts). */
  slack?: ArrayLike<number>;
  thin?: boolean;
}

export interface AssembleOptions {
  /** The input domain the regions were computed in (and the box gate's box). */
  box: Box;
  inputSet?: InputSet;
  /** Largest locality radius: the box gate's radius when no patch has a smaller one. */
  radius: number;
  /** Certify (and refine) the finished network; without, the chain is only built. */
  certify: boolean;
  scope: CertificateReport['scope'];
  certificate?: Pick<CertifyOptions, 'rtol' | 'tolerance' | 'eps' | 'maxPieces' | 'boundHelpful'>;
  /** Refinement rounds (default: see `certifyWithRefinement`). */
  rounds?: number;
  signal?: AbortSignal;
  onProgress?: CertifyOptions['onProgress'];
  /** The spec the record names when there are no items to take it from (a box patch alone). */
  spec?: Spec | SpecUnion;
}

export interface Assembly {
  network: RepairedNetwork;
  /**
   * The patches in chain order: the objects given, mutated by refinement (radius, d, kind), with
   * the cells of split regions appended. `network.patches` is this array.
   */
  patches: RegionPatch[];
  /** Chain position of each given patch. */
  position: number[];
  /** Index of the given patch at each chain position (cells appended later are not in it). */
  order: number[];
  /** With `certify`: the certificate of every item, and what refinement changed. */
  certified?: { certificate: CertificateReport; refinement: Refinement };
  /** Time spent certifying and refining (0 without `certify`). */
  certifyMs: number;
}

/** Rows of a row-major matrix with `width` columns. */
function matrixRows(flat: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from({ length: width }, (_, j) => flat[i + j]));
  return out;
}

/** Composes `patches` (in any order) into the repaired network and certifies it on `items`. */
export async function assemble(
  network: Network,
  patches: readonly RegionPatch[],
  items: readonly AssemblyItem[],
  opts: AssembleOptions,
): Promise<Assembly> {
  const order = chainOrder(patches);
  const position = new Array<number>(patches.length);
  order.forEach((j, pos) => (position[j] = pos));
  const chain = order.map((j) => patches[j]);
  const { box, inputSet } = opts;
  const boxGateOf = () => ({
    lower: [...box.lower],
    upper: [...box.upper],
    radius: chain.reduce((r, p) => Math.min(r, p.radius), opts.radius),
  });
  const record = (): RepairRecord => {
    const first = items[0]?.spec ?? opts.spec;
    const one = first !== undefined && items.every((it) => it.spec === first) ? first : undefined;
    const regions = [...new Set(items.flatMap((it) => (it.patch === undefined ? [] : [patternHex(it.pattern)])))];
    return {
      kind: opts.scope === 'area' ? 'area' : 'points',
      ...(opts.scope === 'area'
        ? {
            area: {
              lower: [...box.lower],
              upper: [...box.upper],
              ...(inputSet ? { A: matrixRows(inputSet.A, box.lower.length), b: [...inputSet.b] } : {}),
            },
          }
        : {}),
      ...(one
        ? { spec: { pieces: (isSpecUnion(one) ? one.pieces : [one]).map((p) => ({ P: matrixRows(p.P, p.outputs), q: [...p.q] })) } }
        : {}),
      regions,
      ...(recordBoxesOf(chain).length > 0 ? { boxes: recordBoxesOf(chain) } : {}),
      patches: chain.length,
    };
  };
  const build = () => {
    const net = new RepairedNetwork(network, chain, box, boxGateOf(), 'chain');
    net.record = record();
    return net;
  };
  if (!opts.certify) return { network: build(), patches: chain, position, order, certifyMs: 0 };

  const t0 = performance.now();
  const certItems: CertificationItem[] = items.map((it) => {
    const own = it.patch === undefined ? undefined : position[it.patch];
    return {
      pattern: it.pattern,
      spec: it.spec,
      ownPatch: own,
      piece: own === undefined ? undefined : chain[own].region.specPiece,
      slack: it.slack,
      thin: it.thin,
    };
  });
  // Band validity needs one spec (convex, or a union whose regions each keep one piece) for every
  // region (else only radii are refined).
  const first = items[0]?.spec;
  const one = first !== undefined && items.every((it) => it.spec === first) ? first : undefined;
  const expander = one ? new BandExpander(network, one, box, inputSet) : undefined;
  const {
    network: repaired,
    certificate,
    refinement,
  } = await certifyWithRefinement(
    build,
    certItems,
    { box, inputSet },
    {
      ...opts.certificate,
      scope: opts.scope,
      rounds: opts.rounds,
      ...expander?.hooks(
        chain,
        certItems.map((it) => it.pattern),
        certItems.map((it) => it.piece),
      ),
      signal: opts.signal,
      onProgress: opts.onProgress,
    },
  );
  return { network: repaired, patches: chain, position, order, certified: { certificate, refinement }, certifyMs: performance.now() - t0 };
}
