/**
 * The branch and bound's budget ends with boxes undecided (issue 10; ts/verify.ts `pending`,
 * ts/area-pending.ts): they are handed back and decided by bounds, splitting and box patches,
 * and the whole box is still certified on the finished network. Checked independently: uniform
 * box samples through onnxruntime on the exported float64 ONNX, points outside every band bit
 * for bit the original, a halved box patch refused with a violating witness, and the CLI's
 * `run-instances --repair` on a two-row CSV.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  certifyBox,
  init,
  loadModel,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  RepairedNetwork,
  repairAreaBab,
  repairedToOnnx,
  safeSpec,
  unsafeDepth,
  verify,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { fixture, outsideSupports, rng, runInstancesRepair } from './helpers.js';

beforeAll(async () => {
  await init();
});

const prop2 = () => parseVnnlib(readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8'), 'prop_2.vnnlib').properties[0];

/** A sub-box of N2,1 φ2 ("COC is not maximal": a union of 4 pieces) around a known counterexample. */
const SUB = { lower: [0.6, -0.05, -0.5, 0.45, -0.5], upper: [0.64, 0.05, -0.4, 0.5, -0.45] };

describe('budget end: undecided boxes handed back, box-patched, certified', () => {
  it('N2,1 φ2 sub-box: the verify budget ends early; every pending box decided; certified; 100,000 samples clean in float64 ONNX; bit for bit outside every band; a halved box patch refused with a witness', async () => {
    const net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'));
    const pr = prop2();
    const sub = { ...pr, input: { ...pr.input, box: SUB } };
    const { inputBox, inputSet } = propertyInputDomain(sub, net.info.inputBox);
    const { spec } = await safeSpec(sub, 5);
    // The sub-box is violated (so there is something to repair).
    expect((await verify(net, sub)).status).toBe('violated');
    const { network: rep, report } = await repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec,
      unsafe: sub.unsafe,
      timeoutMs: 20_000,
      // A tiny branch-and-bound budget: most of the box is handed back undecided.
      verify: { timeoutMs: 150, jobs: 4 },
      pending: { maxDepth: 5 },
    });
    expect(report.verify.status === 'timeout' || report.verify.status === 'violated').toBe(true);
    expect(report.shares.verify.undecided).toBeGreaterThan(0.1);
    expect(report.pending.handedBack).toBeGreaterThan(0);
    expect(report.result.status, JSON.stringify(report.unproven.slice(0, 2))).toBe('repaired');
    expect(report.result.certified).toBe(true);
    expect(report.unproven).toEqual([]);
    const boxes = report.boxPatches;
    expect(boxes.length).toBeGreaterThan(0);
    for (const b of boxes) {
      expect(b.status).toBe('certified');
      expect(b.provenBound).toBeLessThanOrEqual(b.tolerance);
      expect(b.patchNorm).toBeGreaterThanOrEqual(b.minimalNorm);
    }
    expect(report.result.patches).toBe(report.result.buggyRegions + boxes.length);
    // The parts tile the box: bounds (branch and bound), exact regions, pending boxes by bounds, box patches.
    const p = report.pending;
    expect(p.shares.bounds + p.shares.boxPatch + p.shares.noPatch).toBeCloseTo(
      p.boxes.reduce((t, b) => t + b.share, 0),
      12,
    );
    expect(report.shares.bounds + report.shares.regions + report.shares.pendingBounds + report.shares.boxes).toBeCloseTo(1, 9);

    // Independent evaluation: 100,000 uniform samples of the box, onnxruntime on the float64 ONNX.
    // Tolerance: a sample violates when it lies deeper than 1e-9 inside the unsafe set.
    const data = propertyData(sub, 5);
    const count = 100_000;
    const r = rng(3);
    const x = Float64Array.from({ length: count * 5 }, (_, i) => r.range(inputBox.lower[i % 5], inputBox.upper[i % 5]));
    const before = net.forwardFlat(x, count);
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, count, [1, 1, 5], 'float64');
    let bad = 0;
    let badBefore = 0;
    for (let i = 0; i < count; i++) {
      const xi = Array.from(x.subarray(i * 5, i * 5 + 5));
      if (unsafeDepth(data, xi, Array.from(y.subarray(i * 5, i * 5 + 5))) < -1e-9) bad++;
      if (unsafeDepth(data, xi, Array.from(before.subarray(i * 5, i * 5 + 5))) < 0) badBefore++;
    }
    expect(badBefore).toBeGreaterThan(0);
    expect(bad).toBe(0);

    // Outside every band (all supports exactly 0): the original network, bit for bit. Points of the
    // box and around it.
    const wide = Float64Array.from({ length: 20_000 * 5 }, (_, i) => {
      const j = i % 5;
      const w = inputBox.upper[j] - inputBox.lower[j];
      return r.range(inputBox.lower[j] - 0.5 * w, inputBox.upper[j] + 0.5 * w);
    });
    const all = new Float64Array(x.length + wide.length);
    all.set(x);
    all.set(wide, x.length);
    const { outside, differ } = outsideSupports(rep, net, all, all.length / 5);
    expect(differ).toBe(0);
    expect(outside).toBeGreaterThan(1000);

    // Negative control: box patches halved in the finished chain, those closest to their minimal
    // norm first: the certificate refuses each on its box, and (with a union safe set a halved
    // shift may still land in another piece) for at least one it names a point where the tampered
    // network violates, confirmed by onnxruntime on the tampered network's float64 ONNX.
    const candidates = [...boxes].sort((u, v) => v.minimalNorm / v.patchNorm - u.minimalNorm / u.patchNorm).slice(0, 6);
    let confirmed = 0;
    for (const target of candidates) {
      const k = rep.patches.findIndex(
        (q) => q.region.box?.lower.every((v, j) => v === target.lower[j] && q.region.box!.upper[j] === target.upper[j]) === true,
      );
      expect(k).toBeGreaterThanOrEqual(0);
      const chain = rep.patches.map((q, i) => (i === k ? { ...q, d: q.d.map((v) => 0.5 * v) } : q));
      const tampered = new RepairedNetwork(net, chain, rep.inputBox, rep.boxGate, 'chain');
      expect((await certifyBox(rep, target, spec)).status).toBe('certified');
      const c = await certifyBox(tampered, target, spec);
      expect(c.status).toBe('refused');
      if (!c.witness) continue;
      const w = Float64Array.from(c.witness.x);
      for (let j = 0; j < 5; j++) {
        expect(w[j]).toBeGreaterThanOrEqual(target.lower[j]);
        expect(w[j]).toBeLessThanOrEqual(target.upper[j]);
      }
      const yw = await ortRun(repairedToOnnx(tampered, { precision: 'float64' }), w, 1, [1, 1, 5], 'float64');
      expect(unsafeDepth(data, Array.from(w), Array.from(yw))).toBeLessThan(0);
      confirmed++;
      break;
    }
    expect(confirmed).toBe(1);
  }, 240_000);

  it('run-instances --repair on a two-row CSV: the φ2 row repaired within its budget (box patches, certified, written), the holding row left alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-pending-'));
    for (const f of ['ACASXU_run2a_2_1_batch_2000.onnx', 'prop_3.vnnlib']) copyFileSync(fixture('acasxu', f), join(dir, f));
    // The φ2 sub-box as a VNN-LIB file of its own.
    const text = readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8').replace(
      /\(assert \((<=|>=) X_(\d) ([-0-9.e]+)\)\)/g,
      (_all, op: string, j: string) => `(assert (${op} X_${j} ${op === '<=' ? SUB.upper[Number(j)] : SUB.lower[Number(j)]}))`,
    );
    writeFileSync(join(dir, 'sub2.vnnlib'), text);
    expect(parseVnnlib(text, 'sub2.vnnlib').properties[0].input.box).toEqual(SUB);
    const r = await runInstancesRepair(
      dir,
      'ACASXU_run2a_2_1_batch_2000.onnx,sub2.vnnlib,40\nACASXU_run2a_2_1_batch_2000.onnx,prop_3.vnnlib,40\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const [v, h] = r.rows;
    expect(v[3]).toBe('sat');
    expect(v[11]).toBe('repaired');
    expect(v[15]).toBe('true');
    // Columns 11..18: repair, repair_s, regions_enumerated, patches, certified, repaired_model, box_patches, max_patch_norm.
    expect(Number(v[14])).toBeGreaterThan(0);
    expect(Number(v[14])).toBeGreaterThanOrEqual(Number(v[17]));
    expect(Number(v[18])).toBeGreaterThan(0);
    expect(Number(v[12])).toBeLessThan(40);
    expect(v[16]).not.toBe('');
    expect(h[3]).toBe('unsat');
    expect(h.slice(11).every((c) => c === '')).toBe(true);
  }, 240_000);
});

describe('hard stop', () => {
  it('past hardStopMs the repair stops with an AbortError naming the limit and the phase (the budget split is soft)', async () => {
    const net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'));
    const pr = prop2();
    const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
    const { spec } = await safeSpec(pr, 5);
    const phases: string[] = [];
    const run = repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec,
      unsafe: pr.unsafe,
      timeoutMs: 60_000,
      hardStopMs: 400,
      onProgress: (e) => phases.push(e.phase),
    });
    await expect(run).rejects.toThrow(/hard limit of 0\.4 s \(budget 60\.0 s\) in phase "verify"/);
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(phases.every((p) => p === 'verify')).toBe(true);
    await expect(repairAreaBab(net, { area: { box: inputBox, inputSet }, spec, hardStopMs: 0 })).rejects.toThrow(/hardStopMs/);
  }, 60_000);
});
