/** TF.js layers models, checked against TensorFlow.js itself (tfjs-layers on the CPU backend). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { networkToTfjs, parseTfjs } from '../ts/formats/tfjs.js';
import { InputError, init, loadModel } from '../ts/index.js';
import { fround, maxAbsDiff } from './formats-helpers.js';
import { hcasTau05, rng } from './helpers.js';

interface Artifacts {
  modelTopology: unknown;
  weightSpecs: unknown[];
  weightData: ArrayBuffer;
}

async function artifacts(model: tfl.LayersModel): Promise<Artifacts> {
  let out: Artifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      out = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as unknown[], weightData: a.weightData as ArrayBuffer };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** The model.json a TF.js save to files writes, plus its shard. */
const modelJson = (a: Artifacts) => ({
  format: 'layers-model',
  generatedBy: 'TensorFlow.js',
  convertedBy: null,
  modelTopology: a.modelTopology,
  weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
});

function tfPredict(model: tfl.LayersModel, x: Float64Array, count: number, shape: number[]): Float64Array {
  return tf.tidy(() => Float64Array.from((model.predict(tf.tensor(Float32Array.from(x), [count, ...shape])) as tf.Tensor).dataSync()));
}

describe('TF.js layers models', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await init();
  });
  const r = rng(11);
  const X = (n: number) => fround(Float64Array.from({ length: n }, () => r.normal()));

  it('reads a Sequential model (Flatten, Dense relu, Dropout, Activation, Dense linear) as TF.js computes it', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.flatten({ inputShape: [2, 3] }));
    m.add(tfl.layers.dense({ units: 8, activation: 'relu' }));
    m.add(tfl.layers.dropout({ rate: 0.5 }));
    m.add(tfl.layers.dense({ units: 5 }));
    m.add(tfl.layers.activation({ activation: 'relu' }));
    m.add(tfl.layers.dense({ units: 3, activation: 'linear', useBias: false }));
    const a = await artifacts(m);
    const net = parseTfjs(modelJson(a), (p) => (p === './weights.bin' ? new Uint8Array(a.weightData) : new Uint8Array()), 'model.json');
    expect(net.layers.map((l) => [l.inputs, l.outputs, l.relu])).toEqual([
      [6, 8, true],
      [8, 5, true],
      [5, 3, false],
    ]);
    expect(net.tfjs?.inputShape).toEqual([2, 3]);
    const x = X(300 * 6);
    expect(maxAbsDiff(net.forwardFlat(x, 300), tfPredict(m, x, 300, [2, 3]))).toBeLessThan(1e-5);
  });

  it('reads a functional chain (InputLayer → Dense → Dense)', async () => {
    const input = tfl.input({ shape: [4] });
    const h = tfl.layers.dense({ units: 6, activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
    const o = tfl.layers.dense({ units: 2 }).apply(h) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: o });
    const a = await artifacts(m);
    const net = parseTfjs(modelJson(a), () => new Uint8Array(a.weightData), 'f.json');
    const x = X(200 * 4);
    expect(maxAbsDiff(net.forwardFlat(x, 200), tfPredict(m, x, 200, [4]))).toBeLessThan(1e-5);
  });

  it('writes models TF.js loads and runs identically; round trip gives the float32 weights', async () => {
    const { net } = hcasTau05();
    const { modelJson: doc, weights } = networkToTfjs(net);
    const manifest = (doc.weightsManifest as { weights: unknown[] }[])[0];
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: doc.modelTopology as object,
        weightSpecs: manifest.weights as tf.io.WeightsManifestEntry[],
        weightData: weights.slice().buffer,
      }),
    );
    const N = 500;
    const x = fround(Float64Array.from({ length: N * 3 }, (_, i) => (i % 3 === 2 ? r.range(-3, 3) : r.range(-5e4, 5e4))));
    const back = parseTfjs(JSON.parse(JSON.stringify(doc)), () => weights, 'model.json');
    back.layers.forEach((l, i) => {
      expect(l.weights).toEqual(fround(net.layers[i].weights));
      expect(l.bias).toEqual(fround(net.layers[i].bias));
    });
    const ours = back.forwardFlat(x, N);
    const scale = 1 + ours.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(maxAbsDiff(ours, tfPredict(model, x, N, [3]))).toBeLessThan(1e-5 * scale);
  });

  it('loadModel reads model.json with its shards from disk', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3] }));
    m.add(tfl.layers.dense({ units: 2 }));
    const a = await artifacts(m);
    const dir = mkdtempSync(join(tmpdir(), 'tfjs-'));
    const half = Math.floor(a.weightData.byteLength / 2);
    writeFileSync(join(dir, 'group1-shard1of2.bin'), new Uint8Array(a.weightData, 0, half));
    writeFileSync(join(dir, 'group1-shard2of2.bin'), new Uint8Array(a.weightData, half));
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({
        ...modelJson(a),
        weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: a.weightSpecs }],
      }),
    );
    const net = await loadModel(join(dir, 'model.json'));
    const x = X(50 * 3);
    expect(maxAbsDiff(net.forwardFlat(x, 50), tfPredict(m, x, 50, [3]))).toBeLessThan(1e-5);
    await expect(loadModel(join(dir, 'missing', 'model.json'))).rejects.toThrow(/cannot read the file: ENOENT/);
  });

  it('reads Keras-converted files: model_config wrapper, Keras 3 inbound nodes, scoped weight names', () => {
    const W1 = [1, -2, 3, 4, 0.5, -1]; // kernel [3, 2] (input-major)
    const W2 = [2, -1]; // kernel [2, 1]
    const doc = {
      format: 'layers-model',
      modelTopology: {
        keras_version: '3.3.3',
        model_config: {
          class_name: 'Functional',
          config: {
            name: 'm',
            layers: [
              { name: 'inp', class_name: 'InputLayer', config: { batch_shape: [null, 3], name: 'inp' }, inbound_nodes: [] },
              {
                name: 'h',
                class_name: 'Dense',
                config: { name: 'h', units: 2, activation: 'relu' },
                inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['inp', 0, 0] } }], kwargs: {} }],
              },
              {
                name: 'o',
                class_name: 'Dense',
                config: { name: 'o', units: 1, activation: 'linear', use_bias: false },
                inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['h', 0, 0] } }], kwargs: {} }],
              },
            ],
            input_layers: [['inp', 0, 0]],
            output_layers: [['o', 0, 0]],
          },
        },
      },
      weightsManifest: [
        {
          paths: ['a.bin'],
          weights: [
            { name: 'm/h/kernel:0', shape: [3, 2], dtype: 'float32' },
            { name: 'm/h/bias:0', shape: [2], dtype: 'float32' },
            { name: 'm/o/kernel:0', shape: [2, 1], dtype: 'float32' },
          ],
        },
      ],
    };
    const bin = new Uint8Array(new Float32Array([...W1, 0.5, -0.5, ...W2]).buffer);
    const net = parseTfjs(doc, () => bin, 'k3.json');
    const x = [0.3, -1.2, 2];
    const h = [0, 1].map((j) => Math.max(0, x.reduce((s, v, i) => s + v * W1[i * 2 + j], 0) + [0.5, -0.5][j]));
    expect(net.predict([x])[0][0]).toBeCloseTo(h[0] * W2[0] + h[1] * W2[1], 12);
  });

  it('dequantises uint8 weights (value · scale + min) and float16', () => {
    const doc = {
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'linear', batch_input_shape: [null, 2] } }] },
      },
      weightsManifest: [
        {
          paths: ['w.bin'],
          weights: [
            { name: 'd/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'd/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
          ],
        },
      ],
    };
    // kernel bytes 0, 1, 2, 4 → -1, -0.5, 0, 1; bias float16 1.0 (0x3c00) and -2.0 (0xc000).
    const bin = new Uint8Array([0, 1, 2, 4, 0x00, 0x3c, 0x00, 0xc0]);
    const net = parseTfjs(doc, () => bin, 'q.json');
    // Kernel [in, out] = [[-1, -0.5], [0, 1]] → W (out × in) = [[-1, 0], [-0.5, 1]].
    expect(Array.from(net.layers[0].weights)).toEqual([-1, 0, -0.5, 1]);
    expect(Array.from(net.layers[0].bias)).toEqual([1, -2]);
  });

  it('rejects what it does not support, naming the layer', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ filters: 2, kernelSize: 2, inputShape: [4, 4, 1] }));
    m.add(tfl.layers.flatten());
    m.add(tfl.layers.dense({ units: 2, activation: 'softmax' }));
    const a = await artifacts(m);
    const shard = () => new Uint8Array(a.weightData);
    expect(() => parseTfjs(modelJson(a), shard, 'c.json')).toThrow(
      /c\.json: layer 0 "conv2d_Conv2D\d+" \(Conv2D\): layer class Conv2D is not supported; supported layers: InputLayer, Dense/,
    );
    const s = tfl.sequential();
    s.add(tfl.layers.dense({ units: 2, activation: 'softmax', inputShape: [3] }));
    const b = await artifacts(s);
    expect(() => parseTfjs(modelJson(b), () => new Uint8Array(b.weightData), 's.json')).toThrow(
      /activation must be "relu" or "linear" \(not piecewise linear: export the logits/,
    );
    const cut = () => new Uint8Array(b.weightData).subarray(0, 10);
    expect(() => parseTfjs(modelJson(b), cut, 's.json')).toThrow(/weight shards end after 10 bytes.*truncated shard/);
    expect(() => parseTfjs({ modelTopology: {} }, cut, 'x.json')).toThrow(InputError);
  });
});
