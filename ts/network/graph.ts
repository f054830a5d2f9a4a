/**
 * The graph of a piecewise-linear network (twin of crates/core/src/network/graph.rs): nodes in
 * topological order, each `v_k = relu?(Σ_t ±A_t v_{from_t} + bias_k)` with A_t a structured linear
 * operator (./ops.ts); value 0 is the input, value k + 1 node k's output, the last node the output.
 * The activation pattern has one bit per element of every ReLU node, in node and element order
 * (pre-activation >= 0 counts as active). A chain of dense layers is the graph whose node k reads
 * value k through one dense operator.
 */
import { InputError } from '../errors.js';
import type * as abi from '../wasm/abi.js';
import { type LinearOp, opInputs, opOutputs } from './ops.js';

export interface GraphTerm {
  /** The value read: 0 the input, k + 1 the output of node k (an earlier node). */
  readonly from: number;
  readonly op: LinearOp;
  /** Subtract instead of add. */
  readonly negate?: boolean;
}

export interface GraphNode {
  readonly terms: readonly GraphTerm[];
  /** One value per element: its length is the node's size. */
  readonly bias: Float64Array;
  readonly relu: boolean;
}

export interface NetworkGraph {
  /** Shape of one input without the batch dimension (e.g. [3, 32, 32]); its product is the input size. */
  readonly inputShape: readonly number[];
  readonly nodes: readonly GraphNode[];
}

/** One affine layer `y = W x + b` (W row-major, outputs × inputs), optionally followed by ReLU. */
export interface DenseLayer {
  readonly inputs: number;
  readonly outputs: number;
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly relu: boolean;
}

export const inputSizeOf = (g: NetworkGraph) => g.inputShape.reduce((a, b) => a * b, 1);

/** Size of value v (0 the input, k + 1 node k). */
export function valueSize(g: NetworkGraph, v: number): number {
  return v === 0 ? inputSizeOf(g) : g.nodes[v - 1].bias.length;
}

/** Checks a graph's structure (the core checks the parameters' consistency again); errors name the node and term. */
export function checkGraph(g: NetworkGraph, file?: string): void {
  const bad = (message: string, field: string, value?: unknown): never => {
    throw new InputError(message, { file, field, value });
  };
  if (!Array.isArray(g.inputShape) || g.inputShape.length === 0 || g.inputShape.some((d) => !Number.isSafeInteger(d) || d <= 0))
    bad('must be a non-empty list of positive integers', 'inputShape', g.inputShape);
  if (!Array.isArray(g.nodes) || g.nodes.length === 0) bad('a network needs at least one node', 'nodes');
  g.nodes.forEach((node, k) => {
    const f = `nodes[${k}]`;
    const size = node.bias.length;
    if (size === 0) bad('is empty (no bias values)', `${f}.bias`);
    const nb = node.bias.findIndex((v) => !Number.isFinite(v));
    if (nb >= 0) bad('is not a finite number', `${f}.bias[${nb}]`, node.bias[nb]);
    if (node.terms.length === 0) bad('a node needs at least one term', `${f}.terms`);
    node.terms.forEach((t, i) => {
      const tf = `${f}.terms[${i}]`;
      if (!Number.isInteger(t.from) || t.from < 0 || t.from > k)
        bad(`must be an earlier value (0 = the input, 1..${k} = nodes 0..${k - 1})`, `${tf}.from`, t.from);
      const src = valueSize(g, t.from);
      if (opInputs(t.op) !== src) bad(`${t.op.kind} takes ${opInputs(t.op)} inputs, value ${t.from} has ${src}`, `${tf}.op`);
      if (opOutputs(t.op) !== size) bad(`${t.op.kind} gives ${opOutputs(t.op)} outputs, the node has ${size}`, `${tf}.op`);
      checkOp(t.op, `${tf}.op`, bad);
    });
  });
}

/** An operator's own parameters: finite weights, indices in range, consistent geometry. */
function checkOp(op: LinearOp, field: string, bad: (message: string, field: string, value?: unknown) => never): void {
  const finite = (v: Float64Array, name: string) => {
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) bad('is not a finite number', `${field}.${name}[${i}]`, v[i]);
  };
  // Window extents are bounded as in the core (crates/core/src/network/window.rs, MAX_EXTENT).
  const positive = (v: readonly number[], name: string) => {
    if (v.some((d) => !Number.isSafeInteger(d) || d <= 0 || d > 2 ** 15)) bad('must be integers from 1 to 32768', `${field}.${name}`, v);
  };
  const nonNegative = (v: readonly number[], name: string) => {
    if (v.some((d) => !Number.isSafeInteger(d) || d < 0 || d > 2 ** 15)) bad('must be integers from 0 to 32768', `${field}.${name}`, v);
  };
  switch (op.kind) {
    case 'dense':
      if (![op.inputs, op.outputs].every((d) => Number.isSafeInteger(d) && d > 0))
        bad('must be positive integers', `${field}.inputs/outputs`, [op.inputs, op.outputs]);
      if (op.weights.length !== op.inputs * op.outputs)
        bad(`has ${op.weights.length} weights, expected ${op.outputs}x${op.inputs}`, `${field}.weights`, op.weights.length);
      return finite(op.weights, 'weights');
    case 'conv': {
      positive([...op.image, ...op.features, ...op.kernel, ...op.strides, ...op.dilations], 'shape');
      nonNegative(op.pads, 'pads');
      if (!Number.isSafeInteger(op.groups) || op.groups <= 0 || op.image[0] % op.groups || op.features[0] % op.groups)
        bad(`${op.groups} groups do not divide ${op.image[0]} and ${op.features[0]} channels`, `${field}.groups`, op.groups);
      const want = op.features[0] * (op.image[0] / op.groups) * op.kernel[0] * op.kernel[1];
      if (op.weights.length !== want) bad(`has ${op.weights.length} weights, expected ${want}`, `${field}.weights`, op.weights.length);
      return finite(op.weights, 'weights');
    }
    case 'avgPool':
      positive([op.channels, ...op.image, ...op.output, ...op.kernel, ...op.strides, ...op.dilations], 'shape');
      return nonNegative(op.pads, 'pads');
    case 'scale':
      return finite(op.values, 'values');
    case 'gather': {
      const i = op.index.findIndex((k) => k < -1 || k >= op.inputs);
      if (i >= 0) bad(`must be -1 (zero) or an input index below ${op.inputs}`, `${field}.index[${i}]`, op.index[i]);
      return;
    }
    case 'identity':
      return;
  }
}

export function hiddenCountOf(g: NetworkGraph): number {
  return g.nodes.reduce((s, n) => s + (n.relu ? n.bias.length : 0), 0);
}

/** The graph of a chain of dense layers (the weights are shared, not copied). */
export function graphOfLayers(layers: readonly DenseLayer[], inputShape?: readonly number[]): NetworkGraph {
  return {
    inputShape: inputShape ?? [layers[0].inputs],
    nodes: layers.map((l, i) => ({
      terms: [{ from: i, op: { kind: 'dense', inputs: l.inputs, outputs: l.outputs, weights: l.weights } }],
      bias: l.bias,
      relu: l.relu,
    })),
  };
}

/** The layers of a graph that is a dense chain (node k reads value k through one added dense operator), else undefined. */
export function denseLayersOf(g: NetworkGraph): DenseLayer[] | undefined {
  const layers: DenseLayer[] = [];
  for (let k = 0; k < g.nodes.length; k++) {
    const n = g.nodes[k];
    const t = n.terms[0];
    if (n.terms.length !== 1 || t.from !== k || t.negate || t.op.kind !== 'dense') return undefined;
    layers.push({ inputs: t.op.inputs, outputs: t.op.outputs, weights: t.op.weights, bias: n.bias, relu: n.relu });
  }
  return layers;
}

/** A short description of what makes a graph more than a dense chain (for messages). */
export function graphSummary(g: NetworkGraph): string {
  const kinds = new Set<string>();
  let skips = 0;
  g.nodes.forEach((n, k) => {
    for (const t of n.terms) {
      kinds.add(t.op.kind === 'conv' && t.op.transposed ? 'convTranspose' : t.op.kind);
      if (t.from !== k) skips++;
    }
  });
  const parts = [...kinds].filter((k) => k !== 'dense');
  if (skips > 0) parts.push(`${skips} skip connection${skips > 1 ? 's' : ''}`);
  return `a graph of ${g.nodes.length} nodes (${parts.join(', ') || 'several terms per node'})`;
}

/** The graph as the core's `rr_graph_new` takes it: the shape object and the parameters. */
export function encodeGraph(g: NetworkGraph): { shape: abi.ObjectOf<typeof abi.GRAPH_SHAPE>; params: Float64Array } {
  const lists = {
    dense: [] as abi.ObjectOf<typeof abi.DENSE_SHAPE>[],
    conv: [] as abi.ObjectOf<typeof abi.CONV_SHAPE>[],
    pool: [] as abi.ObjectOf<typeof abi.POOL_SHAPE>[],
    scale: [] as abi.ObjectOf<typeof abi.SCALE_SHAPE>[],
    gather: [] as abi.ObjectOf<typeof abi.GATHER_SHAPE>[],
  };
  const chunks: { dense: Float64Array[]; conv: Float64Array[]; scale: Float64Array[]; gather: Int32Array[] } = {
    dense: [],
    conv: [],
    scale: [],
    gather: [],
  };
  const window = (op: {
    kernel: readonly number[];
    strides: readonly number[];
    pads: readonly number[];
    dilations: readonly number[];
  }) => ({
    kernelHeight: op.kernel[0],
    kernelWidth: op.kernel[1],
    strideHeight: op.strides[0],
    strideWidth: op.strides[1],
    padTop: op.pads[0],
    padLeft: op.pads[1],
    padBottom: op.pads[2],
    padRight: op.pads[3],
    dilationHeight: op.dilations[0],
    dilationWidth: op.dilations[1],
  });
  const nodes = g.nodes.map((n) => ({
    size: n.bias.length,
    relu: n.relu,
    terms: n.terms.map((t) => {
      const op = t.op;
      let index = 0;
      switch (op.kind) {
        case 'dense':
          index = lists.dense.push({ inputs: op.inputs, outputs: op.outputs }) - 1;
          chunks.dense.push(op.weights);
          break;
        case 'conv':
          index =
            lists.conv.push({
              imageChannels: op.image[0],
              imageHeight: op.image[1],
              imageWidth: op.image[2],
              featureChannels: op.features[0],
              featureHeight: op.features[1],
              featureWidth: op.features[2],
              ...window(op),
              groups: op.groups,
              transposed: op.transposed,
            }) - 1;
          chunks.conv.push(op.weights);
          break;
        case 'avgPool':
          index =
            lists.pool.push({
              channels: op.channels,
              imageHeight: op.image[0],
              imageWidth: op.image[1],
              outputHeight: op.output[0],
              outputWidth: op.output[1],
              ...window(op),
              countIncludePad: op.countIncludePad,
            }) - 1;
          break;
        case 'scale':
          index = lists.scale.push({ size: op.values.length }) - 1;
          chunks.scale.push(op.values);
          break;
        case 'gather':
          index = lists.gather.push({ inputs: op.inputs, outputs: op.index.length }) - 1;
          chunks.gather.push(op.index);
          break;
        case 'identity':
          break;
      }
      return { from: t.from, negate: t.negate === true, op: op.kind, index };
    }),
  }));
  const parts: ArrayLike<number>[] = [...chunks.dense, ...chunks.conv, ...chunks.scale, ...chunks.gather, ...g.nodes.map((n) => n.bias)];
  const params = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    params.set(p, pos);
    pos += p.length;
  }
  return { shape: { inputs: inputSizeOf(g), nodes, ...lists }, params };
}
