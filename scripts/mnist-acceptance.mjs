// MNIST acceptance of issue 3 (slow: minutes; not part of `npm test`). Run after `npm run build`:
//
//   node scripts/mnist-acceptance.mjs [--glpk] [--out result.json]
//
// 1. Both ONNX models load; accuracy on the MNIST test set is 98.00 % and 96.76 %.
// 2. The first 10 misclassified test images of 784-256-256-10 are repaired with `repair()` (region
//    LPs in the core simplex) over their whole linear regions in [0,1]^784; 10/10 must be fixed and
//    every patch norm must equal the independent oracle test/fixtures/mnist/minimal-patch-first10.json
//    (scipy/HiGHS) to 1e-6 relative.
// 3. The repaired network is exported to ONNX (float32 and float64) and run in onnxruntime on the
//    whole test set: the predictions must equal our evaluator's (and the float64 outputs agree to 1e-5).
//
// The same checks run in `npm test` (test/onnx.test.ts); this script prints the figures as JSON.
// `--glpk` builds the same patches without the core simplex, as an independent cross-check of it:
// worst violations by glpk.js LPs over each region (the core still computes the region), the
// constant patch t·(e_y − Σ_{j≠y} e_j) with t = max_j v_j / 2, the same supports, radii and box
// gate as repair(). It checks steps 1 and 3 at full scale; it is NOT the repair path of step 2.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  accuracy,
  GlpkBackend,
  init,
  LinearRegion,
  parseImages,
  parseLabels,
  parseOnnx,
  RepairedNetwork,
  repair,
  repairedToOnnx,
  slackExcess,
} from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fx = (p) => join(root, 'test/fixtures/mnist', p);
const read = (p) => new Uint8Array(readFileSync(p));
const useGlpk = process.argv.includes('--glpk');
const outArg = process.argv.indexOf('--out');
const t0 = performance.now();
const result = { mode: useGlpk ? 'glpk patches (exporter check)' : 'repair()', checks: {}, timingsMs: {} };
const check = (name, ok, detail) => {
  result.checks[name] = { ok, ...detail };
  process.stderr.write(`${ok ? 'PASS' : 'FAIL'} ${name} ${JSON.stringify(detail)}\n`);
};

await init();
const images = await parseImages(read(fx('t10k-images-idx3-ubyte.gz')), 't10k-images-idx3-ubyte.gz');
const labels = await parseLabels(read(fx('t10k-labels-idx1-ubyte.gz')), 't10k-labels-idx1-ubyte.gz', 10);
const net = parseOnnx(read(fx('reassure-mlp-784-256-256-10.onnx')), 'reassure-mlp-784-256-256-10.onnx');
const wm = parseOnnx(read(fx('watermark-mlp-784-150-10.onnx')), 'watermark-mlp-784-150-10.onnx');
const accBig = accuracy(net, images, labels);
const accWm = accuracy(wm, images, labels);
check('accuracy 784-256-256-10 = 98.00 %', accBig.correct === 9800, { correct: accBig.correct });
check('accuracy 784-150-10 = 96.76 %', accWm.correct === 9676, { correct: accWm.correct });

const oracle = JSON.parse(readFileSync(fx('minimal-patch-first10.json'), 'utf8'));
const idx = oracle.points.map((p) => p.testIndex);
const wrong = [...accBig.predictions.keys()].filter((i) => accBig.predictions[i] !== labels[i]).slice(0, 10);
check('first 10 misclassified indices', JSON.stringify(wrong) === JSON.stringify(idx), { indices: wrong });
const points = idx.map((i) => images.x.slice(i * 784, (i + 1) * 784));
const targets = idx.map((i) => labels[i]);
const box = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };

let rep;
const tr = performance.now();
if (!useGlpk) {
  try {
    const res = await repair(net, {
      points,
      labels: targets,
      inputBox: box,
      onProgress: (e) => process.stderr.write(`  ${e.phase} ${e.done}/${e.total} (${(e.elapsedMs / 1000).toFixed(1)} s)\n`),
    });
    rep = res.network;
    result.report = {
      result: res.report.result,
      timingsMs: res.report.timingsMs,
      regions: res.report.regions.map((g) => ({
        points: g.points,
        patchNorm: g.patchNorm,
        lowerBound: g.lowerBound,
        proof: g.minimalityProof,
        radius: g.radius,
        lpMs: g.lpMs,
      })),
    };
  } catch (e) {
    check('repair() of the 10 images', false, { error: `${e.name}: ${e.message}` });
  }
} else {
  const lp = new GlpkBackend();
  const patches = [];
  for (let p = 0; p < points.length; p++) {
    const tp = performance.now();
    const region = LinearRegion.ofPoint(net, points[p], box);
    const { A, b, F, e } = { A: region.A, b: region.b, F: region.F, e: region.e };
    const m = b.length;
    const rows = [];
    for (let r = 0; r < m; r++) {
      const idxs = [];
      const vals = [];
      for (let c = 0; c < 784; c++) {
        if (A[r * 784 + c] === 0) continue;
        idxs.push(c);
        vals.push(A[r * 784 + c]);
      }
      rows.push({ idx: idxs, val: vals, lo: -Infinity, hi: b[r] });
    }
    const y = targets[p];
    let t = 0;
    for (let j = 0; j < 10; j++) {
      if (j === y) continue;
      const objective = new Float64Array(784);
      for (let c = 0; c < 784; c++) objective[c] = -(F[j * 784 + c] - F[y * 784 + c]);
      const sol = await lp.solve(
        { numVars: 784, objective, lower: new Float64Array(784), upper: new Float64Array(784).fill(1), rows },
        `image ${idx[p]} class ${j}`,
      );
      t = Math.max(t, (-sol.objective + e[j] - e[y]) / 2);
    }
    const support = region.supportRows(false);
    region.free();
    const d = Float64Array.from({ length: 10 }, (_, j) => (j === y ? t : -t));
    patches.push({
      kind: 'constant',
      A: support.A,
      b: support.b,
      radius: 1e-3,
      d,
      region: { points: [p], pattern: '', constraints: m + 1568, patchNorm: t, lowerBound: t, minimalityProof: 'full-lp' },
    });
    // (support: the region's neuron rows, without box faces: the box is the shared gate below)
    process.stderr.write(`  image ${idx[p]}: t = ${t} (${((performance.now() - tp) / 1000).toFixed(1)} s)\n`);
  }
  // Radii as repair() sets them: half the face distance to the nearest other buggy point.
  for (const pt of patches) {
    const others = points.filter((_, i) => i !== pt.region.points[0]);
    const ex = slackExcess(pt.A, pt.b, 784, Float64Array.from(others.flatMap((x) => [...x])));
    const pos = [...ex].filter((v) => v > 0);
    if (pos.length) pt.radius = Math.min(pt.radius, Math.min(...pos) / 2);
  }
  // The shared box gate, as repair() builds it (supports carry no box rows).
  const boxGate = { lower: box.lower, upper: box.upper, radius: Math.min(1e-3, ...patches.map((p) => p.radius)) };
  rep = new RepairedNetwork(net, patches, box, boxGate);
}
result.timingsMs.repair = performance.now() - tr;

if (rep) {
  const norms = rep.patches.map((p) => ({ points: p.region.points.map((i) => idx[i]), norm: p.region.patchNorm }));
  let worst = 0;
  for (const { points: ps, norm } of norms) {
    const want = oracle.points.find((o) => o.testIndex === ps[0]).minimalPatchLinf;
    worst = Math.max(worst, Math.abs(norm - want) / want);
  }
  check('patch norms equal the oracle to 1e-6 relative', worst <= 1e-6 && rep.patches.length === 10, {
    patches: rep.patches.length,
    worstRelativeError: worst,
    norms,
  });
  const yr = rep.forwardFlat(Float64Array.from(points.flatMap((x) => [...x])), 10);
  const fixed = targets.filter((y, p) => {
    const row = yr.subarray(p * 10, p * 10 + 10);
    return row.every((v, j) => j === y || v <= row[y]);
  }).length;
  check('10/10 fixed', fixed === 10, { fixed });
  const accRep = accuracy(rep, images, labels);
  result.accuracyAfterRepair = accRep.accuracy;
  for (const precision of ['float32', 'float64']) {
    const te = performance.now();
    const bytes = repairedToOnnx(rep, { precision });
    const session = await ort.InferenceSession.create(bytes);
    const feed =
      precision === 'float32'
        ? new ort.Tensor('float32', Float32Array.from(images.x), [images.count, 784])
        : new ort.Tensor('float64', images.x, [images.count, 784]);
    const out = (await session.run({ [session.inputNames[0]]: feed }))[session.outputNames[0]].data;
    const ours = rep.forwardFlat(precision === 'float32' ? Float64Array.from(Float32Array.from(images.x)) : images.x, images.count);
    let mismatches = 0;
    let maxDiff = 0;
    for (let i = 0; i < images.count; i++) {
      let a = 0;
      let b = 0;
      for (let j = 1; j < 10; j++) {
        if (ours[i * 10 + j] > ours[i * 10 + a]) a = j;
        if (out[i * 10 + j] > out[i * 10 + b]) b = j;
      }
      if (a !== b) mismatches++;
      for (let j = 0; j < 10; j++) maxDiff = Math.max(maxDiff, Math.abs(ours[i * 10 + j] - out[i * 10 + j]));
    }
    result.timingsMs[`onnx-${precision}`] = performance.now() - te;
    check(
      `onnxruntime ${precision}: same predictions on the 10,000 test images`,
      mismatches === 0 && (precision === 'float32' || maxDiff <= 1e-5),
      {
        mismatches,
        maxAbsDiff: maxDiff,
        onnxBytes: bytes.length,
      },
    );
    await session.release();
  }
}
result.timingsMs.total = performance.now() - t0;
const ok = Object.values(result.checks).every((c) => c.ok);
result.ok = ok;
const text = JSON.stringify(result, null, 2) + '\n';
process.stdout.write(text);
if (outArg > 0) writeFileSync(process.argv[outArg + 1], text);
process.exitCode = ok ? 0 : 1;
