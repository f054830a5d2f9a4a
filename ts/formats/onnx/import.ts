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
import { PrefixNetwork, type PrefixNode } from '../../network/prefix.js';
import { Network } from '../../network.js';
import { GRAPH_VALUES_KEY } from './graph-emit.js';
import { isValue, valueExpr } from './linear-expr.js';
import { averagePool, batchNorm, conv, convTranspose, elementwise, gemm, matmul, neg, sum } from './ops-affine.js';
import { CURVED_OPERATORS } from './ops-curved.js';
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
import {
  DT,
  dataTypeName,
  decodeModel,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  prod,
} from './proto.js';
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

function unsupported(
  file: string,
  i: number,
  name: string,
  op: string,
  opType: string,
  atOutputHead: boolean,
  g?: OnnxGraph,
  after?: string,
): InputError {
  const field = `graph.node[${i}]${name ? ` "${name}"` : ''}`;
  let why: string;
  if (CURVED.has(opType)) {
    why = `operator ${op} is not piecewise linear: relu-repair repairs only piecewise-linear networks (affine operators, ReLU, max, min)`;
    if (after !== undefined) {
      why += `; it comes after the head-repair tensor "${after}" (the part after --from must be piecewise linear): start from a tensor after it`;
    } else if (atOutputHead && ARGMAX_PRESERVING.has(opType)) {
      why += `; as the last operator, export the logits instead, i.e. the model without its final ${op} (the argmax is the same)`;
    } else {
      // Head repair: the curved part becomes a fixed feature extractor.
      const last = g ? lastCurvedOutput(g) : undefined;
      why +=
        `; a ${op} ${atOutputHead ? 'output' : 'hidden layer'} cannot be repaired by this method` +
        (last && !atOutputHead
          ? `, but the piecewise-linear part after it can: head repair from a tensor after the last curved operator (CLI repair --from "${last}", API headFrom); verify, certify and repair without --from need the whole network piecewise linear`
          : '');
    }
  } else {
    const nearest = NEAREST[opType];
    why = `operator ${op} is not supported${nearest ? `; nearest supported: ${nearest}` : ''}; supported operators: ${SUPPORTED_OPS.join(', ')}`;
  }
  return new InputError(why, { file, field, value: op });
}

/** The output of the last curved node of the graph (a candidate for head repair), if any. */
function lastCurvedOutput(g: OnnxGraph): string | undefined {
  for (let i = g.nodes.length - 1; i >= 0; i--) if (CURVED.has(g.nodes[i].opType)) return g.nodes[i].outputs[0];
  return undefined;
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

/** The model's default-domain opset. */
function opsetOf(model: OnnxModel): number {
  const main = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return main ? main.version : 1;
}

/** Checks node `i` against the operator table (`extra`: further handlers allowed here). */
function checkOp(g: OnnxGraph, file: string, i: number, extra?: Readonly<Record<string, unknown>>, after?: string): void {
  const n = g.nodes[i];
  const standard = n.domain === '' || n.domain === 'ai.onnx';
  if (standard && (Object.hasOwn(OPERATORS, n.opType) || (extra && Object.hasOwn(extra, n.opType)))) return;
  const atOutputHead = n.outputs.some((o) => g.outputs.some((v) => v.name === o));
  throw unsupported(file, i, n.name, standard ? n.opType : `${n.domain}.${n.opType}`, n.opType, atOutputHead, g, after);
}

/** A reader with the initializers as constants (IR < 4 models also list them among the inputs). */
function readerWithConstants(g: OnnxGraph, file: string, opset: number): Reader {
  const r = new Reader(file, opset);
  for (const t of g.initializers) {
    if (!t.name) throw new InputError('has an initializer without a name', { file, field: 'graph.initializer' });
    r.values.set(t.name, { kind: 'const', dims: t.dims, data: t.data });
  }
  return r;
}

/** The one data input (value 0 of the graph under construction) and its feature shape. */
function readInput(r: Reader, g: OnnxGraph, file: string): { input: OnnxValueInfo; featureShape: number[] } {
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
  return { input, featureShape };
}

/**
 * Reads node `i` with `table` (ONNX requires a topological order). Tensors our exporter marks as
 * node values stay nodes, so that its graphs read back with the same nodes.
 */
function readNode(r: Reader, g: OnnxGraph, i: number, keep: Set<string>, table: Readonly<Record<string, (r: Reader) => void>>): void {
  const node = g.nodes[i];
  r.nodeIndex = i;
  r.node = node;
  try {
    table[node.opType](r);
  } catch (e) {
    // A shape no check foresaw can still exhaust an allocation: say where.
    if (e instanceof RangeError) r.fail(`cannot be read: ${e.message}`);
    throw e;
  }
  for (const o of node.outputs) {
    const v = keep.has(o) ? r.values.get(o) : undefined;
    if (v?.kind === 'data') r.values.set(o, { ...v, expr: r.materialise(v.expr) });
  }
  r.node = undefined;
}

/** The graph output (one, or the one `opts.output` names) as the last node; its name. */
function finishOutput(r: Reader, g: OnnxGraph, file: string, opts: OnnxImportOptions): string {
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
  return outName;
}

function run(model: OnnxModel, file: string, opts: OnnxImportOptions): { network: Network; info: OnnxModelInfo } {
  const g = model.graph;
  const opset = opsetOf(model);
  if (g.sparseInitializers > 0)
    throw new InputError('has sparse initializers, which this reader does not support', { file, field: 'graph.sparse_initializer' });
  // 1. The op table, checked for every node before anything else.
  g.nodes.forEach((_, i) => checkOp(g, file, i));
  // 2. Constants, 3. the input, 4. the nodes in order, 5. the output.
  const r = readerWithConstants(g, file, opset);
  const { input, featureShape } = readInput(r, g, file);
  const keep = graphValues(model, file);
  g.nodes.forEach((_, i) => readNode(r, g, i, keep, OPERATORS));
  const outName = finishOutput(r, g, file, opts);
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

/** Options of {@link parseOnnxHead}. */
export interface OnnxHeadOptions extends OnnxImportOptions {
  /**
   * The tensor head repair starts from: the model is split there into a prefix (everything that
   * computes this tensor from the input, any operator the prefix evaluator supports, curved ones
   * included) and a piecewise-linear tail (this tensor → the output).
   */
  headFrom: string;
}

/** A model split for head repair (see {@link parseOnnxHead}). */
export interface OnnxHead {
  /** The tensor the split is at. */
  from: string;
  /** input → the tensor: a fixed feature extractor (float64 evaluator in TypeScript). */
  prefix: PrefixNetwork;
  /** the tensor → the output: a piecewise-linear network whose input is the tensor. */
  tail: Network & { onnx?: OnnxModelInfo };
  /** The original model's interface (input name and shape, output name, opset). */
  info: OnnxModelInfo;
  /**
   * The prefix as ONNX: its nodes and the initializers they read, as read (for exports that copy
   * them verbatim), and the element type of the input.
   */
  source: { nodes: OnnxNode[]; initializers: OnnxTensor[]; inputElemType: number; opsets: { domain: string; version: number }[] };
}

/** Node indices computing `name` (its producer and all the producer's ancestors), in order. */
function ancestors(g: OnnxGraph, name: string): Set<number> {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producer.set(o, i);
  });
  const out = new Set<number>();
  const stack = [name];
  while (stack.length > 0) {
    const i = producer.get(stack.pop()!);
    if (i === undefined || out.has(i)) continue;
    out.add(i);
    for (const t of g.nodes[i].inputs) if (t) stack.push(t);
  }
  return out;
}

function runHead(model: OnnxModel, file: string, opts: OnnxHeadOptions): OnnxHead {
  const g = model.graph;
  const opset = opsetOf(model);
  const from = opts.headFrom;
  if (g.sparseInitializers > 0)
    throw new InputError('has sparse initializers, which this reader does not support', { file, field: 'graph.sparse_initializer' });
  if (typeof from !== 'string' || from === '')
    throw new InputError('must name a tensor of the model', { file, field: 'headFrom', value: from });
  const prefixNodes = ancestors(g, from);
  if (prefixNodes.size === 0) {
    const isInput = g.inputs.some((v) => v.name === from);
    const isInit = g.initializers.some((t) => t.name === from);
    throw new InputError(
      isInput
        ? 'is the model input: the whole network is repaired without --from (it must then be piecewise linear)'
        : isInit
          ? 'is a constant of the model (an initializer), not a tensor computed from the input'
          : `is not a tensor of the model (no node computes it); node outputs include ${g.nodes
              .slice(0, 8)
              .map((n) => `"${n.outputs[0]}"`)
              .join(', ')}${g.nodes.length > 8 ? ', …' : ''}`,
      { file, field: 'headFrom', value: from },
    );
  }
  // The op tables: curved operators only before the tensor.
  g.nodes.forEach((_, i) => checkOp(g, file, i, prefixNodes.has(i) ? CURVED_OPERATORS : undefined, from));
  const prefixTable = { ...OPERATORS, ...CURVED_OPERATORS };
  const keep = graphValues(model, file);

  // The prefix: the model input → the tensor.
  const rp = readerWithConstants(g, file, opset);
  const { input, featureShape } = readInput(rp, g, file);
  for (let i = 0; i < g.nodes.length; i++) if (prefixNodes.has(i)) readNode(rp, g, i, keep, prefixTable);
  const t = rp.values.get(from);
  if (t?.kind !== 'data') throw new InputError('is a constant: it does not depend on the input', { file, field: 'headFrom', value: from });
  const tv = isValue(t.expr);
  if (tv === undefined || tv === 0 || tv !== rp.nodes.length) rp.emit(t.expr, false);
  const latentShape = rp.featureShape(t);
  const prefix = new PrefixNetwork({ inputShape: featureShape, nodes: prune(rp.nodes) as PrefixNode[] }, latentShape);

  // The tail: the tensor → the output. It reads only the tensor and constants.
  const rt = readerWithConstants(g, file, opset);
  rt.sizes.push(prod(latentShape));
  rt.values.set(from, { kind: 'data', batched: t.batched, shape: t.shape, expr: valueExpr(0, prod(latentShape)) });
  for (let i = 0; i < g.nodes.length; i++) {
    if (prefixNodes.has(i)) continue;
    for (const name of g.nodes[i].inputs) {
      if (!name || rt.values.has(name)) continue;
      const v = rp.values.get(name);
      if (v?.kind === 'const') rt.values.set(name, v);
      else if (v?.kind === 'data') {
        const n = g.nodes[i];
        throw new InputError(
          `reads tensor "${name}", which is computed before "${from}" and not through it (a connection around it): the tail from "${from}" is not a function of "${from}" alone; choose a tensor every path to the output passes through`,
          { file, field: `graph.node[${i}]${n.name ? ` "${n.name}"` : ''}`, value: name },
        );
      }
    }
    readNode(rt, g, i, keep, OPERATORS);
  }
  const outName = finishOutput(rt, g, file, opts);
  const tail = Network.fromGraph(
    { inputShape: latentShape, nodes: densify(prune(rt.nodes)) },
    { source: `${file} (from "${from}")` },
  ) as Network & {
    onnx?: OnnxModelInfo;
  };
  const info: OnnxModelInfo = {
    inputName: input.name,
    outputName: outName,
    inputShape: featureShape,
    irVersion: model.irVersion,
    opset,
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
  };
  tail.onnx = { ...info, inputName: from, inputShape: latentShape };
  const used = new Set<string>();
  const nodes = g.nodes.filter((_, i) => prefixNodes.has(i));
  for (const n of nodes) for (const name of n.inputs) used.add(name);
  return {
    from,
    prefix,
    tail,
    info,
    source: {
      nodes,
      initializers: g.initializers.filter((x) => used.has(x.name)),
      inputElemType: input.elemType,
      opsets: model.opsets,
    },
  };
}

/**
 * Reads an ONNX model for head repair: split at tensor `opts.headFrom` into a prefix evaluated
 * in float64 by TypeScript (any supported operator, curved ones included: Sigmoid, Tanh, Softmax,
 * LogSoftmax, Exp, Softplus, Softsign, Erf, Gelu) and a piecewise-linear tail whose input is the
 * tensor. Errors name the node: a curved operator after the tensor, a tail node that reads a
 * tensor computed before it other than through it, a name that is not a tensor of the model.
 */
export function parseOnnxHead(bytes: Uint8Array, file = 'model.onnx', opts: OnnxHeadOptions): OnnxHead {
  return runHead(decodeModel(bytes, file), file, opts);
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
