/**
 * The prefix of a head repair: the part of a model before the tensor that head repair starts
 * from (`--from`, `headFrom`), used as a fixed feature extractor. It is a network graph
 * (./graph.ts) whose nodes may also apply a curved activation (./activation.ts: Sigmoid, Tanh,
 * Softmax, Exp, Softplus, Erf, Gelu, …), so the core cannot hold it: it is evaluated here, in
 * float64, value by value (the linear operators by ./ops.ts `forwardAdd`, the definitions the core
 * uses). Its sound output bounds over an input box (interval arithmetic, rounding included) give
 * the latent box of head repair.
 */
import { InputError } from '../errors.js';
import { type Activation, activationBounds, applyActivation } from './activation.js';
import { type GraphNode, inputSizeOf, valueSize } from './graph.js';
import { forwardAdd, type LinearOp } from './ops.js';

/** A node `act(Σ ±A v + bias)`: ReLU (`relu`), a curved activation, or none. */
export interface PrefixNode extends GraphNode {
  readonly activation?: Activation;
}

export interface PrefixGraph {
  /** Shape of one input without the batch dimension. */
  readonly inputShape: readonly number[];
  readonly nodes: readonly PrefixNode[];
}

/** The operator with |weights| (for interval radii and magnitudes). */
function absOp(op: LinearOp): LinearOp {
  switch (op.kind) {
    case 'dense':
    case 'conv':
      return { ...op, weights: op.weights.map(Math.abs) };
    case 'scale':
      return { ...op, values: op.values.map(Math.abs) };
    default:
      return op; // average pooling, index maps and the identity have no negative entries
  }
}

/** Most products summed into one output of `op` (the length of its longest dot product). */
function rowLength(op: LinearOp): number {
  switch (op.kind) {
    case 'dense':
      return op.inputs;
    case 'conv':
      return op.transposed ? op.features[0] * op.kernel[0] * op.kernel[1] : (op.image[0] / op.groups) * op.kernel[0] * op.kernel[1];
    case 'avgPool':
      return op.kernel[0] * op.kernel[1] + 1;
    default:
      return 1;
  }
}

export class PrefixNetwork {
  readonly inputSize: number;
  readonly outputSize: number;
  /** Shape of the output (the latent tensor) without the batch dimension. */
  readonly outputShape: readonly number[];
  private readonly lastUse: number[];
  private absOps?: LinearOp[][];

  constructor(
    readonly graph: PrefixGraph,
    outputShape: readonly number[],
  ) {
    const g = graph;
    this.inputSize = inputSizeOf({ inputShape: g.inputShape, nodes: [] });
    if (g.nodes.length === 0) {
      this.outputSize = this.inputSize;
    } else {
      this.outputSize = g.nodes[g.nodes.length - 1].bias.length;
    }
    this.outputShape = outputShape;
    this.lastUse = g.nodes.map((_, v) => v);
    this.lastUse.push(g.nodes.length);
    g.nodes.forEach((n, k) => {
      for (const t of n.terms) this.lastUse[t.from] = Math.max(this.lastUse[t.from], k);
    });
    this.lastUse[g.nodes.length] = Infinity;
  }

  /** Curved activations in the prefix (for messages and reports). */
  get curved(): string[] {
    return [...new Set(this.graph.nodes.filter((n) => n.activation).map((n) => n.activation!.kind))];
  }

  /** The latent points of `count` inputs (`count × inputSize`, row-major), float64. */
  forwardFlat(flat: Float64Array, count: number): Float64Array {
    const n = this.inputSize;
    const m = this.outputSize;
    if (flat.length !== count * n) throw new InputError(`has ${flat.length} values for ${count} inputs of ${n}`, { field: 'points' });
    const out = new Float64Array(count * m);
    const nodes = this.graph.nodes;
    if (nodes.length === 0) {
      out.set(flat);
      return out;
    }
    for (let p = 0; p < count; p++) {
      const values: (Float64Array | undefined)[] = [flat.subarray(p * n, (p + 1) * n)];
      nodes.forEach((node, k) => {
        const y = Float64Array.from(node.bias);
        for (const t of node.terms) {
          const src = values[t.from]!;
          if (t.negate) {
            const tmp = new Float64Array(y.length);
            forwardAdd(t.op, src, tmp);
            for (let i = 0; i < y.length; i++) y[i] -= tmp[i];
          } else forwardAdd(t.op, src, y);
        }
        if (node.relu) for (let i = 0; i < y.length; i++) y[i] = Math.max(y[i], 0);
        else if (node.activation) applyActivation(node.activation, y);
        values[k + 1] = y;
        for (const t of node.terms) if (t.from > 0 && this.lastUse[t.from] === k) values[t.from] = undefined;
      });
      out.set(values[nodes.length]!, p * m);
    }
    return out;
  }

  /**
   * A sound box of the prefix's outputs over the input box [lower, upper]: interval arithmetic
   * node by node (midpoint and radius through each linear operator, |A| for the radius), each
   * end widened by the worst rounding of the dot products that computed it
   * ((k + 4) ε · (|A| max|x| + |bias|), k the longest dot product), then the activation's bounds
   * (./activation.ts).
   */
  bounds(lower: ArrayLike<number>, upper: ArrayLike<number>): { lower: Float64Array; upper: Float64Array } {
    const nodes = this.graph.nodes;
    this.absOps ??= nodes.map((node) => node.terms.map((t) => absOp(t.op)));
    const los: (Float64Array | undefined)[] = [Float64Array.from(lower)];
    const his: (Float64Array | undefined)[] = [Float64Array.from(upper)];
    nodes.forEach((node, k) => {
      const size = node.bias.length;
      const mid = new Float64Array(size);
      const rad = new Float64Array(size);
      const mag = new Float64Array(size);
      let longest = 0;
      node.terms.forEach((t, ti) => {
        const lo = los[t.from]!;
        const hi = his[t.from]!;
        const srcMid = lo.map((v, i) => 0.5 * v + 0.5 * hi[i]);
        const srcRad = lo.map((v, i) => 0.5 * hi[i] - 0.5 * v);
        const srcMag = lo.map((v, i) => Math.max(Math.abs(v), Math.abs(hi[i])));
        const tm = new Float64Array(size);
        forwardAdd(t.op, srcMid, tm);
        const abs = this.absOps![k][ti];
        forwardAdd(abs, srcRad, rad);
        forwardAdd(abs, srcMag, mag);
        for (let i = 0; i < size; i++) mid[i] += t.negate ? -tm[i] : tm[i];
        longest += rowLength(t.op);
      });
      const lo = new Float64Array(size);
      const hi = new Float64Array(size);
      const eps = (longest + 4 + node.terms.length) * 2 ** -52;
      for (let i = 0; i < size; i++) {
        const c = mid[i] + node.bias[i];
        const err = eps * (mag[i] + Math.abs(node.bias[i]) + Math.abs(c) + rad[i]) + 1e-300;
        lo[i] = c - rad[i] * (1 + eps) - err;
        hi[i] = c + rad[i] * (1 + eps) + err;
      }
      if (node.relu) {
        for (let i = 0; i < size; i++) {
          lo[i] = Math.max(lo[i], 0);
          hi[i] = Math.max(hi[i], 0);
        }
      } else if (node.activation) activationBounds(node.activation, lo, hi);
      los[k + 1] = lo;
      his[k + 1] = hi;
      for (const t of node.terms) {
        if (t.from > 0 && this.lastUse[t.from] === k) {
          los[t.from] = undefined;
          his[t.from] = undefined;
        }
      }
    });
    return { lower: los[nodes.length]!, upper: his[nodes.length]! };
  }
}

/** Size of value v of a prefix graph (0 the input, k + 1 node k). */
export function prefixValueSize(g: PrefixGraph, v: number): number {
  return valueSize({ inputShape: g.inputShape, nodes: g.nodes }, v);
}
