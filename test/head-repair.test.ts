/**
 * Head repair (issue 12 item 4) of an MNIST classifier whose feature extractor is not piecewise
 * linear (Conv → Sigmoid → Linear → Tanh = tensor "latent"), followed by a ReLU tail
 * (scripts/make-head-fixture.py). Checked against the latent-space guarantee: the spec on the whole
 * linear region of the tail around each latent point (the certificate, independent glpk.js LPs, and
 * sampling), regions that touch a later-patched region with another spec reported with a shared
 * point checked by an independent forward pass, the
 * original outputs bit for bit at inputs whose latent point lies beyond the radius from every
 * patch, the prefix evaluator against PyTorch (float64), the prefix's latent box against samples,
 * and the exported ONNX against onnxruntime.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GlpkBackend,
  type HeadRepairResult,
  headEvaluator,
  headRepairedToOnnx,
  InputError,
  init,
  LinearRegion,
  labelSpec,
  type OnnxHead,
  parseOnnx,
  parseOnnxHead,
  repairedToOnnx,
  repairHead,
  specViolation,
} from '../ts/index.js';
import { LpBuilder } from '../ts/lp/backend.js';
import { patternFromHex, patternHex } from '../ts/patch.js';
import { maxAbsDiff, ortRun } from './formats-helpers.js';
import { argmax, fixture, mnistTestSet, rng, runCli } from './helpers.js';

const glpk = new GlpkBackend();
const N = 784;
const K = 10;
const M = 16;
const POINTS = 8;

/** max c·z over {A z <= b} ∩ box by glpk.js (independent of the core simplex). */
async function glpkMax(
  A: Float64Array,
  b: Float64Array,
  n: number,
  box: { lower: ArrayLike<number>; upper: ArrayLike<number> },
  c: ArrayLike<number>,
) {
  const lp = new LpBuilder();
  for (let j = 0; j < n; j++) lp.addVars(1, box.lower[j], box.upper[j], -c[j]);
  for (let i = 0; i < b.length; i++) {
    const idx: number[] = [];
    const val: number[] = [];
    for (let j = 0; j < n; j++) {
      if (A[i * n + j] !== 0) {
        idx.push(j);
        val.push(A[i * n + j]);
      }
    }
    lp.addRow(idx, val, -Infinity, b[i]);
  }
  return -(await glpk.solve(lp.build(), 'test LP')).objective;
}

const argmaxAt = (y: Float64Array, i: number) => argmax(y.subarray(i * K, (i + 1) * K));

describe('head repair from tensor "latent" of a Sigmoid/Tanh-prefix MNIST classifier', () => {
  const bytes = new Uint8Array(readFileSync(fixture('head', 'sigmoid-head.onnx')));
  const ref = JSON.parse(readFileSync(fixture('head', 'reference.json'), 'utf8')) as {
    inputs: number[][];
    latent: number[][];
    logits: number[][];
    firstMisclassified: number[];
    labels: number[];
  };
  const inputBox = { lower: new Array(N).fill(0), upper: new Array(N).fill(1) };
  let head: OnnxHead;
  let x: Float64Array;
  let labels: Int32Array;
  let res: HeadRepairResult;
  let idx: number[];

  beforeAll(async () => {
    await init();
    head = parseOnnxHead(bytes, 'sigmoid-head.onnx', { headFrom: 'latent' });
    // The held-out images 0..4999 (the fixture was trained on 5000..9999), as the model saw them.
    ({ x, labels } = await mnistTestSet(5000));
    idx = ref.firstMisclassified.slice(0, POINTS);
    res = await repairHead(head, {
      points: idx.map((i) => Array.from(x.subarray(i * N, (i + 1) * N))),
      labels: idx.map((i) => labels[i]),
      inputBox,
      certify: true,
    });
  }, 300_000);

  it('splits the model: a curved prefix of 784 → 16, a ReLU tail of 16 → 10', () => {
    expect(head.from).toBe('latent');
    expect(head.prefix.inputSize).toBe(N);
    expect(head.prefix.outputSize).toBe(M);
    expect(head.prefix.curved.sort()).toEqual(['sigmoid', 'tanh']);
    expect(head.tail.inputSize).toBe(M);
    expect(head.tail.outputSize).toBe(K);
    expect(head.tail.hiddenCount).toBe(64);
  });

  it('the prefix evaluator (float64) agrees with PyTorch in float64; the whole model too', () => {
    const xs = Float64Array.from(ref.inputs.flat());
    const z = head.prefix.forwardFlat(xs, ref.inputs.length);
    expect(maxAbsDiff(z, ref.latent.flat())).toBeLessThan(1e-12);
    const y = headEvaluator(head).forwardFlat(xs, ref.inputs.length);
    expect(maxAbsDiff(y, ref.logits.flat())).toBeLessThan(1e-11);
  });

  it("the latent box (the prefix's interval bounds over the input box) contains the latent points of images and random inputs", () => {
    const box = res.report.head.latentBox;
    expect(box.source).toBe('prefix-bounds');
    const r = rng(3);
    const random = Float64Array.from({ length: 500 * N }, (_, i) => (i % 3 === 0 ? r.next() : r.next() < 0.5 ? 0 : 1));
    for (const [pts, count] of [
      [x, 5000],
      [random, 500],
    ] as const) {
      const z = head.prefix.forwardFlat(pts, count);
      for (let i = 0; i < z.length; i++) {
        expect(z[i]).toBeGreaterThanOrEqual(box.lower[i % M]);
        expect(z[i]).toBeLessThanOrEqual(box.upper[i % M]);
      }
    }
    // Tanh bounds the latent tensor: the box never exceeds [-1, 1] and is not the trivial one everywhere.
    expect(box.lower.every((v) => v >= -1) && box.upper.every((v) => v <= 1)).toBe(true);
    expect(box.lower.some((v, j) => box.upper[j] - v < 2 - 1e-3)).toBe(true);
  });

  it('fixes every point; the report states the latent guarantee and names the tensor', () => {
    const rep = res.report;
    expect(rep.result).toMatchObject({ status: 'repaired', buggyPoints: POINTS, fixedPoints: POINTS, unfixedPoints: [] });
    expect(rep.head.from).toBe('latent');
    expect(rep.head.latentSize).toBe(M);
    expect(rep.head.guarantee).toMatch(/linear region of the tail from tensor "latent"/);
    expect(rep.head.guarantee).toMatch(/not a linear region of the whole model/);
    const xs = Float64Array.from(idx.flatMap((i) => Array.from(x.subarray(i * N, (i + 1) * N))));
    const before = headEvaluator(head).forwardFlat(xs, POINTS);
    const after = res.network.forwardFlat(xs, POINTS);
    idx.forEach((i, p) => {
      expect(argmaxAt(before, p)).not.toBe(labels[i]);
      expect(argmaxAt(after, p)).toBe(labels[i]);
    });
  });

  it('the certificate proves every region but those touching a later-patched region with another spec; those are reported with a shared point, checked independently', async () => {
    const rep = res.report;
    const cert = rep.certificate!;
    const conflicts = rep.head.conflicts;
    const tail = res.network.tail;
    const excluded = new Set(conflicts.flatMap((c) => c.points));
    // The fixture's tail regions of differently labelled points touch (on the latent box's faces):
    // some regions cannot keep their spec there, and the report must say which.
    expect(excluded.size).toBeGreaterThan(0);
    const patternOfPoint = new Map(tail.patches.flatMap((p) => p.region.points.map((q) => [q, p.region.pattern] as const)));
    const failed = new Set(cert.perRegion.filter((r) => !r.certified).map((r) => r.pattern));
    expect(cert.perRegion).toHaveLength(POINTS);
    // Not certified exactly where a conflict is reported; every other region certified.
    expect([...failed].sort()).toEqual([...new Set([...excluded].map((q) => patternOfPoint.get(q)!))].sort());
    expect(cert.certifiedRegions).toBe(POINTS - failed.size);
    expect(rep.head.guarantee).toMatch(/except point\(s\) [\d, ]+, whose region touches a region with another spec/);
    expect(rep.notes.join('\n')).toMatch(/CONFLICT: the latent region of point\(s\) \d+ touches/);
    // Each shared point, checked without the LP: inside the latent box, on both closed regions (the
    // tail's pre-activations by a plain float64 forward pass agree in sign with both patterns up to
    // rounding), and the repaired tail (its float64 ONNX export, read back) violates the earlier
    // region's spec there while the later patch's spec holds: the two specs differ at one output.
    const box = rep.head.latentBox;
    const back = parseOnnx(repairedToOnnx(tail, { precision: 'float64' }), 'tail64.onnx');
    const layers = head.tail.layers;
    for (const c of conflicts) {
      expect(c.contradictingRows).toBeNull(); // label specs at margin 0 meet in a tie: not INFEASIBLE
      const z = Float64Array.from(c.at);
      for (let k = 0; k < M; k++) {
        expect(z[k]).toBeGreaterThanOrEqual(box.lower[k] - 1e-12);
        expect(z[k]).toBeLessThanOrEqual(box.upper[k] + 1e-12);
      }
      const pre: number[] = [];
      let v = Array.from(z);
      for (const L of layers.filter((l) => l.relu)) {
        const out = Array.from({ length: L.outputs }, (_, o) => {
          let a = L.bias[o];
          for (let t = 0; t < L.inputs; t++) a += L.weights[o * L.inputs + t] * v[t];
          return a;
        });
        pre.push(...out);
        v = out.map((a) => Math.max(a, 0));
      }
      const scale = 1 + Math.max(...pre.map(Math.abs));
      for (const pts of [c.points, c.otherPoints]) {
        const pattern = patternFromHex(patternOfPoint.get(pts[0])!, head.tail.hiddenCount);
        pre.forEach((a, i) =>
          expect(pattern[i] ? a : -a, `neuron ${i} at the point shared by ${c.points} and ${c.otherPoints}`).toBeGreaterThanOrEqual(
            -1e-9 * scale,
          ),
        );
      }
      const y = back.forwardFlat(z, 1);
      const earlier = labelSpec(labels[idx[c.points[0]]], K);
      const later = labelSpec(labels[idx[c.otherPoints[0]]], K);
      expect(specViolation(earlier, y)).toBeGreaterThan(1);
      expect(specViolation(earlier, y)).toBeCloseTo(c.violation, 6);
      expect(specViolation(later, y)).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...y.map(Math.abs))));
      // The later patch comes later in the chain (it wins at the shared point).
      expect(c.patches[0]).toBeLessThan(c.patches[1]);
    }
    // Sanity of the pattern bookkeeping: every patch's pattern is its points' pattern in the tail.
    for (const p of tail.patches) {
      const q = p.region.points[0];
      const zq = head.prefix.forwardFlat(Float64Array.from(x.subarray(idx[q] * N, (idx[q] + 1) * N)), 1);
      expect(patternHex(head.tail.patterns([Array.from(zq)])[0])).toBe(p.region.pattern);
    }
  });

  it('the spec holds on the whole latent region of each patch (glpk LPs) and at sampled latent points of it', async () => {
    const box = res.report.head.latentBox;
    const tail = res.network.tail;
    const xs = Float64Array.from(idx.flatMap((i) => Array.from(x.subarray(i * N, (i + 1) * N))));
    const zs = head.prefix.forwardFlat(xs, POINTS);
    const r = rng(5);
    let sampled = 0;
    for (const [gi, g] of res.report.regions.entries()) {
      const p0 = g.points[0];
      const z0 = zs.subarray(p0 * M, (p0 + 1) * M);
      const spec = labelSpec(labels[idx[p0]], K);
      const region = LinearRegion.ofPoint(head.tail, z0, box);
      const { A, b, F, e } = region;
      region.free();
      const patch = tail.patches.find((p) => p.kind === 'constant' && g.points.every((q) => p.region.points.includes(q)));
      expect(patch, `region ${gi}: its constant patch`).toBeDefined();
      const d = patch!.d;
      // f + d on the region: max_z P_j (F z + e + d) − q_j <= 0 for every spec row.
      for (let j = 0; j < spec.q.length; j++) {
        const Pj = spec.P.subarray(j * K, (j + 1) * K);
        const c = new Float64Array(M);
        let k0 = -spec.q[j];
        for (let i = 0; i < K; i++) {
          for (let t = 0; t < M; t++) c[t] += Pj[i] * F[i * M + t];
          k0 += Pj[i] * (e[i] + d[i]);
        }
        const worst = (await glpkMax(A, b, M, box, c)) + k0;
        expect(worst, `region ${gi} spec row ${j}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(k0)));
      }
      // Latent points of the region (rays from z0, kept when every row and the box hold): the
      // repaired tail satisfies the spec there.
      const m = b.length;
      for (let s = 0; s < 200; s++) {
        const u = Array.from({ length: M }, () => r.normal());
        const t = 10 ** (-4 + 4 * r.next());
        const z = Float64Array.from(z0, (v, k) => v + t * u[k]);
        let inside = z.every((v, k) => v >= box.lower[k] && v <= box.upper[k]);
        for (let i = 0; i < m && inside; i++) {
          let a = 0;
          for (let k = 0; k < M; k++) a += A[i * M + k] * z[k];
          inside = a <= b[i];
        }
        if (!inside) continue;
        sampled++;
        const y = tail.forwardFlat(z, 1);
        expect(specViolation(spec, y), `region ${gi} sample ${s}`).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...y.map(Math.abs))));
      }
    }
    expect(sampled).toBeGreaterThan(100);
  });

  it('inputs whose latent point lies beyond the radius from every patch keep their outputs bit for bit; accuracy is not lower', () => {
    const patches = res.network.tail.patches;
    const z = head.prefix.forwardFlat(x, 5000);
    const before = headEvaluator(head).forwardFlat(x, 5000);
    const after = res.network.forwardFlat(x, 5000);
    let far = 0;
    let correctBefore = 0;
    let correctAfter = 0;
    for (let i = 0; i < 5000; i++) {
      const zi = z.subarray(i * M, (i + 1) * M);
      const isFar = patches.every((p) => {
        let worst = -Infinity;
        for (let r = 0; r < p.b.length; r++) {
          let a = -p.b[r];
          for (let k = 0; k < M; k++) a += p.A[r * M + k] * zi[k];
          worst = Math.max(worst, a);
        }
        return worst >= p.radius;
      });
      if (isFar) {
        far++;
        for (let j = 0; j < K; j++) expect(Object.is(after[i * K + j], before[i * K + j]), `image ${i} output ${j}`).toBe(true);
      }
      if (argmaxAt(before, i) === labels[i]) correctBefore++;
      if (argmaxAt(after, i) === labels[i]) correctAfter++;
    }
    expect(far).toBeGreaterThan(4000);
    expect(correctAfter).toBeGreaterThanOrEqual(correctBefore);
  });

  it('the exported ONNX (prefix copied verbatim, then the repaired tail) agrees with our evaluator in onnxruntime', async () => {
    const count = 300;
    const sel = Float64Array.from([
      ...idx.flatMap((i) => Array.from(x.subarray(i * N, (i + 1) * N))),
      ...x.subarray(0, (count - POINTS) * N),
    ]);
    const ours = res.network.forwardFlat(sel, count);
    for (const precision of ['float32', 'float64'] as const) {
      const onnx = headRepairedToOnnx(res.network, { precision });
      // The prefix is float32 (as read); a float64 export casts the latent tensor and runs the tail in float64.
      const y = await ortRun(onnx, sel, count, [1, 28, 28], 'float32');
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ours[i]) / (1 + Math.abs(ours[i])));
      expect(worst, precision).toBeLessThan(1e-4);
      for (let p = 0; p < POINTS; p++) expect(argmaxAt(y, p), `${precision} point ${p}`).toBe(labels[idx[p]]);
    }
  });

  it('CLI: repair --from latent writes the head-repaired ONNX and a report naming the tensor; refuses a non-ONNX output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-head-'));
    try {
      const pts = idx.slice(0, 3);
      writeFileSync(
        join(dir, 'points.json'),
        JSON.stringify({ points: pts.map((i) => Array.from(x.subarray(i * N, (i + 1) * N))), labels: pts.map((i) => labels[i]) }),
      );
      const model = fixture('head', 'sigmoid-head.onnx');
      const args = ['repair', '--model', model, '--from', 'latent', '--points', join(dir, 'points.json'), '--input-box', '0,1'];
      const ok = await runCli([...args, '--out', join(dir, 'out.onnx'), '--report', join(dir, 'report.json')]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/head repair from tensor "latent".*3\/3 buggy points fixed/);
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      expect(report.head.from).toBe('latent');
      const sel = Float64Array.from(pts.flatMap((i) => Array.from(x.subarray(i * N, (i + 1) * N))));
      const y = await ortRun(new Uint8Array(readFileSync(join(dir, 'out.onnx'))), sel, 3, [1, 28, 28]);
      pts.forEach((i, p) => expect(argmaxAt(y, p)).toBe(labels[i]));
      const bad = await runCli([...args, '--out', join(dir, 'out.json')]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--out.*head repair writes an ONNX model/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a tensor after which a curved operator follows, and a name that is not a tensor', () => {
    expect(() => parseOnnxHead(bytes, 'sigmoid-head.onnx', { headFrom: 'nope' })).toThrow(InputError);
    expect(() => parseOnnxHead(bytes, 'sigmoid-head.onnx', { headFrom: 'nope' })).toThrow(/headFrom: is not a tensor of the model/);
    const early = head.source.nodes.find((n) => n.opType === 'Sigmoid')!.inputs[0];
    expect(() => parseOnnxHead(bytes, 'sigmoid-head.onnx', { headFrom: early })).toThrow(
      /not piecewise linear.*comes after the head-repair tensor/,
    );
  });
});
