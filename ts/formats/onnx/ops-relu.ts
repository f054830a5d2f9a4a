/**
 * ONNX operators with kinks: Relu itself, and the piecewise-linear ones lowered to ReLU nodes
 * (docs: the pattern convention is z >= 0 active, everywhere):
 *
 *   max(a, b) = a + ReLU(b − a)       (Max, MaxPool, GlobalMaxPool, Clip's lower bound)
 *   min(a, b) = a − ReLU(a − b)       (Min, Clip's upper bound)
 *   LeakyRelu/PRelu(x) = α x + (1 − α) ReLU(x),   |x| = 2 ReLU(x) − x.
 *
 * A pooling window is reduced left to right in kernel order: m = first element, then
 * m ← m + ReLU(x_k − m) for each further element k of the window (one ReLU node per kernel
 * position, over the outputs whose window holds that position).
 */
import { addExprs, type Expr, gatherExpr, isValue, negateExpr, scaleExpr, valueExpr } from './linear-expr.js';
import { poolWindow } from './ops-affine.js';
import { prod } from './proto.js';
import { type ConstValue, type DataValue, type Reader, shapeText, type Value } from './reader.js';

/** The ReLU node of `e`; its value as an expression. */
function reluOf(r: Reader, e: Expr): Expr {
  const v = isValue(e);
  if (v !== undefined && r.isReluValue(v)) return e; // ReLU of a ReLU output
  return valueExpr(r.emit(e, true), e.bias.length);
}

/** max(a, b) = a + ReLU(b − a). */
function max2(r: Reader, a: Expr, b: Expr): Expr {
  return addExprs(a, reluOf(r, addExprs(b, negateExpr(a))));
}

/** min(a, b) = a − ReLU(a − b). */
function min2(r: Reader, a: Expr, b: Expr): Expr {
  return addExprs(a, negateExpr(reluOf(r, addExprs(a, negateExpr(b)))));
}

export function relu(r: Reader): void {
  const x = r.get(0, 'input');
  // biome-ignore lint/complexity/useMathMinMax: Math.max would keep a NaN; this maps it to 0, as the importer always has.
  if (x.kind === 'const') return r.setOutput({ kind: 'const', dims: x.dims, data: x.data.map((v) => (v > 0 ? v : 0)) });
  r.setOutput({ ...x, expr: reluOf(r, x.expr) });
}

/** α x + (1 − α) ReLU(x) with α per feature. */
function leaky(r: Reader, x: DataValue, alpha: Float64Array): void {
  const t = reluOf(r, x.expr);
  const ax = r.compose(x.expr, (e) => scaleExpr(e, alpha));
  const rest = scaleExpr(
    t,
    alpha.map((a) => 1 - a),
  )!;
  r.setOutput({ ...x, expr: addExprs(ax, rest) });
}

export function leakyRelu(r: Reader): void {
  const x = r.data(0, 'X');
  leaky(r, x, new Float64Array(r.featureSize(x)).fill(r.floatAttr('alpha', 0.01)));
}

export function prelu(r: Reader): void {
  const x = r.data(0, 'X');
  leaky(r, x, r.broadcastToFeatures(r.constInput(1, 'slope'), x, 'slope'));
}

export function abs(r: Reader): void {
  const x = r.get(0, 'X');
  if (x.kind === 'const') return r.setOutput({ ...x, data: x.data.map(Math.abs) });
  const t = reluOf(r, x.expr);
  const two = scaleExpr(t, new Float64Array(t.bias.length).fill(2))!;
  r.setOutput({ ...x, expr: addExprs(two, negateExpr(x.expr)) });
}

/** The operands of Max/Min/Clip as expressions over the shape of the largest data operand. */
function operands(r: Reader, values: Value[], what: string): { ref: DataValue; exprs: Expr[] } {
  const data = values.filter((v): v is DataValue => v.kind === 'data');
  const ref = data.reduce((a, b) => (r.featureSize(b) > r.featureSize(a) ? b : a));
  const exprs = values.map((v, i) => {
    if (v.kind === 'const') return { terms: [], bias: r.broadcastToFeatures(v, ref, `${what} input ${i}`) };
    if (v.batched !== ref.batched) r.fail(`${what} of a batched and an unbatched tensor`);
    const fv = r.featureShape(v);
    const fr = r.featureShape(ref);
    if (fv.length === fr.length && fv.every((d, k) => d === fr[k])) return v.expr;
    return broadcastExpr(r, v, ref);
  });
  return { ref, exprs };
}

function broadcastExpr(r: Reader, v: DataValue, ref: DataValue): Expr {
  const fv = r.featureShape(v);
  const fr = r.featureShape(ref);
  const padded = [...new Array(fr.length - fv.length).fill(1), ...fv];
  if (padded.some((d, i) => d !== 1 && d !== fr[i])) r.fail(`data of shape ${shapeText(v)} does not broadcast to ${shapeText(ref)}`);
  const index = new Int32Array(prod(fr));
  const st = padded.map((_, i) => prod(padded.slice(i + 1)));
  const idx = new Array(fr.length).fill(0);
  for (let k = 0; k < index.length; k++) {
    let off = 0;
    for (let d = 0; d < fr.length; d++) if (padded[d] !== 1) off += idx[d] * st[d];
    index[k] = off;
    for (let d = fr.length - 1; d >= 0; d--) {
      if (++idx[d] < fr[d]) break;
      idx[d] = 0;
    }
  }
  return r.compose(v.expr, (e) => gatherExpr(e, index));
}

function fold(op: 'Max' | 'Min', values: ConstValue[], r: Reader): ConstValue {
  let acc = values[0];
  for (const v of values.slice(1)) {
    if (v.dims.length !== acc.dims.length || v.dims.some((d, i) => d !== acc.dims[i]))
      r.fail(`${op} of constants of different shapes is not supported`);
    acc = { ...acc, data: acc.data.map((a, i) => (op === 'Max' ? Math.max(a, v.data[i]) : Math.min(a, v.data[i]))) };
  }
  return acc;
}

function maxMin(r: Reader, op: 'Max' | 'Min'): void {
  const values = r.node!.inputs.map((_, i) => r.get(i, `input ${i}`));
  if (values.every((v) => v.kind === 'const')) return r.setOutput(fold(op, values as ConstValue[], r));
  const { ref, exprs } = operands(r, values, op);
  let acc = exprs[0];
  for (const e of exprs.slice(1)) acc = op === 'Max' ? max2(r, acc, e) : min2(r, acc, e);
  r.setOutput({ ...ref, expr: acc });
}

export const max = (r: Reader) => maxMin(r, 'Max');
export const min = (r: Reader) => maxMin(r, 'Min');

export function clip(r: Reader): void {
  const x = r.get(0, 'input');
  let lo = -Infinity;
  let hi = Infinity;
  if (r.opset < 11) {
    lo = r.floatAttr('min', -Infinity);
    hi = r.floatAttr('max', Infinity);
  } else {
    const scalar = (i: number, what: string) => {
      const c = r.constInput(i, what, false);
      if (c.data.length !== 1 || Number.isNaN(c.data[0])) r.fail(`Clip ${what} must be one number`, Array.from(c.data));
      return c.data[0];
    };
    if (r.has(1)) lo = scalar(1, 'min');
    if (r.has(2)) hi = scalar(2, 'max');
  }
  if (x.kind === 'const') return r.setOutput({ ...x, data: x.data.map((v) => Math.min(Math.max(v, lo), hi)) });
  let e = x.expr;
  const constant = (v: number): Expr => ({ terms: [], bias: new Float64Array(e.bias.length).fill(v) });
  if (lo > -Infinity) e = max2(r, constant(lo), e);
  if (hi < Infinity) e = min2(r, e, constant(hi));
  r.setOutput({ ...x, expr: e });
}

export function maxPool(r: Reader, global = false): void {
  const x = r.data(0, 'X');
  const n = r.node!;
  if (n.outputs[1]) r.fail('MaxPool with an Indices output is not supported (only the pooled values are piecewise linear)');
  const w = poolWindow(r, x, global ? 'GlobalMaxPool' : 'MaxPool', global);
  const [C, H, W] = w.image;
  const [oh, ow] = w.output;
  const out = C * oh * ow;
  const K = w.kernel[0] * w.kernel[1];
  // position[k][q]: the image element of kernel position k of output q, or −1 (padding).
  const position: Int32Array[] = [];
  for (let ky = 0; ky < w.kernel[0]; ky++) {
    for (let kx = 0; kx < w.kernel[1]; kx++) {
      const g = new Int32Array(out);
      for (let c = 0; c < C; c++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const y = oy * w.strides[0] + ky * w.dilations[0] - w.pads[0];
            const xx = ox * w.strides[1] + kx * w.dilations[1] - w.pads[1];
            g[(c * oh + oy) * ow + ox] = y >= 0 && y < H && xx >= 0 && xx < W ? (c * H + y) * W + xx : -1;
          }
      position.push(g);
    }
  }
  const first = new Int32Array(out).fill(-1);
  const firstK = new Int32Array(out).fill(-1);
  for (let q = 0; q < out; q++)
    for (let k = 0; k < K; k++)
      if (position[k][q] >= 0) {
        first[q] = position[k][q];
        firstK[q] = k;
        break;
      }
  if (first.some((p) => p < 0)) r.fail(`MaxPool window of ${JSON.stringify(w.kernel)} covers only padding for some output`);
  let m = r.compose(x.expr, (e) => gatherExpr(e, first));
  for (let k = 0; k < K; k++) {
    const sel: number[] = [];
    for (let q = 0; q < out; q++) if (position[k][q] >= 0 && k > firstK[q]) sel.push(q);
    if (sel.length === 0) continue;
    const subset = Int32Array.from(sel);
    const b = r.compose(x.expr, (e) =>
      gatherExpr(
        e,
        Int32Array.from(sel, (q) => position[k][q]),
      ),
    );
    const a = r.compose(m, (e) => gatherExpr(e, subset));
    const t = reluOf(r, addExprs(b, negateExpr(a)));
    const place = new Int32Array(out).fill(-1);
    sel.forEach((q, i) => {
      place[q] = i;
    });
    m = addExprs(m, gatherExpr(t, place)!);
  }
  r.setOutput(r.withFeatures(x, w.oneD ? [C, ow] : [C, oh, ow], m));
}
