/**
 * The structured linear operators of a network graph (twin of crates/core/src/network/op.rs,
 * conv.rs, pool.rs): their descriptions, sizes, and a plain JavaScript forward pass used by the
 * readers to push constants through them (biases, constant inputs). Networks themselves are
 * evaluated by the core.
 */

/** `y = W x`, W row-major outputs × inputs. */
export interface DenseOp {
  readonly kind: 'dense';
  readonly inputs: number;
  readonly outputs: number;
  readonly weights: Float64Array;
}

/** The window of a convolution or pooling: kernel, strides, pads (top, left, bottom, right), dilations. */
export interface WindowSpec {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/**
 * A convolution (ONNX Conv) from the image side `[C, H, W]` to the feature side, or — `transposed`
 * — ONNX ConvTranspose from the feature side to the image side. Weights `[featureChannels][imageChannels / groups][kh][kw]`
 * (for ConvTranspose that is ONNX's own `[C_in][C_out / groups][kh][kw]`).
 */
export interface ConvOp extends WindowSpec {
  readonly kind: 'conv';
  readonly image: readonly [number, number, number];
  readonly features: readonly [number, number, number];
  readonly groups: number;
  readonly transposed: boolean;
  readonly weights: Float64Array;
}

/** Average pooling of each channel (ONNX AveragePool; `countIncludePad` as there). */
export interface AvgPoolOp extends WindowSpec {
  readonly kind: 'avgPool';
  readonly channels: number;
  readonly image: readonly [number, number];
  readonly output: readonly [number, number];
  readonly countIncludePad: boolean;
}

/** `y_i = s_i x_i`. */
export interface ScaleOp {
  readonly kind: 'scale';
  readonly values: Float64Array;
}

/** `y_i = x_{index_i}`, or 0 where index_i = −1 (flatten, transpose, pad, slice, concatenation placement, broadcast). */
export interface GatherOp {
  readonly kind: 'gather';
  readonly inputs: number;
  readonly index: Int32Array;
}

export interface IdentityOp {
  readonly kind: 'identity';
  readonly size: number;
}

export type LinearOp = DenseOp | ConvOp | AvgPoolOp | ScaleOp | GatherOp | IdentityOp;

const size3 = (s: readonly number[]) => s[0] * s[1] * s[2];

export function opInputs(op: LinearOp): number {
  switch (op.kind) {
    case 'dense':
      return op.inputs;
    case 'conv':
      return size3(op.transposed ? op.features : op.image);
    case 'avgPool':
      return op.channels * op.image[0] * op.image[1];
    case 'scale':
      return op.values.length;
    case 'gather':
      return op.inputs;
    case 'identity':
      return op.size;
  }
}

export function opOutputs(op: LinearOp): number {
  switch (op.kind) {
    case 'dense':
      return op.outputs;
    case 'conv':
      return size3(op.transposed ? op.image : op.features);
    case 'avgPool':
      return op.channels * op.output[0] * op.output[1];
    case 'scale':
      return op.values.length;
    case 'gather':
      return op.index.length;
    case 'identity':
      return op.size;
  }
}

/** Image row read by output row `o` at kernel offset `k` (axis 0 rows, 1 columns), or −1 outside an image of `size`. */
function source(w: WindowSpec, axis: 0 | 1, o: number, k: number, size: number): number {
  const p = o * w.strides[axis] + k * w.dilations[axis] - w.pads[axis];
  return p >= 0 && p < size ? p : -1;
}

/** Calls `f(p, w)` for the image pixels read by feature pixel q of a convolution. */
function convRow(op: ConvOp, q: number, f: (p: number, w: number) => void): void {
  const [cp, hp, wp] = op.image;
  const [cq, hq, wq] = op.features;
  const [kh, kw] = op.kernel;
  const gp = cp / op.groups;
  const o = Math.floor(q / (hq * wq));
  const oy = Math.floor(q / wq) % hq;
  const ox = q % wq;
  const c0 = Math.floor(o / (cq / op.groups)) * gp;
  for (let ci = 0; ci < gp; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      const y = source(op, 0, oy, ky, hp);
      if (y < 0) continue;
      for (let kx = 0; kx < kw; kx++) {
        const x = source(op, 1, ox, kx, wp);
        if (x >= 0) f(((c0 + ci) * hp + y) * wp + x, op.weights[((o * gp + ci) * kh + ky) * kw + kx]);
      }
    }
  }
}

/** Window positions of output row `o` that count towards an average pool's divisor. */
function poolCount(op: AvgPoolOp, axis: 0 | 1, o: number): number {
  const size = op.image[axis];
  const padded = size + op.pads[axis] + op.pads[axis + 2];
  let n = 0;
  for (let k = 0; k < op.kernel[axis]; k++) {
    const t = o * op.strides[axis] + k * op.dilations[axis];
    if (op.countIncludePad ? t < padded : source(op, axis, o, k, size) >= 0) n++;
  }
  return n;
}

/** y += A x (the readers' constant propagation; same definitions as the core). */
export function forwardAdd(op: LinearOp, x: ArrayLike<number>, y: Float64Array): void {
  switch (op.kind) {
    case 'dense':
      for (let i = 0; i < op.outputs; i++) {
        let s = 0;
        for (let j = 0; j < op.inputs; j++) s += op.weights[i * op.inputs + j] * x[j];
        y[i] += s;
      }
      return;
    case 'conv': {
      const features = size3(op.features);
      for (let q = 0; q < features; q++) {
        if (op.transposed) {
          const v = x[q];
          if (v !== 0) convRow(op, q, (p, w) => (y[p] += w * v));
        } else {
          let s = 0;
          convRow(op, q, (p, w) => (s += w * x[p]));
          y[q] += s;
        }
      }
      return;
    }
    case 'avgPool': {
      const [h, w] = op.image;
      const [oh, ow] = op.output;
      for (let c = 0; c < op.channels; c++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let s = 0;
            for (let ky = 0; ky < op.kernel[0]; ky++) {
              const py = source(op, 0, oy, ky, h);
              if (py < 0) continue;
              for (let kx = 0; kx < op.kernel[1]; kx++) {
                const px = source(op, 1, ox, kx, w);
                if (px >= 0) s += x[(c * h + py) * w + px];
              }
            }
            y[(c * oh + oy) * ow + ox] += s / (poolCount(op, 0, oy) * poolCount(op, 1, ox));
          }
        }
      }
      return;
    }
    case 'scale':
      for (let i = 0; i < op.values.length; i++) y[i] += op.values[i] * x[i];
      return;
    case 'gather':
      for (let i = 0; i < op.index.length; i++) if (op.index[i] >= 0) y[i] += x[op.index[i]];
      return;
    case 'identity':
      for (let i = 0; i < op.size; i++) y[i] += x[i];
      return;
  }
}

/** Output size of a window along one axis (ONNX floor mode, or ceil mode), or 0 when the window does not fit. */
export function windowOutput(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceil = false,
) {
  const span = (kernel - 1) * dilation + 1;
  const room = size + padBefore + padAfter - span;
  if (room < 0) return 0;
  return (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
}

/** Number of stored parameters of an operator. */
export function opParameters(op: LinearOp): number {
  switch (op.kind) {
    case 'dense':
    case 'conv':
      return op.weights.length;
    case 'scale':
      return op.values.length;
    case 'gather':
      return op.index.length;
    default:
      return 0;
  }
}
