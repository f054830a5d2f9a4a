/**
 * ONNX import and export, checked against onnxruntime (an independent runtime) and the shared
 * reference figures.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, parseImages, parseLabels } from '../ts/eval.js';
import { float32BandError, networkToOnnx, repairedToOnnx } from '../ts/formats/onnx/export.js';
import { parseOnnx, SUPPORTED_OPS } from '../ts/formats/onnx/import.js';
import { DT } from '../ts/formats/onnx/proto.js';
import { PbWriter } from '../ts/formats/protobuf.js';
import { InputError, init, Network, parseNnet, polytopeSpec, repair, repairArea } from '../ts/index.js';
import { bandInputs, buildOnnx, countInBands, f32, fround, maxAbsDiff, ortRun, type TestModel } from './formats-helpers.js';
import { argmax, fixture, hcasTau05, randomNetwork, rng } from './helpers.js';

const MNIST = fixture('mnist/reassure-mlp-784-256-256-10.onnx');
const WATERMARK = fixture('mnist/watermark-mlp-784-150-10.onnx');
const read = (p: string) => new Uint8Array(readFileSync(p));

async function mnistTestSet() {
  const images = await parseImages(read(fixture('mnist/t10k-images-idx3-ubyte.gz')), 't10k-images-idx3-ubyte.gz');
  const labels = await parseLabels(read(fixture('mnist/t10k-labels-idx1-ubyte.gz')), 't10k-labels-idx1-ubyte.gz', 10);
  return { images, labels };
}

/** Our import of `bytes` against onnxruntime on the same float32 inputs. */
async function expectMatchesOrt(bytes: Uint8Array, x: Float64Array, count: number, shape: number[], tol = 1e-5) {
  const net = parseOnnx(bytes, 'test.onnx');
  const xs = fround(x);
  const ours = net.forwardFlat(xs, count);
  const theirs = await ortRun(bytes, xs, count, shape);
  const scale = 1 + ours.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(tol * scale);
  return net;
}

describe('ONNX import', () => {
  beforeAll(() => init());

  it('loads both MNIST models; accuracy on the test set is 98.00 % and 96.76 %', async () => {
    const { images, labels } = await mnistTestSet();
    expect(images.scale).toBe(1 / 255);
    const big = parseOnnx(read(MNIST), 'mnist.onnx');
    expect(big.layers.map((l) => [l.inputs, l.outputs, l.relu])).toEqual([
      [784, 256, true],
      [256, 256, true],
      [256, 10, false],
    ]);
    expect(big.onnx).toMatchObject({ inputName: 'input', outputName: 'logits', inputShape: [784], opset: 13 });
    const a = accuracy(big, images, labels);
    expect(a.correct).toBe(9800);
    const wrong = [...a.predictions.keys()].filter((i) => a.predictions[i] !== labels[i]);
    expect(wrong.slice(0, 10)).toEqual([15, 217, 247, 321, 340, 445, 447, 448, 495, 582]);
    const wm = parseOnnx(read(WATERMARK), 'wm.onnx');
    expect(accuracy(wm, images, labels).correct).toBe(9676);
  });

  it('the imported MNIST network matches onnxruntime on the whole test set', async () => {
    const { images } = await mnistTestSet();
    const bytes = read(MNIST);
    const net = parseOnnx(bytes, 'mnist.onnx');
    const ours = net.forwardFlat(fround(images.x), images.count);
    const theirs = await ortRun(bytes, images.x, images.count, [784]);
    // onnxruntime computes in float32: logits of magnitude ~30 agree to float32 rounding.
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
    let differ = 0;
    for (let i = 0; i < images.count; i++) {
      const a = argmax(ours.subarray(i * 10, i * 10 + 10));
      const b = argmax(theirs.subarray(i * 10, i * 10 + 10));
      if (a !== b) {
        // Only a near-tie may flip under float32 rounding.
        expect(Math.abs(ours[i * 10 + a] - ours[i * 10 + b])).toBeLessThan(1e-4);
        differ++;
      }
    }
    expect(differ).toBeLessThanOrEqual(2);
  });

  const r = rng(31);
  const X = (count: number, dim: number) => Float64Array.from({ length: count * dim }, () => r.normal());

  it('Gemm with alpha, beta, transB and broadcast C; scalar C', async () => {
    const m: TestModel = {
      input: { name: 'x', shape: ['N', 3] },
      output: { name: 'y' },
      nodes: [
        {
          opType: 'Gemm',
          inputs: ['x', 'B', 'C'],
          outputs: ['g'],
          attributes: [
            { name: 'alpha', f: 0.5 },
            { name: 'beta', f: 2 },
          ],
        },
        { opType: 'Relu', inputs: ['g'], outputs: ['h'] },
        { opType: 'Gemm', inputs: ['h', 'B2', 'C2'], outputs: ['y'], attributes: [{ name: 'transB', i: 1 }] },
      ],
      inits: [
        { name: 'B', dims: [3, 4], data: f32(r, 12) },
        { name: 'C', dims: [1, 4], data: f32(r, 4) },
        { name: 'B2', dims: [2, 4], data: f32(r, 8) },
        { name: 'C2', dims: [], data: [0.25] },
      ],
    };
    const net = await expectMatchesOrt(buildOnnx(m), X(200, 3), 200, [3]);
    expect(net.layers.map((l) => l.relu)).toEqual([true, false]);
  });

  it('input normalisation (Sub, Div) folded into MatMul + Add', async () => {
    const m: TestModel = {
      input: { name: 'x', shape: ['batch', 3] },
      output: { name: 'y' },
      nodes: [
        { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['c'] },
        { opType: 'Div', inputs: ['c', 'std'], outputs: ['z'] },
        { opType: 'MatMul', inputs: ['z', 'W'], outputs: ['a'] },
        { opType: 'Add', inputs: ['a', 'b'], outputs: ['p'] },
        { opType: 'Relu', inputs: ['p'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'W2'], outputs: ['q'] },
        { opType: 'Add', inputs: ['b2', 'q'], outputs: ['y'] },
      ],
      inits: [
        { name: 'mean', dims: [3], data: [0.5, -1, 2] },
        { name: 'std', dims: [3], data: [2, 0.25, 4] },
        { name: 'W', dims: [3, 5], data: f32(r, 15) },
        { name: 'b', dims: [5], data: f32(r, 5) },
        { name: 'W2', dims: [5, 2], data: f32(r, 10) },
        { name: 'b2', dims: [1, 2], data: f32(r, 2) },
      ],
    };
    const net = await expectMatchesOrt(buildOnnx(m), X(200, 3), 200, [3]);
    expect(net.layers.length).toBe(2); // normalisation folded, not a layer
  });

  it('image input: broadcast Sub/Mul, Flatten, Constant, Dropout, Identity, constant − data', async () => {
    const m: TestModel = {
      opset: 13,
      input: { name: 'img', shape: ['N', 1, 2, 3] },
      output: { name: 'y' },
      nodes: [
        { opType: 'Sub', inputs: ['img', 'm'], outputs: ['a'] },
        { opType: 'Mul', inputs: ['a', 's'], outputs: ['b'] },
        { opType: 'Flatten', inputs: ['b'], outputs: ['f'], attributes: [{ name: 'axis', i: 1 }] },
        { opType: 'Gemm', inputs: ['f', 'W', 'c'], outputs: ['g'], attributes: [{ name: 'transB', i: 1 }] },
        { opType: 'Relu', inputs: ['g'], outputs: ['h'] },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['ratio'],
          attributes: [{ name: 'value', t: { name: '', dataType: DT.FLOAT, dims: [], data: [0.5] } }],
        },
        { opType: 'Dropout', inputs: ['h', 'ratio'], outputs: ['d'] },
        { opType: 'Identity', inputs: ['d'], outputs: ['i'] },
        { opType: 'Constant', inputs: [], outputs: ['k'], attributes: [{ name: 'value_floats', floats: [1, 2, 3, 4] }] },
        { opType: 'Sub', inputs: ['k', 'i'], outputs: ['j'] },
        { opType: 'Gemm', inputs: ['j', 'W2'], outputs: ['y'] },
      ],
      inits: [
        { name: 'm', dims: [1, 1, 1, 1], data: [0.125] },
        { name: 's', dims: [2, 3], data: [1, 2, 3, 0.5, 0.25, -1] },
        { name: 'W', dims: [4, 6], data: f32(r, 24) },
        { name: 'c', dims: [4], data: f32(r, 4) },
        { name: 'W2', dims: [4, 3], data: f32(r, 12) },
      ],
    };
    const net = await expectMatchesOrt(buildOnnx(m), X(200, 6), 200, [1, 2, 3]);
    expect(net.onnx?.inputShape).toEqual([1, 2, 3]);
    expect(net.inputSize).toBe(6);
  });

  it('Reshape with constant shapes; BatchNormalization folded before and after an affine op', async () => {
    const bn = (p: string, c: number) => [
      { name: `${p}s`, dims: [c], data: f32(r, c) },
      { name: `${p}b`, dims: [c], data: f32(r, c) },
      { name: `${p}m`, dims: [c], data: f32(r, c) },
      { name: `${p}v`, dims: [c], data: Array.from({ length: c }, () => Math.fround(0.5 + r.next())) },
    ];
    const m: TestModel = {
      input: { name: 'x', shape: ['N', 6] },
      output: { name: 'y' },
      nodes: [
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['shape1'],
          attributes: [{ name: 'value', t: { name: '', dataType: DT.INT64, dims: [3], data: [-1, 2, 3] } }],
        },
        { opType: 'Reshape', inputs: ['x', 'shape1'], outputs: ['r'] },
        {
          opType: 'BatchNormalization',
          inputs: ['r', 'bn1s', 'bn1b', 'bn1m', 'bn1v'],
          outputs: ['n1'],
          attributes: [{ name: 'epsilon', f: 1e-3 }],
        },
        { opType: 'Reshape', inputs: ['n1', 'shape2'], outputs: ['f'] },
        { opType: 'MatMul', inputs: ['f', 'W'], outputs: ['a'] },
        { opType: 'BatchNormalization', inputs: ['a', 'bn2s', 'bn2b', 'bn2m', 'bn2v'], outputs: ['n2'] },
        { opType: 'Relu', inputs: ['n2'], outputs: ['h'] },
        { opType: 'Gemm', inputs: ['h', 'W2', 'c2'], outputs: ['y'] },
      ],
      inits: [
        { name: 'shape2', dims: [2], data: [0, 6], dataType: DT.INT64 },
        ...bn('bn1', 2),
        { name: 'W', dims: [6, 4], data: f32(r, 24) },
        ...bn('bn2', 4),
        { name: 'W2', dims: [4, 2], data: f32(r, 8) },
        { name: 'c2', dims: [2], data: f32(r, 2) },
      ],
    };
    const net = await expectMatchesOrt(buildOnnx(m), X(300, 6), 300, [6]);
    expect(net.layers.length).toBe(2);
  });

  it('IR 3 model that lists its initializers among the graph inputs; data + data; Relu of a ReLU output', async () => {
    const m: TestModel = {
      ir: 3,
      opset: 8,
      initsAsInputs: true,
      input: { name: 'x', shape: [1, 4] },
      output: { name: 'y' },
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['g'], attributes: [{ name: 'transB', i: 1 }] },
        { opType: 'Relu', inputs: ['g'], outputs: ['h'] },
        { opType: 'Relu', inputs: ['h'], outputs: ['h2'] },
        { opType: 'Mul', inputs: ['h2', 'two'], outputs: ['hh'] },
        { opType: 'Add', inputs: ['h2', 'hh'], outputs: ['s'] },
        { opType: 'Gemm', inputs: ['s', 'W2', 'b2'], outputs: ['y'], attributes: [{ name: 'transB', i: 1 }] },
      ],
      inits: [
        { name: 'W', dims: [5, 4], data: f32(r, 20) },
        { name: 'b', dims: [5], data: f32(r, 5) },
        { name: 'two', dims: [1], data: [2] },
        { name: 'W2', dims: [3, 5], data: f32(r, 15) },
        { name: 'b2', dims: [3], data: f32(r, 3) },
      ],
    };
    const bytes = buildOnnx(m);
    const net = parseOnnx(bytes, 'ir3.onnx');
    expect(net.layers.length).toBe(2);
    // The input is [1, 4]: run onnxruntime one sample at a time.
    for (let i = 0; i < 20; i++) {
      const x = fround(X(1, 4));
      expect(maxAbsDiff(net.forwardFlat(x, 1), await ortRun(bytes, x, 1, [4]))).toBeLessThan(1e-5 * 10);
    }
  });

  it('opset < 7 legacy broadcasting (broadcast, axis) against a hand computation', () => {
    // y = W · ((x + b ⊗ axis 1) flattened) for x of shape [N, 2, 3] and b of shape [2].
    const W = f32(r, 6);
    const m: TestModel = {
      ir: 3,
      opset: 6,
      input: { name: 'x', shape: ['N', 2, 3] },
      output: { name: 'y' },
      nodes: [
        {
          opType: 'Add',
          inputs: ['x', 'b'],
          outputs: ['a'],
          attributes: [
            { name: 'broadcast', i: 1 },
            { name: 'axis', i: 1 },
          ],
        },
        { opType: 'Flatten', inputs: ['a'], outputs: ['f'] },
        {
          opType: 'Gemm',
          inputs: ['f', 'W', 'c'],
          outputs: ['y'],
          attributes: [
            { name: 'transB', i: 1 },
            { name: 'broadcast', i: 1 },
          ],
        },
      ],
      inits: [
        { name: 'b', dims: [2], data: [10, -20] },
        { name: 'W', dims: [1, 6], data: W },
        { name: 'c', dims: [1], data: [0.5] },
      ],
    };
    const net = parseOnnx(buildOnnx(m), 'legacy.onnx');
    const x = [1, 2, 3, 4, 5, 6];
    const shifted = x.map((v, i) => v + (i < 3 ? 10 : -20));
    const expected = shifted.reduce((s, v, i) => s + v * W[i], 0.5);
    expect(net.predict([x])[0][0]).toBeCloseTo(expected, 10);
  });

  const reject = (m: TestModel, message: RegExp) => {
    let err: unknown;
    try {
      parseOnnx(buildOnnx(m), 'bad.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
  };
  const chain = (nodes: TestModel['nodes'], extra: TestModel['inits'] = [], shape: (number | string)[] = ['N', 2]): TestModel => ({
    input: { name: 'x', shape },
    output: { name: 'y' },
    nodes,
    inits: [{ name: 'W', dims: [2, 2], data: [1, 2, 3, 4] }, ...extra],
  });

  it('rejects anything outside the op table at load time, naming the op, the node index, the nearest alternative and the supported list', () => {
    reject(
      chain([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'ReduceMean', inputs: ['a'], outputs: ['y'] },
      ]),
      new RegExp(
        `bad\\.onnx: graph\\.node\\[1\\] "n1": operator ReduceMean is not supported; nearest supported: GlobalAveragePool \\(a mean over the spatial axes\\) or AveragePool; supported operators: ${SUPPORTED_OPS.join(', ')} \\(got "ReduceMean"\\)`,
      ),
    );
    reject(
      chain([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'Softmax', inputs: ['a'], outputs: ['y'] },
      ]),
      /node\[1\].*Softmax is not piecewise linear: relu-repair repairs only piecewise-linear networks .*; as the last operator, export the logits instead/,
    );
    reject(
      chain([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'Sigmoid', inputs: ['a'], outputs: ['s'] },
        { opType: 'MatMul', inputs: ['s', 'W'], outputs: ['y'] },
      ]),
      /graph\.node\[1\] "n1": operator Sigmoid is not piecewise linear: relu-repair repairs only piecewise-linear networks \(affine operators, ReLU, max, min\); a Sigmoid hidden layer cannot be repaired by this method, but the piecewise-linear part after it can: head repair from a tensor after the last curved operator \(CLI repair --from "s", API headFrom\); verify, certify and repair without --from need the whole network piecewise linear \(got "Sigmoid"\)/,
    );
    reject(
      chain([{ opType: 'FusedGemm', domain: 'com.microsoft', inputs: ['x', 'W'], outputs: ['y'] }]),
      /node\[0\].*operator com\.microsoft\.FusedGemm is not supported/,
    );
    // The supported list is the operator table: every listed operator has a handler.
    expect(SUPPORTED_OPS).toEqual(
      expect.arrayContaining(['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'Shape', 'Gather', 'Max', 'Clip']),
    );
  });

  it('rejects what is not piecewise linear or would mix the batch, with the reason', () => {
    reject(chain([{ opType: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }]), /Mul of two data tensors is not piecewise linear/);
    reject(chain([{ opType: 'Div', inputs: ['W', 'x'], outputs: ['y'] }]), /Div of a constant by the data is not piecewise linear/);
    reject(
      chain([{ opType: 'MatMul', inputs: ['W', 'x'], outputs: ['y'] }]),
      /node\[0\] \(MatMul "n0"\): MatMul\(constant, data\) with the data \[N, 2\] multiplies across the batch dimension/,
    );
    reject(chain([{ opType: 'Gemm', inputs: ['x', 'W'], outputs: ['y'], attributes: [{ name: 'transA', i: 1 }] }]), /transA = 1/);
    reject(
      chain([{ opType: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], [{ name: 's', dims: [1], data: [-1], dataType: DT.INT64 }]),
      /would change the batch dimension/,
    );
    reject(
      chain([{ opType: 'Div', inputs: ['x', 'z'], outputs: ['y'] }], [{ name: 'z', dims: [2], data: [1, 0] }]),
      /divides by zero \(feature 1/,
    );
    reject(
      chain([{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], [{ name: 'c', dims: [3, 2], data: [1, 2, 3, 4, 5, 6] }]),
      /varies along the batch dimension/,
    );
    reject(chain([{ opType: 'MatMul', inputs: ['x', 'nope'], outputs: ['y'] }]), /"nope" is not defined before this node/);
    reject(
      { ...chain([{ opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }]), input: { name: 'x', shape: ['N', 'D'] } },
      /input feature dimensions must be fixed/,
    );
    const two = chain([{ opType: 'Add', inputs: ['x', 'x2'], outputs: ['y'] }]);
    const bytes = buildOnnx({ ...two, initsAsInputs: false });
    // A second data input, added by hand.
    const extra = new PbWriter().string(1, 'x2');
    expect(() => parseOnnx(appendGraphField(bytes, 11, extra.finish()), 'two.onnx')).toThrow(/exactly one data input.*\["x","x2"\]/);
  });

  it('rejects external data and sparse initializers with a clear message', () => {
    const t = new PbWriter().packedInts(1, [2]).int(2, DT.FLOAT).string(8, 'w').int(14, 1);
    const bytes = appendGraphField(buildOnnx(chain([{ opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }])), 5, t.finish());
    expect(() => parseOnnx(bytes, 'ext.onnx')).toThrow(/ext\.onnx: graph\.initializer\[1\] \("w"\): stores its data in an external file/);
  });
});

/** Appends a field to the GraphProto of a model (rewrites the model's graph field). */
function appendGraphField(model: Uint8Array, field: number, payload: Uint8Array): Uint8Array {
  // Model = fields; the graph is field 7. Re-encode: copy every field, extend the graph.
  const out = new PbWriter();
  let pos = 0;
  const varint = () => {
    let v = 0;
    let s = 1;
    for (;;) {
      const b = model[pos++];
      v += (b & 0x7f) * s;
      s *= 128;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < model.length) {
    const tag = varint();
    const f = Math.floor(tag / 8);
    const w = tag % 8;
    if (w === 0) out.int(f, varint());
    else if (w === 2) {
      const len = varint();
      let body = model.subarray(pos, pos + len);
      pos += len;
      if (f === 7) {
        const g = new Uint8Array(body.length + 16 + payload.length);
        const extra = new PbWriter().bytes(field, payload).finish();
        g.set(body);
        g.set(extra, body.length);
        body = g.subarray(0, body.length + extra.length);
      }
      out.bytes(f, body);
    } else throw new Error(`unexpected wire type ${w}`);
  }
  return out.finish();
}

describe('ONNX export', () => {
  beforeAll(() => init());

  it('plain networks round-trip exactly (float64) or to float32, and run in onnxruntime', async () => {
    const mnist = parseOnnx(read(MNIST), 'mnist.onnx');
    for (const precision of ['float64', 'float32'] as const) {
      const bytes = networkToOnnx(mnist, { precision });
      const back = parseOnnx(bytes, 'back.onnx');
      expect(back.onnx).toMatchObject({ inputName: 'input', outputName: 'logits', inputShape: [784] });
      // MNIST weights are float32 values: both precisions round-trip them exactly.
      back.layers.forEach((l, i) => {
        expect(l.weights).toEqual(mnist.layers[i].weights);
        expect(l.bias).toEqual(mnist.layers[i].bias);
        expect(l.relu).toBe(mnist.layers[i].relu);
      });
    }
    const { net: hcas } = hcasTau05();
    const b64 = networkToOnnx(hcas, { precision: 'float64' });
    parseOnnx(b64, 'hcas.onnx').layers.forEach((l, i) => expect(l.weights).toEqual(hcas.layers[i].weights));
    const b32 = networkToOnnx(hcas);
    parseOnnx(b32, 'hcas32.onnx').layers.forEach((l, i) => expect(l.weights).toEqual(fround(hcas.layers[i].weights)));
    // onnxruntime on 10,000 random inputs of the HCAS box.
    const r = rng(5);
    const N = 10_000;
    const x = Float64Array.from({ length: N * 3 }, (_, i) => (i % 3 === 2 ? r.range(-Math.PI, Math.PI) : r.range(-56000, 56000)));
    const y = hcas.forwardFlat(x, N);
    const scale = 1 + y.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(maxAbsDiff(await ortRun(b64, x, N, [3], 'float64'), y)).toBeLessThan(1e-9 * scale);
    const xs = fround(x);
    expect(maxAbsDiff(await ortRun(b32, xs, N, [3], 'float32'), hcas.forwardFlat(xs, N))).toBeLessThan(1e-5 * scale);
  });

  it('image-shaped inputs keep their shape (a Flatten is inserted)', async () => {
    const r = rng(8);
    const net = Network.fromArrays([
      { weights: Array.from({ length: 4 }, () => f32(r, 6)), bias: f32(r, 4) },
      { weights: Array.from({ length: 2 }, () => f32(r, 4)), bias: f32(r, 2) },
    ]);
    const bytes = networkToOnnx(net, { inputShape: [1, 2, 3], inputName: 'img', outputName: 'scores' });
    const back = parseOnnx(bytes, 'img.onnx');
    expect(back.onnx).toMatchObject({ inputName: 'img', outputName: 'scores', inputShape: [1, 2, 3] });
    const x = fround(Float64Array.from({ length: 600 }, () => r.normal()));
    expect(maxAbsDiff(await ortRun(bytes, x, 100, [1, 2, 3]), net.forwardFlat(x, 100))).toBeLessThan(1e-5);
    expect(() => networkToOnnx(net, { inputShape: [5] })).toThrow(
      /inputShape: must be positive integers whose product is the input size 6/,
    );
  });

  it('repaired HCAS network in float64: onnxruntime equals our evaluator within 1e-5 on 10,000 inputs, 3,000 of them in patch bands', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const { network: rep } = await repair(net, { points, labels, inputBox });
    const r = rng(77);
    const P = rep.patches.length;
    const anchor = (a: number) => points[rep.patches[a].region.points[0]];
    const scale = [1000, 1000, 0.05];
    const band = bandInputs(rep, anchor, Math.ceil(3000 / P), r, scale).subarray(0, 3000 * 3);
    // Inside regions: the buggy points and tiny moves around them; and uniform box samples.
    const inside = Float64Array.from(
      { length: 2000 * 3 },
      (_, i) => points[Math.floor(i / 3) % points.length][i % 3] + (i >= 150 ? r.normal() * 1e-4 : 0),
    );
    const box = Float64Array.from({ length: 5000 * 3 }, (_, i) => r.range(inputBox.lower[i % 3], inputBox.upper[i % 3]));
    const x = new Float64Array(10_000 * 3);
    x.set(band, 0);
    x.set(inside, band.length);
    x.set(box, band.length + inside.length);
    expect(countInBands(rep, x)).toBeGreaterThanOrEqual(3000);
    const bytes = repairedToOnnx(rep, { precision: 'float64' });
    const ours = rep.forwardFlat(x, 10_000);
    const theirs = await ortRun(bytes, x, 10_000, [3], 'float64');
    expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(1e-5);
    // The patches matter there: the repaired outputs differ from the original network's.
    expect(maxAbsDiff(ours, net.forwardFlat(x, 10_000))).toBeGreaterThan(1);
    // Every buggy point gets label 4 in onnxruntime too.
    const yb = await ortRun(bytes, Float64Array.from(points.flat()), points.length, [3], 'float64');
    for (let i = 0; i < points.length; i++) expect(argmax(yb.subarray(i * 5, i * 5 + 5))).toBe(labels[i]);
  });

  it('chain composition (HCAS tau20 area, 87 patches): float64 ONNX equals our evaluator within 1e-5 on 10,000 inputs, mixes of several patches included', async () => {
    const task = JSON.parse(readFileSync(fixture('hcas/area-repair-pra1-tau20.json'), 'utf8'));
    const net = parseNnet(readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet'), 'utf8'), 'tau20.nnet');
    const box = task.box as { lower: number[]; upper: number[] };
    const { network: rep, report } = await repairArea(net, { area: { box }, label: 4, radius: 20 });
    expect(rep.composition).toBe('chain');
    const r = rng(31);
    const centre = new Map(report.regions.map((g) => [g.pattern, g.centre]));
    const band = bandInputs(
      rep,
      (a) => centre.get(rep.patches[a].region.pattern)!,
      Math.ceil(5000 / rep.patches.length),
      r,
      [300, 300, 0.05],
    ).subarray(0, 5000 * 3);
    const x = new Float64Array(10_000 * 3);
    x.set(band);
    x.set(
      Float64Array.from({ length: 5000 * 3 }, (_, i) => r.range(box.lower[i % 3] - 50, box.upper[i % 3] + 50)),
      band.length,
    );
    const w = rep.weightsFlat(x, 10_000);
    const P = rep.patches.length;
    let mixed = 0;
    for (let i = 0; i < 10_000; i++) {
      let active = 0;
      let sum = 0;
      for (let a = 0; a < P; a++) {
        const v = w[i * P + a];
        expect(v).toBeGreaterThanOrEqual(0);
        sum += v;
        if (v > 0) active++;
      }
      expect(sum).toBeLessThanOrEqual(1 + 1e-12);
      if (active >= 2) mixed++;
    }
    expect(mixed).toBeGreaterThan(300);
    const ours = rep.forwardFlat(x, 10_000);
    const bytes = repairedToOnnx(rep, { precision: 'float64' });
    expect(maxAbsDiff(await ortRun(bytes, x, 10_000, [3], 'float64'), ours)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(ours, net.forwardFlat(x, 10_000))).toBeGreaterThan(1);
  });

  it('cells and enlarged patches (general spec, area repair): float64 ONNX equals our evaluator within 1e-5 on 10,000 inputs', async () => {
    const r = rng(11);
    const net = randomNetwork(r, [2, 6, 6, 2]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    const ys = net.predict(Array.from({ length: 500 }, () => [r.range(-1, 1), r.range(-1, 1)]));
    const mid = [0, 1].map((o) => ys.reduce((s, y) => s + y[o], 0) / ys.length);
    const spec = polytopeSpec(
      [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ],
      [mid[0] + 0.15, -mid[0] + 0.15, mid[1] + 0.15, -mid[1] + 0.15],
    );
    const { network: rep, report } = await repairArea(net, { area: { box }, spec, radius: 0.01 });
    expect(report.certificate.status).toBe('certified');
    expect(rep.patches.some((p) => p.region.cell !== undefined)).toBe(true);
    const x = Float64Array.from({ length: 10_000 * 2 }, () => r.range(-1.05, 1.05));
    const w = rep.weightsFlat(x, 10_000);
    const P = rep.patches.length;
    let mixed = 0;
    for (let i = 0; i < 10_000; i++) {
      let active = 0;
      for (let a = 0; a < P; a++) if (w[i * P + a] > 0 && w[i * P + a] < 1) active++;
      if (active >= 1) mixed++;
    }
    expect(mixed).toBeGreaterThan(100);
    const ours = rep.forwardFlat(x, 10_000);
    expect(maxAbsDiff(await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, 10_000, [2], 'float64'), ours)).toBeLessThanOrEqual(
      1e-5,
    );
  });

  it('affine patches (narrow output box, full LP): float64 ONNX equals our evaluator within 1e-5 on 10,000 inputs incl. bands', async () => {
    const r = rng(7);
    let affine = 0;
    for (let trial = 0; trial < 8 && affine < 2; trial++) {
      const net = randomNetwork(r, [2, 10, 10, 2]);
      const inputBox = { lower: [-1, -1], upper: [1, 1] };
      const xs = [0, 1, 2].map(() => [r.range(-0.5, 0.5), r.range(-0.5, 0.5)]);
      const y = net.predict(xs);
      const specs = y.map((yi) => {
        const c = [yi[0] + 0.5, yi[1] - 0.3];
        return polytopeSpec(
          [
            [1, 0],
            [-1, 0],
            [0, 1],
            [0, -1],
          ],
          [c[0] + 0.01, -(c[0] - 0.01), c[1] + 0.01, -(c[1] - 0.01)],
        );
      });
      const { network: rep, report } = await repair(net, { points: xs, spec: specs, inputBox });
      if (!report.regions.some((g) => g.patchKind === 'affine')) continue;
      affine++;
      const band = bandInputs(
        rep,
        (a) => xs[rep.patches[a].region.points[0]],
        Math.ceil(4000 / rep.patches.length),
        r,
        [0.3, 0.3],
      ).subarray(0, 8000);
      const rest = Float64Array.from({ length: 12000 }, () => r.range(-1.5, 1.5));
      const x = new Float64Array(20000);
      x.set(band);
      x.set(rest, 8000);
      expect(countInBands(rep, x)).toBeGreaterThanOrEqual(4000);
      const ours = rep.forwardFlat(x, 10_000);
      expect(maxAbsDiff(await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, 10_000, [2], 'float64'), ours)).toBeLessThanOrEqual(
        1e-5,
      );
      expect(maxAbsDiff(ours, net.forwardFlat(x, 10_000))).toBeGreaterThan(0.1);
    }
    expect(affine).toBe(2);
  });

  it('repaired HCAS network in float32: agrees off the bands and fixes every buggy point (bands need float64)', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const { network: rep } = await repair(net, { points, labels, inputBox });
    const bytes = repairedToOnnx(rep);
    const r = rng(78);
    const N = 5000;
    const x = fround(Float64Array.from({ length: N * 3 }, (_, i) => r.range(inputBox.lower[i % 3], inputBox.upper[i % 3])));
    expect(countInBands(rep, x)).toBe(0);
    const ours = rep.forwardFlat(x, N);
    const scale = 1 + ours.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(maxAbsDiff(await ortRun(bytes, x, N, [3]), ours)).toBeLessThan(1e-5 * scale);
    const yb = await ortRun(bytes, Float64Array.from(points.flat()), points.length, [3]);
    for (let i = 0; i < points.length; i++) expect(argmax(yb.subarray(i * 5, i * 5 + 5))).toBe(labels[i]);
    // In the bands float32 is not enough here, and float32BandError (the CLI's warning) says so.
    expect(Math.min(...float32BandError(rep))).toBeGreaterThan(0.5);
    const band = fround(bandInputs(rep, (a) => points[rep.patches[a].region.points[0]], 10, r, [1000, 1000, 0.05]));
    const nb = band.length / 3;
    expect(maxAbsDiff(await ortRun(bytes, band, nb, [3]), rep.forwardFlat(band, nb))).toBeGreaterThan(1);
  });

  it("MNIST acceptance: the first 10 misclassified images are fixed 10/10 with the oracle's minimal norms; the repaired ONNX agrees with our evaluator on the test set and in the bands", async () => {
    const { images, labels } = await mnistTestSet();
    const net = parseOnnx(read(MNIST), 'mnist.onnx');
    const oracle = JSON.parse(readFileSync(fixture('mnist/minimal-patch-first10.json'), 'utf8')) as {
      points: { testIndex: number; label: number; minimalPatchLinf: number }[];
    };
    const idx = oracle.points.map((p) => p.testIndex);
    const pts = idx.map((i) => images.x.slice(i * 784, (i + 1) * 784));
    const inputBox = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };
    const { network: rep, report } = await repair(net, { points: pts, labels: idx.map((i) => labels[i]), inputBox });
    expect(report.result).toMatchObject({ status: 'repaired', buggyPoints: 10, fixedPoints: 10, regions: 10 });
    for (const g of report.regions) {
      const want = oracle.points[g.points[0]].minimalPatchLinf;
      expect(Math.abs(g.patchNorm - want)).toBeLessThanOrEqual(1e-6 * want);
    }
    // 500 inputs in the patch bands, then the 10,000 test images.
    const r = rng(15);
    const band = bandInputs(rep, (a) => pts[rep.patches[a].region.points[0]], 50, r, new Array(784).fill(0.05));
    expect(countInBands(rep, band)).toBe(500);
    const all = new Float64Array(band.length + images.x.length);
    all.set(band);
    all.set(images.x, band.length);
    const N = all.length / 784;
    const b64 = repairedToOnnx(rep, { precision: 'float64' });
    expect(maxAbsDiff(await ortRun(b64, all, N, [784], 'float64'), rep.forwardFlat(all, N))).toBeLessThanOrEqual(1e-5);
    // float32 (the default): the same predictions on all 10,000 test images, the 10 repaired ones included.
    const b32 = repairedToOnnx(rep);
    const t = fround(images.x);
    const ys = rep.forwardFlat(t, images.count);
    const yo = await ortRun(b32, t, images.count, [784]);
    let same = 0;
    for (let i = 0; i < images.count; i++)
      if (argmax(ys.subarray(i * 10, i * 10 + 10)) === argmax(yo.subarray(i * 10, i * 10 + 10))) same++;
    expect(same).toBe(images.count);
    for (const i of idx) expect(argmax(yo.subarray(i * 10, i * 10 + 10))).toBe(labels[i]);
    // float32 in the bands: the error stays below float32BandError × the patch norm.
    const est = float32BandError(rep);
    const bf = fround(band);
    const yb32 = await ortRun(b32, bf, 500, [784]);
    const yb = rep.forwardFlat(bf, 500);
    rep.patches.forEach((_p, a) => {
      const rows = [...Array(50).keys()].map((k) => a * 50 + k);
      const err = Math.max(...rows.flatMap((i) => [...Array(10).keys()].map((j) => Math.abs(yb32[i * 10 + j] - yb[i * 10 + j]))));
      expect(err).toBeLessThanOrEqual(est[a] * Math.max(...rep.patches.map((q) => q.region.patchNorm)));
    });
  });
});
