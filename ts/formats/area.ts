/**
 * Area files: the input area of an area repair or a certificate, and optionally its spec.
 *
 *   { "box": { "lower": [...] | number, "upper": [...] | number },   // or "inputBox", or lower/upper at the top
 *     "A"?: [[...], ...], "b"?: [...],                               // H-polytope rows A x <= b (∩ the box)
 *     "targetLabel"? | "label"?: K, "margin"?: m,                     // a label spec, or
 *     "spec"?: { "label": K, "margin"?: m } | { "P": [[...]], "q": [...] } }
 *
 * Other keys are ignored, so the shared HCAS task `area-repair-pra1-tau20.json` (box, targetLabel
 * and the reference's buggy regions) is an area file as it is.
 */

import type { Area } from '../enumerate.js';
import { InputError } from '../errors.js';
import { expandBox } from '../network.js';
import { labelSpec, parseSpecJson, type Spec } from '../spec.js';

export interface AreaFile {
  area: Area;
  /** The spec the file names, if any. */
  spec?: Spec;
}

export function parseAreaJson(doc: unknown, inputs: number, outputs: number, file?: string): AreaFile {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InputError('an area file must be a JSON object with "box" ({ "lower", "upper" })', { file, value: doc });
  }
  const d = doc as Record<string, unknown>;
  const [field, b] =
    d.box !== undefined
      ? ['box', d.box]
      : d.inputBox !== undefined
        ? ['inputBox', d.inputBox]
        : d.lower !== undefined
          ? ['', d]
          : ['box', undefined];
  if (typeof b !== 'object' || b === null)
    throw new InputError('is missing: an area needs a box { "lower", "upper" }', { file, field: field || 'box', value: b });
  const box = expandBox((b as Record<string, unknown>).lower, (b as Record<string, unknown>).upper, inputs, file, field || undefined);
  const area: Area = { box };
  if (d.A !== undefined || d.b !== undefined) {
    if (!Array.isArray(d.A) || !Array.isArray(d.b))
      throw new InputError('"A" and "b" must both be arrays (rows of A x <= b)', { file, field: d.A === undefined ? 'A' : 'b' });
    if (d.A.length !== d.b.length)
      throw new InputError(`must have one entry per row of A (${d.A.length})`, { file, field: 'b', value: d.b.length });
    const A = new Float64Array(d.A.length * inputs);
    d.A.forEach((row: unknown, i: number) => {
      if (!Array.isArray(row) || row.length !== inputs)
        throw new InputError(`must have ${inputs} entries (one per network input)`, {
          file,
          field: `A[${i}]`,
          value: Array.isArray(row) ? row.length : row,
        });
      row.forEach((v: unknown, j: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new InputError('is not a finite number', { file, field: `A[${i}][${j}]`, value: v });
        A[i * inputs + j] = v;
      });
    });
    const bb = Float64Array.from(
      d.b.map((v: unknown, i: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new InputError('is not a finite number', { file, field: `b[${i}]`, value: v });
        return v;
      }),
    );
    area.inputSet = { A, b: bb };
  }
  let spec: Spec | undefined;
  const label = d.targetLabel ?? d.label;
  if (d.spec !== undefined) {
    if (label !== undefined) throw new InputError('give either "spec" or a label, not both', { file, field: 'spec' });
    spec = parseSpecJson(d.spec, outputs, file);
  } else if (label !== undefined) {
    const margin = d.margin === undefined ? 0 : (d.margin as number);
    spec = labelSpec(label as number, outputs, { margin, file, field: d.targetLabel !== undefined ? 'targetLabel' : 'label' });
  }
  return { area, spec };
}

export function areaToJson(a: AreaFile): Record<string, unknown> {
  const n = a.area.box.lower.length;
  const out: Record<string, unknown> = { box: { lower: [...a.area.box.lower], upper: [...a.area.box.upper] } };
  if (a.area.inputSet) {
    const { A, b } = a.area.inputSet;
    out.A = Array.from({ length: b.length }, (_, i) => Array.from(A.subarray(i * n, (i + 1) * n)));
    out.b = Array.from(b);
  }
  if (a.spec) {
    if (a.spec.label !== undefined) out.spec = { label: a.spec.label, ...(a.spec.margin ? { margin: a.spec.margin } : {}) };
    else {
      const k = a.spec.outputs;
      out.spec = {
        P: Array.from({ length: a.spec.q.length }, (_, i) => Array.from(a.spec!.P.subarray(i * k, (i + 1) * k))),
        q: Array.from(a.spec.q),
      };
    }
  }
  return out;
}
