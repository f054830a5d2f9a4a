/**
 * Output specifications Φ_out = { y : P y <= q } (a convex polytope, METHOD.md §1), the form the
 * repair LPs need. A label spec "class y wins by at least `margin`" is P = rows (e_j − e_y),
 * q = −margin, j ≠ y.
 */
import { InputError } from './errors.js';

export interface Spec {
  readonly outputs: number;
  /** Row-major `rows × outputs`. */
  readonly P: Float64Array;
  readonly q: Float64Array;
  /** Set for label specs. */
  readonly label?: number;
  readonly margin?: number;
}

export function specRows(s: Spec): number {
  return s.q.length;
}

/** "Output `label` is the argmax" (ties allowed unless `margin` > 0). */
export function labelSpec(label: number, outputs: number, opts: { margin?: number; file?: string; field?: string } = {}): Spec {
  const where = { file: opts.file, field: opts.field ?? 'label' };
  if (!Number.isInteger(outputs) || outputs < 2)
    throw new InputError('a label spec needs a network with at least 2 outputs', { ...where, value: outputs });
  if (!Number.isInteger(label) || label < 0 || label >= outputs) {
    throw new InputError(`label is out of range: the network has ${outputs} outputs (labels 0..${outputs - 1})`, {
      ...where,
      value: label,
    });
  }
  const margin = opts.margin ?? 0;
  if (!Number.isFinite(margin) || margin < 0)
    throw new InputError('margin must be a finite number >= 0', { file: opts.file, field: 'margin', value: margin });
  const P = new Float64Array((outputs - 1) * outputs);
  const q = new Float64Array(outputs - 1).fill(-margin);
  let r = 0;
  for (let j = 0; j < outputs; j++) {
    if (j === label) continue;
    P[r * outputs + j] = 1;
    P[r * outputs + label] = -1;
    r++;
  }
  return { outputs, P, q, label, margin };
}

/** Φ_out = { y : P y <= q } from nested arrays. */
export function polytopeSpec(
  P: readonly (readonly number[])[],
  q: readonly number[],
  opts: { outputs?: number; file?: string } = {},
): Spec {
  const file = opts.file;
  if (!Array.isArray(P) || P.length === 0) throw new InputError('must be a non-empty array of rows', { file, field: 'P', value: P });
  if (!Array.isArray(q) || q.length !== P.length)
    throw new InputError(`must have one entry per row of P (${P.length})`, { file, field: 'q', value: Array.isArray(q) ? q.length : q });
  const k = opts.outputs ?? P[0].length;
  const flat = new Float64Array(P.length * k);
  P.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== k)
      throw new InputError(`must have ${k} entries (one per network output)`, {
        file,
        field: `P[${i}]`,
        value: Array.isArray(row) ? row.length : row,
      });
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InputError('is not a finite number', { file, field: `P[${i}][${j}]`, value: v });
      flat[i * k + j] = v;
    });
  });
  q.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError('is not a finite number', { file, field: `q[${i}]`, value: v });
  });
  const spec = { outputs: k, P: flat, q: Float64Array.from(q) };
  checkNonEmptyRows(spec, file);
  return spec;
}

function checkNonEmptyRows(s: Spec, file?: string): void {
  for (let i = 0; i < s.q.length; i++) {
    let l1 = 0;
    for (let j = 0; j < s.outputs; j++) l1 += Math.abs(s.P[i * s.outputs + j]);
    if (l1 === 0 && s.q[i] < 0) throw new InputError(`row reads 0 <= ${-s.q[i]}, so the output set is empty`, { file, field: `P[${i}]` });
  }
}

/** max_j (P_j y − q_j): <= 0 iff y satisfies the spec. */
export function specViolation(s: Spec, y: ArrayLike<number>): number {
  let worst = -Infinity;
  for (let i = 0; i < s.q.length; i++) {
    let v = -s.q[i];
    for (let j = 0; j < s.outputs; j++) v += s.P[i * s.outputs + j] * y[j];
    worst = Math.max(worst, v);
  }
  return worst;
}

/** The intersection of several specs (stacked rows, duplicates dropped). */
export function intersectSpecs(specs: readonly Spec[]): Spec {
  if (specs.length === 0) throw new InputError('no spec to intersect');
  const k = specs[0].outputs;
  if (specs.length === 1) return specs[0];
  const seen = new Set<string>();
  const P: number[] = [];
  const q: number[] = [];
  for (const s of specs) {
    if (s.outputs !== k) throw new InputError(`specs disagree on the number of outputs (${k} and ${s.outputs})`);
    for (let i = 0; i < s.q.length; i++) {
      const row = Array.from(s.P.subarray(i * k, (i + 1) * k));
      const key = JSON.stringify([row, s.q[i]]);
      if (seen.has(key)) continue;
      seen.add(key);
      P.push(...row);
      q.push(s.q[i]);
    }
  }
  const labels = new Set(specs.map((s) => s.label));
  const margins = new Set(specs.map((s) => s.margin));
  const out: Spec = { outputs: k, P: Float64Array.from(P), q: Float64Array.from(q) };
  if (labels.size === 1 && margins.size === 1 && specs[0].label !== undefined)
    return { ...out, label: specs[0].label, margin: specs[0].margin };
  return out;
}

/** Human-readable one-liner. */
export function describeSpec(s: Spec): string {
  if (s.label !== undefined) return `label ${s.label} is the argmax${s.margin ? ` by >= ${s.margin}` : ''}`;
  return `P y <= q with ${s.q.length} rows over ${s.outputs} outputs`;
}

/** Reads a spec document: `{ "label": K, "margin"?: m }` or `{ "P": [[...]], "q": [...] }`. */
export function parseSpecJson(doc: unknown, outputs: number, file?: string): Spec {
  if (typeof doc !== 'object' || doc === null)
    throw new InputError('a spec must be a JSON object with "label" or "P" and "q"', { file, value: doc });
  const d = doc as Record<string, unknown>;
  if ('label' in d) {
    return labelSpec(d.label as number, outputs, { margin: (d.margin as number | undefined) ?? 0, file, field: 'label' });
  }
  if ('P' in d) {
    const spec = polytopeSpec(d.P as number[][], d.q as number[], { file });
    if (spec.outputs !== outputs)
      throw new InputError(`has ${spec.outputs} columns, the network has ${outputs} outputs`, { file, field: 'P[0]', value: spec.outputs });
    return spec;
  }
  throw new InputError('a spec needs "label" or "P" and "q"', { file, value: Object.keys(d) });
}
