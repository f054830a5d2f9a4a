/**
 * Original vs repaired on a data set: accuracy before and after, per class, predictions that
 * flipped (right → wrong, wrong → right, wrong → another wrong class), the inputs whose outputs
 * changed at all (bit for bit) and the largest output change. Both networks run in the core in
 * float64, in batches; labels are optional (without them only the prediction and output changes
 * are reported).
 */
import { InputError } from '../errors.js';
import type { Dataset, Evaluator } from '../eval.js';

export interface ClassComparison {
  label: number;
  /** Samples with this label. */
  count: number;
  correctBefore: number;
  correctAfter: number;
  /** correct / count (null when count is 0). */
  accuracyBefore: number | null;
  accuracyAfter: number | null;
}

export interface Comparison {
  schemaVersion: 1;
  samples: number;
  inputs: number;
  outputs: number;
  /** Whether labels were given (accuracy, per-class and right/wrong flips need them). */
  labelled: boolean;
  accuracy: { before: number; after: number; correctBefore: number; correctAfter: number } | null;
  perClass: ClassComparison[] | null;
  predictions: {
    /** Samples whose argmax changed. */
    changed: number;
    changedIndices: number[];
    /** Labelled only: right before, wrong after; wrong before, right after; wrong before and after, another class. */
    rightToWrong: number[] | null;
    wrongToRight: number[] | null;
    wrongToWrong: number[] | null;
  };
  outputChanges: {
    /** Samples with at least one output not bit-for-bit equal. */
    changed: number;
    changedIndices: number[];
    /** max over samples and outputs of |after − before| (null when nothing changed). */
    largestChange: { value: number; sample: number; output: number } | null;
  };
  ms: number;
}

export interface CompareOptions {
  /** Samples per forward batch (default 1000). */
  batch?: number;
  /** Named in errors. */
  file?: string;
}

const argmax = (y: Float64Array, off: number, k: number) => {
  let best = 0;
  for (let j = 1; j < k; j++) if (y[off + j] > y[off + best]) best = j;
  return best;
};

/** Compares `original` and `repaired` on every sample of `data` (argmax predictions, first maximum on ties). */
export function compareModels(
  original: Evaluator,
  repaired: Evaluator,
  data: Dataset,
  labels?: ArrayLike<number>,
  opts: CompareOptions = {},
): Comparison {
  const t0 = performance.now();
  for (const [name, m] of [
    ['model', original],
    ['repaired', repaired],
  ] as const) {
    if (m.inputSize !== data.dim)
      throw new InputError(`samples have ${data.dim} values, the ${name} network has ${m.inputSize} inputs`, {
        file: opts.file,
        field: 'data',
        value: data.dim,
      });
  }
  if (original.outputSize !== repaired.outputSize) {
    throw new InputError(`the networks have ${original.outputSize} and ${repaired.outputSize} outputs`, {
      field: 'repaired',
      value: repaired.outputSize,
    });
  }
  const k = original.outputSize;
  if (labels !== undefined) {
    if (labels.length !== data.count)
      throw new InputError(`there are ${labels.length} labels for ${data.count} samples`, { field: 'labels', value: labels.length });
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (!Number.isInteger(v) || v < 0 || v >= k)
        throw new InputError(`is not a valid label (the networks have ${k} outputs: 0..${k - 1})`, { field: `labels[${i}]`, value: v });
    }
  }
  const perClass = labels ? Array.from({ length: k }, (_, label) => ({ label, count: 0, correctBefore: 0, correctAfter: 0 })) : null;
  const changedPred: number[] = [];
  const changedOut: number[] = [];
  const r2w: number[] = [];
  const w2r: number[] = [];
  const w2w: number[] = [];
  let largest: Comparison['outputChanges']['largestChange'] = null;
  let correctBefore = 0;
  let correctAfter = 0;
  const batch = Math.max(1, opts.batch ?? 1000);
  for (let s = 0; s < data.count; s += batch) {
    const c = Math.min(batch, data.count - s);
    const x = data.x.subarray(s * data.dim, (s + c) * data.dim);
    const ya = original.forwardFlat(x, c);
    const yb = repaired.forwardFlat(x, c);
    for (let i = 0; i < c; i++) {
      const idx = s + i;
      let differs = false;
      for (let j = 0; j < k; j++) {
        const a = ya[i * k + j];
        const b = yb[i * k + j];
        // Object.is: "changed at all" means not the same float64 (NaN equal to NaN, −0 ≠ +0).
        if (!Object.is(a, b)) {
          differs = true;
          const d = Math.abs(b - a);
          if (largest === null || d > largest.value) largest = { value: d, sample: idx, output: j };
        }
      }
      if (differs) changedOut.push(idx);
      const pa = argmax(ya, i * k, k);
      const pb = argmax(yb, i * k, k);
      if (pa !== pb) changedPred.push(idx);
      if (labels && perClass) {
        const y = labels[idx];
        const ra = pa === y;
        const rb = pb === y;
        perClass[y].count++;
        if (ra) {
          perClass[y].correctBefore++;
          correctBefore++;
        }
        if (rb) {
          perClass[y].correctAfter++;
          correctAfter++;
        }
        if (ra && !rb) r2w.push(idx);
        else if (!ra && rb) w2r.push(idx);
        else if (!ra && !rb && pa !== pb) w2w.push(idx);
      }
    }
  }
  return {
    schemaVersion: 1,
    samples: data.count,
    inputs: data.dim,
    outputs: k,
    labelled: labels !== undefined,
    accuracy: labels ? { before: correctBefore / data.count, after: correctAfter / data.count, correctBefore, correctAfter } : null,
    perClass: perClass
      ? perClass.map((p) => ({
          ...p,
          accuracyBefore: p.count ? p.correctBefore / p.count : null,
          accuracyAfter: p.count ? p.correctAfter / p.count : null,
        }))
      : null,
    predictions: {
      changed: changedPred.length,
      changedIndices: changedPred,
      rightToWrong: labels ? r2w : null,
      wrongToRight: labels ? w2r : null,
      wrongToWrong: labels ? w2w : null,
    },
    outputChanges: { changed: changedOut.length, changedIndices: changedOut, largestChange: largest },
    ms: performance.now() - t0,
  };
}
