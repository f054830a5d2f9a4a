/**
 * Curved ONNX operators, read only in the prefix of a head repair (`parseOnnxHead`): each becomes
 * a node with that activation (ts/network/activation.ts), evaluated by the prefix evaluator
 * (ts/network/prefix.ts), never by the piecewise-linear core. On constants they are folded.
 */
import { type Activation, applyActivation, type ElementwiseKind, elementwise } from '../../network/activation.js';
import { valueExpr } from './linear-expr.js';
import { prod } from './proto.js';
import type { Reader } from './reader.js';

function activation(r: Reader, act: (dims: number[]) => Activation, fold: (data: Float64Array, dims: number[]) => Float64Array): void {
  const x = r.get(0, 'input');
  if (x.kind === 'const') return r.setOutput({ kind: 'const', dims: x.dims, data: fold(x.data, x.dims) });
  const a = act(r.featureShape(x));
  r.setOutput({ ...x, expr: valueExpr(r.emitActivation(x.expr, a), x.expr.bias.length) });
}

const unary = (kind: ElementwiseKind) => (r: Reader) =>
  activation(
    r,
    () => ({ kind }),
    (d) => d.map((v) => elementwise(kind, v)),
  );

/** ONNX Gelu (opset 20): `approximate` is "none" (x Φ(x)) or "tanh". */
function gelu(r: Reader): void {
  const approx = r.stringAttr('approximate', 'none');
  if (approx !== 'none' && approx !== 'tanh') r.fail('attribute approximate must be "none" or "tanh"', approx, 'attribute "approximate"');
  unary(approx === 'tanh' ? 'geluTanh' : 'gelu')(r);
}

/**
 * Softmax / LogSoftmax over `axis`: from opset 13 that one axis (default −1), before it the
 * input coerced to 2-D at `axis` (default 1), i.e. over all axes from `axis` on. The batch axis
 * is never part of a group.
 */
function softmax(kind: 'softmax' | 'logSoftmax') {
  return (r: Reader) => {
    const x = r.get(0, 'input');
    const full = x.kind === 'const' ? x.dims : x.shape;
    const legacy = r.opset < 13;
    const axis = r.axis(r.intAttr('axis', legacy ? 1 : -1), full.length);
    const batched = x.kind === 'data' && x.batched;
    if (batched && axis === 0) r.fail(`${kind === 'softmax' ? 'Softmax' : 'LogSoftmax'} over the batch dimension is not supported`);
    const layout = (dims: number[], a: number): Activation => ({
      kind,
      outer: prod(dims.slice(0, a)),
      len: legacy ? prod(dims.slice(a)) : dims[a],
      inner: legacy ? 1 : prod(dims.slice(a + 1)),
    });
    activation(
      r,
      (features) => layout(features, batched ? axis - 1 : axis),
      (data, dims) => {
        const v = Float64Array.from(data);
        applyActivation(layout(dims, axis), v);
        return v;
      },
    );
  };
}

/** The curved operators a head-repair prefix may contain (default domain). */
export const CURVED_OPERATORS: Readonly<Record<string, (r: Reader) => void>> = {
  Sigmoid: unary('sigmoid'),
  Tanh: unary('tanh'),
  Exp: unary('exp'),
  Softplus: unary('softplus'),
  Softsign: unary('softsign'),
  Erf: unary('erf'),
  Gelu: gelu,
  Softmax: softmax('softmax'),
  LogSoftmax: softmax('logSoftmax'),
};
