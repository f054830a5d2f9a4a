/**
 * TensorFlow.js layers models: `model.json` (format "layers-model": `modelTopology` + a
 * `weightsManifest`) and its binary weight shards. Sequential models and functional ("Model",
 * "Functional") models that are a single chain, made of InputLayer, Dense (activation relu or
 * linear, with or without bias), Flatten, Dropout, and Activation/ReLU layers that are plain
 * ReLUs. Anything else is rejected with the layer's name, index and class.
 *
 * Weights are matched by name (`<layer>/kernel`, `<layer>/bias`, with any scope prefix), read as
 * float32 (also int32, float16 and the uint8/uint16/float16 quantisations of the converter) and
 * widened to float64. Kernels are stored input-major (`[in, units]`) and transposed on reading.
 * Flatten follows TF's channels-last C order, so features keep the order of the input shape.
 *
 * The writer (`networkToTfjs`) emits a Sequential model with one shard; TensorFlow.js loads it
 * (tested against @tensorflow/tfjs-layers).
 */
import { InputError } from '../errors.js';
import { type DenseLayer, Network } from '../network.js';
import { VERSION } from '../version.js';
import { activationHint } from './activation-hint.js';
import { float16ToNumber } from './float16.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface TfjsInfo {
  /** The input shape without the batch dimension, when the model declares it. */
  inputShape?: number[];
  modelName?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Shard paths referenced by a model.json (for loaders that fetch them). */
export function tfjsShardPaths(doc: unknown, file = 'model.json'): string[] {
  const d = isObj(doc) ? doc : undefined;
  const manifest = d?.weightsManifest;
  if (!Array.isArray(manifest))
    throw new InputError('has no "weightsManifest" array: not a TF.js layers model', { file, field: 'weightsManifest', value: manifest });
  const paths: string[] = [];
  manifest.forEach((g, i) => {
    if (!isObj(g) || !Array.isArray(g.paths))
      throw new InputError('must be an object with "paths" and "weights"', { file, field: `weightsManifest[${i}]`, value: g });
    g.paths.forEach((p, j) => {
      if (typeof p !== 'string' || p === '')
        throw new InputError('must be a file name', { file, field: `weightsManifest[${i}].paths[${j}]`, value: p });
      paths.push(p);
    });
  });
  return paths;
}

/** Whether a parsed JSON document looks like a TF.js model.json. */
export function isTfjsModelJson(doc: unknown): boolean {
  return isObj(doc) && ('modelTopology' in doc || doc.format === 'layers-model');
}

/** Reads every weight of the manifest into float64 arrays. */
function readWeights(
  doc: Record<string, unknown>,
  shard: (path: string) => Uint8Array,
  file: string,
): Map<string, { shape: number[]; data: Float64Array }> {
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  const manifest = doc.weightsManifest as unknown[];
  tfjsShardPaths(doc, file);
  manifest.forEach((g0, gi) => {
    const g = g0 as { paths: string[]; weights: unknown };
    const parts = g.paths.map((p) => {
      const b = shard(p);
      if (!(b instanceof Uint8Array))
        throw new InputError('weight shard is missing', { file, field: `weightsManifest[${gi}].paths`, value: p });
      return b;
    });
    const total = parts.reduce((s, p) => s + p.length, 0);
    const buf = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      buf.set(p, off);
      off += p.length;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!Array.isArray(g.weights))
      throw new InputError('must be an array of weight specs', { file, field: `weightsManifest[${gi}].weights`, value: g.weights });
    let pos = 0;
    g.weights.forEach((w0, wi) => {
      const field = `weightsManifest[${gi}].weights[${wi}]`;
      if (!isObj(w0)) throw new InputError('must be an object { name, shape, dtype }', { file, field, value: w0 });
      const w = w0 as unknown as WeightSpec;
      if (typeof w.name !== 'string') throw new InputError('must have a string "name"', { file, field: `${field}.name`, value: w.name });
      if (!Array.isArray(w.shape) || w.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
        throw new InputError('must be an array of sizes', { file, field: `${field}.shape`, value: w.shape });
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (count > 2 ** 28) throw new InputError(`has ${count} values, too many`, { file, field: `${field}.shape`, value: w.shape });
      const q = w.quantization;
      const stored = q ? q.dtype : w.dtype;
      const size = { float32: 4, int32: 4, float16: 2, uint8: 1, uint16: 2, bool: 1 }[stored as string];
      if (size === undefined || (q && !['uint8', 'uint16', 'float16'].includes(q.dtype))) {
        throw new InputError('unsupported weight dtype', {
          file,
          field: q ? `${field}.quantization.dtype` : `${field}.dtype`,
          value: stored,
        });
      }
      if (pos + count * size > buf.length) {
        throw new InputError(
          `the weight shards end after ${buf.length} bytes, this weight needs bytes ${pos}..${pos + count * size} (truncated shard?)`,
          { file, field, value: w.name },
        );
      }
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const o = pos + i * size;
        let v: number;
        switch (stored) {
          case 'float32':
            v = dv.getFloat32(o, true);
            break;
          case 'int32':
            v = dv.getInt32(o, true);
            break;
          case 'float16':
            v = float16ToNumber(dv.getUint16(o, true));
            break;
          case 'uint16':
            v = dv.getUint16(o, true);
            break;
          default:
            v = buf[o];
        }
        if (q && q.dtype !== 'float16') {
          if (typeof q.scale !== 'number' || typeof q.min !== 'number')
            throw new InputError('needs numbers "scale" and "min"', { file, field: `${field}.quantization` });
          v = v * q.scale + q.min;
        }
        data[i] = v;
      }
      pos += count * size;
      const name = w.name.replace(/:\d+$/, '');
      if (out.has(name)) throw new InputError('weight name appears twice', { file, field: `${field}.name`, value: w.name });
      out.set(name, { shape: w.shape, data });
    });
    if (pos !== buf.length)
      throw new InputError(`the weight shards hold ${buf.length} bytes, the manifest describes ${pos}`, {
        file,
        field: `weightsManifest[${gi}]`,
      });
  });
  return out;
}

interface LayerEntry {
  className: string;
  config: Record<string, unknown>;
  name: string;
  index: number;
}

/** The layer list of a Sequential model, or the chain of a functional one, in order. */
function layerChain(topology: Record<string, unknown>, file: string): { layers: LayerEntry[]; modelName?: string } {
  const cls = topology.class_name;
  const config = topology.config;
  const entries = (list: unknown, field: string): LayerEntry[] => {
    if (!Array.isArray(list)) throw new InputError('must be an array of layers', { file, field, value: list });
    return list.map((l, i) => {
      if (!isObj(l) || typeof l.class_name !== 'string' || !isObj(l.config)) {
        throw new InputError('must be an object with "class_name" and "config"', { file, field: `${field}[${i}]`, value: l });
      }
      const name = typeof l.name === 'string' ? l.name : typeof l.config.name === 'string' ? l.config.name : `layer${i}`;
      return { className: l.class_name, config: l.config, name, index: i };
    });
  };
  if (cls === 'Sequential') {
    if (Array.isArray(config)) return { layers: entries(config, 'modelTopology.config') };
    if (!isObj(config)) throw new InputError('must be an object with "layers"', { file, field: 'modelTopology.config', value: config });
    return {
      layers: entries(config.layers, 'modelTopology.config.layers'),
      modelName: typeof config.name === 'string' ? config.name : undefined,
    };
  }
  if (cls === 'Model' || cls === 'Functional') {
    if (!isObj(config)) throw new InputError('must be an object with "layers"', { file, field: 'modelTopology.config', value: config });
    const all = entries(config.layers, 'modelTopology.config.layers');
    const raw = config.layers as Record<string, unknown>[];
    const byName = new Map(all.map((l) => [l.name, l]));
    const first = (v: unknown, field: string): string => {
      // [["name", 0, 0]] (inputs/outputs) or a single ["name", 0, 0].
      const a = Array.isArray(v) && Array.isArray(v[0]) ? v : [v];
      if (a.length !== 1)
        throw new InputError('a functional model with several inputs or outputs is not a chain', { file, field, value: v });
      const e = a[0];
      if (!Array.isArray(e) || typeof e[0] !== 'string')
        throw new InputError('must be [layer name, node, tensor]', { file, field, value: v });
      return e[0];
    };
    const inputName = first(config.input_layers, 'modelTopology.config.input_layers');
    const outputName = first(config.output_layers, 'modelTopology.config.output_layers');
    const inbound = (l: LayerEntry): string | undefined => {
      const nodes = raw[l.index].inbound_nodes;
      if (!Array.isArray(nodes) || nodes.length === 0) return undefined;
      if (nodes.length > 1)
        throw new InputError('the layer is used more than once (shared layer): not a chain', {
          file,
          field: `modelTopology.config.layers[${l.index}] "${l.name}"`,
        });
      const node = nodes[0] as unknown;
      // Keras 2 / tfjs: [["prev", 0, 0, {}]]; Keras 3: { args: [{ config: { keras_history: ["prev", 0, 0] } }] }.
      let names: string[] = [];
      if (Array.isArray(node)) names = node.map((t) => (Array.isArray(t) && typeof t[0] === 'string' ? t[0] : '?'));
      else if (isObj(node) && Array.isArray(node.args)) {
        names = node.args.map((a) => {
          const h = isObj(a) && isObj(a.config) ? a.config.keras_history : undefined;
          return Array.isArray(h) && typeof h[0] === 'string' ? h[0] : '?';
        });
      }
      if (names.length !== 1 || names[0] === '?') {
        throw new InputError('the layer has several (or unreadable) inputs: only chains are supported', {
          file,
          field: `modelTopology.config.layers[${l.index}] "${l.name}"`,
          value: node,
        });
      }
      return names[0];
    };
    const chain: LayerEntry[] = [];
    let cur: string | undefined = outputName;
    const seen = new Set<string>();
    while (cur !== undefined) {
      const l = byName.get(cur);
      if (!l) throw new InputError('refers to a layer that does not exist', { file, field: 'modelTopology.config', value: cur });
      if (seen.has(cur)) throw new InputError('the layer graph has a cycle', { file, field: 'modelTopology.config', value: cur });
      seen.add(cur);
      chain.unshift(l);
      if (cur === inputName) break;
      cur = inbound(l);
      if (cur === undefined)
        throw new InputError(`the chain from the output does not reach the input layer "${inputName}"`, {
          file,
          field: `modelTopology.config.layers[${l.index}] "${l.name}"`,
        });
    }
    if (chain.length !== all.length) {
      const extra = all.filter((l) => !seen.has(l.name)).map((l) => l.name);
      throw new InputError('has layers outside the input-to-output chain (branches are not supported)', {
        file,
        field: 'modelTopology.config.layers',
        value: extra,
      });
    }
    return { layers: chain, modelName: typeof config.name === 'string' ? config.name : undefined };
  }
  throw new InputError('unsupported model class (Sequential, Model and Functional are supported)', {
    file,
    field: 'modelTopology.class_name',
    value: cls,
  });
}

const SUPPORTED_LAYERS = ['InputLayer', 'Dense', 'Flatten', 'Dropout', 'Activation', 'ReLU'];

/**
 * A TF.js layers model from its parsed model.json and a function giving each weight shard's
 * bytes by its manifest path.
 */
export function parseTfjs(doc: unknown, shard: (path: string) => Uint8Array, file = 'model.json'): Network & { tfjs?: TfjsInfo } {
  if (!isObj(doc)) throw new InputError('a TF.js model.json must be a JSON object', { file, value: doc });
  if (doc.format !== undefined && doc.format !== 'layers-model') {
    throw new InputError('only TF.js layers models are supported (a "graph-model" has no layer structure to read)', {
      file,
      field: 'format',
      value: doc.format,
    });
  }
  let topology = doc.modelTopology;
  if (isObj(topology) && isObj(topology.model_config)) topology = topology.model_config; // Keras-converted
  if (!isObj(topology))
    throw new InputError('must be an object (the Keras model config)', { file, field: 'modelTopology', value: topology });
  const weights = readWeights(doc, shard, file);
  const { layers, modelName } = layerChain(topology, file);
  const used = new Set<string>();
  const weight = (layer: LayerEntry, kind: 'kernel' | 'bias'): { shape: number[]; data: Float64Array } | undefined => {
    const matches = [...weights.keys()].filter((k) => k === `${layer.name}/${kind}` || k.endsWith(`/${layer.name}/${kind}`));
    if (matches.length > 1)
      throw new InputError(`several weights match ${layer.name}/${kind}`, {
        file,
        field: `layer ${layer.index} "${layer.name}"`,
        value: matches,
      });
    if (matches.length === 0) return undefined;
    used.add(matches[0]);
    return weights.get(matches[0]);
  };
  let inputShape: number[] | undefined;
  let width: number | undefined; // current feature count
  const dense: DenseLayer[] = [];
  const where = (l: LayerEntry) => ({ file, field: `layer ${l.index} "${l.name}" (${l.className})` });
  for (const l of layers) {
    const c = l.config;
    const shape = (c.batch_input_shape ?? c.batch_shape) as unknown;
    if (shape !== undefined && shape !== null) {
      if (!Array.isArray(shape) || shape.length < 2 || shape.slice(1).some((d) => !Number.isSafeInteger(d) || (d as number) <= 0)) {
        throw new InputError('batch_input_shape must be [null, d1, ...] with fixed sizes', { ...where(l), value: shape });
      }
      if (dense.length > 0 || inputShape)
        throw new InputError('declares an input shape in the middle of the model', { ...where(l), value: shape });
      inputShape = shape.slice(1) as number[];
      width = inputShape.reduce((a, b) => a * b, 1);
    }
    switch (l.className) {
      case 'InputLayer':
        if (c.sparse === true || c.ragged === true) throw new InputError('sparse and ragged inputs are not supported', where(l));
        break;
      case 'Dropout':
        break;
      case 'Flatten':
        if (c.data_format === 'channels_first' && inputShape && inputShape.length > 2) {
          throw new InputError('Flatten with data_format "channels_first" reorders features; only channels_last is supported', where(l));
        }
        break;
      case 'Activation':
      case 'ReLU': {
        const act = l.className === 'ReLU' ? 'relu' : c.activation;
        if (
          l.className === 'ReLU' &&
          ((c.max_value ?? null) !== null || ((c.negative_slope ?? 0) as number) !== 0 || ((c.threshold ?? 0) as number) !== 0)
        ) {
          throw new InputError('only a plain ReLU (no max_value, negative_slope or threshold) is supported', where(l));
        }
        if (act === 'linear') break;
        if (act !== 'relu')
          throw new InputError(
            `activation must be "relu" or "linear"${activationHint(String(act), layers.indexOf(l) === layers.length - 1, { named: false })}`,
            { ...where(l), value: act },
          );
        const last = dense[dense.length - 1];
        if (!last) {
          if (width === undefined) throw new InputError('the input size is unknown before this ReLU (no input shape)', where(l));
          const W = new Float64Array(width * width);
          for (let i = 0; i < width; i++) W[i * width + i] = 1;
          dense.push({ inputs: width, outputs: width, weights: W, bias: new Float64Array(width), relu: true });
        } else if (!last.relu) dense[dense.length - 1] = { ...last, relu: true };
        // a ReLU right after a ReLU changes nothing
        break;
      }
      case 'Dense': {
        const units = c.units;
        if (!Number.isSafeInteger(units) || (units as number) <= 0)
          throw new InputError('units must be a positive integer', { ...where(l), value: units });
        const act = c.activation ?? 'linear';
        if (act !== 'relu' && act !== 'linear') {
          const hint = activationHint(String(act), layers.indexOf(l) === layers.length - 1, { named: false });
          throw new InputError(`activation must be "relu" or "linear"${hint}`, { ...where(l), value: act });
        }
        const k = weight(l, 'kernel');
        if (!k)
          throw new InputError(`no weight named "${l.name}/kernel" in the manifest`, {
            ...where(l),
            value: [...weights.keys()].slice(0, 8),
          });
        if (k.shape.length !== 2 || k.shape[1] !== units)
          throw new InputError(`kernel must have shape [inputs, ${units}]`, { ...where(l), value: k.shape });
        const inputs = k.shape[0];
        if (width !== undefined && width !== inputs)
          throw new InputError(`kernel has ${inputs} inputs, the previous layer gives ${width}`, { ...where(l), value: k.shape });
        const useBias = c.use_bias !== false;
        const b = useBias ? weight(l, 'bias') : undefined;
        if (useBias && !b) throw new InputError(`no weight named "${l.name}/bias" in the manifest`, where(l));
        if (b && (b.shape.length !== 1 || b.shape[0] !== units))
          throw new InputError(`bias must have shape [${units}]`, { ...where(l), value: b.shape });
        const n = units as number;
        const W = new Float64Array(n * inputs);
        for (let i = 0; i < inputs; i++) for (let j = 0; j < n; j++) W[j * inputs + i] = k.data[i * n + j];
        dense.push({ inputs, outputs: n, weights: W, bias: b ? Float64Array.from(b.data) : new Float64Array(n), relu: act === 'relu' });
        width = n;
        break;
      }
      default:
        throw new InputError(`layer class ${l.className} is not supported; supported layers: ${SUPPORTED_LAYERS.join(', ')}`, {
          ...where(l),
          value: l.className,
        });
    }
  }
  if (dense.length === 0) throw new InputError('the model has no Dense layer', { file, field: 'modelTopology' });
  const unused = [...weights.keys()].filter((k) => !used.has(k));
  if (unused.length > 0)
    throw new InputError('the manifest has weights no supported layer uses', { file, field: 'weightsManifest', value: unused });
  const net = new Network(dense, { source: file }) as Network & { tfjs?: TfjsInfo };
  net.tfjs = { inputShape, modelName };
  return net;
}

/** A plain network as a TF.js Sequential model: the model.json document and one weight shard. */
export function networkToTfjs(
  net: Network,
  opts: { weightsPath?: string; name?: string } = {},
): { modelJson: Record<string, unknown>; weights: Uint8Array } {
  const path = opts.weightsPath ?? 'weights.bin';
  const specs: WeightSpec[] = [];
  const layers: Record<string, unknown>[] = [];
  let size = 0;
  const dense = net.requireDenseLayers('the TF.js layers format (Dense layers)');
  dense.forEach((l, i) => {
    const name = `dense_${i}`;
    const config: Record<string, unknown> = {
      name,
      units: l.outputs,
      activation: l.relu ? 'relu' : 'linear',
      use_bias: true,
      trainable: true,
      dtype: 'float32',
    };
    if (i === 0) config.batch_input_shape = [null, l.inputs];
    layers.push({ class_name: 'Dense', config });
    specs.push(
      { name: `${name}/kernel`, shape: [l.inputs, l.outputs], dtype: 'float32' },
      { name: `${name}/bias`, shape: [l.outputs], dtype: 'float32' },
    );
    size += 4 * (l.inputs * l.outputs + l.outputs);
  });
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  let off = 0;
  for (const l of dense) {
    for (let i = 0; i < l.inputs; i++) {
      for (let j = 0; j < l.outputs; j++) {
        dv.setFloat32(off, l.weights[j * l.inputs + i], true);
        off += 4;
      }
    }
    for (let j = 0; j < l.outputs; j++) {
      dv.setFloat32(off, l.bias[j], true);
      off += 4;
    }
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `relu-repair ${VERSION}`,
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        config: { name: opts.name ?? 'relu_repair', layers },
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
      },
      weightsManifest: [{ paths: [path], weights: specs }],
    },
    weights: buf,
  };
}
