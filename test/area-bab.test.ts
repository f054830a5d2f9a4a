/**
 * Area repair driven by branch and bound (ts/area-bab.ts): a violated ACAS Xu instance repaired
 * over its whole box and certified, checked by uniform box samples through an independent float64
 * evaluation of the exported ONNX (onnxruntime), and bit for bit where no band reaches; a holding
 * instance reported `holds` and left unchanged; the band-reach test against the evaluator's own
 * gate values; a small network whose area is partly proven by bounds and partly repaired.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bandReachesBox,
  init,
  labelSpec,
  loadModel,
  type Network,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  repairAreaBab,
  repairedToOnnx,
  safeSpec,
  unsafeDepth,
  unsafeDisjuncts,
  violationOf,
} from '../ts/index.js';
import { ortRun } from './formats-helpers.js';
import { fixture, randomNetwork, rng, runCli, runInstancesRepair } from './helpers.js';

const acas = async (n: string) => loadModel(fixture('acasxu', `ACASXU_run2a_${n}_batch_2000.onnx`));
const prop = (p: number) => parseVnnlib(readFileSync(fixture('acasxu', `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`).properties[0];

async function acasJob(n: string, p: number) {
  const net = await acas(n);
  const pr = prop(p);
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const safe = await safeSpec(pr, 5);
  return { net, pr, area: { box: inputBox, inputSet }, spec: safe.spec };
}

/** Uniform samples of a box, flattened. */
function samples(box: { lower: readonly number[]; upper: readonly number[] }, count: number, seed: number): Float64Array {
  const r = rng(seed);
  const n = box.lower.length;
  return Float64Array.from({ length: count * n }, (_, i) => r.range(box.lower[i % n], box.upper[i % n]));
}

beforeAll(async () => {
  await init();
});

describe('ACAS Xu, whole box', () => {
  it('N1,9 φ3 (violated): repaired on the whole box and certified; 20,000 box samples 0 violating in float64 ONNX; outside every band bit for bit', async () => {
    const { net, pr, area, spec } = await acasJob('1_9', 3);
    const { network: rep, report } = await repairAreaBab(net, { area, spec, unsafe: pr.unsafe });
    expect(report.result.status, JSON.stringify(report.unproven.slice(0, 3))).toBe('repaired');
    expect(report.result.certified).toBe(true);
    expect(report.unproven).toEqual([]);
    expect(report.certificate?.status).toBe('certified');
    expect(report.result.patches).toBeGreaterThan(0);
    expect(report.shares.bounds + report.shares.regions).toBeCloseTo(1, 9);
    const data = propertyData(pr, 5);
    const count = 20_000;
    const x = samples(area.box, count, 3);
    // The original network violates the property on some of these samples (the check can fail).
    const before = net.forwardFlat(x, count);
    let violatedBefore = 0;
    for (let i = 0; i < count; i++)
      if (unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(before.subarray(i * 5, i * 5 + 5))) < 0) violatedBefore++;
    expect(violatedBefore).toBeGreaterThan(0);
    // Independent evaluation: the exported float64 ONNX in onnxruntime. The certificate is about
    // real arithmetic and accepts rtol 1e-9·(1 + scale); a sample counts as violating when it lies
    // deeper than 1e-8 inside the unsafe set.
    const y = await ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, count, [1, 1, 5], 'float64');
    let violating = 0;
    for (let i = 0; i < count; i++)
      if (unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(y.subarray(i * 5, i * 5 + 5))) < -1e-8) violating++;
    expect(violating).toBe(0);
    // Outside every band (here: around the box, beyond the box gate's radius) the network is the
    // original, bit for bit, and every chain weight is 0.
    const wide = {
      lower: area.box.lower.map((v, j) => v - 2 * (area.box.upper[j] - area.box.lower[j]) - 0.01),
      upper: area.box.upper.map((v, j) => v + 2 * (area.box.upper[j] - area.box.lower[j]) + 0.01),
    };
    const z = samples(wide, 5000, 4);
    const g = rep.weightsFlat(z, 5000);
    const P = rep.patches.length;
    const a = rep.forwardFlat(z, 5000);
    const b = net.forwardFlat(z, 5000);
    let outside = 0;
    let differ = 0;
    for (let i = 0; i < 5000; i++) {
      const pt = z.subarray(i * 5, i * 5 + 5);
      const beyondGate = area.box.lower.some((lo, j) => pt[j] < lo - 0.01 || pt[j] > area.box.upper[j] + 0.01);
      if (!beyondGate) continue;
      outside++;
      for (let k = 0; k < P; k++) if (g[i * P + k] !== 0) differ++;
      for (let o = 0; o < 5; o++) if (!Object.is(a[i * 5 + o], b[i * 5 + o])) differ++;
    }
    expect(outside).toBeGreaterThan(1000);
    expect(differ).toBe(0);
  });

  it('N2,1 φ3 (holds): reported holds with its proof, the network unchanged', async () => {
    const { net, pr, area, spec } = await acasJob('2_1', 3);
    const { network: rep, report } = await repairAreaBab(net, { area, spec, unsafe: pr.unsafe });
    expect(report.result.status).toBe('holds');
    expect(report.result.patches).toBe(0);
    expect(rep.patches.length).toBe(0);
    expect(report.shares.bounds + report.shares.regions).toBeCloseTo(1, 9);
    const x = samples(area.box, 2000, 5);
    const a = rep.forwardFlat(x, 2000);
    const b = net.forwardFlat(x, 2000);
    for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i])).toBe(true);
  });
});

describe('small networks', () => {
  const r = rng(11);
  const nets: Network[] = [];
  for (let i = 0; i < 4; i++) nets.push(randomNetwork(r, [2, 12, 12, 3]));

  it('the unsafe set of a safe set: a point is unsafe iff it lies in some disjunct', () => {
    const q = rng(2);
    const spec = labelSpec(1, 3, { margin: 0.05 });
    const u = unsafeDisjuncts(spec);
    for (let t = 0; t < 500; t++) {
      const y = [q.normal(), q.normal(), q.normal()];
      const inside = u.some((d) =>
        Array.from(d.b).every((bj, j) => d.A[j * 3] * y[0] + d.A[j * 3 + 1] * y[1] + d.A[j * 3 + 2] * y[2] <= bj),
      );
      expect(inside).toBe(violationOf(spec, y) >= 0);
    }
  });

  it('a band that cannot reach a box has gate 0 at every point of it (evaluator); areas partly proven by bounds, re-proven where bands reach, sampled clean', async () => {
    let reached = 0;
    for (const [i, net] of nets.entries()) {
      const box = { lower: [-1, -1], upper: [1, 1] };
      const y0 = net.predict([[0, 0]])[0];
      const label = y0.indexOf(Math.max(...y0));
      const { network: rep, report } = await repairAreaBab(net, { area: { box }, label, radius: 0.05 });
      if (report.result.status === 'holds') continue;
      expect(report.result.status, JSON.stringify(report.unproven.slice(0, 2))).toBe('repaired');
      expect(report.shares.bounds + report.shares.regions).toBeCloseTo(1, 9);
      reached += report.leaves.bandReached;
      const count = 20_000;
      const x = samples(box, count, 7 + i);
      const y = rep.forwardFlat(x, count);
      const yb = net.forwardFlat(x, count);
      const spec = labelSpec(label, 3);
      let bad = 0;
      let badBefore = 0;
      for (let k = 0; k < count; k++) {
        if (violationOf(spec, y.subarray(k * 3, k * 3 + 3)) > 1e-9) bad++;
        if (violationOf(spec, yb.subarray(k * 3, k * 3 + 3)) > 0) badBefore++;
      }
      expect(badBefore).toBeGreaterThan(0);
      expect(bad).toBe(0);
      // Band reach against the gate values on random small boxes.
      const q = rng(100 + i);
      const P = rep.patches.length;
      let wrong = 0;
      let tested = 0;
      for (let t = 0; t < 100; t++) {
        const c = [q.range(-1.2, 1.2), q.range(-1.2, 1.2)];
        const w = q.range(0, 0.2);
        const b = { lower: c.map((v) => v - w), upper: c.map((v) => v + w) };
        const z = samples(b, 50, t);
        const s = rep.supportsFlat(z, 50);
        for (let k = 0; k < P; k++) {
          if (bandReachesBox(rep.patches[k], b)) continue;
          tested++;
          for (let m = 0; m < 50; m++) if (s[m * P + k] !== 0) wrong++;
        }
      }
      expect(tested).toBeGreaterThan(0);
      expect(wrong).toBe(0);
    }
    expect(reached).toBeGreaterThan(0);
  });
});

describe('CLI: repair --area X.vnnlib (branch and bound)', () => {
  it('a property that holds: exit 0, says so, writes the network unchanged; bad --method: exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-area-bab-'));
    const out = join(dir, 'same.onnx');
    const model = fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx');
    let r = await runCli(['repair', '--model', model, '--area', fixture('acasxu', 'prop_3.vnnlib'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the property holds on the whole area .*nothing to repair; wrote the network unchanged/);
    const a = await loadModel(model);
    const b = await loadModel(out);
    const x = samples({ lower: [-1, -1, -1, -1, -1], upper: [1, 1, 1, 1, 1] }, 500, 9);
    const ya = a.forwardFlat(x, 500);
    const yb = b.forwardFlat(x, 500);
    let differ = 0;
    for (let i = 0; i < ya.length; i++) if (!Object.is(ya[i], yb[i])) differ++;
    expect(differ).toBe(0);
    r = await runCli([
      'repair',
      '--model',
      model,
      '--area',
      fixture('acasxu', 'prop_3.vnnlib'),
      '--method',
      'fast',
      '--out',
      join(dir, 'x.onnx'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--method: must be bab, enumerate or box/);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });
});

describe('CLI: run-instances --repair', () => {
  it('repairs the violated instance (certified, model written, samples clean in float64 ONNX), leaves the holding one alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-run-repair-'));
    for (const f of ['ACASXU_run2a_1_9_batch_2000.onnx', 'ACASXU_run2a_2_1_batch_2000.onnx', 'prop_3.vnnlib'])
      copyFileSync(fixture('acasxu', f), join(dir, f));
    const r = await runInstancesRepair(
      dir,
      'ACASXU_run2a_1_9_batch_2000.onnx,prop_3.vnnlib,60\nACASXU_run2a_2_1_batch_2000.onnx,prop_3.vnnlib,60\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const [v, h] = r.rows;
    expect(v[3]).toBe('sat');
    expect(v[11]).toBe('repaired');
    expect(Number(v[13])).toBeGreaterThan(0);
    expect(v[15]).toBe('true');
    expect(h[3]).toBe('unsat');
    expect(h.slice(11)).toEqual(['', '', '', '', '', '', '', '']);
    const bytes = readFileSync(join(dir, v[16]));
    const pr = prop(3);
    const data = propertyData(pr, 5);
    const { inputBox } = propertyInputDomain(pr);
    const x = samples(inputBox, 4000, 21);
    const y = await ortRun(new Uint8Array(bytes), x, 4000, [1, 1, 5], 'float64');
    let violating = 0;
    for (let i = 0; i < 4000; i++)
      if (unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(y.subarray(i * 5, i * 5 + 5))) < -1e-8) violating++;
    expect(violating).toBe(0);
  }, 240_000);
});

describe('cancellation', () => {
  it('an AbortSignal stops each phase (branch and bound, leaves, patches, certificate) within a second', async () => {
    const { net, pr, area, spec } = await acasJob('1_9', 4);
    for (const phase of ['verify', 'leaves', 'check', 'certify'] as const) {
      const ctl = new AbortController();
      let abortedAt = 0;
      const run = repairAreaBab(net, {
        area,
        spec,
        unsafe: pr.unsafe,
        signal: ctl.signal,
        onProgress: (e) => {
          // Well inside the phase: after its first progress event.
          if (e.phase === phase && abortedAt === 0) {
            abortedAt = performance.now();
            ctl.abort();
          }
        },
      });
      await expect(run).rejects.toThrow(/cancel|abort/i);
      expect(abortedAt, phase).toBeGreaterThan(0);
      expect(performance.now() - abortedAt, phase).toBeLessThan(1000);
    }
  }, 120_000);
});
