/**
 * Box patches (issue 10 item 2; ts/box-patch.ts, ts/area-box.ts): an MNIST L∞ ball of radius 0.03
 * around a misclassified test image repaired as one box, certified by bounds on the finished
 * network; checked by an independent evaluation of the exported ONNX (onnxruntime) on uniform ball
 * samples and on corners; bit for bit outside the band; a halved patch refused.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  boxPatch,
  certifyBox,
  init,
  labelSpec,
  loadModel,
  parseImages,
  parseLabels,
  RepairedNetwork,
  repairAreaBab,
  repairAreaBox,
  repairedToOnnx,
  unionSpec,
  violationOf,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { fixture, randomNetwork, rng, runCli } from './helpers.js';

beforeAll(async () => {
  await init();
});

const argmax = (y: ArrayLike<number>, at: number, k: number) => {
  let b = 0;
  for (let o = 1; o < k; o++) if (y[at * k + o] > y[at * k + b]) b = o;
  return b;
};

describe('MNIST L∞ ball, one box patch', () => {
  it('radius 0.03 around a misclassified test image: repaired, certified by bounds, sampled in onnxruntime', async () => {
    const net = await loadModel(fixture('mnist/reassure-mlp-784-256-256-10.onnx'));
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', {
      scale: 1 / 255,
    });
    const labels = await parseLabels(new Uint8Array(readFileSync(fixture('mnist/t10k-labels-idx1-ubyte.gz'))), 'labels.gz', 10);
    const n = 784;
    // The first misclassified test image.
    let idx = -1;
    const batch = 2000;
    const y0 = net.forwardFlat(images.x.subarray(0, batch * n), batch);
    for (let i = 0; i < batch && idx < 0; i++) if (argmax(y0, i, 10) !== labels[i]) idx = i;
    expect(idx).toBeGreaterThanOrEqual(0);
    const label = labels[idx];
    const x0 = images.x.subarray(idx * n, (idx + 1) * n);
    const eps = 0.03;
    const box = { lower: Array.from(x0, (v) => Math.max(0, v - eps)), upper: Array.from(x0, (v) => Math.min(1, v + eps)) };
    const result = await repairAreaBox(net, { area: { box }, label });
    const { network: rep, report } = result;
    expect(report.result.status, JSON.stringify(report.certificate?.reason)).toBe('repaired');
    expect(report.certificate?.status).toBe('certified');
    expect(report.certificate?.anchor).toBe(0);
    expect(report.certificate!.provenBound).toBeLessThanOrEqual(0);
    // Minimality gap: the worst violation found is real (the centre image is misclassified), and
    // the patch from the sound bounds is at least the one from the violations found.
    const m = report.minimality;
    expect(m.witnessViolation).toBeGreaterThan(0);
    expect(m.minimalNorm).toBeGreaterThan(0);
    expect(m.patchNorm).toBeGreaterThanOrEqual(m.minimalNorm);
    for (let j = 0; j < m.upper.length; j++) expect(m.upper[j]).toBeGreaterThanOrEqual(m.found[j]);
    // Independent closed form of a label spec: min ‖d‖∞ s.t. d_i − d_y <= −v_i (i ≠ y) is
    // max(0, max_i v_i)/2; the patch is built from U + 1e-9·(1 + |U|).
    const uMax = Math.max(...m.upper);
    expect(m.patchNorm).toBeCloseTo((uMax + 1e-9 * (1 + Math.abs(uMax))) / 2, 12);
    expect(m.minimalNorm).toBeCloseTo(Math.max(0, ...m.found) / 2, 12);
    // The worst violation found is attained at the reported witness (an independent forward pass).
    const yw = net.forwardFlat(Float64Array.from(result.patch.witness), 1);
    let vw = -Infinity;
    for (let o = 0; o < 10; o++) if (o !== label) vw = Math.max(vw, yw[o] - yw[label]);
    expect(vw).toBeCloseTo(m.witnessViolation, 9);
    for (let j = 0; j < n; j++) {
      expect(result.patch.witness[j]).toBeGreaterThanOrEqual(box.lower[j]);
      expect(result.patch.witness[j]).toBeLessThanOrEqual(box.upper[j]);
    }
    const patch = rep.patches[0];
    expect(patch.region.minimalityProof).toBe('box-bound');
    expect(patch.region.box?.minimalNorm).toBe(m.minimalNorm);

    // Independent evaluation: the exported float64 ONNX in onnxruntime on 10,000 uniform ball
    // samples, 256 random corners and 256 points on random faces. Tolerance: the certificate
    // proves max_j (P_j y − q_j) <= −1.5e-8-ish in real arithmetic; float64 evaluation must keep the
    // label the strict argmax (a tie would be a failure).
    const r = rng(7);
    const count = 10_000;
    const corners = 512;
    const total = count + corners;
    const x = new Float64Array(total * n);
    for (let i = 0; i < count; i++) for (let j = 0; j < n; j++) x[i * n + j] = r.range(box.lower[j], box.upper[j]);
    for (let i = count; i < total; i++) {
      const face = Math.floor(r.next() * n);
      for (let j = 0; j < n; j++) {
        const corner = r.next() < 0.5 ? box.lower[j] : box.upper[j];
        x[i * n + j] = i < count + 256 || j === face ? corner : r.range(box.lower[j], box.upper[j]);
      }
    }
    const before = net.forwardFlat(x, total);
    let wrongBefore = 0;
    for (let i = 0; i < total; i++) if (argmax(before, i, 10) !== label) wrongBefore++;
    expect(wrongBefore).toBeGreaterThan(0);
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, total, [...net.inputShape], 'float64');
    let wrong = 0;
    for (let i = 0; i < total; i++) {
      for (let o = 0; o < 10; o++) if (o !== label && !(y[i * 10 + o] < y[i * 10 + label])) wrong++;
    }
    expect(wrong).toBe(0);
    // The core's evaluation agrees with onnxruntime's.
    const core = rep.forwardFlat(x.subarray(0, 500 * n), 500);
    for (let i = 0; i < 500 * 10; i++) expect(Math.abs(core[i] - y[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(y[i])));

    // Outside the band (one pixel beyond a face by 2× the radius or more, or far away): the
    // original output bit for bit, every chain weight 0.
    const far = 400;
    const z = new Float64Array(far * n);
    for (let i = 0; i < far; i++) {
      for (let j = 0; j < n; j++) z[i * n + j] = r.range(box.lower[j], box.upper[j]);
      const j = Math.floor(r.next() * n);
      const out = (2 + r.next() * 100) * rep.boxGate!.radius * (i % 3 === 0 ? 1 : 1000);
      z[i * n + j] = r.next() < 0.5 ? box.lower[j] - out : box.upper[j] + out;
    }
    const w = rep.weightsFlat(z, far);
    expect(w.every((v) => v === 0)).toBe(true);
    const a = rep.forwardFlat(z, far);
    const b = net.forwardFlat(z, far);
    for (let i = 0; i < far * 10; i++) expect(Object.is(a[i], b[i])).toBe(true);

    // Negative control: the same patch halved is refused by the certificate.
    const half = { ...patch, d: patch.d.map((v) => 0.5 * v) };
    const tampered = new RepairedNetwork(net, [half], rep.inputBox, rep.boxGate, 'chain');
    const c = await certifyBox(tampered, box, labelSpec(label, 10));
    expect(c.status).toBe('refused');
    expect(c.provenBound).toBeGreaterThan(0);
    // And the certificate reads the finished network: a box gate narrower than the ball refuses.
    const narrow = { ...rep.boxGate!, upper: rep.boxGate!.upper.map((u, j) => (j === 300 ? u - 0.01 : u)) };
    const cut = new RepairedNetwork(net, [patch], rep.inputBox, narrow, 'chain');
    expect((await certifyBox(cut, box, labelSpec(label, 10))).status).toBe('refused');
  }, 120_000);
});

describe('cancellation', () => {
  it('an AbortSignal during the bounds of the MNIST ball stops repairAreaBox within a second', async () => {
    const net = await loadModel(fixture('mnist/reassure-mlp-784-256-256-10.onnx'));
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', {
      scale: 1 / 255,
    });
    const x0 = images.x.subarray(0, 784);
    const box = { lower: Array.from(x0, (v) => Math.max(0, v - 0.03)), upper: Array.from(x0, (v) => Math.min(1, v + 0.03)) };
    // Aborted at a fifth and at two thirds of an uninterrupted run (its length depends on the
    // machine and its load: fixed times can land after the end).
    const t = performance.now();
    await repairAreaBox(net, { area: { box }, label: 3 });
    const full = performance.now() - t;
    for (const after of [0.2 * full, 0.67 * full]) {
      const ctl = new AbortController();
      const t0 = performance.now();
      let stopped = 0;
      setTimeout(() => {
        stopped = performance.now();
        ctl.abort();
      }, after);
      await expect(repairAreaBox(net, { area: { box }, label: 3, signal: ctl.signal })).rejects.toThrow(/cancel|abort/i);
      expect(stopped).toBeGreaterThan(t0);
      expect(performance.now() - stopped).toBeLessThan(1000);
    }
  }, 60_000);
});

describe('box patches beside region patches (repairAreaBab)', () => {
  it('a random 3-12-12-3 network: leaves over maxLeafRegions get box patches, the rest region patches; certified, sampled in onnxruntime, bit for bit outside, a halved box patch refused', async () => {
    const net = randomNetwork(rng(6), [3, 12, 12, 3]);
    const box = { lower: [-1, -1, -1], upper: [1, 1, 1] };
    const y0 = net.predict([[0, 0, 0]])[0];
    const label = y0.indexOf(Math.max(...y0));
    const spec = labelSpec(label, 3);
    const { network: rep, report } = await repairAreaBab(net, { area: { box }, label, radius: 0.02, maxLeafRegions: 25, boxPatches: true });
    expect(report.result.status, JSON.stringify(report.unproven.slice(0, 2))).toBe('repaired');
    expect(report.certificate?.status).toBe('certified');
    const boxes = report.boxPatches.filter((b) => b.patchNorm > 0);
    expect(boxes.length).toBeGreaterThan(0);
    expect(report.result.buggyRegions).toBeGreaterThan(0);
    expect(report.result.patches).toBe(report.result.buggyRegions + boxes.length);
    for (const b of boxes) {
      expect(b.status).toBe('certified');
      expect(b.provenBound).toBeLessThanOrEqual(b.tolerance);
      expect(b.patchNorm).toBeGreaterThanOrEqual(b.minimalNorm);
    }
    expect(report.shares.bounds + report.shares.regions + report.shares.boxes).toBeCloseTo(1, 9);

    // Independent evaluation (float64 ONNX in onnxruntime): 20,000 box samples, half of them
    // inside the box-patched leaves. Tolerance: a sample fails when a spec row exceeds 1e-9.
    const r = rng(11);
    const count = 20_000;
    const x = new Float64Array(count * 3);
    for (let i = 0; i < count; i++) {
      const b = i % 2 === 0 ? boxes[Math.floor(r.next() * boxes.length)] : box;
      for (let j = 0; j < 3; j++) x[i * 3 + j] = r.range(b.lower[j], b.upper[j]);
    }
    const before = net.forwardFlat(x, count);
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, count, [...net.inputShape], 'float64');
    let bad = 0;
    let badBefore = 0;
    for (let i = 0; i < count; i++) {
      if (violationOf(spec, y.subarray(i * 3, i * 3 + 3)) > 1e-9) bad++;
      if (violationOf(spec, before.subarray(i * 3, i * 3 + 3)) > 0) badBefore++;
    }
    expect(badBefore).toBeGreaterThan(0);
    expect(bad).toBe(0);

    // Beyond the box gate's band: the original, bit for bit.
    const far = 2000;
    const z = new Float64Array(far * 3);
    for (let i = 0; i < far; i++) {
      for (let j = 0; j < 3; j++) z[i * 3 + j] = r.range(-3, 3);
      const j = i % 3;
      z[i * 3 + j] = (r.next() < 0.5 ? -1 : 1) * r.range(1.05, 3);
    }
    const a = rep.forwardFlat(z, far);
    const b = net.forwardFlat(z, far);
    for (let i = 0; i < far * 3; i++) expect(Object.is(a[i], b[i])).toBe(true);

    // Negative control: the largest box patch halved in the finished chain is refused on its box
    // by the bound it was sized with (symbolic, repairAreaBab's default boxBound; the tighter LP
    // relaxation may prove the halved patch still valid, which is then true).
    const biggest = boxes.reduce((m, b) => (b.patchNorm > m.patchNorm ? b : m));
    const k = rep.patches.findIndex((p) => p.region.box?.lower.every((v, j) => v === biggest.lower[j]) === true);
    expect(k).toBeGreaterThanOrEqual(0);
    const chain = rep.patches.map((p, i) => (i === k ? { ...p, d: p.d.map((v) => 0.5 * v) } : p));
    const tampered = new RepairedNetwork(net, chain, rep.inputBox, rep.boxGate, 'chain');
    expect((await certifyBox(rep, biggest, spec, { bound: 'symbolic' })).status).toBe('certified');
    expect((await certifyBox(tampered, biggest, spec, { bound: 'symbolic' })).status).toBe('refused');
  }, 120_000);
  it('more random networks (box patches next to bounds leaves: their band slabs are cut off before halving): all certified, no violating sample', async () => {
    for (const seed of [1, 2, 3]) {
      const net = randomNetwork(rng(seed), [3, 12, 12, 3]);
      const box = { lower: [-1, -1, -1], upper: [1, 1, 1] };
      const y0 = net.predict([[0, 0, 0]])[0];
      const label = y0.indexOf(Math.max(...y0));
      const { network: rep, report } = await repairAreaBab(net, {
        area: { box },
        label,
        radius: 0.02,
        maxLeafRegions: 25,
        boxPatches: true,
      });
      expect(report.result.status, `seed ${seed}: ${JSON.stringify(report.unproven.slice(0, 2))}`).toBe('repaired');
      expect(report.boxPatches.length).toBeGreaterThan(0);
      const r = rng(40 + seed);
      const count = 5000;
      const x = Float64Array.from({ length: count * 3 }, () => r.range(-1, 1));
      const y = rep.forwardFlat(x, count);
      const spec = labelSpec(label, 3);
      for (let i = 0; i < count; i++) expect(violationOf(spec, y.subarray(i * 3, i * 3 + 3))).toBeLessThanOrEqual(1e-9);
    }
  }, 120_000);
});

describe('repair --area ball.json on MNIST (CLI)', () => {
  it('above 64 inputs the whole area is one box patch (--method box by default): certified, written, the ONNX file classifies the ball correctly; bad flag combinations are usage errors', async () => {
    const net = await loadModel(fixture('mnist/reassure-mlp-784-256-256-10.onnx'));
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', {
      scale: 1 / 255,
    });
    const labels = await parseLabels(new Uint8Array(readFileSync(fixture('mnist/t10k-labels-idx1-ubyte.gz'))), 'labels.gz', 10);
    const n = 784;
    const y0 = net.forwardFlat(images.x.subarray(0, 2000 * n), 2000);
    // The second misclassified test image (the library test above takes the first).
    const wrongs: number[] = [];
    for (let i = 0; i < 2000 && wrongs.length < 2; i++) if (argmax(y0, i, 10) !== labels[i]) wrongs.push(i);
    const idx = wrongs[1];
    const x0 = images.x.subarray(idx * n, (idx + 1) * n);
    const box = { lower: Array.from(x0, (v) => Math.max(0, v - 0.03)), upper: Array.from(x0, (v) => Math.min(1, v + 0.03)) };
    const dir = mkdtempSync(join(tmpdir(), 'rr-ball-'));
    const area = join(dir, 'ball.json');
    writeFileSync(area, JSON.stringify({ box }));
    const model = fixture('mnist/reassure-mlp-784-256-256-10.onnx');
    const out = join(dir, 'rep.onnx');
    const rpt = join(dir, 'r.json');
    const run = await runCli([
      'repair',
      '--model',
      model,
      '--area',
      area,
      '--label',
      String(labels[idx]),
      '--onnx-precision',
      'float64',
      '--out',
      out,
      '--report',
      rpt,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/one box patch of norm .* certified on the whole box by bounds/);
    const report = JSON.parse(readFileSync(rpt, 'utf8'));
    expect(report.kind).toBe('area-box');
    expect(report.result.status).toBe('repaired');
    expect(report.certificate.status).toBe('certified');
    expect(report.minimality.patchNorm).toBeGreaterThanOrEqual(report.minimality.minimalNorm);
    // The written file, in onnxruntime (its own precision), on 1,000 ball samples and x0.
    const r = rng(3);
    const count = 1000;
    const x = new Float64Array(count * n);
    x.set(x0, 0);
    for (let i = 1; i < count; i++) for (let j = 0; j < n; j++) x[i * n + j] = r.range(box.lower[j], box.upper[j]);
    const bytes = new Uint8Array(readFileSync(out));
    // float64, as the written file was asked for (tolerance: the label stays the strict argmax).
    const y = await ortRun(bytes, x, count, [...net.inputShape], 'float64');
    let wrong = 0;
    for (let i = 0; i < count; i++) if (argmax(y, i, 10) !== labels[idx]) wrong++;
    expect(wrong).toBe(0);

    const bad = await runCli([
      'repair',
      '--model',
      model,
      '--area',
      area,
      '--label',
      '1',
      '--max-regions',
      '5',
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-regions/);
    const bad2 = await runCli([
      'repair',
      '--model',
      model,
      '--area',
      area,
      '--label',
      '1',
      '--method',
      'enumerate',
      '--box-patch',
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(bad2.code).toBe(2);
    expect(bad2.stderr).toMatch(/--box-patch/);
  }, 120_000);
});

describe('boxPatch with a union safe set', () => {
  it('maps the box into the piece whose patch is smallest, says so, and the certificate proves that piece', async () => {
    const net = randomNetwork(rng(21), [4, 10, 10, 3]);
    const box = { lower: [-1, -1, -1, -1], upper: [1, 1, 1, 1] };
    const a = labelSpec(0, 3, { margin: 0.5 });
    const b = labelSpec(1, 3, { margin: 0.5 });
    const union = unionSpec([a, b]);
    const ua = await boxPatch(net, box, a, { radius: 0.01 });
    const ub = await boxPatch(net, box, b, { radius: 0.01 });
    const u = await boxPatch(net, box, union, { radius: 0.01 });
    expect(u.needed).toBe(true);
    const want = ua.norm <= ub.norm ? 0 : 1;
    expect(u.piece).toBe(want);
    expect(u.norm).toBe(Math.min(ua.norm, ub.norm));
    expect(u.notes.join(' ')).toMatch(/piece \d of 2 \(the one whose patch is smallest\)/);
    expect(u.patch?.region.specPiece).toBe(want);
    const { network: rep, report } = await repairAreaBox(net, { area: { box }, spec: union, radius: 0.01 });
    expect(report.result.status).toBe('repaired');
    expect(report.certificate?.piece).toBe(want);
    const x = Float64Array.from({ length: 4 * 2000 }, () => 0);
    const r = rng(5);
    for (let i = 0; i < x.length; i++) x[i] = r.range(-1, 1);
    const y = rep.forwardFlat(x, 2000);
    for (let i = 0; i < 2000; i++) expect(violationOf(union, y.subarray(i * 3, i * 3 + 3))).toBeLessThanOrEqual(1e-9);
  });
});
