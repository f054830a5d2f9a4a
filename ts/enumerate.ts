/**
 * Every linear region of a network inside an input box or H-polytope (twin of
 * crates/core/src/enumerate.rs, explore.rs). The core splits the set neuron by neuron, depth first, along
 * every hyperplane whose sign is not constant on a cell (certified LP bounds), so the work and the
 * memory of the search are bounded by the network depth. No cell is dropped, so the regions cover
 * the area: a cell whose largest inscribed ball is thinner than `minRadius` is still a region
 * (`thin`), and a cell that reaches across a hyperplane it was not split by (within `eps`, or
 * within the LP's rounding) carries that reach as its `slack`, which certificates charge. Work
 * happens in slices, so progress is reported and an AbortSignal is honoured between slices.
 */
import { AbortError, InputError } from './errors.js';
import { type Box, checkBox, type Network } from './network.js';
import type { InputSet } from './region.js';
import { periodicYield } from './util/event-loop.js';
import * as abi from './wasm/abi.js';

/** An input area: a box, optionally intersected with an H-polytope {x : A x <= b}. */
export interface Area {
  box: Box;
  inputSet?: InputSet;
}

export interface EnumerationProgress {
  phase: 'enumerate';
  /** Regions found so far. */
  regions: number;
  /** Cells waiting on the search stack. */
  pending: number;
  /** Estimated explored share of the area, 0..1. */
  explored: number;
  lps: number;
  elapsedMs: number;
}

export interface EnumerateOptions {
  /**
   * Decision slack in input units: a cell that reaches at most `eps` across a neuron's hyperplane
   * is not split by it, and carries the reach as its `slack`. Default 0 (split wherever the LP
   * can tell the sides apart).
   */
  eps?: number;
  /** Regions whose largest inscribed ball has radius <= this are flagged `thin`. Default `1e-9 × max(1, largest |box bound|)`. */
  minRadius?: number;
  /** Stop with {@link RegionLimitError} when there are more regions than this. Default 100,000. */
  maxRegions?: number;
  onProgress?: (e: EnumerationProgress) => void;
  signal?: AbortSignal;
}

export interface EnumeratedRegion {
  /** Activation pattern (1 = pre-activation >= 0 on the region). */
  pattern: Uint8Array;
  /** Centre and radius of the largest ball inside the region (∩ area); radius −1 when the LP cannot place one (the centre is then the middle of the cell's box). */
  centre: Float64Array;
  radius: number;
  /** Thinner than `minRadius` (its centre may lie on its boundary). */
  thin: boolean;
  /** Per hidden neuron: how far (pre-activation units) the region's cell reaches across the neuron's hyperplane without a split (0: exact). */
  slack: Float64Array;
}

export interface Enumeration {
  regions: EnumeratedRegion[];
  /** Regions thinner than `minRadius` (kept, flagged), regions with slack, and sign decisions the LP could not make (made on bounding boxes, their reach charged as slack). */
  thin: number;
  slackRegions: number;
  forced: number;
  /** The area was empty to the LP (never: an empty area is an InputError). */
  empty: number;
  lps: number;
  ms: number;
  eps: number;
  minRadius: number;
}

/** The area has more linear regions than the limit; raise `maxRegions` (`--max-regions`). */
export class RegionLimitError extends InputError {
  readonly limit: number;
  constructor(limit: number, where: string) {
    super(`${where} has more than ${limit} linear regions; raise the limit (maxRegions, --max-regions) or split the area`, {
      field: 'maxRegions',
      value: limit,
    });
    (this as { code: string }).code = 'REGION_LIMIT';
    this.limit = limit;
  }
}

/** The default `minRadius`: 1e-9 × max(1, largest |box bound|). */
export function defaultMinRadius(box: Box): number {
  let scale = 1;
  for (let j = 0; j < box.lower.length; j++) scale = Math.max(scale, Math.abs(box.lower[j]), Math.abs(box.upper[j]));
  return 1e-9 * scale;
}

/**
 * Largest |bound| of an area box. The LPs work in float64 with tolerances relative to the box
 * (1e-9 × its scale): beyond this, cells of any useful size are below that resolution.
 */
export const MAX_AREA_BOUND = 1e12;

export function checkArea(area: Area, n: number, file?: string): void {
  if (!area || typeof area !== 'object') throw new InputError('an area needs a box', { file, field: 'area', value: area });
  checkBox(area.box, n, file, 'box');
  for (let j = 0; j < n; j++) {
    for (const [side, v] of [
      ['lower', area.box.lower[j]],
      ['upper', area.box.upper[j]],
    ] as const) {
      if (Math.abs(v) > MAX_AREA_BOUND)
        throw new InputError(
          `is beyond ±${MAX_AREA_BOUND}: the area's LPs work in float64 relative to the box size and cannot resolve regions in such a box; give the inputs' real range`,
          { file, field: `box.${side}[${j}]`, value: v },
        );
    }
  }
  const set = area.inputSet;
  if (set) {
    if (!(set.A instanceof Float64Array) || !(set.b instanceof Float64Array) || set.A.length !== set.b.length * n) {
      throw new InputError(`must be ${set?.b?.length ?? '?'} rows of ${n} coefficients`, { file, field: 'A', value: set?.A?.length });
    }
    set.A.forEach((v, i) => {
      if (!Number.isFinite(v))
        throw new InputError('is not a finite number', { file, field: `A[${Math.floor(i / n)}][${i % n}]`, value: v });
    });
    set.b.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new InputError('is not a finite number', { file, field: `b[${i}]`, value: v });
    });
  }
}

/** Every linear region of `net` in the area. */
export async function enumerateRegions(net: Network, area: Area, opts: EnumerateOptions = {}): Promise<Enumeration> {
  const t0 = performance.now();
  const n = net.inputSize;
  checkArea(area, n);
  const eps = opts.eps ?? 0;
  const minRadius = opts.minRadius ?? Math.max(eps, defaultMinRadius(area.box));
  const maxRegions = opts.maxRegions ?? 100_000;
  if (!(Number.isFinite(eps) && eps >= 0)) throw new InputError('must be a finite number >= 0', { field: 'eps', value: eps });
  if (!(Number.isFinite(minRadius) && minRadius >= eps))
    throw new InputError(`must be a finite number >= eps (${eps})`, { field: 'minRadius', value: minRadius });
  if (!(Number.isInteger(maxRegions) && maxRegions >= 1))
    throw new InputError('must be a whole number >= 1', { field: 'maxRegions', value: maxRegions });
  const { core, handle: nh } = net.handle();
  const A = area.inputSet?.A ?? new Float64Array(0);
  const b = area.inputSet?.b ?? new Float64Array(0);
  const options = abi.json(abi.ENUMERATE_OPTIONS, { eps, minRadius, maxRegions });
  const h = core.call('region enumeration', [area.box.lower, area.box.upper, A, b, options], ([lo, hi, pa, pb, po], lens) =>
    core.exports.rr_enum_new(nh, lo, hi, pa, pb, b.length, po, lens[4]),
  );
  const regions: EnumeratedRegion[] = [];
  try {
    const pause = periodicYield();
    for (;;) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      const st = core.layout('region enumeration', [], abi.ENUM_STATUS, {}, ([o]) => core.exports.rr_enum_step(h, 2000, o));
      const { state, regions: count, pending, lps, explored, thin, empty, forced, hidden } = st;
      if (count > regions.length) {
        const from = regions.length;
        const k = count - from;
        const dims = { regions: k, hidden, inputs: n };
        const read = <N extends abi.FieldOf<typeof abi.ENUMERATION_FIELDS>>(name: N) =>
          core.field('region enumeration', abi.ENUMERATION_FIELDS, name, dims, ([o]) =>
            core.exports.rr_enum_read(h, abi.fieldCode(abi.ENUMERATION_FIELDS, name), from, o),
          );
        const [pats, centres, radii, thins, slack] = [read('patterns'), read('centres'), read('radii'), read('thin'), read('slack')];
        for (let r = 0; r < k; r++) {
          regions.push({
            pattern: pats.slice(r * hidden, (r + 1) * hidden),
            centre: centres.slice(r * n, (r + 1) * n),
            radius: radii[r],
            thin: thins[r] !== 0,
            slack: slack.slice(r * hidden, (r + 1) * hidden),
          });
        }
      }
      opts.onProgress?.({ phase: 'enumerate', regions: count, pending, explored, lps, elapsedMs: performance.now() - t0 });
      if (state === 'limit') throw new RegionLimitError(maxRegions, 'the area');
      if (state === 'done') {
        if (regions.length === 0) {
          throw new InputError(
            area.inputSet
              ? 'the area is empty: no point of the box satisfies A x <= b (to the LP feasibility tolerance)'
              : 'the area is empty (the LP finds no point in the box)',
            { field: area.inputSet ? 'A' : 'box' },
          );
        }
        const slackRegions = regions.filter((r) => r.slack.some((v) => v > 0)).length;
        return { regions, thin, slackRegions, forced, empty, lps, ms: performance.now() - t0, eps, minRadius };
      }
      await pause();
    }
  } finally {
    core.release(h);
  }
}
