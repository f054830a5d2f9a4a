/**
 * THE REFERENCE: the dense-only ONNX reader as it was before graph networks (ts/formats/onnx/
 * import.ts at commit 8772b9a), kept verbatim but for its imports, so that tests can check that the
 * graph reader gives dense models the same layers bit for bit. Not part of the library.
 *
 * ONNX import (`parseOnnx`): the graph is interpreted symbolically. Every data tensor is kept as an
 * affine function of the latest ReLU output (or of the network input); affine operators compose
 * into it, and each `Relu` closes one dense layer. So input normalisation (Sub/Div by constants),
 * BatchNormalization, Gemm, MatMul + Add, Flatten and Reshape all fold into the neighbouring
 * dense layers and the result is our `Network` (dense layers, ts/network.ts). The op table is
 * explicit ({@link SUPPORTED_OPS}); anything else is rejected at load time with the op, the node
 * index and the supported list. IR < 4 models that list initializers among the graph inputs are
 * handled, as is the legacy broadcasting (`broadcast`/`axis` attributes) of opsets < 7.
 */
import { InputError } from '../../ts/errors.js';
import { DT, dataTypeName, decodeModel, type OnnxAttribute, type OnnxModel, type OnnxNode, prod } from '../../ts/formats/onnx/proto.js';
import { type DenseLayer, Network } from '../../ts/network.js';

/** The operators the importer understands (default domain). */
export const SUPPORTED_OPS = [
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Relu',
  'Flatten',
  'Reshape',
  'Constant',
  'Identity',
  'Dropout',
  'BatchNormalization',
] as const;

/** What the importer learned about the model's interface (used again by the exporter). */
export interface OnnxModelInfo {
  inputName: string;
  outputName: string;
  /** Input shape without the batch dimension (e.g. [1, 28, 28]); its product is the input size. */
  inputShape: number[];
  irVersion: number;
  opset: number;
  producer: string;
}

export interface OnnxImportOptions {
  /** Name of the graph output to import when the graph has several. */
  output?: string;
}

/** An affine map from the current base (input or latest ReLU output) to a flat feature vector. */
type Affine =
  /** y = s ⊙ x + b (s null: identity); base dimension = output dimension. */
  | { kind: 'diag'; s: Float64Array | null; b: Float64Array }
  /** y = W x + b, W row-major out × base. */
  | { kind: 'dense'; W: Float64Array; b: Float64Array };

interface DataValue {
  kind: 'data';
  /** Index of the base: 0 = network input, l = output of the l-th ReLU layer. */
  stage: number;
  /** Whether dim 0 of `shape` is the batch dimension. */
  batched: boolean;
  /** Full shape; a batched value has `shape[0] = batch` (a number, or -1 when symbolic). */
  shape: number[];
  map: Affine;
}

interface ConstValue {
  kind: 'const';
  dims: number[];
  data: Float64Array;
}

type Value = DataValue | ConstValue;

class Importer {
  private readonly values = new Map<string, Value>();
  private readonly layers: DenseLayer[] = [];
  /** Dimension of each base. */
  private readonly baseDims: number[] = [];
  private opset = 1;
  private nodeIndex = -1;
  private node: OnnxNode | undefined;

  constructor(
    private readonly model: OnnxModel,
    private readonly file: string,
  ) {}

  private where(field?: string) {
    const n = this.node;
    const at = n ? `graph.node[${this.nodeIndex}] (${n.opType}${n.name ? ` "${n.name}"` : ''})` : 'graph';
    return { file: this.file, field: field ? `${at}.${field}` : at };
  }

  private fail(message: string, value?: unknown, field?: string): never {
    const w = this.where(field) as { file: string; field: string; value?: unknown };
    if (value !== undefined) w.value = value;
    throw new InputError(message, w);
  }

  run(opts: OnnxImportOptions): { network: Network; info: OnnxModelInfo } {
    const g = this.model.graph;
    const main = this.model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    this.opset = main ? main.version : 1;
    if (g.sparseInitializers > 0)
      throw new InputError('has sparse initializers, which this reader does not support', {
        file: this.file,
        field: 'graph.sparse_initializer',
      });

    // 1. The op table, checked for every node before anything else.
    g.nodes.forEach((n, i) => {
      if (!(n.domain === '' || n.domain === 'ai.onnx') || !(SUPPORTED_OPS as readonly string[]).includes(n.opType)) {
        const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
        const hint =
          n.opType === 'Softmax' || n.opType === 'LogSoftmax' || n.opType === 'Sigmoid'
            ? ` (${n.opType} is not piecewise linear: export the logits; the argmax is the same)`
            : '';
        throw new InputError(`operator ${op} is not supported${hint}; supported operators: ${SUPPORTED_OPS.join(', ')}`, {
          file: this.file,
          field: `graph.node[${i}]${n.name ? ` "${n.name}"` : ''}`,
          value: op,
        });
      }
    });

    // 2. Constants: initializers (IR < 4 models also list them among the inputs).
    for (const t of g.initializers) {
      if (!t.name) throw new InputError('has an initializer without a name', { file: this.file, field: 'graph.initializer' });
      this.values.set(t.name, { kind: 'const', dims: t.dims, data: t.data });
    }
    const inputs = g.inputs.filter((v) => !this.values.has(v.name));
    if (inputs.length !== 1) {
      throw new InputError(`must have exactly one data input (inputs that are not initializers), found ${inputs.length}`, {
        file: this.file,
        field: 'graph.input',
        value: inputs.map((v) => v.name),
      });
    }
    const input = inputs[0];
    if (![DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16, 0].includes(input.elemType as 1)) {
      throw new InputError(`input element type ${dataTypeName(input.elemType)} is not a floating-point type`, {
        file: this.file,
        field: `graph.input "${input.name}"`,
      });
    }
    const shape = input.shape;
    if (!shape || shape.length === 0)
      throw new InputError('the input has no shape, so its size is unknown', { file: this.file, field: `graph.input "${input.name}"` });
    const batched = shape.length >= 2;
    const features = batched ? shape.slice(1) : shape;
    features.forEach((d, i) => {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0) {
        throw new InputError('input feature dimensions must be fixed positive numbers', {
          file: this.file,
          field: `graph.input "${input.name}".shape[${batched ? i + 1 : i}]`,
          value: d,
        });
      }
    });
    const featureShape = features as number[];
    const n = prod(featureShape);
    const batch = batched ? (typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : -1) : 0;
    this.baseDims.push(n);
    this.values.set(input.name, {
      kind: 'data',
      stage: 0,
      batched,
      shape: batched ? [batch, ...featureShape] : featureShape,
      map: { kind: 'diag', s: null, b: new Float64Array(n) },
    });

    // 3. The nodes, in order (ONNX requires a topological order).
    g.nodes.forEach((node, i) => {
      this.nodeIndex = i;
      this.node = node;
      this.apply(node);
    });
    this.node = undefined;

    // 4. The output.
    let outputs = g.outputs;
    if (opts.output !== undefined) {
      outputs = outputs.filter((o) => o.name === opts.output);
      if (outputs.length === 0) throw new InputError('is not a graph output', { file: this.file, field: 'output', value: opts.output });
    }
    if (outputs.length !== 1) {
      throw new InputError(`has ${outputs.length} outputs; pick one (option "output")`, {
        file: this.file,
        field: 'graph.output',
        value: g.outputs.map((o) => o.name),
      });
    }
    const outName = outputs[0].name;
    const out = this.values.get(outName);
    if (!out) throw new InputError('is not computed by any node', { file: this.file, field: `graph.output "${outName}"` });
    if (out.kind !== 'data')
      throw new InputError('is a constant: it does not depend on the input', { file: this.file, field: `graph.output "${outName}"` });
    this.checkStage(out, `graph.output "${outName}"`);
    const isReluOutput = out.stage > 0 && out.map.kind === 'diag' && out.map.s === null && out.map.b.every((v) => v === 0);
    if (!isReluOutput) this.closeLayer(out, false);
    if (this.layers.length === 0) throw new InputError('computes no affine layer from the input', { file: this.file, field: 'graph' });
    const network = new Network(this.layers, { source: this.file });
    return {
      network,
      info: {
        inputName: input.name,
        outputName: outName,
        inputShape: featureShape,
        irVersion: this.model.irVersion,
        opset: this.opset,
        producer: `${this.model.producerName} ${this.model.producerVersion}`.trim(),
      },
    };
  }

  // ---- helpers -------------------------------------------------------------------------------

  private get(name: string, what: string): Value {
    if (name === '') this.fail(`${what} is missing`);
    const v = this.values.get(name);
    if (!v) this.fail(`${what} "${name}" is not defined before this node (not an initializer, input or earlier output)`);
    return v;
  }

  private constInput(idx: number, what: string): ConstValue {
    const v = this.get(this.node!.inputs[idx] ?? '', what);
    if (v.kind !== 'const')
      this.fail(
        `${what} must be a constant (an initializer or Constant output), not a tensor computed from the input`,
        this.node!.inputs[idx],
      );
    const bad = v.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) this.fail(`${what} "${this.node!.inputs[idx]}" holds a non-finite value at flat index ${bad}`, v.data[bad]);
    return v;
  }

  private attr(name: string): OnnxAttribute | undefined {
    return this.node!.attributes.find((a) => a.name === name);
  }

  private intAttr(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.i === undefined) this.fail(`attribute ${name} must be an integer`, undefined, `attribute "${name}"`);
    return a.i;
  }

  private floatAttr(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    const v = a.f ?? a.i;
    if (v === undefined || !Number.isFinite(v)) this.fail(`attribute ${name} must be a finite number`, v, `attribute "${name}"`);
    return v;
  }

  private setOutput(v: Value, idx = 0): void {
    const name = this.node!.outputs[idx];
    if (name === undefined || name === '') this.fail('has no output name');
    this.values.set(name, v);
  }

  private checkStage(v: DataValue, what: string): void {
    if (v.stage !== this.baseDims.length - 1) {
      throw new InputError(
        'uses a tensor from before an earlier ReLU layer (a skip or residual connection); only feed-forward chains of dense layers are supported',
        this.node ? this.where(what) : { file: this.file, field: what },
      );
    }
  }

  private featureShape(v: DataValue): number[] {
    return v.batched ? v.shape.slice(1) : v.shape;
  }

  private outDim(v: DataValue): number {
    return prod(this.featureShape(v));
  }

  /** Emits the dense layer W x + b (+ ReLU) for `v` and returns the new base. */
  private closeLayer(v: DataValue, relu: boolean): void {
    const inputs = this.baseDims[v.stage];
    const outputs = this.outDim(v);
    const { W, b } = dense(v.map, outputs, inputs);
    this.layers.push({ inputs, outputs, weights: W, bias: b, relu });
    this.baseDims.push(outputs);
  }

  /** Broadcast of a constant to the feature layout of `v` (batch dim must broadcast from 1). */
  private broadcastToFeatures(c: ConstValue, v: DataValue, what: string): Float64Array {
    let cdims = c.dims;
    const legacy = this.opset < 7 && this.attr('broadcast');
    if (legacy) {
      // Opset < 7: B is aligned with A starting at `axis` (default: suffix), then broadcast.
      const axis = this.intAttr('axis', v.shape.length - cdims.length);
      const a = axis < 0 ? axis + v.shape.length : axis;
      if (a < 0 || a + cdims.length > v.shape.length)
        this.fail(`legacy broadcast axis ${axis} does not fit ${what} of shape ${JSON.stringify(cdims)}`);
      cdims = [...new Array(a).fill(1), ...cdims, ...new Array(v.shape.length - a - cdims.length).fill(1)];
    }
    const full = v.shape;
    if (cdims.length > full.length)
      this.fail(
        `${what} of shape ${JSON.stringify(c.dims)} has more dimensions than the data ${shapeText(v)}: it would broadcast the data to a larger shape`,
      );
    const padded = [...new Array(full.length - cdims.length).fill(1), ...cdims];
    padded.forEach((d, i) => {
      const fd = full[i];
      const isBatch = v.batched && i === 0;
      if (d === 1) return;
      if (isBatch) this.fail(`${what} of shape ${JSON.stringify(c.dims)} varies along the batch dimension`);
      if (d !== fd) this.fail(`${what} of shape ${JSON.stringify(c.dims)} does not broadcast to the data ${shapeText(v)}`);
    });
    const fshape = this.featureShape(v);
    const cf = v.batched ? padded.slice(1) : padded;
    const out = new Float64Array(prod(fshape));
    const strides = stridesOf(cf);
    const idx = new Array(fshape.length).fill(0);
    for (let k = 0; k < out.length; k++) {
      let off = 0;
      for (let d = 0; d < fshape.length; d++) if (cf[d] !== 1) off += idx[d] * strides[d];
      out[k] = c.data[off];
      for (let d = fshape.length - 1; d >= 0; d--) {
        if (++idx[d] < fshape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  // ---- the op table --------------------------------------------------------------------------

  private apply(node: OnnxNode): void {
    switch (node.opType) {
      case 'Constant':
        return this.constant();
      case 'Identity':
        return this.setOutput(this.get(node.inputs[0] ?? '', 'input'));
      case 'Dropout':
        return this.dropout();
      case 'Relu':
        return this.relu();
      case 'Gemm':
        return this.gemm();
      case 'MatMul':
        return this.matmul();
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return this.elementwise(node.opType);
      case 'Flatten':
        return this.flatten();
      case 'Reshape':
        return this.reshape();
      case 'BatchNormalization':
        return this.batchNorm();
      default:
        this.fail(`operator ${node.opType} is not supported`);
    }
  }

  private constant(): void {
    const a = this.node!.attributes[0];
    if (!a || this.node!.attributes.length !== 1) this.fail('Constant needs exactly one attribute');
    let c: ConstValue;
    if (a.name === 'value' && a.t) c = { kind: 'const', dims: a.t.dims, data: a.t.data };
    else if (a.name === 'value_float' && a.f !== undefined) c = { kind: 'const', dims: [], data: Float64Array.of(a.f) };
    else if (a.name === 'value_floats') c = { kind: 'const', dims: [a.floats.length], data: Float64Array.from(a.floats) };
    else if (a.name === 'value_int' && a.i !== undefined) c = { kind: 'const', dims: [], data: Float64Array.of(a.i) };
    else if (a.name === 'value_ints') c = { kind: 'const', dims: [a.ints.length], data: Float64Array.from(a.ints) };
    else this.fail('Constant attribute is not supported (value, value_float(s), value_int(s) are)', a.name, `attribute "${a.name}"`);
    this.setOutput(c);
  }

  private dropout(): void {
    const n = this.node!;
    const x = this.get(n.inputs[0] ?? '', 'input');
    if (n.inputs[2]) {
      const t = this.constInput(2, 'training_mode');
      if (t.data.some((v) => v !== 0)) this.fail('Dropout in training mode is random; export the model in inference mode');
    }
    if (n.outputs[1]) this.values.delete(n.outputs[1]); // the mask is not defined
    this.setOutput(x);
  }

  private relu(): void {
    const x = this.get(this.node!.inputs[0] ?? '', 'input');
    // biome-ignore lint/complexity/useMathMinMax: Math.max would keep a NaN; this maps it to 0, as the importer always has.
    if (x.kind === 'const') return this.setOutput({ kind: 'const', dims: x.dims, data: x.data.map((v) => (v > 0 ? v : 0)) });
    this.checkStage(x, 'input');
    const m = x.map;
    if (x.stage > 0 && m.kind === 'diag' && m.s === null && m.b.every((v) => v === 0)) return this.setOutput(x); // ReLU of a ReLU output
    this.closeLayer(x, true);
    const d = this.outDim(x);
    this.setOutput({
      kind: 'data',
      stage: this.baseDims.length - 1,
      batched: x.batched,
      shape: x.shape,
      map: { kind: 'diag', s: null, b: new Float64Array(d) },
    });
  }

  /** y = x · B (x: data [..., K], B: const [K, N]) as a map on flat features. */
  private rightMultiply(x: DataValue, B: Float64Array, K: number, N: number, what: string): DataValue {
    const fs = this.featureShape(x);
    if (fs.length === 0 || fs[fs.length - 1] !== K)
      this.fail(`${what}: the data ${shapeText(x)} has ${fs[fs.length - 1] ?? 0} columns, the constant has ${K} rows`);
    const R = prod(fs.slice(0, -1));
    const base = this.baseDims[x.stage];
    const outDim = R * N;
    const W = new Float64Array(outDim * base);
    const b = new Float64Array(outDim);
    const m = x.map;
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < K; k++) {
        const row = r * K + k;
        const bk = m.b[row];
        if (m.kind === 'diag') {
          const s = m.s ? m.s[row] : 1;
          for (let j = 0; j < N; j++) {
            const c = B[k * N + j];
            W[(r * N + j) * base + row] += c * s;
            b[r * N + j] += c * bk;
          }
        } else {
          const src = m.W.subarray(row * base, (row + 1) * base);
          for (let j = 0; j < N; j++) {
            const c = B[k * N + j];
            if (c === 0) continue;
            const dst = (r * N + j) * base;
            for (let t = 0; t < base; t++) W[dst + t] += c * src[t];
            b[r * N + j] += c * bk;
          }
        }
      }
    }
    const shape = [...x.shape.slice(0, -1), N];
    return { kind: 'data', stage: x.stage, batched: x.batched, shape, map: { kind: 'dense', W, b } };
  }

  private gemm(): void {
    const n = this.node!;
    const a = this.get(n.inputs[0] ?? '', 'A');
    if (a.kind !== 'data') {
      const bv = this.get(n.inputs[1] ?? '', 'B');
      if (bv.kind === 'data')
        this.fail('Gemm with the data as operand B multiplies across the batch dimension; only data · constant is supported');
      this.fail('Gemm of two constants is not supported (fold it when exporting)');
    }
    this.checkStage(a, 'A');
    if (a.shape.length !== 2) this.fail(`Gemm needs a 2-D input A, got ${shapeText(a)}`);
    if (this.intAttr('transA', 0) !== 0) this.fail('Gemm with transA = 1 on the data would transpose the batch dimension; not supported');
    const B = this.constInput(1, 'B');
    if (B.dims.length !== 2) this.fail(`Gemm operand B must be 2-D, got shape ${JSON.stringify(B.dims)}`);
    const transB = this.intAttr('transB', 0) !== 0;
    const K = transB ? B.dims[1] : B.dims[0];
    const N = transB ? B.dims[0] : B.dims[1];
    const alpha = this.floatAttr('alpha', 1);
    const beta = this.floatAttr('beta', 1);
    const Bm = new Float64Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bm[k * N + j] = alpha * (transB ? B.data[j * K + k] : B.data[k * N + j]);
    const y = this.rightMultiply(a, Bm, K, N, 'Gemm');
    if (n.inputs[2]) {
      const C = this.constInput(2, 'C');
      const c = this.broadcastToFeatures(C, y, 'C');
      const m = y.map as { b: Float64Array };
      for (let j = 0; j < c.length; j++) m.b[j] += beta * c[j];
    }
    this.setOutput(y);
  }

  private matmul(): void {
    const n = this.node!;
    const a = this.get(n.inputs[0] ?? '', 'A');
    const bv = this.get(n.inputs[1] ?? '', 'B');
    if (a.kind !== 'data') {
      if (bv.kind === 'data')
        this.fail('MatMul with the data as right operand multiplies across the batch dimension; only data · constant is supported');
      this.fail('MatMul of two constants is not supported');
    }
    this.checkStage(a, 'A');
    if (bv.kind !== 'const') this.fail('MatMul of two data tensors is not piecewise linear');
    const B = this.constInput(1, 'B');
    let dims = B.dims;
    while (dims.length > 2 && dims[0] === 1) dims = dims.slice(1);
    if (dims.length === 1) {
      // x · v: contracts the last axis and drops it.
      const y = this.rightMultiply(a, B.data, dims[0], 1, 'MatMul');
      y.shape = y.shape.slice(0, -1);
      if (y.batched && y.shape.length === 1) {
        // [N] output: keep one feature per sample.
        y.shape = [...y.shape, 1];
      }
      return this.setOutput(y);
    }
    if (dims.length !== 2)
      this.fail(`MatMul constant of shape ${JSON.stringify(B.dims)} is batched; only a 2-D (or 1-D) constant is supported`);
    if (this.featureShape(a).length === 0) this.fail('MatMul needs the data to have at least one feature dimension');
    this.setOutput(this.rightMultiply(a, B.data, dims[0], dims[1], 'MatMul'));
  }

  private elementwise(op: 'Add' | 'Sub' | 'Mul' | 'Div'): void {
    const n = this.node!;
    const x = this.get(n.inputs[0] ?? '', 'A');
    const y = this.get(n.inputs[1] ?? '', 'B');
    if (x.kind === 'const' && y.kind === 'const') return this.setOutput(foldConst(op, x, y, (m) => this.fail(m)));
    if (x.kind === 'data' && y.kind === 'data') {
      if (op === 'Mul' || op === 'Div') this.fail(`${op} of two data tensors is not piecewise linear`);
      this.checkStage(x, 'A');
      this.checkStage(y, 'B');
      if (
        x.batched !== y.batched ||
        x.shape.length !== y.shape.length ||
        x.shape.some((d, i) => d !== y.shape[i] && !(x.batched && i === 0))
      ) {
        this.fail(`${op} of data tensors of different shapes ${shapeText(x)} and ${shapeText(y)} is not supported`);
      }
      const s = op === 'Add' ? 1 : -1;
      return this.setOutput({ ...x, map: addMaps(x.map, y.map, s, this.baseDims[x.stage]) });
    }
    const data = (x.kind === 'data' ? x : y) as DataValue;
    const cv = (x.kind === 'const' ? x : y) as ConstValue;
    const constIdx = x.kind === 'const' ? 0 : 1;
    if (op === 'Div' && constIdx === 0) this.fail('Div of a constant by the data is not piecewise linear');
    this.checkStage(data, constIdx === 0 ? 'B' : 'A');
    const bad = cv.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) this.fail(`constant "${n.inputs[constIdx]}" holds a non-finite value at flat index ${bad}`, cv.data[bad]);
    const c = this.broadcastToFeatures(cv, data, `constant "${n.inputs[constIdx]}"`);
    let map: Affine;
    switch (op) {
      case 'Add':
        map = shift(data.map, c, 1);
        break;
      case 'Sub':
        map =
          constIdx === 1
            ? shift(data.map, c, -1)
            : shift(
                scale(
                  data.map,
                  c.map(() => -1),
                ),
                c,
                1,
              );
        break;
      case 'Mul':
        map = scale(data.map, c);
        break;
      case 'Div': {
        const z = c.indexOf(0);
        if (z >= 0) this.fail(`divides by zero (feature ${z} of constant "${n.inputs[1]}")`);
        map = scale(
          data.map,
          c.map((v) => 1 / v),
        );
        break;
      }
    }
    this.setOutput({ ...data, map });
  }

  private flatten(): void {
    const x = this.get(this.node!.inputs[0] ?? '', 'input');
    const rank = x.kind === 'const' ? x.dims.length : x.shape.length;
    let axis = this.intAttr('axis', 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) this.fail(`Flatten axis ${this.intAttr('axis', 1)} is out of range for rank ${rank}`);
    if (x.kind === 'const') {
      return this.setOutput({ kind: 'const', dims: [prod(x.dims.slice(0, axis)), prod(x.dims.slice(axis))], data: x.data });
    }
    this.checkStage(x, 'input');
    if (x.batched) {
      if (axis !== 1) this.fail(`Flatten with axis ${axis} would merge the batch dimension; only axis 1 is supported`);
      return this.setOutput({ ...x, shape: [x.shape[0], prod(x.shape.slice(1))] });
    }
    this.setOutput({ ...x, shape: [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))] });
  }

  private reshape(): void {
    const n = this.node!;
    const x = this.get(n.inputs[0] ?? '', 'data');
    const sv = this.get(n.inputs[1] ?? '', 'shape');
    if (sv.kind !== 'const')
      this.fail('Reshape needs a constant shape (an initializer or Constant), not one computed from the input', n.inputs[1]);
    const target = Array.from(sv.data);
    if (sv.dims.length !== 1 || target.some((v) => !Number.isInteger(v) || v < -1))
      this.fail('Reshape shape must be a 1-D list of integers >= -1', target);
    const allowZero = this.opset >= 14 && this.intAttr('allowzero', 0) !== 0;
    const inShape = x.kind === 'const' ? x.dims : x.shape;
    const total = x.kind === 'const' ? prod(x.dims) : x.batched ? -1 : prod(x.shape);
    // Resolve 0 (copy) and -1 (infer).
    const resolved = target.map((v, i) => (v === 0 && !allowZero ? (i < inShape.length ? inShape[i] : NaN) : v));
    if (resolved.some((v) => Number.isNaN(v))) this.fail('Reshape copies a dimension (0) the input does not have', target);
    if (resolved.filter((v) => v === -1).length > 1) this.fail('Reshape shape has more than one -1', target);
    if (x.kind === 'const' || !x.batched) {
      const known = prod(resolved.filter((v) => v !== -1));
      const inf = resolved.indexOf(-1);
      if (inf >= 0) {
        if (known === 0 || total % known !== 0) this.fail(`cannot reshape ${total} values to ${JSON.stringify(target)}`);
        resolved[inf] = total / known;
      }
      if (prod(resolved) !== total) this.fail(`cannot reshape ${total} values to ${JSON.stringify(target)}`);
      if (x.kind === 'const') return this.setOutput({ kind: 'const', dims: resolved, data: x.data });
      this.checkStage(x, 'data');
      return this.setOutput({ ...x, shape: resolved });
    }
    this.checkStage(x, 'data');
    // Batched: the batch must stay in dimension 0.
    const feat = this.outDim(x);
    const batch = x.shape[0];
    const keepsBatch = (target[0] === 0 && !allowZero) || target[0] === -1 || (batch > 0 && target[0] === batch);
    if (resolved.length < 2 || !keepsBatch) {
      this.fail(
        `Reshape to ${JSON.stringify(target)} would change the batch dimension of ${shapeText(x)}; only reshapes that keep dimension 0 are supported`,
      );
    }
    const rest = resolved.slice(1);
    const inf = rest.indexOf(-1);
    if (inf >= 0) {
      if (target[0] === -1) this.fail('Reshape shape has more than one -1', target);
      const known = prod(rest.filter((v) => v !== -1));
      if (known === 0 || feat % known !== 0) this.fail(`cannot reshape ${feat} features per sample to ${JSON.stringify(target)}`);
      rest[inf] = feat / known;
    }
    if (prod(rest) !== feat) this.fail(`cannot reshape ${feat} features per sample to ${JSON.stringify(target)}`);
    this.setOutput({ ...x, shape: [batch, ...rest] });
  }

  private batchNorm(): void {
    const n = this.node!;
    const x = this.get(n.inputs[0] ?? '', 'X');
    if (x.kind !== 'data') this.fail('BatchNormalization of a constant is not supported');
    this.checkStage(x, 'X');
    if (!x.batched || x.shape.length < 2) this.fail(`BatchNormalization needs an input of shape [N, C, ...], got ${shapeText(x)}`);
    if (this.intAttr('training_mode', 0) !== 0) this.fail('BatchNormalization in training mode; export the model in inference mode');
    if (n.outputs.slice(1).some((o) => o !== '')) {
      for (const o of n.outputs.slice(1)) if (o) this.values.delete(o);
    }
    const [scaleT, biasT, meanT, varT] = [1, 2, 3, 4].map((i) => this.constInput(i, ['scale', 'B', 'mean', 'var'][i - 1]));
    const eps = this.floatAttr('epsilon', 1e-5);
    const fs = this.featureShape(x);
    const C = fs[0];
    const spatial = this.opset < 9 ? this.intAttr('spatial', 1) !== 0 : true;
    const per = spatial ? C : prod(fs);
    for (const [t, name] of [
      [scaleT, 'scale'],
      [biasT, 'B'],
      [meanT, 'mean'],
      [varT, 'var'],
    ] as const) {
      if (t.data.length !== per) this.fail(`BatchNormalization ${name} has ${t.data.length} values, expected ${per}`);
    }
    const inner = spatial ? prod(fs.slice(1)) : 1;
    const d = prod(fs);
    const s = new Float64Array(d);
    const c = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      const ch = spatial ? Math.floor(k / inner) : k;
      const v = varT.data[ch] + eps;
      if (!(v > 0)) this.fail(`BatchNormalization var + epsilon is ${v} <= 0 for channel ${ch}`);
      s[k] = scaleT.data[ch] / Math.sqrt(v);
      c[k] = biasT.data[ch] - s[k] * meanT.data[ch];
    }
    this.setOutput({ ...x, map: shift(scale(x.map, s), c, 1) });
  }
}

function shapeText(v: DataValue): string {
  return `[${v.shape.map((d, i) => (v.batched && i === 0 ? (d > 0 ? String(d) : 'N') : String(d))).join(', ')}]`;
}

function stridesOf(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

function dense(m: Affine, out: number, base: number): { W: Float64Array; b: Float64Array } {
  if (m.kind === 'dense') return { W: m.W, b: Float64Array.from(m.b) };
  const W = new Float64Array(out * base);
  for (let i = 0; i < out; i++) W[i * base + i] = m.s ? m.s[i] : 1;
  return { W, b: Float64Array.from(m.b) };
}

/** m + s·c (c per feature). */
function shift(m: Affine, c: Float64Array, s: number): Affine {
  const b = m.b.map((v, i) => v + s * c[i]);
  return m.kind === 'diag' ? { kind: 'diag', s: m.s, b } : { kind: 'dense', W: m.W, b };
}

/** c ⊙ m (c per feature). */
function scale(m: Affine, c: Float64Array): Affine {
  const b = m.b.map((v, i) => v * c[i]);
  if (m.kind === 'diag') return { kind: 'diag', s: m.s ? m.s.map((v, i) => v * c[i]) : Float64Array.from(c), b };
  const base = m.W.length / m.b.length;
  const W = m.W.map((v, k) => v * c[Math.floor(k / base)]);
  return { kind: 'dense', W, b };
}

function addMaps(x: Affine, y: Affine, s: number, base: number): Affine {
  const b = x.b.map((v, i) => v + s * y.b[i]);
  if (x.kind === 'diag' && y.kind === 'diag') {
    const sx = x.s ?? new Float64Array(b.length).fill(1);
    const sy = y.s ?? new Float64Array(b.length).fill(1);
    return { kind: 'diag', s: sx.map((v, i) => v + s * sy[i]), b };
  }
  const wx = dense(x, b.length, base).W;
  const wy = dense(y, b.length, base).W;
  return { kind: 'dense', W: wx.map((v, i) => v + s * wy[i]), b };
}

/** Numpy broadcasting of two constants. */
function foldConst(op: 'Add' | 'Sub' | 'Mul' | 'Div', x: ConstValue, y: ConstValue, fail: (m: string) => never): ConstValue {
  const r = Math.max(x.dims.length, y.dims.length);
  const dx = [...new Array(r - x.dims.length).fill(1), ...x.dims];
  const dy = [...new Array(r - y.dims.length).fill(1), ...y.dims];
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
  const idx = new Array(r).fill(0);
  for (let k = 0; k < total; k++) {
    let ox = 0;
    let oy = 0;
    for (let d = 0; d < r; d++) {
      if (dx[d] !== 1) ox += idx[d] * sx[d];
      if (dy[d] !== 1) oy += idx[d] * sy[d];
    }
    const a = x.data[ox];
    const b = y.data[oy];
    data[k] = op === 'Add' ? a + b : op === 'Sub' ? a - b : op === 'Mul' ? a * b : a / b;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return { kind: 'const', dims, data };
}

/** Reads an ONNX model into a dense ReLU network. */
export function parseOnnxDense(bytes: Uint8Array, file = 'model.onnx', opts: OnnxImportOptions = {}): Network & { onnx?: OnnxModelInfo } {
  const model = decodeModel(bytes, file);
  const { network, info } = new Importer(model, file).run(opts);
  const net = network as Network & { onnx?: OnnxModelInfo };
  net.onnx = info;
  return net;
}
