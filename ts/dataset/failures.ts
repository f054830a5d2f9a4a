/**
 * A data set's failures as a points file for `repair --points`: the misclassified inputs, each
 * with its true label (the label spec the repair must make hold on the input's whole linear
 * region), their indices in the data set and what the model predicted.
 */
import { InputError } from '../errors.js';
import type { Dataset, Evaluator } from '../eval.js';
import type { Box } from '../network.js';

export interface FailuresFile {
  /** The misclassified inputs (as the network sees them: scaled). */
  points: number[][];
  /** The true label of each point (read by `parsePoints` as per-point label specs). */
  labels: number[];
  /** Index of each point in the data set. */
  indices: number[];
  /** What the model predicted there. */
  predicted: number[];
  /** The input domain of the repair, when known (e.g. [0, 1] for uint8 images scaled by 1/255). */
  inputBox?: Box;
  /** Failures in the whole data set (points may hold fewer: `limit`). */
  failures: number;
  samples: number;
}

export interface FindFailuresOptions {
  /** Keep the first `limit` failures in data-set order (default: all). */
  limit?: number;
  inputBox?: Box;
  batch?: number;
}

/** Misclassified samples of `data` under `model` (argmax, first maximum on ties). */
export function findFailures(model: Evaluator, data: Dataset, labels: ArrayLike<number>, opts: FindFailuresOptions = {}): FailuresFile {
  if (data.dim !== model.inputSize)
    throw new InputError(`samples have ${data.dim} values, the network has ${model.inputSize} inputs`, { field: 'data', value: data.dim });
  if (labels.length !== data.count)
    throw new InputError(`there are ${labels.length} labels for ${data.count} samples`, { field: 'labels', value: labels.length });
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 1)) throw new InputError('must be >= 1', { field: 'limit', value: limit });
  const k = model.outputSize;
  const out: FailuresFile = { points: [], labels: [], indices: [], predicted: [], failures: 0, samples: data.count };
  const batch = Math.max(1, opts.batch ?? 1000);
  for (let s = 0; s < data.count; s += batch) {
    const c = Math.min(batch, data.count - s);
    const y = model.forwardFlat(data.x.subarray(s * data.dim, (s + c) * data.dim), c);
    for (let i = 0; i < c; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (y[i * k + j] > y[i * k + best]) best = j;
      const idx = s + i;
      const label = labels[idx];
      if (!Number.isInteger(label) || label < 0 || label >= k)
        throw new InputError(`is not a valid label (the network has ${k} outputs: 0..${k - 1})`, { field: `labels[${idx}]`, value: label });
      if (best === label) continue;
      out.failures++;
      if (out.points.length >= limit) continue;
      out.points.push(Array.from(data.x.subarray(idx * data.dim, (idx + 1) * data.dim)));
      out.labels.push(label);
      out.indices.push(idx);
      out.predicted.push(best);
    }
  }
  if (opts.inputBox) out.inputBox = opts.inputBox;
  return out;
}

/**
 * The natural input domain of a data set stored as unsigned bytes: [0, 255·scale] per input
 * (MNIST with the usual 1/255 scaling: [0, 1]); undefined for other element types.
 */
export function storedRangeBox(data: Dataset): Box | undefined {
  if (data.dtype !== 'uint8') return undefined;
  const hi = 255 * data.scale;
  return { lower: new Array<number>(data.dim).fill(Math.min(0, hi)), upper: new Array<number>(data.dim).fill(Math.max(0, hi)) };
}
