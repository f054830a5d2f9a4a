/**
 * Head-repaired ONNX models: a model split at a tensor by `parseOnnxHead` (./import.ts) — a
 * prefix used as a fixed feature extractor, a piecewise-linear tail — and, after repair, the
 * prefix followed by the repaired tail:
 *
 * - {@link headEvaluator}: the original model (prefix, then tail), as an `Evaluator`;
 * - {@link HeadRepairedNetwork}: the prefix, then the repaired tail (`predict`, `forwardFlat`,
 *   the latent points);
 * - {@link headRepairedToOnnx}: one ONNX model, the prefix's nodes and initializers copied
 *   verbatim (their bytes as read), then the repaired tail graph reading the tensor (a Cast first
 *   when the export's precision differs from the prefix's).
 */
import { InputError } from '../../errors.js';
import type { Evaluator } from '../../eval.js';
import { flattenPoints, type Points, unflatten } from '../../network.js';
import type { RepairedNetwork } from '../../repaired.js';
import { VERSION } from '../../version.js';
import { emitRepairedGraph, exportType, type OnnxExportOptions } from './export.js';
import { GraphBuilder } from './graph-builder.js';
import type { OnnxHead } from './import.js';
import { DT, encodeModel } from './proto.js';

/** The original model of a split (prefix, then tail) as an evaluator (float64). */
export function headEvaluator(head: OnnxHead): Evaluator {
  return {
    inputSize: head.prefix.inputSize,
    outputSize: head.tail.outputSize,
    forwardFlat: (flat, count) => head.tail.forwardFlat(head.prefix.forwardFlat(flat, count), count),
  };
}

/** The prefix of a head repair followed by the repaired tail. */
export class HeadRepairedNetwork implements Evaluator {
  readonly inputSize: number;
  readonly outputSize: number;

  constructor(
    readonly head: OnnxHead,
    /** The repaired tail (its inputs are the latent tensor `head.from`). */
    readonly tail: RepairedNetwork,
  ) {
    this.inputSize = head.prefix.inputSize;
    this.outputSize = tail.outputSize;
  }

  /** The tensor the repair started from. */
  get from(): string {
    return this.head.from;
  }

  /** The latent points (the prefix's outputs) of `count` inputs. */
  latentFlat(flat: Float64Array, count: number): Float64Array {
    return this.head.prefix.forwardFlat(flat, count);
  }

  forwardFlat(flat: Float64Array, count: number): Float64Array {
    return this.tail.forwardFlat(this.latentFlat(flat, count), count);
  }

  predict(points: Points): number[][] {
    const { flat, count } = flattenPoints(points, this.inputSize);
    return unflatten(this.forwardFlat(flat, count), this.outputSize);
  }
}

/**
 * Operators whose meaning did not change between their first version and opset 13 (besides
 * broadcasting, which opset 7 fixed): a prefix of an older model made of these can be declared at
 * opset 13, the tail's opset.
 */
const STABLE_BEFORE_13 = new Set([
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Relu',
  'Sigmoid',
  'Tanh',
  'Exp',
  'Softplus',
  'Softsign',
  'Erf',
  'Flatten',
  'Reshape',
  'Transpose',
  'Identity',
  'AveragePool',
  'GlobalAveragePool',
  'MaxPool',
  'GlobalMaxPool',
  'Concat',
  'Gather',
  'Constant',
  'Shape',
  'Cast',
  'Neg',
  'Abs',
  'LeakyRelu',
  'Max',
  'Min',
  'Sum',
]);

/**
 * A head-repaired network as one ONNX model: the prefix's nodes and initializers as they were
 * read (bytes), then the repaired tail (as `repairedToOnnx` writes a repaired network) reading
 * the tensor `from`. The graph input is the original one (its element type kept: the prefix
 * computes in it); the output has the export's precision. The opset is the model's (at least 13,
 * the tail's); an older model is accepted when its prefix uses only operators whose meaning did
 * not change up to 13.
 */
export function headRepairedToOnnx(rep: HeadRepairedNetwork, opts: Omit<OnnxExportOptions, 'inputName' | 'inputShape'> = {}): Uint8Array {
  const head = rep.head;
  const { source, info } = head;
  const dt = exportType(opts.precision);
  const opset = info.opset;
  if (opset < 13) {
    const changed = [...new Set(source.nodes.map((n) => n.opType).filter((op) => !STABLE_BEFORE_13.has(op)))];
    if (changed.length > 0)
      throw new InputError(
        `the model is at opset ${opset} and its prefix uses ${changed.join(', ')}, whose meaning changed up to opset 13 (the repaired tail's opset): export the model at opset 13 or later`,
        { field: 'opset', value: opset },
      );
  }
  if (source.nodes.some((n) => !n.raw) || source.initializers.some((t) => !t.raw))
    throw new InputError('the prefix was not read from ONNX bytes (nothing to copy verbatim)', { field: 'head.source' });
  const latentShape = head.tail.onnx?.inputShape ?? [...head.tail.inputShape];
  const outputName = opts.outputName ?? info.outputName;
  // Every name of the prefix is taken: the tail's generated names avoid them.
  const reserved = new Set<string>([info.inputName, outputName, head.from]);
  for (const n of source.nodes) for (const t of [...n.inputs, ...n.outputs]) reserved.add(t);
  for (const t of source.initializers) reserved.add(t.name);
  if (reserved.has(outputName) && source.nodes.some((n) => n.outputs.includes(outputName)))
    throw new InputError('is a tensor of the prefix', { field: 'outputName', value: outputName });
  const g = new GraphBuilder(dt, reserved, 'tail/');
  const inputType = source.inputElemType === DT.DOUBLE ? DT.DOUBLE : DT.FLOAT;
  const x = inputType === dt ? head.from : g.op('Cast', [head.from], [{ name: 'to', i: dt }]);
  const meta = emitRepairedGraph(
    g,
    rep.tail.original,
    rep.tail.patches,
    { inputName: x, inputShape: latentShape, outputName, flatName: g.fresh('latent_flat') },
    { compactSupports: opts.compactSupports, boxGate: rep.tail.boxGate, chain: rep.tail.composition === 'chain' },
  );
  const nodes = [
    ...source.nodes.map((n) => ({ raw: n.raw!, opType: n.opType, inputs: n.inputs, outputs: n.outputs, name: n.name })),
    ...g.nodes,
  ];
  const initializers = [
    ...source.initializers.map((t) => ({ raw: t.raw!, name: t.name, dataType: t.dataType, dims: t.dims, data: [] })),
    ...g.inits,
  ];
  const opsets = source.opsets.map((o) =>
    o.domain === '' || o.domain === 'ai.onnx' ? { domain: o.domain, version: Math.max(13, o.version) } : o,
  );
  if (!opsets.some((o) => o.domain === '' || o.domain === 'ai.onnx')) opsets.push({ domain: '', version: 13 });
  return encodeModel({
    irVersion: Math.max(7, info.irVersion),
    opset: opsets,
    producerVersion: VERSION,
    graphName: 'relu_repair_head',
    docString:
      `relu-repair ${VERSION}: head repair from tensor "${head.from}": the original prefix (copied verbatim), then the repaired tail ` +
      `f + ${rep.tail.composition === 'chain' ? 'chain' : 'sum'} of ${rep.tail.patches.length} patch networks over the latent tensor`,
    nodes,
    initializers,
    inputs: [{ name: info.inputName, elemType: source.inputElemType || DT.FLOAT, shape: ['N', ...info.inputShape] }],
    outputs: [{ name: outputName, elemType: dt, shape: ['N', rep.outputSize] }],
    metadata: [
      { key: 'relu-repair.precision', value: dt === DT.DOUBLE ? 'float64' : 'float32' },
      { key: 'relu-repair.head-from', value: head.from },
      { key: 'relu-repair.patches', value: String(rep.tail.patches.length) },
      { key: 'relu-repair.radii', value: JSON.stringify(rep.tail.patches.map((p) => p.radius)) },
      ...(rep.tail.boxGate ? [{ key: 'relu-repair.box-gate-radius', value: String(rep.tail.boxGate.radius) }] : []),
      { key: 'relu-repair.composition', value: rep.tail.composition },
      ...meta,
    ],
  });
}
