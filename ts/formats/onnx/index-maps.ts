/**
 * Index maps over flat row-major tensors: which input element each output element copies (−1:
 * none, a zero or a constant). Transpose, slice, pad, broadcast, gather along an axis and the
 * placement of a concatenation's parts are all such maps; the reader applies them to data
 * expressions (`gatherExpr`) and to constants alike.
 */
import { prod } from './proto.js';

export function strides(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Calls f(flat index, multi-index) for every element of `dims`, in row-major order. */
function each(dims: readonly number[], f: (k: number, idx: number[]) => void): void {
  const n = prod(dims);
  const idx = new Array(dims.length).fill(0);
  for (let k = 0; k < n; k++) {
    f(k, idx);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

/** out[...] = in[permuted ...]: output dims[i] = input dims[perm[i]]. */
export function transposeIndex(dims: readonly number[], perm: readonly number[]): { index: Int32Array; dims: number[] } {
  const out = perm.map((p) => dims[p]);
  const st = strides(dims);
  const index = new Int32Array(prod(out));
  each(out, (k, idx) => {
    let off = 0;
    for (let i = 0; i < perm.length; i++) off += idx[i] * st[perm[i]];
    index[k] = off;
  });
  return { index, dims: out };
}

/** Elements start, start + step, … (before end) on each axis. */
export function sliceIndex(
  dims: readonly number[],
  starts: readonly number[],
  steps: readonly number[],
  counts: readonly number[],
): { index: Int32Array; dims: number[] } {
  const st = strides(dims);
  const out = [...counts];
  const index = new Int32Array(prod(out));
  each(out, (k, idx) => {
    let off = 0;
    for (let i = 0; i < dims.length; i++) off += (starts[i] + idx[i] * steps[i]) * st[i];
    index[k] = off;
  });
  return { index, dims: out };
}

/**
 * ONNX Slice's normalised start and count on one axis of size `size` (negative indices count from
 * the end; out-of-range ones are clamped; a negative step walks backwards).
 */
export function sliceAxis(size: number, start: number, end: number, step: number): { start: number; count: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  if (step > 0) {
    s = clamp(s, 0, size);
    e = clamp(e, 0, size);
    return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = clamp(s, 0, size - 1);
  e = clamp(e, -1, size - 1);
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

/**
 * Padding: `before[i]`/`after[i]` elements on axis i (negative values crop). `constant` mode marks
 * padded elements −1; `reflect` mirrors without repeating the edge, `edge` repeats it, `wrap`
 * wraps around.
 */
export function padIndex(
  dims: readonly number[],
  before: readonly number[],
  after: readonly number[],
  mode: 'constant' | 'reflect' | 'edge' | 'wrap',
): { index: Int32Array; dims: number[] } | string {
  const out = dims.map((d, i) => d + before[i] + after[i]);
  if (out.some((d) => d < 0)) return `pads ${JSON.stringify([...before, ...after])} crop more than the tensor ${JSON.stringify(dims)}`;
  if (mode === 'reflect' && dims.some((d, i) => (before[i] > 0 || after[i] > 0) && (before[i] >= d || after[i] >= d)))
    return 'reflect padding must be smaller than the padded dimension';
  const st = strides(dims);
  const index = new Int32Array(prod(out));
  each(out, (k, idx) => {
    let off = 0;
    for (let i = 0; i < dims.length; i++) {
      let p = idx[i] - before[i];
      const d = dims[i];
      if (p < 0 || p >= d) {
        if (mode === 'constant') {
          off = -1;
          break;
        }
        if (mode === 'edge') p = p < 0 ? 0 : d - 1;
        else if (mode === 'wrap') p = ((p % d) + d) % d;
        else p = p < 0 ? -p : 2 * (d - 1) - p;
      }
      off += p * st[i];
    }
    index[k] = off;
  });
  return { index, dims: out };
}

/** Broadcast of `from` (already padded to the same rank with 1s) to `to`. */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const st = strides(from);
  const index = new Int32Array(prod(to));
  each(to, (k, idx) => {
    let off = 0;
    for (let i = 0; i < to.length; i++) if (from[i] !== 1) off += idx[i] * st[i];
    index[k] = off;
  });
  return index;
}

/** numpy.take along `axis` with (non-negative, in-range) `indices` of shape `ishape`. */
export function takeIndex(dims: readonly number[], axis: number, indices: readonly number[], ishape: readonly number[]) {
  const out = [...dims.slice(0, axis), ...ishape, ...dims.slice(axis + 1)];
  const st = strides(dims);
  const index = new Int32Array(prod(out));
  const r = ishape.length;
  const ist = strides(ishape);
  each(out, (k, idx) => {
    let off = 0;
    for (let i = 0; i < axis; i++) off += idx[i] * st[i];
    let t = 0;
    for (let j = 0; j < r; j++) t += idx[axis + j] * ist[j];
    off += indices[t] * st[axis];
    for (let i = axis + 1; i < dims.length; i++) off += idx[i - 1 + r] * st[i];
    index[k] = off;
  });
  return { index, dims: out };
}

/** Where each part of a concatenation along `axis` lands: per part, an index map of the output (−1 elsewhere). */
export function concatPlacement(parts: readonly (readonly number[])[], axis: number): { maps: Int32Array[]; dims: number[] } {
  const dims = [...parts[0]];
  dims[axis] = parts.reduce((s, p) => s + p[axis], 0);
  const maps: Int32Array[] = [];
  let offset = 0;
  for (const p of parts) {
    const st = strides(p);
    const map = new Int32Array(prod(dims)).fill(-1);
    const lo = offset;
    each(dims, (k, idx) => {
      const a = idx[axis] - lo;
      if (a < 0 || a >= p[axis]) return;
      let off = 0;
      for (let i = 0; i < dims.length; i++) off += (i === axis ? a : idx[i]) * st[i];
      map[k] = off;
    });
    maps.push(map);
    offset += p[axis];
  }
  return { maps, dims };
}

/** Applies an index map to constant data (−1 gives `fill`). */
export function gatherConst(data: Float64Array, index: Int32Array, fill = 0): Float64Array {
  return Float64Array.from(index, (i) => (i < 0 ? fill : data[i]));
}
