/**
 * Points files: the buggy inputs and what each should satisfy.
 *
 *   { "points": [[...], ...],
 *     "targetLabel": K            // one label for every point, or
 *     "labels": [K0, K1, ...],    // one per point
 *     "inputBox"?: { "lower": [...] | number, "upper": [...] | number } }
 *
 * or an array `[{ "input": [...], "label": K }, ...]`. Other keys are ignored (the shared HCAS
 * file carries provenance and reference figures next to the points).
 */
import { InputError } from '../errors.js';
import { type Box, expandBox } from '../network.js';

export interface PointsFile {
  points: number[][];
  /** One label per point, when the file gives labels. */
  labels?: number[];
  inputBox?: Box;
}

function checkPoint(p: unknown, dim: number, file: string | undefined, field: string): number[] {
  if (!Array.isArray(p)) throw new InputError('must be an array of numbers', { file, field, value: p });
  if (p.length !== dim) throw new InputError(`has ${p.length} coordinates, the network has ${dim} inputs`, { file, field, value: p });
  p.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InputError('is not a finite number', { file, field: `${field}[${j}]`, value: v });
  });
  return p as number[];
}

function checkLabel(v: unknown, outputs: number, file: string | undefined, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= outputs) {
    throw new InputError(`is not a valid label: the network has ${outputs} outputs (labels 0..${outputs - 1})`, { file, field, value: v });
  }
  return v;
}

export function parsePoints(doc: unknown, dim: number, outputs: number, file?: string): PointsFile {
  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new InputError('has no points', { file, value: doc });
    const points: number[][] = [];
    const labels: number[] = [];
    doc.forEach((e, i) => {
      if (typeof e !== 'object' || e === null)
        throw new InputError('must be an object { "input": [...], "label": K }', { file, field: `[${i}]`, value: e });
      const r = e as Record<string, unknown>;
      points.push(checkPoint(r.input, dim, file, `[${i}].input`));
      if (r.label === undefined) throw new InputError('is missing', { file, field: `[${i}].label` });
      labels.push(checkLabel(r.label, outputs, file, `[${i}].label`));
    });
    return { points, labels };
  }
  if (typeof doc !== 'object' || doc === null)
    throw new InputError('must be an object with "points" or an array of { "input", "label" }', { file, value: doc });
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d.points) || d.points.length === 0)
    throw new InputError('must be a non-empty array of input vectors', { file, field: 'points', value: d.points });
  const points = d.points.map((p, i) => checkPoint(p, dim, file, `points[${i}]`));
  let labels: number[] | undefined;
  if (d.labels !== undefined && d.targetLabel !== undefined)
    throw new InputError('give "targetLabel" or "labels", not both', { file, field: 'labels' });
  if (d.targetLabel !== undefined) {
    const y = checkLabel(d.targetLabel, outputs, file, 'targetLabel');
    labels = points.map(() => y);
  } else if (d.labels !== undefined) {
    if (!Array.isArray(d.labels) || d.labels.length !== points.length) {
      throw new InputError(`must be an array with one label per point (${points.length})`, {
        file,
        field: 'labels',
        value: Array.isArray(d.labels) ? d.labels.length : d.labels,
      });
    }
    labels = d.labels.map((v, i) => checkLabel(v, outputs, file, `labels[${i}]`));
  }
  let inputBox: Box | undefined;
  if (d.inputBox !== undefined) {
    const b = d.inputBox as Record<string, unknown>;
    if (typeof b !== 'object' || b === null)
      throw new InputError('must be an object { "lower", "upper" }', { file, field: 'inputBox', value: b });
    inputBox = expandBox(b.lower, b.upper, dim, file, 'inputBox');
  }
  return { points, labels, inputBox };
}
