/**
 * Graph networks from ONNX and back: the shared VNN-COMP CNNs and PyTorch-exported residual and
 * MaxPool networks (opsets 11–17) checked against onnxruntime (float32) and PyTorch (float64); every
 * operator of the table on data against onnxruntime; dense models bit for bit as the dense-only
 * reader read them; round trips (JSON version 2, ONNX in float64 and float32).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseImages, parseLabels } from '../ts/eval.js';
import { networkToOnnx, repairedToOnnx } from '../ts/formats/onnx/export.js';
import { parseOnnx } from '../ts/formats/onnx/import.js';
import { DT, decodeModel } from '../ts/formats/onnx/proto.js';
import { REPAIRED_ONNX_KEY } from '../ts/formats/onnx/record.js';
import { InputError, init, type Network, networkFromJson, networkToJson, networkToTfjs, nnetToText, repair } from '../ts/index.js';
import { buildOnnx, f32, fround, maxAbsDiff, ortRun, type TestModel } from './formats-helpers.js';
import { argmax, fixture, hcasTau05, rng } from './helpers.js';
import { networkToOnnx as networkToOnnxDense, repairedToOnnx as repairedToOnnxDense } from './reference/onnx-dense-export.js';
import { parseOnnxDense } from './reference/onnx-dense-import.js';

const read = (p: string) => new Uint8Array(readFileSync(p));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const scaleOf = (y: ArrayLike<number>) => 1 + Array.from(y).reduce((a, v) => Math.max(a, Math.abs(v)), 0);

/** onnxruntime one sample at a time (for models with a fixed batch of 1). */
async function ortEach(bytes: Uint8Array, x: Float64Array, count: number, shape: number[], outputs: number) {
  const d = x.length / count;
  const out = new Float64Array(count * outputs);
  for (let i = 0; i < count; i++) out.set(await ortRun(bytes, x.subarray(i * d, (i + 1) * d), 1, shape), i * outputs);
  return out;
}

/** Our forward pass of `bytes` against onnxruntime in float32 on `x` (rounded to float32 first). */
async function expectOrt(bytes: Uint8Array, x: Float64Array, count: number, shape: number[], tol = 1e-5): Promise<Network> {
  const net = parseOnnx(bytes, 'test.onnx');
  const xs = fround(x);
  const ours = net.forwardFlat(xs, count);
  const theirs = await ortRun(bytes, xs, count, shape);
  expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(tol * scaleOf(ours));
  return net;
}

const r = rng(2026);
const uniform = (n: number, lo = 0, hi = 1) => Float64Array.from({ length: n }, () => r.range(lo, hi));

describe('graph networks from ONNX', () => {
  beforeAll(() => init());

  it('the shared CNNs (MNIST conv net with average pooling, CIFAR-10 conv net) agree with PyTorch in float64 and onnxruntime in float32 on real and random inputs', async () => {
    const ref = json(fixture('cnn/reference.json'));
    for (const [name, hidden] of [
      ['Convnet_avgpool', 32 * 27 * 27],
      ['cifar_base_kw', 8 * 16 * 16 + 16 * 8 * 8 + 100],
    ] as const) {
      const bytes = read(fixture(`cnn/${name}.onnx`));
      const net = parseOnnx(bytes, `${name}.onnx`);
      expect(net.denseLayers).toBeUndefined();
      expect(net.hiddenCount).toBe(hidden);
      expect([...net.inputShape]).toEqual(ref[name].shape);
      const { inputs, outputs } = ref[name] as { inputs: number[][]; outputs: number[][] };
      const x = Float64Array.from(inputs.flat());
      const y = net.forwardFlat(x, inputs.length);
      const want = Float64Array.from(outputs.flat());
      expect(maxAbsDiff(y, want)).toBeLessThanOrEqual(1e-12 * scaleOf(want));
      const all = Float64Array.from([...x, ...uniform(3 * net.inputSize)]);
      const count = inputs.length + 3;
      const xs = fround(all);
      const theirs = await ortEach(bytes, xs, count, ref[name].shape, net.outputSize);
      expect(maxAbsDiff(net.forwardFlat(xs, count), theirs)).toBeLessThanOrEqual(1e-5 * scaleOf(theirs));
    }
    // The MNIST conv net classifies the first ten test images (its upstream accuracy is 97.95 %).
    const images = await parseImages(read(fixture('mnist/t10k-images-idx3-ubyte.gz')), 'images');
    const labels = await parseLabels(read(fixture('mnist/t10k-labels-idx1-ubyte.gz')), 'labels', 10);
    const mnist = parseOnnx(read(fixture('cnn/Convnet_avgpool.onnx')), 'Convnet_avgpool.onnx');
    const pred = mnist.forwardFlat(images.x.subarray(0, 10 * 784), 10);
    expect([...Array(10).keys()].filter((i) => argmax(pred.subarray(i * 10, i * 10 + 10)) === labels[i]).length).toBeGreaterThanOrEqual(9);
  });

  it('residual and MaxPool networks exported by PyTorch at opsets 11–17 (with x.view(x.size(0), -1)): onnxruntime in float32, the float64 exports against PyTorch in float64', async () => {
    const ref = json(fixture('graph/reference.json'));
    let checked = 0;
    for (const name of ['residual', 'maxpool']) {
      const { shape, inputs, outputs } = ref[name] as { shape: number[]; inputs: number[][]; outputs: number[][] };
      const x = Float64Array.from(inputs.flat());
      const want = Float64Array.from(outputs.flat());
      for (let opset = 11; opset <= 17; opset++) {
        const bytes = read(fixture(`graph/${name}-opset${opset}.onnx`));
        const net = await expectOrt(
          bytes,
          Float64Array.from([...x, ...uniform((12 * x.length) / inputs.length, -1, 2)]),
          inputs.length + 12,
          shape,
        );
        const f64 = parseOnnx(read(fixture(`graph/${name}-opset${opset}-f64.onnx`)), 'f64.onnx');
        expect(maxAbsDiff(f64.forwardFlat(x, inputs.length), want)).toBeLessThanOrEqual(1e-12 * scaleOf(want));
        expect(f64.hiddenCount).toBe(net.hiddenCount);
        const nodes = net.graph.nodes;
        if (name === 'residual') {
          // The residual Add: one node reads a value older than its predecessor.
          expect(nodes.some((n, k) => n.terms.length > 1 && n.terms.some((t) => t.from < k))).toBe(true);
          expect(nodes.some((n) => n.terms.some((t) => t.op.kind === 'avgPool' && !t.op.countIncludePad))).toBe(true);
        } else {
          // MaxPool and Max lowered to ReLU nodes of differences of index maps; a transposed convolution.
          expect(nodes.some((n) => n.relu && n.terms.some((t) => t.op.kind === 'gather' && t.negate))).toBe(true);
          expect(nodes.some((n) => n.terms.some((t) => t.op.kind === 'conv' && t.op.transposed))).toBe(true);
        }
        checked++;
      }
    }
    expect(checked).toBe(14);
  });

  it('dense models give the layers of the dense-only reader bit for bit (MNIST MLPs, ACAS Xu, exported HCAS, normalisation and BatchNormalization folded)', async () => {
    const { net: hcas } = hcasTau05();
    const ar = rng(5);
    const normalised: TestModel = {
      input: { name: 'x', shape: ['N', 1, 2, 3] },
      output: { name: 'y' },
      nodes: [
        { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['a'] },
        { opType: 'Div', inputs: ['a', 'std'], outputs: ['b'] },
        { opType: 'Flatten', inputs: ['b'], outputs: ['f'] },
        { opType: 'Gemm', inputs: ['f', 'W', 'c'], outputs: ['g'], attributes: [{ name: 'transB', i: 1 }] },
        { opType: 'BatchNormalization', inputs: ['g', 's', 'o', 'm', 'v'], outputs: ['h'] },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'MatMul', inputs: ['r', 'W2'], outputs: ['z'] },
        { opType: 'Mul', inputs: ['z', 'two'], outputs: ['y'] },
      ],
      inits: [
        { name: 'mean', dims: [1, 1, 2, 3], data: f32(ar, 6) },
        { name: 'std', dims: [3], data: [0.5, 2, 4] },
        { name: 'W', dims: [4, 6], data: f32(ar, 24) },
        { name: 'c', dims: [4], data: f32(ar, 4) },
        { name: 's', dims: [4], data: f32(ar, 4) },
        { name: 'o', dims: [4], data: f32(ar, 4) },
        { name: 'm', dims: [4], data: f32(ar, 4) },
        { name: 'v', dims: [4], data: [1, 2, 0.5, 3] },
        { name: 'W2', dims: [4, 3], data: f32(ar, 12) },
        { name: 'two', dims: [1], data: [2] },
      ],
    };
    const models: [string, Uint8Array][] = [
      ['mnist', read(fixture('mnist/reassure-mlp-784-256-256-10.onnx'))],
      ['watermark', read(fixture('mnist/watermark-mlp-784-150-10.onnx'))],
      ['acasxu', read(fixture('acasxu/ACASXU_run2a_2_1_batch_2000.onnx'))],
      ['hcas64', networkToOnnx(hcas, { precision: 'float64' })],
      ['hcas32', networkToOnnx(hcas)],
      ['normalised', buildOnnx(normalised)],
    ];
    for (const [name, bytes] of models) {
      const layers = parseOnnx(bytes, name).layers;
      const want = parseOnnxDense(bytes, name).layers;
      expect(layers.length, name).toBe(want.length);
      layers.forEach((l, i) => {
        expect([l.inputs, l.outputs, l.relu], `${name} layer ${i}`).toEqual([want[i].inputs, want[i].outputs, want[i].relu]);
        for (const [a, b] of [
          [l.weights, want[i].weights],
          [l.bias, want[i].bias],
        ]) {
          const differ = a.findIndex((v, k) => !Object.is(v, b[k]));
          expect(differ, `${name} layer ${i}: first differing value`).toBe(-1);
        }
      });
    }
    // ACAS Xu (IR 3, opset 8, initializers listed as inputs, Sub of a mean image, Flatten) loads as 5 → 6 × 50 → 5.
    const acas = parseOnnx(read(fixture('acasxu/ACASXU_run2a_2_1_batch_2000.onnx')), 'acas.onnx');
    expect(acas.layers.map((l) => l.outputs)).toEqual([50, 50, 50, 50, 50, 50, 5]);
  });

  it('dense networks export byte for byte as before (plain and repaired, float32 and float64); the dense-only writers refuse graphs with the reason', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const mnist = parseOnnx(read(fixture('mnist/reassure-mlp-784-256-256-10.onnx')), 'mnist.onnx');
    const { network: rep } = await repair(net, { points: points.slice(0, 6), labels: labels.slice(0, 6), inputBox });
    for (const precision of ['float32', 'float64'] as const) {
      for (const [name, a, b] of [
        ['hcas', networkToOnnx(net, { precision }), networkToOnnxDense(net, { precision })],
        ['mnist', networkToOnnx(mnist, { precision }), networkToOnnxDense(mnist, { precision })],
        ['repaired', repairedToOnnx(rep, { precision }), repairedToOnnxDense(rep, { precision })],
        [
          'repaired, dense supports',
          repairedToOnnx(rep, { precision, compactSupports: false }),
          repairedToOnnxDense(rep, { precision, compactSupports: false }),
        ],
      ] as const) {
        // A repaired network's export appends one metadata entry, its read-back record
        // (ts/formats/onnx/record.ts), as the model's last field; everything before is unchanged.
        const tail = name.startsWith('repaired') ? a.length - b.length : 0;
        if (tail > 0) {
          const meta = decodeModel(a, name).metadata;
          expect(meta[meta.length - 1].key).toBe(REPAIRED_ONNX_KEY);
          expect(a[b.length], 'the tail is one metadata_props field (14, length-delimited)').toBe((14 << 3) | 2);
          expect(meta.length).toBe(decodeModel(b, name).metadata.length + 1);
        }
        expect(a.length - tail, `${name} ${precision}`).toBe(b.length);
        expect(
          a.subarray(0, b.length).findIndex((v, i) => v !== b[i]),
          `${name} ${precision}: first differing byte`,
        ).toBe(-1);
      }
    }
    const cnn = parseOnnx(read(fixture('cnn/cifar_base_kw.onnx')), 'cifar_base_kw.onnx');
    expect(() => nnetToText(cnn)).toThrow(
      /cifar_base_kw\.onnx: layers: the \.nnet format needs a chain of dense layers; this network is a graph of 4 nodes \(conv\)/,
    );
    expect(() => networkToTfjs(cnn)).toThrow(/the TF\.js layers format \(Dense layers\) needs a chain of dense layers/);
    expect(() => cnn.layers).toThrow(InputError);
  });

  it('MatMul in both operand orders: W·x on a vector without batch dimension (nn4sys), x·W, and Gemm with the data as B', async () => {
    const mr = rng(8);
    const W = f32(mr, 12);
    const V = f32(mr, 12);
    // y = V · relu(W · x + b) with x of shape [4] (no batch dimension).
    const unbatched: TestModel = {
      input: { name: 'x', shape: [4] },
      output: { name: 'y' },
      nodes: [
        { opType: 'MatMul', inputs: ['W', 'x'], outputs: ['a'] },
        { opType: 'Add', inputs: ['a', 'b'], outputs: ['c'] },
        { opType: 'Relu', inputs: ['c'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'V'], outputs: ['y'] },
      ],
      inits: [
        { name: 'W', dims: [3, 4], data: W },
        { name: 'b', dims: [3], data: f32(mr, 3) },
        { name: 'V', dims: [3, 4], data: V },
      ],
    };
    const bytes = buildOnnx(unbatched);
    const net = parseOnnx(bytes, 'nn4sys.onnx');
    expect([net.inputSize, net.outputSize, net.hiddenCount]).toEqual([4, 4, 3]);
    for (let i = 0; i < 10; i++) {
      const x = fround(uniform(4, -2, 2));
      const s = await (await import('onnxruntime-node')).InferenceSession.create(bytes);
      const out = await s.run({ x: new (await import('onnxruntime-node')).Tensor('float32', Float32Array.from(x), [4]) });
      expect(maxAbsDiff(net.forwardFlat(x, 1), Float64Array.from(out.y.data as Float32Array))).toBeLessThan(1e-5 * 10);
    }
    // Gemm(W, x) with the data as B: an unbatched [8] input reshaped to [4, 2]; and W·x on [N, 4, 2] by MatMul.
    const gemmB: TestModel = {
      input: { name: 'x', shape: [8] },
      output: { name: 'y' },
      nodes: [
        { opType: 'Reshape', inputs: ['x', 's'], outputs: ['m'] },
        { opType: 'Gemm', inputs: ['W', 'm', 'c'], outputs: ['y'], attributes: [{ name: 'alpha', f: 0.5 }] },
      ],
      inits: [
        { name: 's', dims: [2], data: [4, 2], dataType: DT.INT64 },
        { name: 'W', dims: [3, 4], data: W },
        { name: 'c', dims: [3, 1], data: [1, 2, 3] },
      ],
    };
    const g = parseOnnx(buildOnnx(gemmB), 'gemm.onnx');
    const x = fround(uniform(8, -1, 1));
    const y = g.forwardFlat(x, 1);
    for (let m = 0; m < 3; m++)
      for (let p = 0; p < 2; p++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += W[m * 4 + k] * x[k * 2 + p];
        expect(y[m * 2 + p]).toBeCloseTo(0.5 * s + [1, 2, 3][m], 12);
      }
    const batchedLeft: TestModel = {
      input: { name: 'x', shape: ['N', 4, 2] },
      output: { name: 'y' },
      nodes: [{ opType: 'MatMul', inputs: ['W', 'x'], outputs: ['y'] }],
      inits: [{ name: 'W', dims: [3, 4], data: W }],
    };
    await expectOrt(buildOnnx(batchedLeft), uniform(5 * 8, -1, 1), 5, [4, 2]);
  });

  /** A one-node-input model around `nodes` on an input of `shape` (batch N first). */
  const model = (shape: number[], nodes: TestModel['nodes'], inits: TestModel['inits'] = [], opset = 13): TestModel => ({
    opset,
    input: { name: 'x', shape: ['N', ...shape] },
    output: { name: 'y' },
    nodes,
    inits,
  });
  const run = (m: TestModel, shape: number[], count = 6) =>
    expectOrt(buildOnnx(m), uniform(count * shape.reduce((a, b) => a * b, 1), -1, 1), count, shape);
  const ints = (name: string, data: number[]) => ({ name, dims: [data.length], data, dataType: DT.INT64 });

  it('convolutions and pools on data against onnxruntime: auto_pad, 1-D, groups, ConvTranspose with pads and output_padding, ceil mode, count_include_pad, dilations, global pools', async () => {
    const cr = rng(21);
    const w = (...dims: number[]) => ({
      data: f32(
        cr,
        dims.reduce((a, b) => a * b, 1),
        0.5,
      ),
      dims,
    });
    const conv = (attrs: TestModel['nodes'][number]['attributes']) => ({
      opType: 'Conv',
      inputs: ['x', 'W', 'B'],
      outputs: ['c'],
      attributes: attrs,
    });
    for (const auto of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
      const W = w(4, 2, 3, 2);
      await run(
        model(
          [2, 7, 6],
          [
            conv([
              { name: 'auto_pad', s: auto },
              { name: 'strides', ints: [2, 1] },
            ]),
            { opType: 'Relu', inputs: ['c'], outputs: ['y'] },
          ],
          [
            { name: 'W', ...W },
            { name: 'B', dims: [4], data: f32(cr, 4) },
          ],
        ),
        [2, 7, 6],
      );
    }
    const W1 = w(6, 1, 3);
    await run(
      model(
        [3, 11],
        [
          conv([
            { name: 'group', i: 3 },
            { name: 'pads', ints: [1, 2] },
            { name: 'dilations', ints: [2] },
          ]),
          { opType: 'Relu', inputs: ['c'], outputs: ['y'] },
        ],
        [
          { name: 'W', ...W1 },
          { name: 'B', dims: [6], data: f32(cr, 6) },
        ],
      ),
      [3, 11],
    );
    const WT = w(4, 3, 3, 2);
    await run(
      model(
        [4, 3, 4],
        [
          {
            opType: 'ConvTranspose',
            inputs: ['x', 'W', 'B'],
            outputs: ['c'],
            attributes: [
              { name: 'strides', ints: [2, 3] },
              { name: 'pads', ints: [1, 0, 0, 1] },
              { name: 'output_padding', ints: [1, 2] },
              { name: 'group', i: 2 },
            ],
          },
          { opType: 'Relu', inputs: ['c'], outputs: ['y'] },
        ],
        [
          { name: 'W', ...WT },
          { name: 'B', dims: [6], data: f32(cr, 6) },
        ],
      ),
      [4, 3, 4],
    );
    // An explicit zero Pad before a Conv or a count_include_pad AveragePool becomes their own padding
    // (no intermediate node); before a count-excluding AveragePool the zeros are data and stay.
    const WP = w(3, 2, 3, 3);
    for (const [tail, fused] of [
      [{ opType: 'Conv', inputs: ['p', 'W', 'B'], outputs: ['y'] }, true],
      [
        {
          opType: 'AveragePool',
          inputs: ['p'],
          outputs: ['y'],
          attributes: [
            { name: 'kernel_shape', ints: [3, 3] },
            { name: 'count_include_pad', i: 1 },
            { name: 'pads', ints: [1, 0, 0, 1] },
          ],
        },
        true,
      ],
      [{ opType: 'AveragePool', inputs: ['p'], outputs: ['y'], attributes: [{ name: 'kernel_shape', ints: [3, 3] }] }, false],
    ] as const) {
      const net = await run(
        model(
          [2, 5, 4],
          [{ opType: 'Pad', inputs: ['x', 'pp'], outputs: ['p'] }, tail as TestModel['nodes'][number]],
          [ints('pp', [0, 0, 1, 2, 0, 0, 2, 1]), { name: 'W', ...WP }, { name: 'B', dims: [3], data: f32(cr, 3) }],
        ),
        [2, 5, 4],
      );
      expect(net.graph.nodes.length).toBe(fused ? 1 : 2);
    }
    for (const [op, attrs] of [
      [
        'AveragePool',
        [
          { name: 'kernel_shape', ints: [3, 2] },
          { name: 'strides', ints: [2, 2] },
          { name: 'pads', ints: [1, 0, 1, 1] },
          { name: 'count_include_pad', i: 1 },
          { name: 'ceil_mode', i: 1 },
        ],
      ],
      [
        'AveragePool',
        [
          { name: 'kernel_shape', ints: [3, 3] },
          { name: 'strides', ints: [2, 1] },
          { name: 'pads', ints: [1, 1, 1, 1] },
          { name: 'ceil_mode', i: 1 },
        ],
      ],
      [
        'MaxPool',
        [
          { name: 'kernel_shape', ints: [2, 3] },
          { name: 'strides', ints: [2, 2] },
          { name: 'pads', ints: [0, 1, 1, 1] },
          { name: 'dilations', ints: [2, 1] },
        ],
      ],
      [
        'MaxPool',
        [
          { name: 'kernel_shape', ints: [3, 3] },
          { name: 'strides', ints: [2, 2] },
          { name: 'ceil_mode', i: 1 },
        ],
      ],
      ['GlobalAveragePool', []],
      ['GlobalMaxPool', []],
    ] as const) {
      const net = await run(model([2, 7, 6], [{ opType: op, inputs: ['x'], outputs: ['y'], attributes: attrs as never }]), [2, 7, 6]);
      if (op.includes('Max')) expect(net.hiddenCount).toBeGreaterThan(0);
    }
  });

  it('index operators, max/min and arithmetic on data against onnxruntime: Transpose, Slice, Pad (constant, reflect, edge), Concat with a constant, Gather, Split, Squeeze/Unsqueeze, Max/Min/Clip, Abs, Neg, Sum, PRelu, LeakyRelu, broadcast Sub', async () => {
    const ir = rng(22);
    // [input shape, nodes, initializers, opset, batch]; Concat with a constant needs batch 1 in onnxruntime.
    const cases: [number[], TestModel['nodes'], TestModel['inits'], number?, number?][] = [
      [[2, 3, 4], [{ opType: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: [{ name: 'perm', ints: [0, 3, 1, 2] }] }], []],
      [
        [3, 5, 4],
        [{ opType: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }],
        [ints('st', [4, 1]), ints('en', [-6, 100]), ints('ax', [2, 3]), ints('sp', [-2, 2])],
      ],
      [
        [2, 3, 3],
        [{ opType: 'Pad', inputs: ['x', 'p', 'v'], outputs: ['y'] }],
        [ints('p', [0, 0, 1, 2, 0, 0, 2, 1]), { name: 'v', dims: [], data: [0.5] }],
      ],
      [
        [2, 3, 3],
        [{ opType: 'Pad', inputs: ['x', 'p'], outputs: ['y'], attributes: [{ name: 'mode', s: 'reflect' }] }],
        [ints('p', [0, 0, 2, 1, 0, 0, 1, 2])],
      ],
      [
        [2, 3, 3],
        [{ opType: 'Pad', inputs: ['x', 'p'], outputs: ['y'], attributes: [{ name: 'mode', s: 'edge' }] }],
        [ints('p', [0, 1, 2, 0, 0, 0, 1, 3])],
      ],
      [
        [2, 3],
        [{ opType: 'Concat', inputs: ['x', 'c', 'x'], outputs: ['y'], attributes: [{ name: 'axis', i: -1 }] }],
        [{ name: 'c', dims: [1, 2, 2], data: f32(ir, 4) }],
        13,
        1,
      ],
      [
        [4, 3],
        [{ opType: 'Gather', inputs: ['x', 'i'], outputs: ['y'], attributes: [{ name: 'axis', i: 1 }] }],
        [{ name: 'i', dims: [2, 2], data: [3, -1, 0, 0], dataType: DT.INT64 }],
      ],
      [
        [6, 2],
        [
          { opType: 'Split', inputs: ['x', 's'], outputs: ['a', 'b'], attributes: [{ name: 'axis', i: 1 }] },
          { opType: 'Sub', inputs: ['b', 'a'], outputs: ['d'] },
          { opType: 'Relu', inputs: ['d'], outputs: ['y'] },
        ],
        [ints('s', [3, 3])],
      ],
      [
        [1, 3],
        [
          { opType: 'Squeeze', inputs: ['x', 'ax'], outputs: ['s'] },
          { opType: 'Unsqueeze', inputs: ['s', 'ax2'], outputs: ['y'] },
        ],
        [ints('ax', [1]), ints('ax2', [2])],
      ],
      [
        [2, 3],
        [
          { opType: 'Neg', inputs: ['x'], outputs: ['x2'] },
          { opType: 'Max', inputs: ['x', 'c', 'x2'], outputs: ['y'] },
        ],
        [{ name: 'c', dims: [3], data: [0.1, -0.2, 0.3] }],
      ],
      [[2, 3], [{ opType: 'Min', inputs: ['x', 'c'], outputs: ['y'] }], [{ name: 'c', dims: [2, 1], data: [0.25, -0.25] }]],
      [
        [5],
        [{ opType: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }],
        [
          { name: 'lo', dims: [], data: [-0.5] },
          { name: 'hi', dims: [], data: [0.25] },
        ],
      ],
      [
        [5],
        [
          {
            opType: 'Clip',
            inputs: ['x'],
            outputs: ['y'],
            attributes: [
              { name: 'min', f: -0.25 },
              { name: 'max', f: 0.5 },
            ],
          },
        ],
        [],
        6,
      ],
      [
        [5],
        [
          { opType: 'Abs', inputs: ['x'], outputs: ['a'] },
          { opType: 'LeakyRelu', inputs: ['x'], outputs: ['l'], attributes: [{ name: 'alpha', f: 0.25 }] },
          { opType: 'PRelu', inputs: ['x', 'sl'], outputs: ['p'] },
          { opType: 'Sum', inputs: ['a', 'l', 'p'], outputs: ['y'] },
        ],
        [{ name: 'sl', dims: [5], data: [0.5, -0.5, 2, 0, 1] }],
      ],
      // x − x[..., :1]: a data tensor broadcast against another.
      [
        [2, 3],
        [
          { opType: 'Slice', inputs: ['x', 'st', 'en', 'ax'], outputs: ['c'] },
          { opType: 'Sub', inputs: ['x', 'c'], outputs: ['y'] },
        ],
        [ints('st', [0]), ints('en', [1]), ints('ax', [2])],
      ],
    ];
    for (const [shape, nodes, inits, opset, batch] of cases) await run(model(shape, nodes, inits, opset ?? 13), shape, batch ?? 6);
  });

  it('round trips: JSON version 2 exactly; ONNX export in float64 reads back with the same nodes and parameters, in float32 runs in onnxruntime', async () => {
    for (const file of ['graph/maxpool-opset13-f64.onnx', 'graph/residual-opset17-f64.onnx', 'cnn/Convnet_avgpool.onnx']) {
      const net = parseOnnx(read(fixture(file)), file);
      const doc = networkToJson(net);
      expect(doc.version).toBe(2);
      const back = networkFromJson(JSON.parse(JSON.stringify(doc)), 'back.json');
      expect(JSON.stringify(networkToJson(back))).toBe(JSON.stringify(doc));
      const onnx64 = parseOnnx(networkToOnnx(net, { precision: 'float64' }), 'back.onnx');
      expect(JSON.stringify(networkToJson(onnx64))).toBe(JSON.stringify(doc));
      expect([...onnx64.inputShape]).toEqual([...net.inputShape]);
      const bytes32 = networkToOnnx(net);
      const x = uniform(4 * net.inputSize);
      await expectOrt(bytes32, x, 4, [...net.inputShape]);
      const ours32 = parseOnnx(bytes32, 'f32.onnx').forwardFlat(fround(x), 4);
      expect(maxAbsDiff(ours32, net.forwardFlat(fround(x), 4))).toBeLessThanOrEqual(1e-5 * scaleOf(ours32));
    }
    // Dense chains are still written as version 1.
    expect(networkToJson(hcasTau05().net).version).toBe(1);
    expect(() =>
      networkFromJson(
        {
          format: 'relu-repair.network',
          version: 2,
          inputShape: [2],
          nodes: [{ activation: 'relu', bias: [0], terms: [{ from: 1, op: { kind: 'identity', size: 2 } }] }],
        },
        'bad.json',
      ),
    ).toThrow(/bad\.json: nodes\[0\]\.terms\[0\]\.from: must be an earlier value/);
  });

  it("a repaired graph network exports to ONNX with compact supports (the graph linearised at each patch's pattern) and reads back as the repaired function", async () => {
    const net = parseOnnx(read(fixture('graph/maxpool-opset13-f64.onnx')), 'maxpool.onnx');
    const n = net.inputSize;
    const pr = rng(77);
    const points: number[][] = [];
    const labels: number[] = [];
    while (points.length < 3) {
      const x = Array.from({ length: n }, () => pr.range(0, 1));
      points.push(x);
      labels.push((argmax(net.predict([x])[0]) + 1) % 3);
    }
    const inputBox = { lower: new Array(n).fill(-0.5), upper: new Array(n).fill(1.5) };
    const { network: rep, report } = await repair(net, { points, labels, inputBox, certify: false });
    expect(report.result.status).toBe('repaired');
    // The graph crosses the worker boundary as plain data: a worker finds the same patches.
    const { network: inWorker } = await repair(net, { points, labels, inputBox, certify: false, workers: 1 });
    expect(inWorker.patches.map((p) => [p.radius, ...p.d])).toEqual(rep.patches.map((p) => [p.radius, ...p.d]));
    for (let i = 0; i < 3; i++) expect(argmax(rep.predict([points[i]])[0])).toBe(labels[i]);
    const back = parseOnnx(repairedToOnnx(rep, { precision: 'float64' }), 'repaired.onnx');
    // Near the repaired points (inside and around their regions) and far away.
    const xs: number[] = [];
    for (const p of points) for (let k = 0; k < 20; k++) xs.push(...p.map((v) => v + pr.normal() * 10 ** -(1 + (k % 5))));
    for (let k = 0; k < 20; k++) for (let j = 0; j < n; j++) xs.push(pr.range(-0.5, 1.5));
    const x = Float64Array.from(xs);
    const count = x.length / n;
    expect(maxAbsDiff(back.forwardFlat(x, count), rep.forwardFlat(x, count))).toBeLessThanOrEqual(1e-9);
    const bytes32 = repairedToOnnx(rep);
    const theirs = await ortRun(bytes32, fround(x), count, [...net.inputShape]);
    const ours = rep.forwardFlat(fround(x), count);
    let agree = 0;
    for (let i = 0; i < count; i++) if (argmax(theirs.subarray(i * 3, i * 3 + 3)) === argmax(ours.subarray(i * 3, i * 3 + 3))) agree++;
    expect(agree).toBeGreaterThanOrEqual(count - 2);
  });

  it('errors name the node and the reason: unsupported shapes and data dependence', () => {
    const bad = (m: TestModel, re: RegExp) => expect(() => parseOnnx(buildOnnx(m), 'bad.onnx')).toThrow(re);
    bad(
      model([2, 3, 3, 3], [{ opType: 'Conv', inputs: ['x', 'W'], outputs: ['y'] }], [{ name: 'W', dims: [1, 2, 1, 1, 1], data: [1, 1] }]),
      /Conv over 3 spatial dimensions is not supported/,
    );
    bad(
      model([4], [{ opType: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: [{ name: 'perm', ints: [1, 0] }] }]),
      /would move the batch dimension/,
    );
    bad(
      model([4], [{ opType: 'Concat', inputs: ['x', 'x'], outputs: ['y'], attributes: [{ name: 'axis', i: 0 }] }]),
      /Concat along the batch dimension/,
    );
    bad(
      model([2, 4, 4], [{ opType: 'MaxPool', inputs: ['x'], outputs: ['y', 'i'], attributes: [{ name: 'kernel_shape', ints: [2, 2] }] }]),
      /graph\.node\[0\] \(MaxPool "n0"\): MaxPool with an Indices output is not supported/,
    );
    bad(model([3], [{ opType: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], [ints('s', [3, -1])]), /would change the batch dimension/);
    expect(() => parseOnnx(buildOnnx(model([3], [{ opType: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }])), 'bad.onnx')).toThrow(InputError);
  });
});
