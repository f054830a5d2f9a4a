/**
 * The options point-wise repair (ts/repair.ts) and area repair (ts/area.ts) share, checked and
 * resolved to their defaults in one place: the spec (or labels), the locality radius, row pruning
 * and the full-LP backend; for area repair also the area and a non-empty safe set (`resolveAreaJob`).
 */
import { checkSafeSetNotEmpty } from './certificate.js';
import { type Area, checkArea } from './enumerate.js';
import { InputError } from './errors.js';
import type { LpBackend } from './lp/backend.js';
import { GlpkBackend } from './lp/glpk.js';
import { backendByName, type LpName } from './lp/select.js';
import type { Box, Network } from './network.js';
import type { InputSet } from './region.js';
import { labelSpec, type Spec } from './spec.js';
import type { SpecUnion } from './spec-union.js';

/** Φ_out as the caller gives it: `spec` (one, or one per point) or `labels`, with `margin`. */
export interface SpecChoice {
  spec?: Spec | SpecUnion | readonly (Spec | SpecUnion)[];
  labels?: number | readonly number[];
  margin?: number;
}

/** One spec per point (`count` points) from `spec` or `labels`; checked against the network's outputs. */
export function resolveSpecs(network: Network, count: number, opts: SpecChoice): (Spec | SpecUnion)[] {
  const k = network.outputSize;
  if (opts.spec !== undefined && opts.labels !== undefined)
    throw new InputError('give either "spec" or "labels", not both', { field: 'spec' });
  let specs: (Spec | SpecUnion)[];
  if (opts.spec !== undefined) {
    if (Array.isArray(opts.spec)) {
      if (opts.spec.length !== count)
        throw new InputError(`has ${opts.spec.length} specs for ${count} points`, { field: 'spec', value: opts.spec.length });
      specs = [...(opts.spec as (Spec | SpecUnion)[])];
    } else {
      specs = new Array(count).fill(opts.spec as Spec | SpecUnion);
    }
  } else if (opts.labels !== undefined) {
    const labels = typeof opts.labels === 'number' ? new Array(count).fill(opts.labels) : [...opts.labels];
    if (labels.length !== count)
      throw new InputError(`has ${labels.length} labels for ${count} points`, { field: 'labels', value: labels.length });
    const cache = new Map<number, Spec>();
    specs = labels.map((y, i) => {
      let s = cache.get(y);
      if (!s) {
        s = labelSpec(y, k, { margin: opts.margin, field: typeof opts.labels === 'number' ? 'label' : `labels[${i}]` });
        cache.set(y, s);
      }
      return s;
    });
  } else {
    throw new InputError('no specification: give "spec" (P y <= q) or "labels"', { field: 'spec' });
  }
  specs.forEach((s, i) => {
    if (s.outputs !== k) throw new InputError(`has ${s.outputs} outputs, the network has ${k}`, { field: `spec[${i}]`, value: s.outputs });
  });
  return specs;
}

/**
 * The same point (bit for bit) given twice with different labels cannot be repaired (no output
 * makes both labels the argmax, except a tie the repair would then certify): refused, naming
 * both indices and labels.
 */
export function checkConflictingLabels(flat: Float64Array, count: number, n: number, specs: readonly (Spec | SpecUnion)[]): void {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const key = Array.from(flat.subarray(i * n, (i + 1) * n), (v) => (Object.is(v, -0) ? '0' : String(v))).join(',');
    const j = seen.get(key);
    if (j === undefined) {
      seen.set(key, i);
      continue;
    }
    const [a, b] = [specs[j] as Spec, specs[i] as Spec];
    if (a.label !== undefined && b.label !== undefined && a.label !== b.label)
      throw new InputError(`is the same point as points[${j}] but has label ${b.label}, that one ${a.label}`, {
        field: `points[${i}]`,
        value: key,
      });
  }
}

/** Every point must lie in the input set {x : A x <= b} (up to rounding). */
export function checkInputSet(set: InputSet, flat: Float64Array, count: number, n: number): void {
  const m = set.b.length;
  if (set.A.length !== m * n)
    throw new InputError(`has ${set.A.length} coefficients for ${m} rows of ${n} inputs`, { field: 'inputSet.A', value: set.A.length });
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < m; r++) {
      let v = -set.b[r];
      let scale = Math.abs(set.b[r]);
      for (let j = 0; j < n; j++) {
        v += set.A[r * n + j] * flat[i * n + j];
        scale += Math.abs(set.A[r * n + j] * flat[i * n + j]);
      }
      if (v > 1e-12 * (1 + scale))
        throw new InputError(`lies outside the input set (row ${r} exceeded by ${v})`, {
          field: `points[${i}]`,
          value: Array.from(flat.subarray(i * n, (i + 1) * n)),
        });
    }
  }
}

/** Default largest locality radius: 1e-3 × the narrowest side of the box (1e-3 when it has none). */
export function defaultRadius(box: Box): number {
  let side = Infinity;
  for (let j = 0; j < box.lower.length; j++) {
    const w = box.upper[j] - box.lower[j];
    if (w > 0) side = Math.min(side, w);
  }
  return Number.isFinite(side) ? 1e-3 * side : 1e-3;
}

/** The largest locality radius: `radius`, else {@link defaultRadius} of the box; must be finite and > 0. */
export function resolveRadius(radius: number | undefined, box: Box): number {
  const r = radius ?? defaultRadius(box);
  if (!(Number.isFinite(r) && r > 0)) throw new InputError('must be a finite number > 0', { field: 'radius', value: r });
  return r;
}

/** Whether to drop redundant support rows: `auto` (the default) for inputs of dimension <= 16. */
export function resolvePrune(prune: boolean | 'auto' | undefined, inputs: number): boolean {
  return prune === undefined || prune === 'auto' ? inputs <= 16 : prune;
}

/** The full-LP backend: by name, the given object, or glpk.js. */
export function resolveBackend(lp: LpBackend | LpName | undefined): LpBackend {
  return typeof lp === 'string' ? backendByName(lp) : (lp ?? new GlpkBackend());
}

/** What every area repair (ts/area.ts, ts/area-bab.ts) resolves from its options before work starts. */
export interface AreaJob {
  box: Box;
  inputSet?: InputSet;
  spec: Spec | SpecUnion;
  rMax: number;
  prune: boolean;
  backend: LpBackend;
}

/**
 * Checks an area repair's options (the area, one spec or one label, a non-empty safe set) and
 * resolves the radius, pruning and LP backend to their defaults.
 */
export function resolveAreaJob(
  network: Network,
  opts: {
    area: Area;
    spec?: Spec | SpecUnion;
    label?: number;
    margin?: number;
    radius?: number;
    prune?: boolean | 'auto';
    lp?: LpBackend | LpName;
  },
): AreaJob {
  const n = network.inputSize;
  checkArea(opts.area, n);
  const { box, inputSet } = opts.area;
  if (opts.spec !== undefined && opts.label !== undefined)
    throw new InputError('give either "spec" or "label", not both', { field: 'spec' });
  const [spec] = resolveSpecs(network, 1, { spec: opts.spec, labels: opts.label, margin: opts.margin });
  checkSafeSetNotEmpty(spec);
  return {
    box,
    ...(inputSet ? { inputSet } : {}),
    spec,
    rMax: resolveRadius(opts.radius, box),
    prune: resolvePrune(opts.prune, n),
    backend: resolveBackend(opts.lp),
  };
}
