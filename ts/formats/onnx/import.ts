/**
 * ONNX import (`parseOnnx`): the graph is read symbolically into a network graph
 * (ts/network/graph.ts). Every data tensor is an affine expression over the values built so far
 * (./linear-expr.ts, ./reader.ts); affine operators compose into it, each `Relu` (and each
 * max/min, lowered to ReLUs) emits a node, and residual connections are terms from older values.
 * Shape sub-graphs are folded to constants. A model that is a chain of dense layers gives the same
 * dense layers as the dense-only reader this replaced, bit for bit.
 *
 * One operator table ({@link OPERATORS}) maps each op to its handler; the supported list is
 * generated from it, and every node is checked against it before anything is read: an unknown op
 * is an InputError naming the node (index and name), the op and the nearest supported
 * alternative. IR < 4 models that list initializers among the graph inputs are handled, as is the
 * legacy broadcasting (`broadcast`/`axis` attributes) of opsets < 7.
 */
import { InputError } from '../../errors.js';
import type { GraphNode, GraphTerm, NetworkGraph } from '../../network/graph.js';
import { Network } from '../../network.js';
import { GRAPH_VALUES_KEY } from './graph-emit.js';
import { isValue, valueExpr } from './linear-expr.js';
import { averagePool, batchNorm, conv, convTranspose, elementwise, gemm, matmul, neg, sum } from './ops-affine.js';
import { abs, clip, leakyRelu, max, maxPool, min, prelu, relu } from './ops-relu.js';
import {
  cast,
  concat,
  constant,
  constantOfShape,
  dropout,
  flatten,
  gather,
  identity,
  pad,
  reshape,
  shape,
  slice,
  split,
  squeeze,
  transpose,
  unsqueeze,
} from './ops-shape.js';
import { DT, dataTypeName, decodeModel, type OnnxModel, prod } from './proto.js';
import { Reader } from './reader.js';

/** The operator table: op type (default domain) → handler. */
const OPERATORS: Readonly<Record<string, (r: Reader) => void>> = {
  Gemm: gemm,
  MatMul: matmul,
  Add: elementwise,
  Sub: elementwise,
  Mul: elementwise,
  Div: elementwise,
  Sum: sum,
  Neg: neg,
  Relu: relu,
  LeakyRelu: leakyRelu,
  PRelu: prelu,
  Abs: abs,
  Max: max,
  Min: min,
  Clip: clip,
  Conv: conv,
  ConvTranspose: convTranspose,
  AveragePool: (r) => averagePool(r),
  GlobalAveragePool: (r) => averagePool(r, true),
  MaxPool: (r) => maxPool(r),
  GlobalMaxPool: (r) => maxPool(r, true),
  BatchNormalization: batchNorm,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Gather: gather,
  Identity: identity,
  Dropout: dropout,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Shape: shape,
  Cast: cast,
};

/** The operators the importer understands (default domain), generated from the operator table. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPERATORS);

/** Operators that are not piecewise linear. */
const CURVED = new Set([
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Softplus',
  'Softsign',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Mish',
  'HardSigmoid',
  'HardSwish',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Pow',
  'Reciprocal',
  'Sin',
  'Cos',
  'Tan',
  'LRN',
  'LayerNormalization',
  'InstanceNormalization',
  'GroupNormalization',
  'LpNormalization',
  'MeanVarianceNormalization',
]);

/** The nearest supported operator(s) for common unsupported ones. */
const NEAREST: Readonly<Record<string, string>> = {
  ReduceMean: 'GlobalAveragePool (a mean over the spatial axes) or AveragePool',
  ReduceSum: 'MatMul with a constant vector of ones',
  ReduceMax: 'MaxPool or GlobalMaxPool',
  ReduceMin: 'Min',
  ArgMax: 'none: export the scores, the argmax is read from them',
  Upsample: 'ConvTranspose, or Gather/Concat of the data',
  Resize: 'ConvTranspose, or Gather/Concat of the data',
  Expand: 'Concat, or Add of a constant (broadcast)',
  Tile: 'Concat',
  Einsum: 'MatMul or Gemm',
  MatMulInteger: 'MatMul',
  QLinearConv: 'Conv (export the float model)',
  QLinearMatMul: 'MatMul (export the float model)',
  DequantizeLinear: 'none: export the float model',
  QuantizeLinear: 'none: export the float model',
  MaxUnpool: 'ConvTranspose',
  LpPool: 'AveragePool or MaxPool',
  GlobalLpPool: 'GlobalAveragePool or GlobalMaxPool',
  ThresholdedRelu: 'Relu (with an Add of the threshold before it)',
  Shrink: 'Relu',
  Where: 'Max or Min (a data-dependent selection is a ReLU)',
  Greater: 'Max or Min',
  Less: 'Max or Min',
  Equal: 'none: comparisons are not continuous',
  If: 'none: control flow is not supported',
  Loop: 'none: control flow is not supported',
  Scan: 'none: control flow is not supported',
  Range: 'Constant',
  Size: 'Shape',
  Sign: 'none: Sign is not continuous',
  Floor: 'none: Floor is not continuous',
  Ceil: 'none: Ceil is not continuous',
  Round: 'none: Round is not continuous',
  Mean: 'Sum and Mul by a constant',
  DepthToSpace: 'Reshape and Transpose',
  SpaceToDepth: 'Reshape and Transpose',
};

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

/** Curved operators that keep the argmax of their input (per class monotone): harmless at the output head. */
const ARGMAX_PRESERVING = new Set(['Softmax', 'LogSoftmax', 'Sigmoid', 'Tanh']);

function unsupported(file: string, i: number, name: string, op: string, opType: string, atOutputHead: boolean): InputError {
  const field = `graph.node[${i}]${name ? ` "${name}"` : ''}`;
  let why: string;
  if (CURVED.has(opType)) {
    why =
      `operator ${op} is not piecewise linear: relu-repair repairs only piecewise-linear networks (affine operators, ReLU, max, min)` +
      (atOutputHead && ARGMAX_PRESERVING.has(opType)
        ? `; as the last operator, export the logits instead, i.e. the model without its final ${op} (the argmax is the same)`
        : `; a ${op} ${atOutputHead ? 'output' : 'hidden layer'} cannot be repaired by this method`);
  } else {
    const nearest = NEAREST[opType];
    why = `operator ${op} is not supported${nearest ? `; nearest supported: ${nearest}` : ''}; supported operators: ${SUPPORTED_OPS.join(', ')}`;
  }
  return new InputError(why, { file, field, value: op });
}

/** Keeps the nodes the output depends on (renumbering the values). */
function prune(nodes: GraphNode[]): GraphNode[] {
  const needed = new Array(nodes.length + 1).fill(false);
  needed[nodes.length] = true;
  for (let k = nodes.length - 1; k >= 0; k--) if (needed[k + 1]) for (const t of nodes[k].terms) needed[t.from] = true;
  const renumber = new Array(nodes.length + 1).fill(-1);
  renumber[0] = 0;
  const kept: GraphNode[] = [];
  nodes.forEach((n, k) => {
    if (!needed[k + 1]) return;
    kept.push({ ...n, terms: n.terms.map((t) => ({ ...t, from: renumber[t.from] })) });
    renumber[k + 1] = kept.length;
  });
  return kept;
}

/**
 * A chain whose nodes each read the previous value through one dense, scaling or identity
 * operator becomes a chain of dense layers, as the dense-only reader produced (a scaling or
 * identity map becomes a diagonal matrix).
 */
function densify(nodes: GraphNode[]): GraphNode[] {
  const chain = nodes.every(
    (n, k) =>
      n.terms.length === 1 && n.terms[0].from === k && !n.terms[0].negate && ['dense', 'scale', 'identity'].includes(n.terms[0].op.kind),
  );
  if (!chain) return nodes;
  return nodes.map((n, k) => {
    const op = n.terms[0].op;
    if (op.kind === 'dense') return n;
    const size = n.bias.length;
    const base = k === 0 ? -1 : nodes[k - 1].bias.length;
    const inputs = op.kind === 'scale' ? op.values.length : op.kind === 'identity' ? op.size : base;
    const W = new Float64Array(size * inputs);
    for (let i = 0; i < size; i++) W[i * inputs + i] = op.kind === 'scale' ? op.values[i] : 1;
    const term: GraphTerm = { from: k, op: { kind: 'dense', inputs, outputs: size, weights: W } };
    return { ...n, terms: [term] };
  });
}

/** The node values named by our exporter's metadata (./graph-emit.ts). */
function graphValues(model: OnnxModel, file: string): Set<string> {
  const entry = model.metadata.find((m) => m.key === GRAPH_VALUES_KEY);
  if (!entry) return new Set();
  let names: unknown;
  try {
    names = JSON.parse(entry.value);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
    throw new InputError('must be a JSON array of tensor names', {
      file,
      field: `metadata_props "${GRAPH_VALUES_KEY}"`,
      value: entry.value,
    });
  return new Set(names as string[]);
}

function run(model: OnnxModel, file: string, opts: OnnxImportOptions): { network: Network; info: OnnxModelInfo } {
  const g = model.graph;
  const main = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const opset = main ? main.version : 1;
  if (g.sparseInitializers > 0)
    throw new InputError('has sparse initializers, which this reader does not support', { file, field: 'graph.sparse_initializer' });

  // 1. The op table, checked for every node before anything else.
  g.nodes.forEach((n, i) => {
    const standard = n.domain === '' || n.domain === 'ai.onnx';
    if (!standard || !Object.hasOwn(OPERATORS, n.opType)) {
      const atOutputHead = n.outputs.some((o) => g.outputs.some((v) => v.name === o));
      throw unsupported(file, i, n.name, standard ? n.opType : `${n.domain}.${n.opType}`, n.opType, atOutputHead);
    }
  });

  // 2. Constants: initializers (IR < 4 models also list them among the inputs).
  const r = new Reader(file, opset);
  for (const t of g.initializers) {
    if (!t.name) throw new InputError('has an initializer without a name', { file, field: 'graph.initializer' });
    r.values.set(t.name, { kind: 'const', dims: t.dims, data: t.data });
  }
  const inputs = g.inputs.filter((v) => !r.values.has(v.name));
  if (inputs.length !== 1) {
    throw new InputError(`must have exactly one data input (inputs that are not initializers), found ${inputs.length}`, {
      file,
      field: 'graph.input',
      value: inputs.map((v) => v.name),
    });
  }
  const input = inputs[0];
  if (![DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16, 0].includes(input.elemType as 1)) {
    throw new InputError(`input element type ${dataTypeName(input.elemType)} is not a floating-point type`, {
      file,
      field: `graph.input "${input.name}"`,
    });
  }
  const inShape = input.shape;
  if (!inShape || inShape.length === 0)
    throw new InputError('the input has no shape, so its size is unknown', { file, field: `graph.input "${input.name}"` });
  const batched = inShape.length >= 2;
  const features = batched ? inShape.slice(1) : inShape;
  features.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0) {
      throw new InputError('input feature dimensions must be fixed positive numbers', {
        file,
        field: `graph.input "${input.name}".shape[${batched ? i + 1 : i}]`,
        value: d,
      });
    }
  });
  const featureShape = features as number[];
  const n = prod(featureShape);
  const batch = batched ? (typeof inShape[0] === 'number' && inShape[0] > 0 ? inShape[0] : -1) : 0;
  r.sizes.push(n);
  r.values.set(input.name, {
    kind: 'data',
    batched,
    shape: batched ? [batch, ...featureShape] : featureShape,
    expr: valueExpr(0, n),
  });

  // 3. The nodes, in order (ONNX requires a topological order). Tensors our exporter marks as node
  // values stay nodes, so that its graphs read back with the same nodes.
  const keep = graphValues(model, file);
  g.nodes.forEach((node, i) => {
    r.nodeIndex = i;
    r.node = node;
    try {
      OPERATORS[node.opType](r);
    } catch (e) {
      // A shape no check foresaw can still exhaust an allocation: say where.
      if (e instanceof RangeError) r.fail(`cannot be read: ${e.message}`);
      throw e;
    }
    for (const o of node.outputs) {
      const v = keep.has(o) ? r.values.get(o) : undefined;
      if (v?.kind === 'data') r.values.set(o, { ...v, expr: r.materialise(v.expr) });
    }
  });
  r.node = undefined;

  // 4. The output: the last node, or a linear node of its own.
  let outputs = g.outputs;
  if (opts.output !== undefined) {
    outputs = outputs.filter((o) => o.name === opts.output);
    if (outputs.length === 0) throw new InputError('is not a graph output', { file, field: 'output', value: opts.output });
  }
  if (outputs.length !== 1) {
    throw new InputError(`has ${outputs.length} outputs; pick one (option "output")`, {
      file,
      field: 'graph.output',
      value: g.outputs.map((o) => o.name),
    });
  }
  const outName = outputs[0].name;
  const out = r.values.get(outName);
  if (!out) throw new InputError('is not computed by any node', { file, field: `graph.output "${outName}"` });
  if (out.kind !== 'data')
    throw new InputError('is a constant: it does not depend on the input', { file, field: `graph.output "${outName}"` });
  const v = isValue(out.expr);
  if (out.expr.terms.length === 0) throw new InputError('computes no affine layer from the input', { file, field: 'graph' });
  // The output is the last node; a tensor that is not (an older value, the input itself) gets a linear node.
  if (v === undefined || v === 0 || v !== r.nodes.length) r.emit(out.expr, false);
  const graph: NetworkGraph = { inputShape: featureShape, nodes: densify(prune(r.nodes)) };
  return {
    network: Network.fromGraph(graph, { source: file }),
    info: {
      inputName: input.name,
      outputName: outName,
      inputShape: featureShape,
      irVersion: model.irVersion,
      opset,
      producer: `${model.producerName} ${model.producerVersion}`.trim(),
    },
  };
}

/** Reads an ONNX model into a network (a graph; a chain of dense layers when the model is one). */
export function parseOnnx(bytes: Uint8Array, file = 'model.onnx', opts: OnnxImportOptions = {}): Network & { onnx?: OnnxModelInfo } {
  return parseOnnxModel(decodeModel(bytes, file), file, opts);
}

/** {@link parseOnnx} of a decoded model (the repaired-network read-back imports a sub-graph of one: ./readback.ts). */
export function parseOnnxModel(model: OnnxModel, file = 'model.onnx', opts: OnnxImportOptions = {}): Network & { onnx?: OnnxModelInfo } {
  const { network, info } = run(model, file, opts);
  const net = network as Network & { onnx?: OnnxModelInfo };
  net.onnx = info;
  return net;
}
