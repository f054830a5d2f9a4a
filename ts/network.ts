/**
 * Piecewise-linear networks: a graph of structured linear operators and ReLUs (./network/graph.ts;
 * a chain of dense layers is one). The data lives in JavaScript (so it can be saved, exported and
 * moved to workers); the core holds a copy behind a handle for evaluation
 * (crates/core/src/network/).
 */
import { InputError } from './errors.js';
import {
  checkGraph,
  type DenseLayer,
  denseLayersOf,
  encodeGraph,
  graphOfLayers,
  graphSummary,
  hiddenCountOf,
  inputSizeOf,
  type NetworkGraph,
} from './network/graph.js';
import * as abi from './wasm/abi.js';
import { type Core, getCore } from './wasm/raw.js';

export type { DenseLayer, GraphNode, GraphTerm, NetworkGraph } from './network/graph.js';
export type { AvgPoolOp, ConvOp, DenseOp, GatherOp, IdentityOp, LinearOp, ScaleOp } from './network/ops.js';

/** An axis-aligned input box. */
export interface Box {
  readonly lower: readonly number[];
  readonly upper: readonly number[];
}

export interface NetworkInfo {
  /** Where the network came from (file name), for messages. */
  source?: string;
  /** Input range the model declares (e.g. the .nnet header), used as the default input domain. */
  inputBox?: Box;
}

/** Inputs as an array of points or one flat row-major Float64Array. */
export type Points = readonly (readonly number[] | Float64Array)[] | Float64Array;

interface CoreHandle {
  core: Core;
  handle: number;
}

const releaser = new FinalizationRegistry<CoreHandle>(({ core, handle }) => {
  try {
    core.release(handle);
  } catch {
    /* instance already gone */
  }
});

/** Owns a core handle that is re-created when the core instance changes (after a trap). */
export abstract class CoreBacked {
  private cached: CoreHandle | undefined;

  protected abstract createHandle(core: Core): number;

  /** The handle in the current core instance. */
  handle(): { core: Core; handle: number } {
    const core = getCore();
    if (this.cached && this.cached.core === core) return this.cached;
    const handle = this.createHandle(core);
    this.cached = { core, handle };
    releaser.register(this, this.cached, this);
    return this.cached;
  }

  /** Releases the core copy now (it is re-created on next use). */
  free(): void {
    if (this.cached) {
      releaser.unregister(this);
      this.cached.core.release(this.cached.handle);
      this.cached = undefined;
    }
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

export function flattenPoints(points: Points, dim: number, what = 'points', file?: string): { flat: Float64Array; count: number } {
  if (points instanceof Float64Array) {
    if (points.length % dim !== 0) {
      throw new InputError(`flat array length is not a multiple of the input size ${dim}`, { file, field: what, value: points.length });
    }
    for (let i = 0; i < points.length; i++) {
      if (!Number.isFinite(points[i]))
        throw new InputError('is not a finite number', { file, field: `${what}[${Math.floor(i / dim)}][${i % dim}]`, value: points[i] });
    }
    return { flat: points, count: points.length / dim };
  }
  if (!Array.isArray(points)) throw new InputError('must be an array of input vectors', { file, field: what, value: points });
  const flat = new Float64Array(points.length * dim);
  points.forEach((p, i) => {
    if (!(Array.isArray(p) || p instanceof Float64Array))
      throw new InputError('must be an array of numbers', { file, field: `${what}[${i}]`, value: p });
    if (p.length !== dim)
      throw new InputError(`has ${p.length} coordinates, the network has ${dim} inputs`, { file, field: `${what}[${i}]`, value: p });
    for (let j = 0; j < dim; j++) {
      const v = p[j];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InputError('is not a finite number', { file, field: `${what}[${i}][${j}]`, value: v });
      flat[i * dim + j] = v;
    }
  });
  return { flat, count: points.length };
}

export function unflatten(flat: Float64Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from(flat.subarray(i, i + width)));
  return out;
}

export class Network extends CoreBacked {
  /** The network as a graph (for a dense chain: one dense node per layer, sharing the layers' arrays). */
  readonly graph: NetworkGraph;
  readonly inputSize: number;
  readonly outputSize: number;
  /** Number of hidden (ReLU) neurons: the length of an activation pattern. */
  readonly hiddenCount: number;
  readonly info: NetworkInfo;
  /** The layers when the graph is a chain of dense layers. */
  readonly denseLayers: readonly DenseLayer[] | undefined;

  /** A chain of dense layers, or any graph (see {@link Network.fromGraph}). */
  constructor(layers: readonly DenseLayer[] | NetworkGraph, info: NetworkInfo = {}) {
    super();
    const file = info.source;
    if (Array.isArray(layers)) {
      checkLayers(layers as readonly DenseLayer[], file);
      this.denseLayers = layers as readonly DenseLayer[];
      this.graph = graphOfLayers(this.denseLayers);
    } else {
      const g = layers as NetworkGraph;
      checkGraph(g, file);
      this.graph = g;
      this.denseLayers = denseLayersOf(g);
    }
    this.inputSize = inputSizeOf(this.graph);
    this.outputSize = this.graph.nodes[this.graph.nodes.length - 1].bias.length;
    this.hiddenCount = hiddenCountOf(this.graph);
    if (info.inputBox) checkBox(info.inputBox, this.inputSize, file, 'inputBox');
    this.info = info;
  }

  /** A network from its graph (checked); a graph that is a dense chain also has {@link layers}. */
  static fromGraph(graph: NetworkGraph, info: NetworkInfo = {}): Network {
    return new Network(graph, info);
  }

  /** Shape of one input without the batch dimension (e.g. [3, 32, 32]). */
  get inputShape(): readonly number[] {
    return this.graph.inputShape;
  }

  /**
   * The dense layers. Only a chain of dense layers has them: for any other graph this throws an
   * InputError saying what the network is (use {@link denseLayers} to test).
   */
  get layers(): readonly DenseLayer[] {
    return this.requireDenseLayers('this operation');
  }

  /** The dense layers, or an InputError saying that `what` (a format, an operation) needs a chain of dense layers. */
  requireDenseLayers(what: string): readonly DenseLayer[] {
    if (this.denseLayers) return this.denseLayers;
    throw new InputError(`${what} needs a chain of dense layers; this network is ${graphSummary(this.graph)}`, {
      file: this.info.source,
      field: 'layers',
    });
  }

  /** Builds a network from nested arrays: `weights[out][in]`, `bias[out]`. */
  static fromArrays(
    layers: readonly { weights: readonly (readonly number[])[]; bias: readonly number[]; relu?: boolean }[],
    info: NetworkInfo = {},
  ): Network {
    return new Network(
      layers.map((l, i) => {
        const outputs = l.weights.length;
        const inputs = outputs ? l.weights[0].length : 0;
        const w = new Float64Array(outputs * inputs);
        l.weights.forEach((row, r) => {
          if (row.length !== inputs)
            throw new InputError(`row has ${row.length} entries, row 0 has ${inputs}`, {
              file: info.source,
              field: `layers[${i}].weights[${r}]`,
            });
          w.set(row, r * inputs);
        });
        return { inputs, outputs, weights: w, bias: Float64Array.from(l.bias), relu: l.relu ?? i < layers.length - 1 };
      }),
      info,
    );
  }

  protected createHandle(core: Core): number {
    const layers = this.denseLayers;
    if (!layers) {
      const { shape, params } = encodeGraph(this.graph);
      const text = abi.json(abi.GRAPH_SHAPE, shape);
      return core.call('network', [text, params], ([s, p], [sl, pl]) => core.exports.rr_graph_new(s, sl, p, pl));
    }
    const shape = abi.json(abi.NETWORK_SHAPE, { layers: layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, relu: l.relu })) });
    const params = new Float64Array(layers.reduce((s, l) => s + l.weights.length + l.bias.length, 0));
    let pos = 0;
    for (const l of layers)
      pos = abi.encodeInto(abi.NETWORK_LAYER, { inputs: l.inputs, outputs: l.outputs }, { weights: l.weights, bias: l.bias }, params, pos);
    return core.call('network', [shape, params], ([s, p], [sl, pl]) => core.exports.rr_network_new(s, sl, p, pl));
  }

  /** Outputs for the first `count` inputs of a flat row-major batch, as a flat row-major array (`count × outputSize`). */
  forwardFlat(flat: Float64Array, count: number): Float64Array {
    // Checked here: the core reads the first count × inputSize values and would trap past a
    // short array (a longer one is a batch of which the first `count` points are evaluated).
    if (!Number.isInteger(count) || count < 0 || flat.length < count * this.inputSize)
      throw new InputError(`holds ${flat.length} values, ${count} points of ${this.inputSize} inputs need ${count * this.inputSize}`, {
        field: 'points',
        value: flat.length,
      });
    const { core, handle } = this.handle();
    const [out] = core.run('forward', [flat], [count * this.outputSize], ([xs, o]) =>
      core.exports.rr_network_forward(handle, xs, count, o),
    );
    return out;
  }

  /** Outputs for a batch of inputs. */
  predict(points: Points): number[][] {
    const { flat, count } = flattenPoints(points, this.inputSize);
    return unflatten(this.forwardFlat(flat, count), this.outputSize);
  }

  /** Activation patterns (1 = pre-activation >= 0) for a batch of inputs. */
  patterns(points: Points): Uint8Array[] {
    const { flat, count } = flattenPoints(points, this.inputSize);
    const { core, handle } = this.handle();
    const h = this.hiddenCount;
    const [out] = core.run('patterns', [flat], [count * h], ([xs, o]) => core.exports.rr_network_patterns(handle, xs, count, o));
    const res: Uint8Array[] = [];
    for (let i = 0; i < count; i++) res.push(Uint8Array.from(out.subarray(i * h, (i + 1) * h)));
    return res;
  }
}

/** Checks a chain of dense layers; errors name the layer and field. */
function checkLayers(layers: readonly DenseLayer[], file?: string): void {
  if (layers.length === 0) throw new InputError('a network needs at least one layer', { file, field: 'layers' });
  layers.forEach((l, i) => {
    const f = `layers[${i}]`;
    if (!Number.isInteger(l.inputs) || l.inputs <= 0)
      throw new InputError('input size must be a positive integer', { file, field: `${f}.inputs`, value: l.inputs });
    if (!Number.isInteger(l.outputs) || l.outputs <= 0)
      throw new InputError('output size must be a positive integer', { file, field: `${f}.outputs`, value: l.outputs });
    if (l.weights.length !== l.inputs * l.outputs)
      throw new InputError(`expected ${l.outputs}x${l.inputs} weights`, { file, field: `${f}.weights`, value: l.weights.length });
    if (l.bias.length !== l.outputs)
      throw new InputError(`expected ${l.outputs} biases`, { file, field: `${f}.bias`, value: l.bias.length });
    if (i > 0 && layers[i - 1].outputs !== l.inputs) {
      throw new InputError(`expects ${l.inputs} inputs but layer ${i - 1} has ${layers[i - 1].outputs} outputs`, {
        file,
        field: `${f}.inputs`,
        value: l.inputs,
      });
    }
    const bad = l.weights.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new InputError('is not a finite number', {
        file,
        field: `${f}.weights[${Math.floor(bad / l.inputs)}][${bad % l.inputs}]`,
        value: l.weights[bad],
      });
    const badB = l.bias.findIndex((v) => !Number.isFinite(v));
    if (badB >= 0) throw new InputError('is not a finite number', { file, field: `${f}.bias[${badB}]`, value: l.bias[badB] });
  });
}

export function checkBox(box: Box, dim: number, file?: string, field = 'inputBox'): void {
  if (!box || !Array.isArray(box.lower) || !Array.isArray(box.upper)) {
    throw new InputError('must have arrays "lower" and "upper"', { file, field, value: box });
  }
  for (const side of ['lower', 'upper'] as const) {
    if (box[side].length !== dim)
      throw new InputError(`has ${box[side].length} bounds, the network has ${dim} inputs`, {
        file,
        field: `${field}.${side}`,
        value: box[side].length,
      });
    box[side].forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InputError('is not a finite number', { file, field: `${field}.${side}[${j}]`, value: v });
    });
  }
  for (let j = 0; j < dim; j++) {
    if (box.lower[j] > box.upper[j]) {
      throw new InputError(`lower bound ${box.lower[j]} exceeds upper bound ${box.upper[j]}`, {
        file,
        field: `${field}.lower[${j}]`,
        value: box.lower[j],
      });
    }
  }
}

/** A box given as one number for every input or an array per input. */
export function expandBox(lower: unknown, upper: unknown, dim: number, file?: string, field = 'inputBox'): Box {
  const expand = (v: unknown, side: string): number[] => {
    if (typeof v === 'number') return new Array(dim).fill(v);
    if (Array.isArray(v)) return v as number[];
    throw new InputError('must be a number or an array of numbers', { file, field: `${field}.${side}`, value: v });
  };
  const box = { lower: expand(lower, 'lower'), upper: expand(upper, 'upper') };
  checkBox(box, dim, file, field);
  return box;
}
