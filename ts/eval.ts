/**
 * Accuracy of a network (plain or repaired) on a labelled data set: images from IDX (optionally
 * gzip) or `.npy`, labels from IDX, `.npy` or text (one number per line or whitespace-separated).
 * Evaluation runs in the core in float64, in batches.
 */
import { InputError } from './errors.js';
import { maybeGunzip, parseIdx } from './formats/idx.js';
import { parseNpy } from './formats/npy.js';

export interface Evaluator {
  readonly inputSize: number;
  readonly outputSize: number;
  forwardFlat(flat: Float64Array, count: number): Float64Array;
}

export interface Dataset {
  /** Row-major `count × dim`, already scaled. */
  x: Float64Array;
  count: number;
  dim: number;
  /** The factor the stored values were multiplied by (1/255 for uint8 images with `scale: 'auto'`). */
  scale: number;
  /** The stored element type (`uint8`, `float32`, ...). */
  dtype: string;
}

const IDX_TYPES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };
const NPY_TYPES: Record<string, string> = {
  u1: 'uint8',
  i1: 'int8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  f4: 'float32',
  f8: 'float64',
  b1: 'bool',
};

const isNpy = (name: string) => name.toLowerCase().endsWith('.npy');

/**
 * Images (or any inputs) from an IDX or `.npy` file: the first dimension counts samples, the rest
 * is flattened in C order. `scale: 'auto'` divides uint8 data by 255 (the usual ToTensor
 * convention for MNIST-style pixels) and leaves other types alone.
 */
export async function parseImages(bytes: Uint8Array, name: string, opts: { scale?: number | 'auto' } = {}): Promise<Dataset> {
  let shape: number[];
  let data: Float64Array;
  let dtype: string;
  if (isNpy(name)) {
    const a = parseNpy(bytes, name);
    shape = a.shape;
    data = a.data;
    dtype = NPY_TYPES[a.dtype.slice(1)] ?? a.dtype;
  } else {
    const a = parseIdx(await maybeGunzip(bytes, name), name);
    shape = a.shape;
    data = a.data;
    dtype = IDX_TYPES[a.type] ?? `type ${a.type}`;
  }
  if (shape.length < 1 || shape[0] === 0) throw new InputError('holds no samples', { file: name, field: 'shape', value: shape });
  const count = shape[0];
  const dim = shape.length === 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
  const requested = opts.scale ?? 'auto';
  const scale = requested === 'auto' ? (dtype === 'uint8' ? 1 / 255 : 1) : requested;
  if (!Number.isFinite(scale) || scale === 0)
    throw new InputError('must be a finite non-zero number or "auto"', { field: 'scale', value: requested });
  // A scale 1/N (1/255 for pixels) divides by N: k/N correctly rounded, as `pixel / 255` computes
  // it; multiplying by the rounded 1/255 differs in the last bit for 24 of the 256 byte values.
  const divisor = 1 / scale;
  const x = scale === 1 ? data : Number.isInteger(divisor) ? data.map((v) => v / divisor) : data.map((v) => v * scale);
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new InputError('is not a finite number', { file: name, field: `[${Math.floor(bad / dim)}][${bad % dim}]`, value: x[bad] });
  return { x, count, dim, scale, dtype };
}

/** Labels from IDX, `.npy` or text; every label must be an integer in [0, classes). */
export async function parseLabels(bytes: Uint8Array, name: string, classes?: number): Promise<Int32Array> {
  let values: ArrayLike<number>;
  const lower = name.toLowerCase();
  if (isNpy(name)) values = parseNpy(bytes, name).data;
  else if (lower.endsWith('.txt') || lower.endsWith('.csv')) {
    const text = new TextDecoder().decode(bytes);
    const tokens = text.split(/[\s,]+/).filter((t) => t !== '');
    values = tokens.map((t, i) => {
      const v = Number(t);
      if (!Number.isFinite(v)) throw new InputError('is not a number', { file: name, field: `label ${i}`, value: t });
      return v;
    });
  } else values = parseIdx(await maybeGunzip(bytes, name), name).data;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || (classes !== undefined && v >= classes)) {
      throw new InputError(
        `is not a valid label${classes !== undefined ? ` (the network has ${classes} outputs: 0..${classes - 1})` : ''}`,
        { file: name, field: `label ${i}`, value: v },
      );
    }
    out[i] = v;
  }
  if (out.length === 0) throw new InputError('holds no labels', { file: name });
  return out;
}

export interface AccuracyResult {
  correct: number;
  total: number;
  /** correct / total, in [0, 1]. */
  accuracy: number;
  /** argmax per sample (first maximum on ties). */
  predictions: Int32Array;
}

/** Argmax accuracy of `model` on `data` against `labels`. */
export function accuracy(
  model: Evaluator,
  data: Dataset,
  labels: ArrayLike<number>,
  opts: { batch?: number; file?: string } = {},
): AccuracyResult {
  if (data.dim !== model.inputSize) {
    throw new InputError(`samples have ${data.dim} values, the network has ${model.inputSize} inputs`, {
      file: opts.file,
      field: 'images',
      value: data.dim,
    });
  }
  if (labels.length !== data.count)
    throw new InputError(`there are ${labels.length} labels for ${data.count} samples`, { field: 'labels', value: labels.length });
  const k = model.outputSize;
  const batch = Math.max(1, opts.batch ?? 1000);
  const predictions = new Int32Array(data.count);
  let correct = 0;
  for (let s = 0; s < data.count; s += batch) {
    const c = Math.min(batch, data.count - s);
    const y = model.forwardFlat(data.x.subarray(s * data.dim, (s + c) * data.dim), c);
    for (let i = 0; i < c; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (y[i * k + j] > y[i * k + best]) best = j;
      predictions[s + i] = best;
      if (best === labels[s + i]) correct++;
    }
  }
  return { correct, total: data.count, accuracy: correct / data.count, predictions };
}
