/**
 * ONNX operators that move or select elements, and the shape sub-graphs around them: on constants
 * they are folded (so PyTorch's `x.view(x.size(0), -1)` — Shape, Gather, Unsqueeze, Concat,
 * Reshape — becomes a constant shape), on data they are index maps (./index-maps.ts) composed into
 * the data's expression. The batch dimension of a batched tensor must stay dimension 0.
 */
import { broadcastIndex, concatPlacement, gatherConst, padIndex, sliceAxis, sliceIndex, takeIndex, transposeIndex } from './index-maps.js';
import { addExprs, type Expr, gatherExpr } from './linear-expr.js';
import { DT, prod } from './proto.js';
import { type ConstValue, type DataValue, type Reader, shapeText, type Value } from './reader.js';

const isFloatType = (t: number) => t === DT.FLOAT || t === DT.DOUBLE || t === DT.FLOAT16 || t === DT.BFLOAT16;

/** `v` re-indexed by `index` (features of shape `features`); `fill` where the index is −1 (pad values). */
export function indexData(r: Reader, v: DataValue, index: Int32Array, features: number[], fill = 0): DataValue {
  let expr = r.compose(v.expr, (e) => gatherExpr(e, index));
  if (fill !== 0) expr = { terms: expr.terms, bias: expr.bias.map((b, i) => (index[i] < 0 ? b + fill : b)) };
  return r.withFeatures(v, features, expr);
}

export function constant(r: Reader): void {
  const a = r.node!.attributes[0];
  if (!a || r.node!.attributes.length !== 1) r.fail('Constant needs exactly one attribute');
  let c: ConstValue;
  if (a.name === 'value' && a.t) c = { kind: 'const', dims: a.t.dims, data: a.t.data };
  else if (a.name === 'value_float' && a.f !== undefined) c = { kind: 'const', dims: [], data: Float64Array.of(a.f) };
  else if (a.name === 'value_floats') c = { kind: 'const', dims: [a.floats.length], data: Float64Array.from(a.floats) };
  else if (a.name === 'value_int' && a.i !== undefined) c = { kind: 'const', dims: [], data: Float64Array.of(a.i) };
  else if (a.name === 'value_ints') c = { kind: 'const', dims: [a.ints.length], data: Float64Array.from(a.ints) };
  else r.fail('Constant attribute is not supported (value, value_float(s), value_int(s) are)', a.name, `attribute "${a.name}"`);
  r.setOutput(c);
}

export function identity(r: Reader): void {
  r.setOutput(r.get(0, 'input'));
}

export function dropout(r: Reader): void {
  const n = r.node!;
  const x = r.get(0, 'input');
  if (n.inputs[2]) {
    const t = r.constInput(2, 'training_mode');
    if (t.data.some((v) => v !== 0)) r.fail('Dropout in training mode is random; export the model in inference mode');
  }
  if (n.outputs[1]) r.values.delete(n.outputs[1]); // the mask is not defined
  r.setOutput(x);
}

export function shape(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.batched ? [x.shape[0] > 0 ? x.shape[0] : NaN, ...x.shape.slice(1)] : x.shape;
  const rank = dims.length;
  const norm = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = norm(r.intAttr('start', 0));
  const end = norm(r.intAttr('end', rank));
  const out = dims.slice(start, Math.max(start, end));
  r.setOutput({ kind: 'const', dims: [out.length], data: Float64Array.from(out) });
}

export function cast(r: Reader): void {
  const x = r.get(0, 'input');
  const to = r.intAttr('to', DT.FLOAT);
  if (x.kind === 'data') {
    if (!isFloatType(to)) r.fail('Cast of the data to a non-floating-point type is not piecewise linear', to);
    return r.setOutput(x);
  }
  if (isFloatType(to)) return r.setOutput(x);
  if (to === DT.BOOL) return r.setOutput({ ...x, data: x.data.map((v) => (v !== 0 ? 1 : 0)) });
  // Integer types truncate toward zero (the batch size stays symbolic).
  r.setOutput({ ...x, data: x.data.map((v) => (Number.isNaN(v) ? v : Math.trunc(v))) });
}

export function constantOfShape(r: Reader): void {
  const dims = r.intsInput(0, 'input');
  if (dims.some((d) => d < 0)) r.fail(`ConstantOfShape of a negative size ${JSON.stringify(dims)}`);
  const a = r.attr('value');
  const v = a?.t ? a.t.data[0] : 0;
  const n = prod(dims);
  if (n > 1e7) r.fail(`ConstantOfShape of ${n} values is too large`);
  r.setOutput({ kind: 'const', dims, data: new Float64Array(n).fill(v) });
}

export function flatten(r: Reader): void {
  const x = r.get(0, 'input');
  const rank = x.kind === 'const' ? x.dims.length : x.shape.length;
  let axis = r.intAttr('axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) r.fail(`Flatten axis ${r.intAttr('axis', 1)} is out of range for rank ${rank}`);
  if (x.kind === 'const') {
    return r.setOutput({ kind: 'const', dims: [prod(x.dims.slice(0, axis)), prod(x.dims.slice(axis))], data: x.data });
  }
  if (x.batched) {
    if (axis !== 1) r.fail(`Flatten with axis ${axis} would merge the batch dimension; only axis 1 is supported`);
    return r.setOutput({ ...x, shape: [x.shape[0], prod(x.shape.slice(1))] });
  }
  r.setOutput({ ...x, shape: [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))] });
}

export function reshape(r: Reader): void {
  const n = r.node!;
  const x = r.get(0, 'data');
  const sv = r.get(1, 'shape');
  if (sv.kind !== 'const')
    r.fail('Reshape needs a constant shape (an initializer or Constant), not one computed from the input', n.inputs[1]);
  const target = Array.from(sv.data);
  // The symbolic batch size (NaN, read from the input's shape by Shape/Gather) may only stand for
  // dimension 0 of a batched tensor: that dimension is then kept.
  const batchSymbol = x.kind === 'data' && x.batched && Number.isNaN(target[0]);
  const checked = batchSymbol ? target.slice(1) : target;
  if (sv.dims.length !== 1 || checked.some((v) => !Number.isInteger(v) || v < -1))
    r.fail('Reshape shape must be a 1-D list of integers >= -1', target);
  const allowZero = r.opset >= 14 && r.intAttr('allowzero', 0) !== 0;
  const inShape = x.kind === 'const' ? x.dims : x.shape;
  const total = x.kind === 'const' ? prod(x.dims) : x.batched ? -1 : prod(x.shape);
  const resolved = target.map((v, i) =>
    batchSymbol && i === 0 ? inShape[0] : v === 0 && !allowZero ? (i < inShape.length ? inShape[i] : NaN) : v,
  );
  if (resolved.some((v) => Number.isNaN(v))) r.fail('Reshape copies a dimension (0) the input does not have', target);
  if (x.kind === 'const' || !x.batched) {
    if (resolved.filter((v) => v === -1).length > 1) r.fail('Reshape shape has more than one -1', target);
    const known = prod(resolved.filter((v) => v !== -1));
    const inf = resolved.indexOf(-1);
    if (inf >= 0) {
      if (known === 0 || total % known !== 0) r.fail(`cannot reshape ${total} values to ${JSON.stringify(target)}`);
      resolved[inf] = total / known;
    }
    if (prod(resolved) !== total) r.fail(`cannot reshape ${total} values to ${JSON.stringify(target)}`);
    if (x.kind === 'const') return r.setOutput({ kind: 'const', dims: resolved, data: x.data });
    return r.setOutput({ ...x, shape: resolved });
  }
  // Batched: the batch must stay in dimension 0.
  const feat = r.featureSize(x);
  const batch = x.shape[0];
  const keepsBatch = batchSymbol || (target[0] === 0 && !allowZero) || target[0] === -1 || (batch > 0 && target[0] === batch);
  if (resolved.length < 2 || !keepsBatch) {
    r.fail(
      `Reshape to ${JSON.stringify(target)} would change the batch dimension of ${shapeText(x)}; only reshapes that keep dimension 0 are supported`,
    );
  }
  const rest = resolved.slice(1);
  if (rest.filter((v) => v === -1).length + (target[0] === -1 ? 1 : 0) > 1) r.fail('Reshape shape has more than one -1', target);
  const inf = rest.indexOf(-1);
  if (inf >= 0) {
    const known = prod(rest.filter((v) => v !== -1));
    if (known === 0 || feat % known !== 0) r.fail(`cannot reshape ${feat} features per sample to ${JSON.stringify(target)}`);
    rest[inf] = feat / known;
  }
  if (prod(rest) !== feat) r.fail(`cannot reshape ${feat} features per sample to ${JSON.stringify(target)}`);
  r.setOutput({ ...x, shape: [batch, ...rest] });
}

export function transpose(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const rank = dims.length;
  const perm = r.intsAttr('perm') ?? [...dims.keys()].reverse();
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    r.fail(`Transpose perm ${JSON.stringify(perm)} is not a permutation of ${rank} axes`);
  if (x.kind === 'const') {
    const t = transposeIndex(x.dims, perm);
    return r.setOutput({ kind: 'const', dims: t.dims, data: gatherConst(x.data, t.index) });
  }
  if (!x.batched) {
    const t = transposeIndex(x.shape, perm);
    return r.setOutput(indexData(r, x, t.index, t.dims));
  }
  if (perm[0] !== 0)
    r.fail(`Transpose ${JSON.stringify(perm)} would move the batch dimension; only permutations with perm[0] = 0 are supported`);
  const t = transposeIndex(
    r.featureShape(x),
    perm.slice(1).map((p) => p - 1),
  );
  r.setOutput(indexData(r, x, t.index, t.dims));
}

/** The axes of Squeeze/Unsqueeze: the attribute before opset 13, the input from then on. */
function axesOf(r: Reader, what: string): number[] | undefined {
  if (r.opset >= 13) return r.has(1) ? r.intsInput(1, `${what} axes`) : undefined;
  return r.intsAttr('axes');
}

export function unsqueeze(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const axes = axesOf(r, 'Unsqueeze');
  if (!axes) r.fail('Unsqueeze needs axes');
  const rank = dims.length + axes.length;
  const norm = axes.map((a) => r.axis(a, rank)).sort((a, b) => a - b);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : dims[k++]);
  if (x.kind === 'const') return r.setOutput({ ...x, dims: out });
  if (x.batched && norm.includes(0)) r.fail('Unsqueeze at axis 0 would move the batch dimension');
  r.setOutput({ ...x, shape: out });
}

export function squeeze(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const given = axesOf(r, 'Squeeze');
  const batched = x.kind === 'data' && x.batched;
  const axes = given ? given.map((a) => r.axis(a, dims.length)) : [...dims.keys()].filter((i) => dims[i] === 1 && !(batched && i === 0));
  for (const a of axes) if (dims[a] !== 1) r.fail(`Squeeze of axis ${a}, whose size is ${dims[a]}, not 1`);
  if (batched && axes.includes(0)) r.fail('Squeeze of axis 0 would remove the batch dimension');
  const out = dims.filter((_, i) => !axes.includes(i));
  if (x.kind === 'const') return r.setOutput({ ...x, dims: out });
  r.setOutput({ ...x, shape: out });
}

export function slice(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (r.opset < 10) {
    starts = r.intsAttr('starts') ?? r.fail('Slice needs starts');
    ends = r.intsAttr('ends') ?? r.fail('Slice needs ends');
    axes = r.intsAttr('axes');
  } else {
    starts = r.intsInput(1, 'starts');
    ends = r.intsInput(2, 'ends');
    axes = r.has(3) ? r.intsInput(3, 'axes') : undefined;
    steps = r.has(4) ? r.intsInput(4, 'steps') : undefined;
  }
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => r.axis(a, dims.length));
  if (ends.length !== ax.length || starts.length !== ax.length || (steps && steps.length !== ax.length))
    r.fail('Slice starts, ends, axes and steps must have the same length');
  const st = new Array(dims.length).fill(0);
  const step = new Array(dims.length).fill(1);
  const count = [...dims];
  ax.forEach((a, i) => {
    const s = steps ? steps[i] : 1;
    if (s === 0) r.fail('Slice step 0');
    const sl = sliceAxis(dims[a], starts[i], ends[i], s);
    st[a] = sl.start;
    step[a] = s;
    count[a] = sl.count;
  });
  if (x.kind === 'const') {
    const t = sliceIndex(x.dims, st, step, count);
    return r.setOutput({ kind: 'const', dims: t.dims, data: gatherConst(x.data, t.index) });
  }
  if (x.batched) {
    if (st[0] !== 0 || step[0] !== 1 || (x.shape[0] > 0 && count[0] !== x.shape[0]) || (x.shape[0] < 0 && ax.includes(0)))
      r.fail('Slice along the batch dimension is not supported');
    const t = sliceIndex(r.featureShape(x), st.slice(1), step.slice(1), count.slice(1));
    return r.setOutput(indexData(r, x, t.index, t.dims));
  }
  const t = sliceIndex(x.shape, st, step, count);
  r.setOutput(indexData(r, x, t.index, t.dims));
}

export function pad(r: Reader): void {
  const x = r.get(0, 'data');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const rank = dims.length;
  let pads: number[];
  let value = 0;
  const mode = r.stringAttr('mode', 'constant');
  let axes: number[] = [...dims.keys()];
  if (r.opset < 11) {
    pads = r.intsAttr(r.opset < 2 ? 'paddings' : 'pads') ?? r.fail('Pad needs pads');
    value = r.floatAttr('value', 0);
  } else {
    pads = r.intsInput(1, 'pads');
    if (r.has(2)) {
      const c = r.constInput(2, 'constant_value');
      value = c.data.length ? c.data[0] : 0;
    }
    if (r.has(3)) axes = r.intsInput(3, 'axes').map((a) => r.axis(a, rank));
  }
  if (pads.length !== 2 * axes.length) r.fail(`Pad has ${pads.length} pads for ${axes.length} axes`, pads);
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) r.fail(`Pad mode "${mode}" is not supported`);
  const before = new Array(rank).fill(0);
  const after = new Array(rank).fill(0);
  axes.forEach((a, i) => {
    before[a] = pads[i];
    after[a] = pads[i + axes.length];
  });
  const skip = x.kind === 'data' && x.batched ? 1 : 0;
  r.checkShape(
    dims.slice(skip).map((d, i) => d + before[i + skip] + after[i + skip]),
    'Pad output',
  );
  if (x.kind === 'const') {
    const t = padIndex(x.dims, before, after, mode as 'constant');
    if (typeof t === 'string') r.fail(t);
    return r.setOutput({ kind: 'const', dims: t.dims, data: gatherConst(x.data, t.index, value) });
  }
  const off = x.batched ? 1 : 0;
  if (x.batched && (before[0] !== 0 || after[0] !== 0)) r.fail('Pad of the batch dimension is not supported');
  const t = padIndex(r.featureShape(x), before.slice(off), after.slice(off), mode as 'constant');
  if (typeof t === 'string') r.fail(t);
  r.setOutput(indexData(r, x, t.index, t.dims, mode === 'constant' ? value : 0));
}

export function concat(r: Reader): void {
  const n = r.node!;
  const parts: Value[] = n.inputs.map((_, i) => r.get(i, `input ${i}`));
  const data = parts.find((p): p is DataValue => p.kind === 'data');
  const rankOf = (p: Value) => (p.kind === 'const' ? p.dims.length : p.shape.length);
  const rank = rankOf(parts[0]);
  if (parts.some((p) => rankOf(p) !== rank)) r.fail('Concat of tensors of different ranks');
  const axis = r.axis(r.intAttr('axis', 0), rank);
  if (!data) {
    const shapes = parts.map((p) => (p as ConstValue).dims);
    const { maps, dims } = concatPlacement(shapes, axis);
    const out = new Float64Array(prod(dims));
    maps.forEach((m, i) => {
      const data = (parts[i] as ConstValue).data;
      m.forEach((k, j) => {
        if (k >= 0) out[j] = data[k];
      });
    });
    return r.setOutput({ kind: 'const', dims, data: out });
  }
  if (data.batched && axis === 0) r.fail('Concat along the batch dimension is not supported');
  const off = data.batched ? 1 : 0;
  const features = parts.map((p, i) => {
    if (p.kind === 'data') {
      if (p.batched !== data.batched) r.fail(`Concat input ${i} is ${p.batched ? '' : 'not '}batched, input 0 is`);
      return r.featureShape(p);
    }
    if (data.batched && p.dims[0] !== 1)
      r.fail(`Concat constant input ${i} of shape ${JSON.stringify(p.dims)} varies along the batch dimension`);
    return p.dims.slice(off);
  });
  const fa = axis - off;
  features.forEach((f, i) => {
    if (f.some((d, j) => j !== fa && d !== features[0][j]))
      r.fail(`Concat input ${i} has shape ${JSON.stringify(f)}, input 0 ${JSON.stringify(features[0])}`);
  });
  const { maps, dims } = concatPlacement(features, fa);
  let expr: Expr | undefined;
  const constant = new Float64Array(prod(dims));
  parts.forEach((p, i) => {
    if (p.kind === 'const') {
      maps[i].forEach((k, j) => {
        if (k >= 0) constant[j] = p.data[k];
      });
      return;
    }
    const placed = r.compose(p.expr, (e) => gatherExpr(e, maps[i]));
    expr = expr ? addExprs(expr, placed) : placed;
  });
  const e = expr!;
  r.setOutput(r.withFeatures(data, dims, { terms: e.terms, bias: e.bias.map((b, j) => b + constant[j]) }));
}

export function gather(r: Reader): void {
  const x = r.get(0, 'data');
  const ind = r.constInput(1, 'indices', false);
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const axis = r.axis(r.intAttr('axis', 0), dims.length);
  const size = dims[axis];
  r.checkShape(
    [...dims.slice(0, axis), ...ind.dims, ...dims.slice(axis + 1)].slice(x.kind === 'data' && x.batched ? 1 : 0),
    'Gather output',
  );
  const indices = Array.from(ind.data, (v, i) => {
    if (!Number.isSafeInteger(v) || v < -size || v >= size) r.fail(`Gather index ${i} is ${v}, outside an axis of ${size}`);
    return v < 0 ? v + size : v;
  });
  if (x.kind === 'const') {
    const t = takeIndex(x.dims, axis, indices, ind.dims);
    return r.setOutput({ kind: 'const', dims: t.dims, data: gatherConst(x.data, t.index) });
  }
  const fa = r.featureAxis(x, axis, 'Gather');
  const t = takeIndex(r.featureShape(x), fa, indices, ind.dims);
  r.setOutput(indexData(r, x, t.index, t.dims));
}

export function split(r: Reader): void {
  const n = r.node!;
  const x = r.get(0, 'input');
  const dims = x.kind === 'const' ? x.dims : x.shape;
  const axis = r.axis(r.intAttr('axis', 0), dims.length);
  const outputs = n.outputs.length;
  let sizes: number[] | undefined = r.opset >= 13 ? (r.has(1) ? r.intsInput(1, 'split') : undefined) : r.intsAttr('split');
  if (!sizes) {
    const k = r.intAttr('num_outputs', outputs);
    const chunk = Math.ceil(dims[axis] / k);
    sizes = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(chunk, dims[axis] - i * chunk)));
  }
  if (sizes.length !== outputs || sizes.reduce((a, b) => a + b, 0) !== dims[axis])
    r.fail(`Split sizes ${JSON.stringify(sizes)} do not divide an axis of ${dims[axis]} into ${outputs} outputs`);
  let start = 0;
  sizes.forEach((s, o) => {
    const st = new Array(dims.length).fill(0);
    st[axis] = start;
    const count = [...dims];
    count[axis] = s;
    const ones = new Array(dims.length).fill(1);
    start += s;
    if (!n.outputs[o]) return;
    if (x.kind === 'const') {
      const t = sliceIndex(x.dims, st, ones, count);
      return r.setOutput({ kind: 'const', dims: t.dims, data: gatherConst(x.data, t.index) }, o);
    }
    if (x.batched && axis === 0) r.fail('Split along the batch dimension is not supported');
    const off = x.batched ? 1 : 0;
    const t = sliceIndex(r.featureShape(x), st.slice(off), ones.slice(off), count.slice(off));
    r.setOutput(indexData(r, x, t.index, t.dims), o);
  });
}

/** Broadcast of data `y` to the feature shape of `x` (numpy rules, the batch dimension aligned). */
export function broadcastData(r: Reader, y: DataValue, x: DataValue): DataValue {
  const fy = r.featureShape(y);
  const fx = r.featureShape(x);
  if (fy.length === fx.length && fy.every((d, i) => d === fx[i])) return y;
  if (fy.length > fx.length) r.fail(`data of shape ${shapeText(y)} does not broadcast to ${shapeText(x)}`);
  const padded = [...new Array(fx.length - fy.length).fill(1), ...fy];
  if (padded.some((d, i) => d !== 1 && d !== fx[i])) r.fail(`data of shape ${shapeText(y)} does not broadcast to ${shapeText(x)}`);
  return indexData(r, y, broadcastIndex(padded, fx), [...fx]);
}
