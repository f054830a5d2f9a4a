/**
 * The ONNX reader's state while it walks the graph (ts/formats/onnx/import.ts drives it, the
 * operator handlers in ops-*.ts use it): the tensors by name — constants, and data tensors as
 * affine expressions over the network graph being built (./linear-expr.ts) — the nodes emitted so
 * far, and the current ONNX node with its attributes, so that every error names the node (index,
 * name, op) and the field.
 */
import { InputError } from '../../errors.js';
import type { Activation } from '../../network/activation.js';
import type { GraphNode } from '../../network/graph.js';
import type { PrefixNode } from '../../network/prefix.js';
import { type Expr, isValue, nodeOf, valueExpr } from './linear-expr.js';
import { type OnnxAttribute, type OnnxNode, prod } from './proto.js';

/**
 * A constant tensor. In shape computations the batch size of a batched input whose batch
 * dimension is symbolic is NaN (`x.view(x.size(0), -1)` reads it with Shape and Gather).
 */
export interface ConstValue {
  kind: 'const';
  dims: number[];
  data: Float64Array;
}

export interface DataValue {
  kind: 'data';
  /** Whether dim 0 of `shape` is the batch dimension. */
  batched: boolean;
  /** Full shape; a batched value has `shape[0]` = the batch size (a number, or -1 when symbolic). */
  shape: number[];
  expr: Expr;
}

export type Value = DataValue | ConstValue;

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

export function shapeText(v: DataValue): string {
  return `[${v.shape.map((d, i) => (v.batched && i === 0 ? (d > 0 ? String(d) : 'N') : String(d))).join(', ')}]`;
}

export class Reader {
  readonly values = new Map<string, Value>();
  /** The network graph under construction: value 0 is the input, value k + 1 node k. */
  readonly nodes: GraphNode[] = [];
  readonly sizes: number[] = [];
  nodeIndex = -1;
  node: OnnxNode | undefined;

  constructor(
    readonly file: string,
    readonly opset: number,
  ) {}

  where(field?: string): { file: string; field: string } {
    const n = this.node;
    const at = n ? `graph.node[${this.nodeIndex}] (${n.opType}${n.name ? ` "${n.name}"` : ''})` : 'graph';
    return { file: this.file, field: field ? `${at}.${field}` : at };
  }

  fail(message: string, value?: unknown, field?: string): never {
    const w = this.where(field) as { file: string; field: string; value?: unknown };
    if (value !== undefined) w.value = value;
    throw new InputError(message, w);
  }

  // ---- inputs and outputs of the current node ----------------------------------------------

  get(idx: number, what: string): Value {
    const name = this.node!.inputs[idx] ?? '';
    if (name === '') this.fail(`${what} is missing`);
    const v = this.values.get(name);
    if (!v) this.fail(`${what} "${name}" is not defined before this node (not an initializer, input or earlier output)`);
    return v;
  }

  has(idx: number): boolean {
    return (this.node!.inputs[idx] ?? '') !== '';
  }

  data(idx: number, what: string): DataValue {
    const v = this.get(idx, what);
    if (v.kind !== 'data') this.fail(`${what} must be computed from the input, not a constant`, this.node!.inputs[idx]);
    return v;
  }

  /** A constant input; with `finite`, every value must be finite (weights, not shapes). */
  constInput(idx: number, what: string, finite = true): ConstValue {
    const v = this.get(idx, what);
    if (v.kind !== 'const')
      this.fail(
        `${what} must be a constant (an initializer or Constant output), not a tensor computed from the input`,
        this.node!.inputs[idx],
      );
    if (finite) {
      const bad = v.data.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) this.fail(`${what} "${this.node!.inputs[idx]}" holds a non-finite value at flat index ${bad}`, v.data[bad]);
    }
    return v;
  }

  /** Whole numbers of a constant input (shapes, axes, pads); NaN (the symbolic batch size) only where `batchAllowed`. */
  intsInput(idx: number, what: string, batchAllowed = false): number[] {
    const c = this.constInput(idx, what, false);
    const v = Array.from(c.data);
    v.forEach((x, i) => {
      if (Number.isNaN(x) && batchAllowed) return;
      if (!Number.isInteger(x)) this.fail(`${what} must hold integers (value ${i} is ${x})`, v);
    });
    return v;
  }

  setOutput(v: Value, idx = 0): void {
    const name = this.node!.outputs[idx];
    if (name === undefined || name === '') this.fail('has no output name');
    this.values.set(name, v);
  }

  // ---- attributes ---------------------------------------------------------------------------

  attr(name: string): OnnxAttribute | undefined {
    return this.node!.attributes.find((a) => a.name === name);
  }

  intAttr(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.i === undefined) this.fail(`attribute ${name} must be an integer`, undefined, `attribute "${name}"`);
    return a.i;
  }

  floatAttr(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    const v = a.f ?? a.i;
    if (v === undefined || Number.isNaN(v)) this.fail(`attribute ${name} must be a number`, v, `attribute "${name}"`);
    return v;
  }

  intsAttr(name: string): number[] | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.type !== 7 && a.ints.length === 0 && a.i === undefined)
      this.fail(`attribute ${name} must be a list of integers`, undefined, `attribute "${name}"`);
    return a.ints.length > 0 || a.type === 7 ? a.ints : [a.i!];
  }

  stringAttr(name: string, dflt: string): string {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.s === undefined) this.fail(`attribute ${name} must be a string`, undefined, `attribute "${name}"`);
    return a.s;
  }

  // ---- shapes -------------------------------------------------------------------------------

  /** A tensor of `dims` must have whole, non-negative dimensions and at most 2^27 elements (1 GiB of float64). */
  checkShape(dims: readonly number[], what: string): void {
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) this.fail(`${what} has an invalid shape ${JSON.stringify(dims)}`);
    const n = prod(dims);
    if (!(n <= 2 ** 27)) this.fail(`${what} of shape ${JSON.stringify(dims)} has ${n} elements, more than this reader holds (2^27)`);
  }

  featureShape(v: DataValue): number[] {
    return v.batched ? v.shape.slice(1) : v.shape;
  }

  featureSize(v: DataValue): number {
    return prod(this.featureShape(v));
  }

  /** `v` with features of shape `features` (the batch dimension kept) and expression `expr`. */
  withFeatures(v: DataValue, features: number[], expr: Expr): DataValue {
    return { kind: 'data', batched: v.batched, shape: v.batched ? [v.shape[0], ...features] : features, expr };
  }

  /** An axis of a tensor of `rank` dimensions (negative counts from the end). */
  axis(a: number, rank: number, what = 'axis'): number {
    const r = a < 0 ? a + rank : a;
    if (!Number.isInteger(r) || r < 0 || r >= rank) this.fail(`${what} ${a} is out of range for rank ${rank}`);
    return r;
  }

  /** A feature axis of `v` (the batch axis is refused, naming `op`). */
  featureAxis(v: DataValue, a: number, op: string): number {
    const ax = this.axis(a, v.shape.length);
    if (v.batched && ax === 0) this.fail(`${op} along the batch dimension is not supported (the batch must stay dimension 0)`);
    return v.batched ? ax - 1 : ax;
  }

  // ---- the graph under construction ---------------------------------------------------------

  /** Emits node `relu?(e)`; the new value's index. */
  emit(e: Expr, relu: boolean): number {
    this.nodes.push(nodeOf(e, relu));
    this.sizes.push(e.bias.length);
    return this.nodes.length;
  }

  /**
   * Emits node `act(e)` with a curved activation (only while reading the prefix of a head repair:
   * such nodes make a prefix graph, never a network); the new value's index.
   */
  emitActivation(e: Expr, activation: Activation): number {
    const node: PrefixNode = { ...nodeOf(e, false), activation };
    this.nodes.push(node);
    this.sizes.push(e.bias.length);
    return this.nodes.length;
  }

  /** Whether value v is the output of a ReLU node. */
  isReluValue(v: number): boolean {
    return v > 0 && this.nodes[v - 1].relu;
  }

  /** Expressions already emitted as linear nodes (a tensor read twice is materialised once). */
  private readonly materialised = new WeakMap<Expr, Expr>();

  /** `e` as a plain value: itself when it is one, else a linear node (emitted once per expression). */
  materialise(e: Expr): Expr {
    if (isValue(e) !== undefined) return e;
    let m = this.materialised.get(e);
    if (!m) {
      m = valueExpr(this.emit(e, false), e.bias.length);
      this.materialised.set(e, m);
    }
    return m;
  }

  /** f(e), materialising e first when f cannot compose with its terms. */
  compose(e: Expr, f: (e: Expr) => Expr | null): Expr {
    const direct = f(e);
    if (direct) return direct;
    const again = f(this.materialise(e));
    if (!again) throw new RangeError('an operator failed to compose with a plain value');
    return again;
  }

  /** A constant as an expression with no terms (for mixed data/constant operands). */
  static constExpr(c: Float64Array): Expr {
    return { terms: [], bias: Float64Array.from(c) };
  }

  /**
   * A constant broadcast to the feature layout of `v` (the batch dimension must broadcast from 1).
   * Opset < 7 models may align it at `axis` instead (legacy `broadcast`).
   */
  broadcastToFeatures(c: ConstValue, v: DataValue, what: string): Float64Array {
    let cdims = c.dims;
    const legacy = this.opset < 7 && this.attr('broadcast');
    if (legacy) {
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
}
