/**
 * Builds the node and initializer lists of an ONNX graph for the exporter (ts/formats/onnx/
 * export.ts, patch-graph.ts): fresh names that avoid the graph's input and output, one element
 * type for every initializer.
 */
import { type AttrOut, DT, type NodeOut, type TensorOut } from './proto.js';

export class GraphBuilder {
  readonly nodes: NodeOut[] = [];
  readonly inits: TensorOut[] = [];
  private counter = 0;

  constructor(
    readonly dataType: typeof DT.FLOAT | typeof DT.DOUBLE,
    /** Names the generated ones must avoid (the graph input and output). */
    private readonly reserved: ReadonlySet<string> = new Set(),
    /** Prepended to node names (a graph that joins nodes from elsewhere keeps its names apart). */
    private readonly nodePrefix = '',
  ) {}

  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.reserved.has(name));
    return name;
  }

  init(prefix: string, dims: number[], data: ArrayLike<number>): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dataType: this.dataType, dims, data });
    return name;
  }

  /** An INT64 initializer (shapes, pads, indices). */
  initInt64(prefix: string, dims: number[], data: ArrayLike<number>): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dataType: DT.INT64, dims, data });
    return name;
  }

  op(opType: string, inputs: string[], attributes: AttrOut[] = [], out?: string): string {
    const o = out ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, inputs, outputs: [o], name: `${this.nodePrefix}${opType}_${this.nodes.length}`, attributes });
    return o;
  }

  /** x · Wᵀ + b for W row-major outputs × inputs. */
  gemm(x: string, W: ArrayLike<number>, outputs: number, inputs: number, b: ArrayLike<number>, prefix: string, out?: string): string {
    return this.gemmNamed(x, W, outputs, inputs, b, prefix, out).out;
  }

  /** {@link gemm}, also returning the initializer names (so other branches can share them). */
  gemmNamed(
    x: string,
    W: ArrayLike<number>,
    outputs: number,
    inputs: number,
    b: ArrayLike<number>,
    prefix: string,
    out?: string,
  ): { out: string; W: string; b: string } {
    const w = this.init(`${prefix}_W`, [outputs, inputs], W);
    const bb = this.init(`${prefix}_b`, [outputs], b);
    return { out: this.op('Gemm', [x, w, bb], [{ name: 'transB', i: 1 }], out), W: w, b: bb };
  }
}
