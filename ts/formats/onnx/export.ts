/**
 * ONNX export (`networkToOnnx`, `repairedToOnnx`): one standard graph (opset 13, IR 7) of Gemm,
 * MatMul, Add, Sub, Mul, Relu (and Flatten for image-shaped inputs) — plus Conv, ConvTranspose,
 * AveragePool, Gather, Pad and Reshape for graph networks (./graph-emit.ts): the original network
 * as one branch and the patch networks (ts/formats/onnx/patch-graph.ts) added at the output. Element type
 * float32 (default) or float64 (ONNX DOUBLE, for inputs whose magnitude float32 cannot resolve at
 * the scale of the locality radius: see `OnnxExportOptions.precision`, `float32BandError`).
 */
import { InputError } from '../../errors.js';
import type { Network } from '../../network.js';
import type { PatchNetwork } from '../../patch.js';
import type { BoxGate, RepairedNetwork } from '../../repaired.js';
import { VERSION } from '../../version.js';
import { GraphBuilder } from './graph-builder.js';
import { emitNetworkGraph, graphValuesMetadata } from './graph-emit.js';
import type { OnnxModelInfo } from './import.js';
import { emitBoxGate, emitChain, emitPatch, type NetworkBranch } from './patch-graph.js';
import { DT, encodeModel, prod } from './proto.js';
import { repairRecordMetadata } from './record.js';

export interface OnnxExportOptions {
  /**
   * Element type of the graph. `float32` (default) is what most runtimes and verifiers expect.
   * `float64` (ONNX DOUBLE; onnxruntime runs Gemm/MatMul/Add/Sub/Mul/Relu in double) reproduces
   * our float64 evaluator to ~1e-12 everywhere, including inside the patch bands. In float32 the
   * support sub-graph can only resolve a face distance to about 6e-8 × (|a·x| + |b|): when that
   * is not small compared with the locality radius (HCAS: inputs up to 6.5e4, radii ~6e-3),
   * outputs inside the bands can be far off. Outside the bands and inside regions float32 is
   * accurate to float32 rounding.
   */
  precision?: 'float32' | 'float64';
  /** Graph input/output names. Default: the names of the ONNX model the network came from, else `input`/`output`. */
  inputName?: string;
  outputName?: string;
  /** Input shape without the batch dimension (e.g. [1, 28, 28]; a Flatten is inserted). Default: as imported, else [inputs]. */
  inputShape?: number[];
  /**
   * Emit supports from the network's own pre-activations and each patch's activation pattern
   * (shared weights, a mask and a coefficient per neuron) instead of dense rows, where the patch
   * records where its rows come from. Default true; the same function either way.
   */
  compactSupports?: boolean;
}

/** The element type of an export (`precision`, default float32). */
export function exportType(precision: OnnxExportOptions['precision']): typeof DT.FLOAT | typeof DT.DOUBLE {
  const p = precision ?? 'float32';
  if (p !== 'float32' && p !== 'float64') throw new InputError('must be "float32" or "float64"', { field: 'precision', value: p });
  return p === 'float64' ? DT.DOUBLE : DT.FLOAT;
}

/**
 * Emits `net` plus `patches` into `g`, reading tensor `inputName` (shape `[N, ...inputShape]`; a
 * Flatten named `flatName` when it has several dimensions) and writing `outputName`; returns the
 * metadata entries the graph needs (its node values, for exact read-back).
 */
export function emitRepairedGraph(
  g: GraphBuilder,
  net: Network,
  patches: readonly PatchNetwork[],
  io: { inputName: string; inputShape: readonly number[]; outputName: string; flatName: string },
  opts: {
    compactSupports?: boolean;
    boxGate?: BoxGate;
    chain?: boolean;
    /** Metadata that names the original network's output tensor (the read-back record, ./record.ts). */
    metaOf?: (originalOutput: string) => { key: string; value: string }[];
  },
): { key: string; value: string }[] {
  const n = net.inputSize;
  const k = net.outputSize;
  const { inputName, outputName } = io;
  const metadata: { key: string; value: string }[] = [];
  const x = io.inputShape.length > 1 ? g.op('Flatten', [inputName], [{ name: 'axis', i: 1 }], io.flatName) : inputName;
  let h = x;
  let branch: NetworkBranch;
  if (net.denseLayers) {
    const layers = net.denseLayers;
    const dense = { net, pre: [] as string[], W: [] as string[], b: [] as string[] };
    layers.forEach((l, i) => {
      const last = i === layers.length - 1 && patches.length === 0;
      const z = g.gemmNamed(h, l.weights, l.outputs, l.inputs, l.bias, `layer${i}`, last && !l.relu ? outputName : undefined);
      dense.pre.push(z.out);
      dense.W.push(z.W);
      dense.b.push(z.b);
      h = l.relu ? g.op('Relu', [z.out], [], last ? outputName : undefined) : z.out;
    });
    branch = dense;
  } else {
    const emitted = emitNetworkGraph(g, net, x, patches.length === 0 ? outputName : undefined);
    h = emitted.values[emitted.values.length - 1];
    branch = { net, graph: emitted };
    metadata.push(graphValuesMetadata(emitted));
  }
  if (opts.metaOf) metadata.push(...opts.metaOf(h));
  const gate = opts.boxGate && patches.length > 0 ? emitBoxGate(g, x, n, opts.boxGate) : undefined;
  const compact = opts.compactSupports ?? true;
  const chain = opts.chain ?? false;
  const terms: string[] = [];
  patches.forEach((p, a) => {
    if (!(chain && p.kind === 'constant')) terms.push(emitPatch(g, x, n, k, p, `patch${a}`, gate, branch, compact));
  });
  if (chain) {
    const constant = patches.map((p, a) => ({ p, a })).filter(({ p }) => p.kind === 'constant');
    terms.push(...emitChain(g, x, n, k, constant, gate, branch, compact));
  }
  terms.forEach((hp, t) => {
    h = g.op('Add', [h, hp], [], t === terms.length - 1 ? outputName : undefined);
  });
  return metadata;
}

function exportGraph(
  net: Network,
  patches: readonly PatchNetwork[],
  opts: OnnxExportOptions,
  doc: string,
  meta: { key: string; value: string }[],
  boxGate?: BoxGate,
  chain = false,
  /** Metadata that names the original network's output tensor (the read-back record, ./record.ts). */
  metaOf?: (originalOutput: string) => { key: string; value: string }[],
): Uint8Array {
  const dt = exportType(opts.precision);
  const precision = dt === DT.DOUBLE ? 'float64' : 'float32';
  const info = (net as Network & { onnx?: OnnxModelInfo }).onnx;
  const n = net.inputSize;
  const k = net.outputSize;
  const inputName = opts.inputName ?? info?.inputName ?? 'input';
  const outputName = opts.outputName ?? info?.outputName ?? 'output';
  if (inputName === outputName) throw new InputError('input and output names must differ', { field: 'outputName', value: outputName });
  let inputShape = opts.inputShape ?? (info && prod(info.inputShape) === n ? info.inputShape : [...net.inputShape]);
  if (!Array.isArray(inputShape) || inputShape.some((d) => !Number.isSafeInteger(d) || d <= 0) || prod(inputShape) !== n) {
    throw new InputError(`must be positive integers whose product is the input size ${n}`, { field: 'inputShape', value: inputShape });
  }
  if (inputShape.length === 0) inputShape = [n];
  const g = new GraphBuilder(dt, new Set([inputName, outputName, 'input_flat']));
  const graphMeta = emitRepairedGraph(
    g,
    net,
    patches,
    { inputName, inputShape, outputName, flatName: 'input_flat' },
    { compactSupports: opts.compactSupports, boxGate, chain, metaOf },
  );
  return encodeModel({
    irVersion: 7,
    opset: 13,
    producerVersion: VERSION,
    graphName: 'relu_repair',
    docString: doc,
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [{ name: inputName, elemType: dt, shape: ['N', ...inputShape] }],
    outputs: [{ name: outputName, elemType: dt, shape: ['N', k] }],
    metadata: [{ key: 'relu-repair.precision', value: precision }, ...meta, ...graphMeta],
  });
}

/**
 * How well float32 resolves each patch's band: for patch A, a worst-case estimate of the float32
 * rounding of its support value g_A in the band, ε32 · max_i (‖a_i‖₁ · max|x| + |b_i|) / r_A
 * (ε32 = 2^-24; max|x| over the repair's input box, or `bound`): the output error there is at most
 * about this times the patch norm (measured errors are smaller, e.g. 40× on MNIST). Above ~1e-2 the
 * float32 export is noticeably wrong inside that band (HCAS: 0.9–2.9, measured output errors up
 * to 15); export in float64 then. Inside regions and off the bands float32 is fine.
 */
export function float32BandError(rep: RepairedNetwork, bound?: number): number[] {
  const n = rep.inputSize;
  const box = rep.inputBox ?? rep.original.info.inputBox;
  const M = bound ?? (box ? Math.max(...box.lower.map(Math.abs), ...box.upper.map(Math.abs)) : NaN);
  // The shared box gate's faces: |x_j| + |bound| at most 2·M, at the gate's radius.
  const gateErr = rep.boxGate ? (2 ** -24 * 2 * M) / rep.boxGate.radius : 0;
  return rep.patches.map((p) => {
    let worst = 0;
    for (let i = 0; i < p.b.length; i++) {
      let l1 = 0;
      for (let j = 0; j < n; j++) l1 += Math.abs(p.A[i * n + j]);
      worst = Math.max(worst, l1 * M + Math.abs(p.b[i]));
    }
    return Math.max((2 ** -24 * worst) / p.radius, gateErr);
  });
}

/** A plain network as an ONNX model (Gemm + Relu layers for a dense chain; any graph with Conv, AveragePool, Gather, …). */
export function networkToOnnx(net: Network, opts: OnnxExportOptions = {}): Uint8Array {
  const what = net.denseLayers
    ? `dense ReLU network, ${net.denseLayers.length} layers`
    : `piecewise-linear graph network, ${net.graph.nodes.length} nodes, ${net.hiddenCount} ReLUs`;
  return exportGraph(net, [], opts, `relu-repair ${VERSION}: ${what}`, []);
}

/**
 * A repaired network f̂ = f + Σ_A h_A as one ONNX graph: the original network plus one branch
 * per patch network (support sub-graph, then the constant or clamped affine patch), summed at
 * the output.
 */
export function repairedToOnnx(rep: RepairedNetwork, opts: OnnxExportOptions = {}): Uint8Array {
  const radii = rep.patches.map((p) => p.radius);
  return exportGraph(
    rep.original,
    rep.patches,
    opts,
    `relu-repair ${VERSION}: repaired network f + ${rep.composition === 'chain' ? 'chain' : 'sum'} of ${rep.patches.length} patch networks (REASSURE, clamp gating); ` +
      'each patch is exact on its region and exactly 0 once the summed face excess reaches its radius',
    [
      { key: 'relu-repair.patches', value: String(rep.patches.length) },
      { key: 'relu-repair.radii', value: JSON.stringify(radii) },
      ...(rep.boxGate ? [{ key: 'relu-repair.box-gate-radius', value: String(rep.boxGate.radius) }] : []),
      { key: 'relu-repair.composition', value: rep.composition },
    ],
    rep.boxGate,
    rep.composition === 'chain',
    (originalOutput) => [repairRecordMetadata(rep, originalOutput, opts.compactSupports ?? true)],
  );
}
