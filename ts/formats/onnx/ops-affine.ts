/**
 * ONNX operators that are affine in the data: Gemm and MatMul (the constant on either side),
 * arithmetic with constants, sums and differences of data tensors (residual connections),
 * batch normalisation, convolution, transposed convolution and average pooling. Each composes
 * into the data's expression (./linear-expr.ts); nothing here emits a ReLU.
 */
import type { AvgPoolOp, ConvOp } from '../../network/ops.js';
import { windowOutput } from '../../network/ops.js';
import { transposeIndex } from './index-maps.js';
import { addExprs, applyOp, type Expr, leftMultiply, negateExpr, rightMultiply, scaleExpr, shiftExpr } from './linear-expr.js';
import { broadcastData, indexData } from './ops-shape.js';
import { prod } from './proto.js';
import { type ConstValue, type DataValue, type Reader, shapeText, stridesOf } from './reader.js';

/** y = x · B on the last axis (x data [..., K], B const K × N). */
function timesConst(r: Reader, x: DataValue, B: Float64Array, K: number, N: number, what: string): DataValue {
  const fs = r.featureShape(x);
  if (fs.length === 0 || fs[fs.length - 1] !== K)
    r.fail(`${what}: the data ${shapeText(x)} has ${fs[fs.length - 1] ?? 0} columns, the constant has ${K} rows`);
  const R = prod(fs.slice(0, -1));
  const expr = r.compose(x.expr, (e) => rightMultiply(e, B, R, K, N));
  return r.withFeatures(x, [...fs.slice(0, -1), N], expr);
}

/**
 * y = A · x for a constant matrix A (M × K) and data x whose features are [..., K, P] (or [K]):
 * numpy's matmul with the constant on the left, per sample.
 */
function constTimes(r: Reader, A: Float64Array, M: number, K: number, x: DataValue, what: string): DataValue {
  const fs = r.featureShape(x);
  const vector = fs.length === 1;
  if (fs.length === 0) r.fail(`${what}: the data has no feature dimension`);
  const k = vector ? fs[0] : fs[fs.length - 2];
  if (k !== K) r.fail(`${what}: the constant has ${K} columns, the data ${shapeText(x)} has ${k} rows`);
  const P = vector ? 1 : fs[fs.length - 1];
  const lead = vector ? 1 : prod(fs.slice(0, -2));
  const inDim = lead * K * P;
  const out = lead * M * P;
  if (out * inDim > 5e7) r.fail(`${what}: a ${M}×${K} constant applied to ${shapeText(x)} is too large to compose`);
  const L = new Float64Array(out * inDim);
  for (let l = 0; l < lead; l++)
    for (let m = 0; m < M; m++)
      for (let p = 0; p < P; p++) for (let q = 0; q < K; q++) L[((l * M + m) * P + p) * inDim + (l * K + q) * P + p] = A[m * K + q];
  const expr = r.compose(x.expr, (e) => leftMultiply(e, L, out));
  const features = vector ? [M] : [...fs.slice(0, -2), M, P];
  return r.withFeatures(x, features, expr);
}

export function gemm(r: Reader): void {
  const a = r.get(0, 'A');
  const b = r.get(1, 'B');
  const alpha = r.floatAttr('alpha', 1);
  const beta = r.floatAttr('beta', 1);
  const transA = r.intAttr('transA', 0) !== 0;
  const transB = r.intAttr('transB', 0) !== 0;
  let y: DataValue;
  if (a.kind === 'data') {
    if (b.kind === 'data') r.fail('Gemm of two data tensors is not piecewise linear');
    if (a.shape.length !== 2) r.fail(`Gemm needs a 2-D input A, got ${shapeText(a)}`);
    if (transA) {
      if (a.batched) r.fail('Gemm with transA = 1 on the data would transpose the batch dimension; not supported');
    }
    const B = r.constInput(1, 'B');
    if (B.dims.length !== 2) r.fail(`Gemm operand B must be 2-D, got shape ${JSON.stringify(B.dims)}`);
    const K = transB ? B.dims[1] : B.dims[0];
    const N = transB ? B.dims[0] : B.dims[1];
    const Bm = new Float64Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bm[k * N + j] = alpha * (transB ? B.data[j * K + k] : B.data[k * N + j]);
    const x = transA ? indexData(r, a, transposeIndex(a.shape, [1, 0]).index, [a.shape[1], a.shape[0]]) : a;
    y = timesConst(r, x, Bm, K, N, 'Gemm');
  } else {
    if (b.kind !== 'data') r.fail('Gemm of two constants is not supported (fold it when exporting)');
    if (b.batched) r.fail('Gemm with the data as operand B multiplies across the batch dimension; only data · constant is supported here');
    if (b.shape.length !== 2) r.fail(`Gemm needs a 2-D input B, got ${shapeText(b)}`);
    const A = r.constInput(0, 'A');
    if (A.dims.length !== 2) r.fail(`Gemm operand A must be 2-D, got shape ${JSON.stringify(A.dims)}`);
    const M = transA ? A.dims[1] : A.dims[0];
    const K = transA ? A.dims[0] : A.dims[1];
    const Am = new Float64Array(M * K);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) Am[m * K + k] = alpha * (transA ? A.data[k * M + m] : A.data[m * K + k]);
    const x = transB ? indexData(r, b, transposeIndex(b.shape, [1, 0]).index, [b.shape[1], b.shape[0]]) : b;
    y = constTimes(r, Am, M, K, x, 'Gemm');
  }
  if (r.has(2)) {
    const C = r.constInput(2, 'C');
    const c = r.broadcastToFeatures(C, y, 'C');
    y = { ...y, expr: shiftExpr(y.expr, c, beta) };
  }
  r.setOutput(y);
}

export function matmul(r: Reader): void {
  const a = r.get(0, 'A');
  const b = r.get(1, 'B');
  if (a.kind === 'data' && b.kind === 'data') r.fail('MatMul of two data tensors is not piecewise linear');
  if (a.kind === 'const' && b.kind === 'const') r.fail('MatMul of two constants is not supported');
  if (a.kind === 'data') {
    const B = r.constInput(1, 'B');
    let dims = B.dims;
    while (dims.length > 2 && dims[0] === 1) dims = dims.slice(1);
    if (dims.length === 1) {
      // x · v: contracts the last axis and drops it.
      const y = timesConst(r, a, B.data, dims[0], 1, 'MatMul');
      y.shape = y.shape.slice(0, -1);
      if (y.batched && y.shape.length === 1) y.shape = [...y.shape, 1]; // [N] output: keep one feature per sample.
      return r.setOutput(y);
    }
    if (dims.length !== 2)
      r.fail(`MatMul constant of shape ${JSON.stringify(B.dims)} is batched; only a 2-D (or 1-D) constant is supported`);
    if (r.featureShape(a).length === 0) r.fail('MatMul needs the data to have at least one feature dimension');
    return r.setOutput(timesConst(r, a, B.data, dims[0], dims[1], 'MatMul'));
  }
  // W · x: the constant on the left (nn4sys, the VNN-COMP test networks: x a vector without batch dimension).
  const x = b as DataValue;
  const A = r.constInput(0, 'A');
  let dims = A.dims;
  while (dims.length > 2 && dims[0] === 1) dims = dims.slice(1);
  if (dims.length !== 2) r.fail(`MatMul constant A of shape ${JSON.stringify(A.dims)}: only a 2-D constant is supported on the left`);
  if (x.batched && x.shape.length === 2)
    r.fail(
      `MatMul(constant, data) with the data ${shapeText(x)} multiplies across the batch dimension; give the data without batch dimension`,
    );
  r.setOutput(constTimes(r, A.data, dims[0], dims[1], x, 'MatMul'));
}

/** Numpy broadcasting of two constants. */
export function foldConst(op: 'Add' | 'Sub' | 'Mul' | 'Div', x: ConstValue, y: ConstValue, fail: (m: string) => never): ConstValue {
  const rk = Math.max(x.dims.length, y.dims.length);
  const dx = [...new Array(rk - x.dims.length).fill(1), ...x.dims];
  const dy = [...new Array(rk - y.dims.length).fill(1), ...y.dims];
  const dims = dx.map((a, i) => {
    if (a === dy[i] || dy[i] === 1) return a;
    if (a === 1) return dy[i];
    return fail(`${op} of constants of shapes ${JSON.stringify(x.dims)} and ${JSON.stringify(y.dims)} that do not broadcast`);
  });
  const total = prod(dims);
  if (total > 1e7) fail(`${op} of constants produces ${total} values, too many`);
  const sx = stridesOf(dx);
  const sy = stridesOf(dy);
  const data = new Float64Array(total);
  const idx = new Array(rk).fill(0);
  for (let k = 0; k < total; k++) {
    let ox = 0;
    let oy = 0;
    for (let d = 0; d < rk; d++) {
      if (dx[d] !== 1) ox += idx[d] * sx[d];
      if (dy[d] !== 1) oy += idx[d] * sy[d];
    }
    const a = x.data[ox];
    const b = y.data[oy];
    data[k] = op === 'Add' ? a + b : op === 'Sub' ? a - b : op === 'Mul' ? a * b : a / b;
    for (let d = rk - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return { kind: 'const', dims, data };
}

/** Sum or difference of two data tensors (a residual connection), broadcasting the smaller one. */
export function addData(r: Reader, x: DataValue, y: DataValue, subtract: boolean, what: string): DataValue {
  if (x.batched !== y.batched) r.fail(`${what} of a batched and an unbatched tensor`);
  const xBigger = r.featureSize(x) >= r.featureSize(y);
  const [xs, ys] = xBigger ? [x, broadcastData(r, y, x)] : [broadcastData(r, x, y), y];
  return { ...(xBigger ? x : y), expr: addExprs(xs.expr, subtract ? negateExpr(ys.expr) : ys.expr) };
}

export function elementwise(r: Reader): void {
  const op = r.node!.opType as 'Add' | 'Sub' | 'Mul' | 'Div';
  const n = r.node!;
  const x = r.get(0, 'A');
  const y = r.get(1, 'B');
  if (x.kind === 'const' && y.kind === 'const') return r.setOutput(foldConst(op, x, y, (m) => r.fail(m)));
  if (x.kind === 'data' && y.kind === 'data') {
    if (op === 'Mul' || op === 'Div') r.fail(`${op} of two data tensors is not piecewise linear`);
    return r.setOutput(addData(r, x, y, op === 'Sub', op));
  }
  const data = (x.kind === 'data' ? x : y) as DataValue;
  const cv = (x.kind === 'const' ? x : y) as ConstValue;
  const constIdx = x.kind === 'const' ? 0 : 1;
  if (op === 'Div' && constIdx === 0) r.fail('Div of a constant by the data is not piecewise linear');
  const bad = cv.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) r.fail(`constant "${n.inputs[constIdx]}" holds a non-finite value at flat index ${bad}`, cv.data[bad]);
  const c = r.broadcastToFeatures(cv, data, `constant "${n.inputs[constIdx]}"`);
  const scale = (e: Expr, s: Float64Array) => r.compose(e, (f) => scaleExpr(f, s));
  let expr: Expr;
  switch (op) {
    case 'Add':
      expr = shiftExpr(data.expr, c, 1);
      break;
    case 'Sub':
      expr =
        constIdx === 1
          ? shiftExpr(data.expr, c, -1)
          : shiftExpr(
              scale(
                data.expr,
                c.map(() => -1),
              ),
              c,
              1,
            );
      break;
    case 'Mul':
      expr = scale(data.expr, c);
      break;
    case 'Div': {
      const z = c.indexOf(0);
      if (z >= 0) r.fail(`divides by zero (feature ${z} of constant "${n.inputs[1]}")`);
      expr = scale(
        data.expr,
        c.map((v) => 1 / v),
      );
      break;
    }
  }
  r.setOutput({ ...data, expr });
}

export function sum(r: Reader): void {
  const n = r.node!;
  let acc = r.get(0, 'input 0');
  for (let i = 1; i < n.inputs.length; i++) {
    const v = r.get(i, `input ${i}`);
    if (acc.kind === 'const' && v.kind === 'const') acc = foldConst('Add', acc, v, (m) => r.fail(m));
    else if (acc.kind === 'data' && v.kind === 'data') acc = addData(r, acc, v, false, 'Sum');
    else {
      const d = (acc.kind === 'data' ? acc : v) as DataValue;
      const c = (acc.kind === 'const' ? acc : v) as ConstValue;
      acc = { ...d, expr: shiftExpr(d.expr, r.broadcastToFeatures(c, d, `input ${i}`), 1) };
    }
  }
  r.setOutput(acc);
}

export function neg(r: Reader): void {
  const x = r.get(0, 'X');
  if (x.kind === 'const') return r.setOutput({ ...x, data: x.data.map((v) => -v) });
  r.setOutput({ ...x, expr: negateExpr(x.expr) });
}

export function batchNorm(r: Reader): void {
  const n = r.node!;
  const x = r.get(0, 'X');
  if (x.kind !== 'data') r.fail('BatchNormalization of a constant is not supported');
  if (!x.batched || x.shape.length < 2) r.fail(`BatchNormalization needs an input of shape [N, C, ...], got ${shapeText(x)}`);
  if (r.intAttr('training_mode', 0) !== 0) r.fail('BatchNormalization in training mode; export the model in inference mode');
  for (const o of n.outputs.slice(1)) if (o) r.values.delete(o);
  const [scaleT, biasT, meanT, varT] = [1, 2, 3, 4].map((i) => r.constInput(i, ['scale', 'B', 'mean', 'var'][i - 1]));
  const eps = r.floatAttr('epsilon', 1e-5);
  const fs = r.featureShape(x);
  const C = fs[0];
  const spatial = r.opset < 9 ? r.intAttr('spatial', 1) !== 0 : true;
  const per = spatial ? C : prod(fs);
  for (const [t, name] of [
    [scaleT, 'scale'],
    [biasT, 'B'],
    [meanT, 'mean'],
    [varT, 'var'],
  ] as const) {
    if (t.data.length !== per) r.fail(`BatchNormalization ${name} has ${t.data.length} values, expected ${per}`);
  }
  const inner = spatial ? prod(fs.slice(1)) : 1;
  const d = prod(fs);
  const s = new Float64Array(d);
  const c = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    const ch = spatial ? Math.floor(k / inner) : k;
    const v = varT.data[ch] + eps;
    if (!(v > 0)) r.fail(`BatchNormalization var + epsilon is ${v} <= 0 for channel ${ch}`);
    s[k] = scaleT.data[ch] / Math.sqrt(v);
    c[k] = biasT.data[ch] - s[k] * meanT.data[ch];
  }
  r.setOutput({
    ...x,
    expr: shiftExpr(
      r.compose(x.expr, (e) => scaleExpr(e, s)),
      c,
      1,
    ),
  });
}

/** The image of a convolution or pooling input: [C, H, W] (1-D inputs have height 1). */
function imageOf(r: Reader, x: DataValue, op: string): [number, number, number] {
  if (!x.batched) r.fail(`${op} needs its input as [N, C, H, W] (or [N, C, L]), got ${shapeText(x)} without batch dimension`);
  const s = x.shape;
  if (s.length === 4) return [s[1], s[2], s[3]];
  if (s.length === 3) return [s[1], 1, s[2]];
  return r.fail(`${op} over ${s.length - 2} spatial dimensions is not supported (1 or 2 are), input ${shapeText(x)}`);
}

/** The window attributes of Conv/ConvTranspose/pools, as 2-D (a 1-D window has height 1). */
function windowAttrs(r: Reader, oneD: boolean, kernel: number[]) {
  const two = (v: number[] | undefined, d: number, name: string): [number, number] => {
    const a = v ?? (oneD ? [d] : [d, d]);
    if (a.length !== (oneD ? 1 : 2)) r.fail(`${name} must have ${oneD ? 1 : 2} values`, a);
    return oneD ? [1, a[0]] : [a[0], a[1]];
  };
  const strides = two(r.intsAttr('strides'), 1, 'strides');
  const dilations = two(r.intsAttr('dilations'), 1, 'dilations');
  const k: [number, number] = oneD ? [1, kernel[0]] : [kernel[0], kernel[1]];
  const p = r.intsAttr('pads');
  if (p && p.length !== (oneD ? 2 : 4)) r.fail(`pads must have ${oneD ? 2 : 4} values`, p);
  const pads: [number, number, number, number] = !p ? [0, 0, 0, 0] : oneD ? [0, p[0], 0, p[1]] : [p[0], p[1], p[2], p[3]];
  if ([...strides, ...dilations, ...k].some((v) => !(v >= 1)) || pads.some((v) => v < 0))
    r.fail(
      `kernel ${JSON.stringify(k)}, strides ${JSON.stringify(strides)}, dilations ${JSON.stringify(dilations)} and pads ${JSON.stringify(pads)} must be positive (pads >= 0)`,
    );
  return { kernel: k, strides, dilations, pads };
}

/** auto_pad SAME_UPPER / SAME_LOWER / VALID of a convolution or pooling: the pads for `image` (floor output). */
function autoPads(
  r: Reader,
  image: [number, number, number],
  w: { kernel: [number, number]; strides: [number, number]; dilations: [number, number]; pads: [number, number, number, number] },
): [number, number, number, number] {
  const mode = r.stringAttr('auto_pad', 'NOTSET');
  if (mode === 'NOTSET' || mode === '') return w.pads;
  if (mode === 'VALID') return [0, 0, 0, 0];
  if (mode !== 'SAME_UPPER' && mode !== 'SAME_LOWER') r.fail(`auto_pad "${mode}" is not supported`);
  const pads: [number, number, number, number] = [0, 0, 0, 0];
  for (const axis of [0, 1] as const) {
    const size = image[axis + 1];
    const out = Math.ceil(size / w.strides[axis]);
    const total = Math.max(0, (out - 1) * w.strides[axis] + (w.kernel[axis] - 1) * w.dilations[axis] + 1 - size);
    const small = Math.floor(total / 2);
    pads[axis] = mode === 'SAME_UPPER' ? small : total - small;
    pads[axis + 2] = total - pads[axis];
  }
  return pads;
}

export function conv(r: Reader): void {
  const x = r.data(0, 'X');
  const W = r.constInput(1, 'W');
  const image = imageOf(r, x, 'Conv');
  const oneD = x.shape.length === 3;
  if (W.dims.length !== x.shape.length) r.fail(`Conv weights of shape ${JSON.stringify(W.dims)} do not match the input ${shapeText(x)}`);
  const groups = r.intAttr('group', 1);
  const M = W.dims[0];
  if (groups < 1 || image[0] % groups !== 0 || M % groups !== 0 || W.dims[1] * groups !== image[0])
    r.fail(`Conv weights of shape ${JSON.stringify(W.dims)} with ${groups} groups do not fit ${image[0]} input channels`);
  const win = windowAttrs(r, oneD, W.dims.slice(2));
  const ks = r.intsAttr('kernel_shape');
  if (ks?.some((k, i) => k !== W.dims[2 + i]))
    r.fail(`kernel_shape ${JSON.stringify(ks)} differs from the weights ${JSON.stringify(W.dims)}`);
  const pads = autoPads(r, image, win);
  const out = [0, 1].map((a) => windowOutput(image[a + 1], win.kernel[a], win.strides[a], pads[a], pads[a + 2], win.dilations[a]));
  if (out.some((o) => o < 1)) r.fail(`Conv kernel ${JSON.stringify(W.dims.slice(2))} does not fit the input ${shapeText(x)}`);
  r.checkShape([M, out[0], out[1]], 'Conv output');
  const op: ConvOp = {
    kind: 'conv',
    image,
    features: [M, out[0], out[1]],
    ...win,
    pads,
    groups,
    transposed: false,
    weights: W.data,
  };
  let expr = r.compose(x.expr, (e) => applyOp(e, op));
  if (r.has(2)) expr = shiftExpr(expr, channelBias(r, r.constInput(2, 'B'), M, out[0] * out[1]), 1);
  r.setOutput(r.withFeatures(x, oneD ? [M, out[1]] : [M, out[0], out[1]], expr));
}

function channelBias(r: Reader, B: ConstValue, channels: number, inner: number): Float64Array {
  if (B.data.length !== channels) r.fail(`bias B has ${B.data.length} values for ${channels} output channels`);
  return Float64Array.from({ length: channels * inner }, (_, k) => B.data[Math.floor(k / inner)]);
}

export function convTranspose(r: Reader): void {
  const x = r.data(0, 'X');
  const W = r.constInput(1, 'W');
  const feat = imageOf(r, x, 'ConvTranspose');
  const oneD = x.shape.length === 3;
  if (W.dims.length !== x.shape.length)
    r.fail(`ConvTranspose weights of shape ${JSON.stringify(W.dims)} do not match the input ${shapeText(x)}`);
  const groups = r.intAttr('group', 1);
  if (groups < 1 || W.dims[0] !== feat[0] || feat[0] % groups !== 0)
    r.fail(`ConvTranspose weights of shape ${JSON.stringify(W.dims)} with ${groups} groups do not fit ${feat[0]} input channels`);
  const M = W.dims[1] * groups;
  const win = windowAttrs(r, oneD, W.dims.slice(2));
  const op2 = (v: number[] | undefined, name: string): [number, number] => {
    if (!v) return [0, 0];
    if (v.length !== (oneD ? 1 : 2)) r.fail(`${name} must have ${oneD ? 1 : 2} values`, v);
    return oneD ? [0, v[0]] : [v[0], v[1]];
  };
  const outputPadding = op2(r.intsAttr('output_padding'), 'output_padding');
  const outputShape = r.intsAttr('output_shape');
  let pads = win.pads;
  const full = [0, 1].map((a) => win.strides[a] * (feat[a + 1] - 1) + outputPadding[a] + (win.kernel[a] - 1) * win.dilations[a] + 1);
  const mode = r.stringAttr('auto_pad', 'NOTSET');
  let size: number[];
  if (outputShape) {
    const target = oneD ? [1, outputShape[outputShape.length - 1]] : outputShape.slice(-2);
    const p: [number, number, number, number] = [0, 0, 0, 0];
    for (const a of [0, 1]) {
      const total = full[a] - target[a];
      if (total < 0) r.fail(`ConvTranspose output_shape ${JSON.stringify(outputShape)} is larger than the kernel reaches`);
      const half = Math.floor(total / 2);
      p[a] = mode === 'SAME_UPPER' ? half : total - half;
      p[a + 2] = total - p[a];
    }
    pads = p;
    size = target;
  } else {
    if (mode === 'SAME_UPPER' || mode === 'SAME_LOWER') {
      const target = [0, 1].map((a) => feat[a + 1] * win.strides[a]);
      const p: [number, number, number, number] = [0, 0, 0, 0];
      for (const a of [0, 1]) {
        const total = Math.max(0, full[a] - target[a]);
        const half = Math.floor(total / 2);
        p[a] = mode === 'SAME_UPPER' ? half : total - half;
        p[a + 2] = total - p[a];
      }
      pads = p;
    } else if (mode === 'VALID') pads = [0, 0, 0, 0];
    size = [0, 1].map((a) => full[a] - pads[a] - pads[a + 2]);
  }
  if (size.some((s) => s < 1)) r.fail(`ConvTranspose output ${JSON.stringify(size)} is empty`);
  r.checkShape([M, size[0], size[1]], 'ConvTranspose output');
  const op: ConvOp = {
    kind: 'conv',
    image: [M, size[0], size[1]],
    features: feat,
    ...win,
    pads,
    groups,
    transposed: true,
    weights: W.data,
  };
  let expr = r.compose(x.expr, (e) => applyOp(e, op));
  if (r.has(2)) expr = shiftExpr(expr, channelBias(r, r.constInput(2, 'B'), M, size[0] * size[1]), 1);
  r.setOutput(r.withFeatures(x, oneD ? [M, size[1]] : [M, size[0], size[1]], expr));
}

/** Output sizes of a pooling (ceil mode: a last window must start inside the image or its leading pad). */
export function poolOutput(
  image: [number, number, number],
  w: { kernel: [number, number]; strides: [number, number]; dilations: [number, number] },
  pads: [number, number, number, number],
  ceil: boolean,
): [number, number] {
  const out = [0, 1].map((a) => {
    let o = windowOutput(image[a + 1], w.kernel[a], w.strides[a], pads[a], pads[a + 2], w.dilations[a], ceil);
    if (ceil && o > 0 && (o - 1) * w.strides[a] >= image[a + 1] + pads[a]) o--;
    return o;
  });
  return [out[0], out[1]];
}

/** The window of a pooling node and its output; `global`: the whole image. */
export function poolWindow(r: Reader, x: DataValue, op: string, global: boolean) {
  const image = imageOf(r, x, op);
  const oneD = x.shape.length === 3;
  if (global) {
    const win = {
      kernel: [image[1], image[2]] as [number, number],
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
    };
    return { image, oneD, ...win, pads: [0, 0, 0, 0] as [number, number, number, number], output: [1, 1] as [number, number] };
  }
  const ks = r.intsAttr('kernel_shape') ?? r.fail(`${op} needs kernel_shape`);
  if (ks.length !== (oneD ? 1 : 2)) r.fail(`kernel_shape must have ${oneD ? 1 : 2} values`, ks);
  const win = windowAttrs(r, oneD, ks);
  const ceil = r.intAttr('ceil_mode', 0) !== 0;
  const pads = autoPads(r, image, win);
  const output = poolOutput(image, win, pads, ceil);
  if (output.some((o) => o < 1)) r.fail(`${op} window ${JSON.stringify(ks)} does not fit the input ${shapeText(x)}`);
  r.checkShape([image[0], output[0], output[1]], `${op} output`);
  return { image, oneD, ...win, pads, output };
}

export function averagePool(r: Reader, global = false): void {
  const x = r.data(0, 'X');
  const w = poolWindow(r, x, global ? 'GlobalAveragePool' : 'AveragePool', global);
  const op: AvgPoolOp = {
    kind: 'avgPool',
    channels: w.image[0],
    image: [w.image[1], w.image[2]],
    output: w.output,
    kernel: w.kernel,
    strides: w.strides,
    pads: w.pads,
    dilations: w.dilations,
    countIncludePad: !global && r.intAttr('count_include_pad', 0) !== 0,
  };
  const expr = r.compose(x.expr, (e) => applyOp(e, op));
  r.setOutput(r.withFeatures(x, w.oneD ? [w.image[0], w.output[1]] : [w.image[0], ...w.output], expr));
}
