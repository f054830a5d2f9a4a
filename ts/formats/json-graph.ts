/**
 * Version 2 of the relu-repair network format: a graph network (ts/network/graph.ts).
 *
 *   { "format": "relu-repair.network", "version": 2, "inputShape": [3, 32, 32], "inputBox"?: {...},
 *     "nodes": [ { "activation": "relu" | "linear", "bias": [...],
 *                  "terms": [ { "from": 0, "negate"?: true, "op": <operator> }, ... ] }, ... ] }
 *
 * Value 0 is the input, value k + 1 node k's output; the last node is the output. Operators:
 *   { "kind": "dense", "weights": [[...], ...] }                       outputs × inputs
 *   { "kind": "conv", "image": [C, H, W], "features": [C', H', W'], "kernel": [kh, kw], "strides": [sh, sw],
 *     "pads": [top, left, bottom, right], "dilations": [dh, dw], "groups": g, "transposed"?: true,
 *     "weights": [...] }                                               flat, [C'][C / g][kh][kw]
 *   { "kind": "avgPool", "channels": C, "image": [H, W], "output": [H', W'], "kernel", "strides", "pads",
 *     "dilations", "countIncludePad": true | false }
 *   { "kind": "scale", "values": [...] }
 *   { "kind": "gather", "inputs": n, "index": [...] }                   −1 = zero
 *   { "kind": "identity", "size": n }
 * Numbers are written by JSON.stringify (shortest round-trip form), so save → load is exact.
 */
import { InputError } from '../errors.js';
import type { GraphNode, GraphTerm, NetworkGraph } from '../network/graph.js';
import type { LinearOp } from '../network/ops.js';

function rows(flat: Float64Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from(flat.subarray(i, i + width)));
  return out;
}

function opToJson(op: LinearOp): Record<string, unknown> {
  const window = (o: { kernel: readonly number[]; strides: readonly number[]; pads: readonly number[]; dilations: readonly number[] }) => ({
    kernel: [...o.kernel],
    strides: [...o.strides],
    pads: [...o.pads],
    dilations: [...o.dilations],
  });
  switch (op.kind) {
    case 'dense':
      return { kind: 'dense', weights: rows(op.weights, op.inputs) };
    case 'conv':
      return {
        kind: 'conv',
        image: [...op.image],
        features: [...op.features],
        ...window(op),
        groups: op.groups,
        ...(op.transposed ? { transposed: true } : {}),
        weights: Array.from(op.weights),
      };
    case 'avgPool':
      return {
        kind: 'avgPool',
        channels: op.channels,
        image: [...op.image],
        output: [...op.output],
        ...window(op),
        countIncludePad: op.countIncludePad,
      };
    case 'scale':
      return { kind: 'scale', values: Array.from(op.values) };
    case 'gather':
      return { kind: 'gather', inputs: op.inputs, index: Array.from(op.index) };
    case 'identity':
      return { kind: 'identity', size: op.size };
  }
}

export function graphToJson(g: NetworkGraph): Record<string, unknown> {
  return {
    inputShape: [...g.inputShape],
    nodes: g.nodes.map((n) => ({
      activation: n.relu ? 'relu' : 'linear',
      bias: Array.from(n.bias),
      terms: n.terms.map((t) => ({ from: t.from, ...(t.negate ? { negate: true } : {}), op: opToJson(t.op) })),
    })),
  };
}

/** Reads the graph members of a version 2 network document; errors name the field. */
export function graphFromJson(d: Record<string, unknown>, file: string | undefined, at: (f: string) => string): NetworkGraph {
  const fail = (message: string, field: string, value?: unknown): never => {
    throw new InputError(message, { file, field: at(field), value });
  };
  const object = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('must be an object', field, v);
    return v as Record<string, unknown>;
  };
  const numbers = (v: unknown, field: string, len?: number): Float64Array => {
    if (!Array.isArray(v)) fail('must be an array of numbers', field, v);
    const a = v as unknown[];
    if (len !== undefined && a.length !== len) fail(`must have ${len} entries`, field, a.length);
    a.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail('is not a finite number', `${field}[${i}]`, x);
    });
    return Float64Array.from(a as number[]);
  };
  const ints = (v: unknown, field: string, len: number, min: number): number[] => {
    if (!Array.isArray(v) || v.length !== len) fail(`must be an array of ${len} integers`, field, v);
    const a = v as unknown[];
    a.forEach((x, i) => {
      if (!Number.isSafeInteger(x) || (x as number) < min) fail(`must be an integer >= ${min}`, `${field}[${i}]`, x);
    });
    return a as number[];
  };
  const int = (v: unknown, field: string, min: number): number => {
    if (!Number.isSafeInteger(v) || (v as number) < min) fail(`must be an integer >= ${min}`, field, v);
    return v as number;
  };
  const window = (o: Record<string, unknown>, f: string) => ({
    kernel: ints(o.kernel, `${f}.kernel`, 2, 1) as [number, number],
    strides: ints(o.strides, `${f}.strides`, 2, 1) as [number, number],
    pads: ints(o.pads, `${f}.pads`, 4, 0) as [number, number, number, number],
    dilations: ints(o.dilations, `${f}.dilations`, 2, 1) as [number, number],
  });
  const op = (v: unknown, f: string): LinearOp => {
    const o = object(v, f);
    switch (o.kind) {
      case 'dense': {
        if (!Array.isArray(o.weights) || o.weights.length === 0) fail('must be a non-empty array of rows', `${f}.weights`, o.weights);
        const W = o.weights as unknown[];
        const cols = Array.isArray(W[0]) ? (W[0] as unknown[]).length : 0;
        const data = new Float64Array(W.length * cols);
        W.forEach((row, i) => data.set(numbers(row, `${f}.weights[${i}]`, cols), i * cols));
        return { kind: 'dense', inputs: cols, outputs: W.length, weights: data };
      }
      case 'conv':
        return {
          kind: 'conv',
          image: ints(o.image, `${f}.image`, 3, 1) as [number, number, number],
          features: ints(o.features, `${f}.features`, 3, 1) as [number, number, number],
          ...window(o, f),
          groups: int(o.groups, `${f}.groups`, 1),
          transposed: o.transposed === true,
          weights: numbers(o.weights, `${f}.weights`),
        };
      case 'avgPool':
        if (typeof o.countIncludePad !== 'boolean') fail('must be true or false', `${f}.countIncludePad`, o.countIncludePad);
        return {
          kind: 'avgPool',
          channels: int(o.channels, `${f}.channels`, 1),
          image: ints(o.image, `${f}.image`, 2, 1) as [number, number],
          output: ints(o.output, `${f}.output`, 2, 1) as [number, number],
          ...window(o, f),
          countIncludePad: o.countIncludePad as boolean,
        };
      case 'scale':
        return { kind: 'scale', values: numbers(o.values, `${f}.values`) };
      case 'gather': {
        const index = numbers(o.index, `${f}.index`);
        return { kind: 'gather', inputs: int(o.inputs, `${f}.inputs`, 1), index: Int32Array.from(index) };
      }
      case 'identity':
        return { kind: 'identity', size: int(o.size, `${f}.size`, 1) };
      default:
        return fail('kind must be one of "dense", "conv", "avgPool", "scale", "gather", "identity"', `${f}.kind`, o.kind);
    }
  };
  if (!Array.isArray(d.inputShape)) fail('must be an array of positive integers', 'inputShape', d.inputShape);
  const inputShape = ints(d.inputShape, 'inputShape', (d.inputShape as unknown[]).length, 1);
  if (!Array.isArray(d.nodes) || d.nodes.length === 0) fail('must be a non-empty array of nodes', 'nodes', d.nodes);
  const nodes: GraphNode[] = (d.nodes as unknown[]).map((v, k) => {
    const f = `nodes[${k}]`;
    const n = object(v, f);
    if (n.activation !== 'relu' && n.activation !== 'linear') fail('must be "relu" or "linear"', `${f}.activation`, n.activation);
    if (!Array.isArray(n.terms)) fail('must be an array of terms', `${f}.terms`, n.terms);
    const terms: GraphTerm[] = (n.terms as unknown[]).map((tv, i) => {
      const t = object(tv, `${f}.terms[${i}]`);
      if (t.negate !== undefined && typeof t.negate !== 'boolean') fail('must be true or false', `${f}.terms[${i}].negate`, t.negate);
      return { from: int(t.from, `${f}.terms[${i}].from`, 0), op: op(t.op, `${f}.terms[${i}].op`), negate: t.negate === true };
    });
    return { terms, bias: numbers(n.bias, `${f}.bias`), relu: n.activation === 'relu' };
  });
  return { inputShape, nodes };
}
