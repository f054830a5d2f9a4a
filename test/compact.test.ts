/**
 * Compact supports: a patch's rows are rows of the linear region of its activation pattern, so
 * the JSON stores row indices (recomputed on load, bit for bit) and the ONNX export computes them
 * from the network's own pre-activations instead of dense rows.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init,
  loadModel,
  networkToOnnx,
  parseImages,
  RepairedNetwork,
  repair,
  repairedFromJson,
  repairedToJson,
  repairedToOnnx,
} from '../ts/index.js';
import { bandInputs, maxAbsDiff, ortRun } from './formats-helpers.js';
import { fixture, hcasTau05, rng } from './helpers.js';

describe('compact JSON supports', () => {
  beforeAll(() => init());

  it('HCAS: rows are recomputed from the pattern bit for bit; tampering is detected', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const { network } = await repair(net, { points, labels, inputBox });
    const doc = JSON.parse(JSON.stringify(repairedToJson(network)));
    expect(
      doc.patches.every((p: { support: Record<string, unknown> }) => Array.isArray(p.support.fromRegion) && p.support.A === undefined),
    ).toBe(true);
    const back = repairedFromJson(doc, 'r.json');
    back.patches.forEach((p, i) => {
      const q = network.patches[i];
      expect(p.A.length).toBe(q.A.length);
      for (let j = 0; j < p.A.length; j++) expect(Object.is(p.A[j], q.A[j])).toBe(true);
      expect(Array.from(p.rows!.norm)).toEqual(Array.from(q.rows!.norm));
    });
    const xs = points.concat(points.map((x) => x.map((v, j) => v + (j === 2 ? 0.001 : 3))));
    expect(back.predict(xs)).toEqual(network.predict(xs));
    const bad = JSON.parse(JSON.stringify(doc));
    bad.patches[0].support.b[0] += 1e-9;
    expect(() => repairedFromJson(bad, 'r.json')).toThrow(
      /r\.json: patches\[0\]\.support\.b\[0\]: row \d+ of the region recomputed from the pattern has right-hand side/,
    );
    const bad2 = JSON.parse(JSON.stringify(doc));
    bad2.patches[1].region.pattern = 'zz';
    expect(() => repairedFromJson(bad2, 'r.json')).toThrow(
      /patches\[1\]\.region\.pattern: must be a hex string of 32 digits \(125 hidden neurons\)/,
    );
    const bad3 = JSON.parse(JSON.stringify(doc));
    bad3.patches[2].support.fromRegion[0] = 9999;
    expect(() => repairedFromJson(bad3, 'r.json')).toThrow(/patches\[2\]\.support\.fromRegion\[0\]: is not a row of the region/);
  });

  it('MNIST: a repaired network saves in a fraction of the dense size and reloads exactly', async () => {
    const net = await loadModel(fixture('mnist/reassure-mlp-784-256-256-10.onnx'));
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', { scale: 1 });
    const idx = [15, 217, 247];
    const points = idx.map((i) => Array.from(images.x.subarray(i * 784, (i + 1) * 784), (v) => Math.fround(v / 255)));
    const inputBox = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };
    const { network } = await repair(net, { points, labels: [5, 6, 4], inputBox });
    const compact = JSON.stringify(repairedToJson(network));
    const dense = JSON.stringify(
      repairedToJson(
        new RepairedNetwork(
          network.original,
          network.patches.map((p) => ({ ...p, rows: undefined })),
          network.inputBox,
          network.boxGate,
        ),
      ),
    );
    const originalSize = JSON.stringify(
      repairedToJson(new RepairedNetwork(network.original, [], network.inputBox, network.boxGate)),
    ).length;
    // Per patch: the dense rows are 512 × 784 numbers; the compact form a few KB.
    expect((dense.length - originalSize) / (compact.length - originalSize)).toBeGreaterThan(50);
    const back = repairedFromJson(JSON.parse(compact));
    const y1 = back.forwardFlat(
      images.x.subarray(0, 200 * 784).map((v) => v / 255),
      200,
    );
    const y0 = network.forwardFlat(
      images.x.subarray(0, 200 * 784).map((v) => v / 255),
      200,
    );
    expect(Array.from(y1)).toEqual(Array.from(y0));
    const p0 = Float64Array.from(points.flat());
    expect(Array.from(back.forwardFlat(p0, 3))).toEqual(Array.from(network.forwardFlat(p0, 3)));

    // ONNX: supports from the network's own pre-activations (shared weights, masks) instead of
    // dense rows. Same function: onnxruntime agrees with our evaluator, in and out of bands.
    const compactOnnx = repairedToOnnx(network, { precision: 'float64' });
    const denseOnnx = repairedToOnnx(network, { precision: 'float64', compactSupports: false });
    const plain = networkToOnnx(net, { precision: 'float64' }).length;
    expect((denseOnnx.length - plain) / (compactOnnx.length - plain)).toBeGreaterThan(50);
    const band = bandInputs(network, (a) => points[network.patches[a].region.points[0]], 30, rng(4), new Array(784).fill(0.05));
    const xs = new Float64Array(band.length + 300 * 784);
    xs.set(band);
    xs.set(
      images.x.subarray(0, 300 * 784).map((v) => Math.fround(v / 255)),
      band.length,
    );
    const count = xs.length / 784;
    const ours = network.forwardFlat(xs, count);
    expect(maxAbsDiff(await ortRun(compactOnnx, xs, count, [784], 'float64'), ours)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(await ortRun(denseOnnx, xs, count, [784], 'float64'), ours)).toBeLessThanOrEqual(1e-5);
  });
});
