/**
 * A network graph (ts/network/graph.ts) as ONNX nodes: every value is an [N, size] tensor;
 * structured operators are reshaped to images around Conv, ConvTranspose and AveragePool, index
 * maps are a Gather (after a Pad that appends the zero they read for −1), scalings a Mul; a node
 * sums its terms (Sub for negated ones) and its bias, then applies Relu. The initializers of each
 * term are created once, so that a second emission of a node (the linearised copies of the compact
 * patch supports, ./patch-graph.ts) shares them.
 */
import { InputError } from '../../errors.js';
import type { GraphNode, GraphTerm } from '../../network/graph.js';
import type { AvgPoolOp, ConvOp } from '../../network/ops.js';
import type { Network } from '../../network.js';
import type { GraphBuilder } from './graph-builder.js';
import { perChannel } from './linear-expr.js';

/** What the emitted network exposes to patch sub-graphs. */
export interface EmittedGraph {
  net: Network;
  /** Per node: the tensor before its ReLU (its value, for a linear node). */
  pre: string[];
  /** Per value (0 the input): its tensor. */
  values: string[];
  /** Emits node k's pre-activation again from other value tensors (sharing initializers). */
  emitNode(k: number, values: readonly string[]): string;
}

function windowAttrs(op: ConvOp | AvgPoolOp) {
  return [
    { name: 'kernel_shape', ints: [...op.kernel] },
    { name: 'strides', ints: [...op.strides] },
    { name: 'pads', ints: [op.pads[0], op.pads[1], op.pads[2], op.pads[3]] },
  ];
}

/**
 * Emits `net` reading the flat input `x` ([N, inputSize]); the output is written to `outputName`
 * when given (else a fresh name, in `values`).
 */
export function emitNetworkGraph(g: GraphBuilder, net: Network, x: string, outputName?: string): EmittedGraph {
  const nodes = net.graph.nodes;
  const inits = new Map<string, string>();
  const once = (key: string, make: () => string) => {
    let v = inits.get(key);
    if (v === undefined) {
      v = make();
      inits.set(key, v);
    }
    return v;
  };
  const int64 = (key: string, prefix: string, dims: number[], data: ArrayLike<number>) => once(key, () => g.initInt64(prefix, dims, data));
  const flat = (t: string, size: number) => g.op('Reshape', [t, int64(`flat${size}`, 'shape_flat', [2], [-1, size])]);
  const image = (t: string, shape: readonly number[]) =>
    g.op('Reshape', [t, int64(`img${shape.join('x')}`, 'shape_image', [4], [-1, shape[0], shape[1], shape[2]])]);

  /** The tensor of term t of node k (the node's bias `bias` folded in when given: a Gemm's C, or a Conv's per-channel B). */
  const emitTerm = (k: number, ti: number, t: GraphTerm, src: string, bias?: Float64Array): string => {
    const op = t.op;
    const key = `${k}.${ti}`;
    switch (op.kind) {
      case 'dense': {
        const inputs = [src, once(`${key}.W`, () => g.init(`node${k}_W`, [op.outputs, op.inputs], op.weights))];
        if (bias) inputs.push(once(`${k}.b`, () => g.init(`node${k}_b`, [bias.length], bias)));
        return g.op('Gemm', inputs, [{ name: 'transB', i: 1 }]);
      }
      case 'conv': {
        const W = once(`${key}.W`, () =>
          g.init(`node${k}_conv`, [op.features[0], op.image[0] / op.groups, op.kernel[0], op.kernel[1]], op.weights),
        );
        const inputs = [image(src, op.transposed ? op.features : op.image), W];
        if (bias) inputs.push(once(`${key}.B`, () => g.init(`node${k}_conv_b`, [bias.length], bias)));
        const attrs = [...windowAttrs(op), { name: 'dilations', ints: [...op.dilations] }, { name: 'group', i: op.groups }];
        if (op.transposed) {
          const pad = [0, 1].map((a) => {
            const covered = op.strides[a] * (op.features[a + 1] - 1) + (op.kernel[a] - 1) * op.dilations[a] + 1;
            return op.image[a + 1] - (covered - op.pads[a] - op.pads[a + 2]);
          });
          if (pad.some((p, a) => p < 0 || p >= Math.max(op.strides[a], op.dilations[a])))
            throw new InputError(`node ${k} term ${ti}: a transposed convolution whose output size ONNX cannot express`, {
              field: 'graph',
            });
          if (pad.some((p) => p > 0)) attrs.push({ name: 'output_padding', ints: pad });
          return flat(g.op('ConvTranspose', inputs, attrs), op.image[0] * op.image[1] * op.image[2]);
        }
        return flat(g.op('Conv', inputs, attrs), op.features[0] * op.features[1] * op.features[2]);
      }
      case 'avgPool': {
        if (op.dilations.some((d) => d !== 1))
          throw new InputError(`node ${k} term ${ti}: average pooling with dilations needs opset 19; not exported`, { field: 'graph' });
        const floor = [0, 1].map((a) => Math.floor((op.image[a] + op.pads[a] + op.pads[a + 2] - op.kernel[a]) / op.strides[a]) + 1);
        const attrs = [...windowAttrs(op), { name: 'count_include_pad', i: op.countIncludePad ? 1 : 0 }];
        if (floor.some((f, a) => f !== op.output[a])) attrs.push({ name: 'ceil_mode', i: 1 });
        const pooled = g.op('AveragePool', [image(src, [op.channels, op.image[0], op.image[1]])], attrs);
        return flat(pooled, op.channels * op.output[0] * op.output[1]);
      }
      case 'scale':
        return g.op('Mul', [src, once(`${key}.s`, () => g.init(`node${k}_scale`, [op.values.length], op.values))]);
      case 'gather': {
        const zero = op.index.some((i) => i < 0);
        const from = zero ? g.op('Pad', [src, int64(`pad1`, 'pad_zero', [4], [0, 0, 0, 1])]) : src;
        const idx = int64(
          `${key}.idx`,
          `node${k}_index`,
          [op.index.length],
          Array.from(op.index, (i) => (i < 0 ? op.inputs : i)),
        );
        return g.op('Gather', [from, idx], [{ name: 'axis', i: 1 }]);
      }
      case 'identity':
        return src;
    }
  };

  /** Node k's pre-activation from the value tensors `vals`. */
  const emitNode = (k: number, vals: readonly string[], out?: string): string => {
    const node: GraphNode = nodes[k];
    const size = node.bias.length;
    const t0 = node.terms[0];
    // The bias goes into the first term when it can (a dense term's C, a convolution's per-channel B).
    let first: Float64Array | undefined;
    if (!t0.negate && t0.op.kind === 'dense') first = node.bias;
    if (!t0.negate && t0.op.kind === 'conv') {
      const shape = t0.op.transposed ? t0.op.image : t0.op.features;
      first = perChannel(node.bias, shape[0], shape[1] * shape[2]) ?? undefined;
    }
    const biasDone = first !== undefined;
    let acc: string | undefined;
    node.terms.forEach((t, ti) => {
      const v = emitTerm(k, ti, t, vals[t.from], ti === 0 ? first : undefined);
      if (acc === undefined) acc = t.negate ? g.op('Neg', [v]) : v;
      else acc = g.op(t.negate ? 'Sub' : 'Add', [acc, v]);
    });
    if (!biasDone) acc = g.op('Add', [acc!, once(`${k}.b`, () => g.init(`node${k}_b`, [size], node.bias))]);
    if (out !== undefined) return g.op('Identity', [acc!], [], out);
    return acc!;
  };

  const values = [x];
  const pre: string[] = [];
  nodes.forEach((node, k) => {
    const last = k === nodes.length - 1;
    const z = emitNode(k, values, last && !node.relu ? outputName : undefined);
    pre.push(z);
    values.push(node.relu ? g.op('Relu', [z], [], last ? outputName : undefined) : z);
  });
  return { net, pre, values, emitNode: (k, vals) => emitNode(k, vals) };
}

/**
 * The metadata entry naming the tensors that are node values of the exported graph: the reader
 * keeps them as nodes instead of composing them into their readers, so that a graph network reads
 * back with the same nodes and parameters.
 */
export const GRAPH_VALUES_KEY = 'relu-repair.graph-values';

export function graphValuesMetadata(e: EmittedGraph): { key: string; value: string } {
  return { key: GRAPH_VALUES_KEY, value: JSON.stringify(e.values.slice(1)) };
}
