/**
 * Point-wise repair of a convolutional network (issue 12 item 5): the VNN-COMP MNIST conv net
 * (Conv → ReLU → AveragePool → … , 784 inputs, 23,328 ReLUs) on its first misclassified MNIST test
 * images, with the minimal patch over each image's whole linear region of the whole network. A
 * subset of the 20 points of the acceptance run (bench case `cnn-pointwise`) keeps CI short.
 * Checked: every point fixed, each repaired region's certificate proven, accuracy on held images
 * not lower, images beyond every patch radius unchanged bit for bit, and the exported ONNX
 * (float32 in onnxruntime, float64 read back by our reader) agreeing with our evaluator.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certifyRegions,
  init,
  labelSpec,
  loadModel,
  type Network,
  parseOnnx,
  patternFromHex,
  RepairedNetwork,
  type RepairResult,
  repair,
  repairedToOnnx,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { argmax, fixture, mnistTestSet } from './helpers.js';

const N = 784;
const K = 10;
const POINTS = 2;
const HELD = 1000;
const FAR = 300;

describe('MNIST conv net: point-wise repair of its first misclassified test images', () => {
  let net: Network;
  let x: Float64Array;
  let labels: Int32Array;
  let before: Float64Array;
  let wrong: number[];
  let res: RepairResult;
  const at = (i: number) => Array.from(x.subarray(i * N, (i + 1) * N));

  beforeAll(async () => {
    await init();
    net = await loadModel(fixture('cnn', 'Convnet_avgpool.onnx'));
    ({ x, labels } = await mnistTestSet(HELD));
    before = net.forwardFlat(x, HELD);
    wrong = [];
    for (let i = 0; i < HELD && wrong.length < POINTS; i++) if (argmax(before.subarray(i * K, (i + 1) * K)) !== labels[i]) wrong.push(i);
    res = await repair(net, {
      points: wrong.map(at),
      labels: wrong.map((i) => labels[i]),
      inputBox: { lower: new Array(N).fill(0), upper: new Array(N).fill(1) },
      certify: true,
    });
  }, 300_000);

  it('fixes every point with one patch per region, each minimal (constant patch) and its region certified', () => {
    expect(wrong).toEqual([18, 73]);
    const r = res.report;
    expect(r.result).toMatchObject({ status: 'repaired', buggyPoints: POINTS, fixedPoints: POINTS, unfixedPoints: [] });
    expect(r.regions.every((g) => g.minimalityProof === 'constant-patch')).toBe(true);
    // The region keeps the rows its neighbours do not imply: far fewer than one per ReLU.
    expect(r.regions.every((g) => g.constraints < net.hiddenCount / 4)).toBe(true);
    expect(r.certificate?.status).toBe('certified');
    expect(r.certificate?.certifiedRegions).toBe(r.result.regions);
    const after = res.network.forwardFlat(Float64Array.from(wrong.flatMap(at)), POINTS);
    wrong.forEach((i, p) => expect(argmax(after.subarray(p * K, (p + 1) * K))).toBe(labels[i]));
  });

  it('accuracy on the first 1,000 test images is not lower; the first 300 beyond every patch radius keep their outputs bit for bit', () => {
    const after = res.network.forwardFlat(x, HELD);
    let correctBefore = 0;
    let correctAfter = 0;
    let far = 0;
    const patches = res.network.patches;
    for (let i = 0; i < HELD; i++) {
      const xi = x.subarray(i * N, (i + 1) * N);
      // The distance test costs rows × 784 per patch: the first FAR images get it.
      const isFar =
        i < FAR &&
        patches.every((p) => {
          let worst = -Infinity;
          for (let r = 0; r < p.b.length; r++) {
            let a = -p.b[r];
            for (let j = 0; j < N; j++) a += p.A[r * N + j] * xi[j];
            worst = Math.max(worst, a);
          }
          return worst >= p.radius;
        });
      if (isFar) {
        far++;
        for (let j = 0; j < K; j++) expect(Object.is(after[i * K + j], before[i * K + j]), `image ${i}`).toBe(true);
      }
      if (argmax(before.subarray(i * K, (i + 1) * K)) === labels[i]) correctBefore++;
      if (argmax(after.subarray(i * K, (i + 1) * K)) === labels[i]) correctAfter++;
    }
    expect(far).toBeGreaterThanOrEqual(FAR - POINTS);
    expect(correctAfter).toBe(correctBefore + POINTS);
  });

  it('the exported ONNX agrees with our evaluator: float32 in onnxruntime, float64 read back', async () => {
    const count = 200;
    const sel = Float64Array.from([...wrong.flatMap(at), ...x.subarray(0, (count - POINTS) * N)]);
    const ours = res.network.forwardFlat(sel, count);
    const y32 = await ortRun(repairedToOnnx(res.network, { precision: 'float32' }), sel, count, [1, 28, 28]);
    let worst = 0;
    for (let i = 0; i < y32.length; i++) worst = Math.max(worst, Math.abs(y32[i] - ours[i]) / (1 + Math.abs(ours[i])));
    expect(worst).toBeLessThan(1e-4);
    wrong.forEach((i, p) => expect(argmax(y32.subarray(p * K, (p + 1) * K))).toBe(labels[i]));
    // onnxruntime has no float64 Conv: our reader evaluates the float64 export (independently of
    // the repaired network's evaluator: a graph of Conv, AveragePool, Gemm and Relu nodes).
    const back = parseOnnx(repairedToOnnx(res.network, { precision: 'float64' }), 'repaired64.onnx');
    const y64 = back.forwardFlat(sel, count);
    let worst64 = 0;
    for (let i = 0; i < y64.length; i++) worst64 = Math.max(worst64, Math.abs(y64[i] - ours[i]) / (1 + Math.abs(ours[i])));
    expect(worst64).toBeLessThan(1e-12);
  });

  it('a tampered CNN patch (its vector shrunk) is refused, with a witness of the region where the tampered network violates', async () => {
    const net = res.network;
    const k = net.patches.findIndex((p) => p.region.points.includes(0));
    const patch = net.patches[k];
    const spec = labelSpec(labels[wrong[0]], K);
    const box = { lower: new Array(N).fill(0), upper: new Array(N).fill(1) };
    const pattern = Array.from(patternFromHex(patch.region.pattern, net.original.hiddenCount));
    // Control: the untampered network is certified on the region with this spec.
    const ok = await certifyRegions(net, [pattern], spec, { area: { box } });
    expect(ok.status).toBe('certified');
    // The minimal patch shrunk by 1%: the spec holds with equality at the worst point of the region
    // for the minimal one, so the shrunk patch leaves it violated there.
    const shrunk = net.patches.map((p, i) => (i === k ? { ...p, d: p.d.map((v) => v * 0.99) } : p));
    const bad = new RepairedNetwork(net.original, shrunk, net.inputBox, net.boxGate, net.composition);
    try {
      const c = await certifyRegions(bad, [pattern], spec, { area: { box } });
      expect(c.status).toBe('not-certified');
      const r = c.perRegion[0];
      expect(['bound', 'violated']).toContain(r.reason);
      expect(r.witness).not.toBeNull();
      // (An LP vertex: on the region's boundary, possibly outside it by the LP's tolerance.)
      // The witness violates in an independent evaluation: the float64 ONNX export read back.
      const w = Float64Array.from(r.witness!);
      const y = parseOnnx(repairedToOnnx(bad, { precision: 'float64' }), 'tampered.onnx').forwardFlat(w, 1);
      let worst = -Infinity;
      for (let j = 0; j < spec.q.length; j++) {
        let v = -spec.q[j];
        for (let o = 0; o < K; o++) v += spec.P[j * K + o] * y[o];
        worst = Math.max(worst, v);
      }
      expect(worst).toBeGreaterThan(r.tolerance);
      expect(worst).toBeCloseTo(r.violationAtWitness!, 9);
    } finally {
      bad.free();
    }
  }, 120_000);
});
