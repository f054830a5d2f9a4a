/**
 * Verification of VNN-LIB properties (ts/verify.ts): ACAS Xu instances answered correctly (the
 * counterexamples confirmed by onnxruntime, float32, and by our independent float64 pass), the
 * same answer and statistics on one thread and in workers, timeouts with partial answers,
 * cancellation within a second in every phase, leaves that tile the box with no violating sample
 * in a safe one, and the VNN-COMP result format.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  createPool,
  forwardFloat64,
  InputError,
  init,
  loadModel,
  type Network,
  parseResultText,
  parseVnnlib,
  propertyData,
  resultText,
  unsafeDepth,
  type Vnnlib,
  verify,
} from '../ts/index.js';
import { fixture, randomNetwork, rng } from './helpers.js';

const acas = (n: string) => fixture('acasxu', `ACASXU_run2a_${n}_batch_2000.onnx`);
const prop = (p: number): Vnnlib => parseVnnlib(readFileSync(fixture('acasxu', `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`);
const nets = new Map<string, Network>();
const net = async (n: string) => {
  if (!nets.has(n)) nets.set(n, await loadModel(acas(n)));
  return nets.get(n)!;
};

beforeAll(async () => {
  await init();
});

/** The unsafe depth of the counterexample by onnxruntime (float32, the competition's check). */
async function ortDepth(n: string, v: Vnnlib, property: number, x: number[]): Promise<number> {
  const s = await ort.InferenceSession.create(readFileSync(acas(n)));
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 1, 5]) });
    const y = Array.from(out[s.outputNames[0]].data as Float32Array);
    return unsafeDepth(propertyData(v.properties[property], 5), x, y);
  } finally {
    await s.release();
  }
}

describe('ACAS Xu (VNN-COMP 2021)', () => {
  // Every violated instance among the fixture networks (N4,5 φ2 included: it is violated, see
  // the counterexample's check), each found at the root box in milliseconds.
  const violated: [string, number][] = [
    ['2_1', 2],
    ['2_9', 2],
    ['3_4', 2],
    ['4_1', 2],
    ['5_4', 2],
    ['4_5', 2],
    ['1_9', 3],
    ['1_9', 4],
    ['1_9', 7],
    ['2_9', 8],
  ];
  for (const [n, p] of violated) {
    it(`N${n} φ${p} is violated, with a counterexample onnxruntime confirms`, async () => {
      const v = prop(p);
      const r = await verify(await net(n), v, { timeoutMs: 116_000 });
      expect(r.status).toBe('violated');
      const cx = r.counterexample!;
      // Inside the input box, float32-representable (runtimes round inputs to float32 first).
      const box = v.properties[cx.property].input.box;
      cx.x.forEach((x, j) => {
        expect(x).toBeGreaterThanOrEqual(box.lower[j]);
        expect(x).toBeLessThanOrEqual(box.upper[j]);
        expect(Math.fround(x)).toBe(x);
      });
      expect(cx.y).toEqual(forwardFloat64(await net(n), cx.x));
      expect(cx.margin).toBeLessThan(0);
      expect(await ortDepth(n, v, cx.property, cx.x)).toBeLessThan(0);
      // The result file round-trips.
      const back = parseResultText(resultText({ result: 'sat', x: cx.x, y: cx.y }));
      expect(back).toEqual({ result: 'sat', x: cx.x, y: cx.y });
    });
  }

  // The instances that hold and take under about a second here; the others (N3,3 φ2, N1,1 φ6,
  // N3,3 φ9, …) run in `npm run bench` (bench/acasxu.mjs), all 42 of them.
  const holds: [string, number][] = [
    ['1_1', 1],
    ['3_4', 1],
    ['1_1', 2],
    ['1_1', 3],
    ['2_1', 3],
    ['5_4', 3],
    ['1_1', 4],
    ['2_1', 4],
    ['4_5', 4],
    ['4_5', 10],
  ];
  for (const [n, p] of holds) {
    it(`N${n} φ${p} holds, every part of the box proven`, async () => {
      const r = await verify(await net(n), prop(p), { timeoutMs: 116_000 });
      expect(r.status).toBe('holds');
      expect(r.counterexample).toBeUndefined();
      const s = r.shares;
      expect(s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation + s.regions).toBeCloseTo(1, 9);
      expect(s.violated + s.unknown + s.undecided).toBeLessThan(1e-9);
      expect(r.largestProvenBound).toBeLessThan(r.tolerance);
    });
  }

  it('φ6 (two input sets) holds on both: every property of a file is verified', async () => {
    const v = prop(6);
    expect(v.properties.length).toBe(2);
    const r = await verify(await net('1_1'), v, { timeoutMs: 116_000, core: { rootSamples: 2048 } });
    expect(r.status).toBe('holds');
    expect(r.properties.map((p) => p.status)).toEqual(['holds', 'holds']);
  }, 60_000);
});

describe('workers', () => {
  it('give the same answer and the same statistics as one thread, also when the counterexample is found by a job', async () => {
    const n = await net('4_1');
    const one = await verify(n, prop(1), { jobs: 8 });
    const two = await verify(n, prop(1), { jobs: 8, workers: 2 });
    expect(two.status).toBe('holds');
    expect(two.stats).toEqual(one.stats);
    expect(two.shares).toEqual(one.shares);
    // No search at the root: the counterexample comes from the jobs, the first one to find one.
    const opts = { jobs: 8, core: { rootSamples: 0 } };
    const a = await verify(await net('2_1'), prop(2), opts);
    const b = await verify(await net('2_1'), prop(2), { ...opts, workers: 2 });
    expect(a.status).toBe('violated');
    expect(b.counterexample).toEqual(a.counterexample);
    expect(b.stats).toEqual(a.stats);
  }, 60_000);

  it('a job whose worker fails does not throw the others away: the rest run on this thread, the error is reported', async () => {
    const pool = await createPool({ size: 2 });
    try {
      pool.injectFaultForTesting(3, 'trap');
      const r = await verify(await net('4_1'), prop(1), { jobs: 8, workers: pool });
      expect(r.status).toBe('holds');
      expect(r.properties[0].errors.length).toBe(1);
      expect(r.properties[0].errors[0]).toMatch(/workers: .*trapped/);
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('time limits and cancellation', () => {
  it('a timeout stops with a partial answer: what was proven and what was not', async () => {
    // On a busy machine 1.5 s may decide nothing yet: longer limits until some share is proven
    // (each run must still stop within 1.5 s of its limit, with a timeout status).
    const n33 = await net('3_3');
    let r: Awaited<ReturnType<typeof verify>> | undefined;
    for (const timeoutMs of [1500, 4000, 10_000]) {
      const t0 = performance.now();
      r = await verify(n33, prop(2), { timeoutMs });
      expect(performance.now() - t0).toBeLessThan(timeoutMs + 1500);
      expect(r.status).toBe('timeout');
      expect(r.shares.undecided).toBeGreaterThan(0);
      if (r.shares.undecided < 1) break;
    }
    expect(r!.shares.undecided).toBeLessThan(1);
    expect(r!.stats.boxes).toBeGreaterThan(10);
  }, 60_000);

  // Each phase of a large box: bounding (the symbolic bounds and LP relaxations of big boxes),
  // exact enumeration of leaves with many regions (and their LPs), and the same in workers.
  const phases: [string, Parameters<typeof verify>[2]][] = [
    ['bounding', { core: { leafUnstable: 0 } }],
    ['enumeration and region LPs', { core: { leafUnstable: 60, leafMaxPieces: 1_000_000, lpMaxUnstable: 0 } }],
    ['LP relaxations', { core: { leafUnstable: 0, lpMaxUnstable: 300 } }],
    ['workers', { workers: 2 }],
  ];
  for (const [phase, opts] of phases) {
    it(`an AbortSignal during ${phase} returns within a second`, async () => {
      const ctl = new AbortController();
      let seen = 0;
      const run = verify(await net('3_3'), prop(2), {
        ...opts,
        signal: ctl.signal,
        onProgress: (e) => {
          seen = Math.max(seen, e.boxes);
        },
      });
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = performance.now();
      ctl.abort();
      await expect(run).rejects.toThrow(AbortError);
      expect(performance.now() - t0).toBeLessThan(1000);
      if (!opts?.workers) expect(seen).toBeGreaterThan(0);
    });
  }
});

describe('leaves (what the repair of violated boxes builds on)', () => {
  it('tile the box; a box proven safe has no violating sample; violating regions are listed', async () => {
    const r0 = rng(12);
    const network = randomNetwork(r0, [3, 12, 12, 3]);
    // Unsafe: y1 >= y0 + 0.2 (a slice of the box violates).
    const v = parseVnnlib(
      `(declare-const X_0 Real)(declare-const X_1 Real)(declare-const X_2 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)(declare-const Y_2 Real)
       (assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= X_1 -1))(assert (<= X_1 1))(assert (>= X_2 -1))(assert (<= X_2 1))
       (assert (>= Y_1 (+ Y_0 0.2)))`,
    );
    const r = await verify(network, v, { stopAtViolation: false, collectLeaves: true, core: { leafUnstable: 6 } });
    expect(r.status).toBe('violated');
    const leaves = r.leaves!;
    const vol = (l: { lower: number[]; upper: number[] }) => l.lower.reduce((s, lo, j) => s * ((l.upper[j] - lo) / 2), 1);
    expect(leaves.reduce((s, l) => s + vol(l), 0)).toBeCloseTo(1, 9);
    const violating = leaves.filter((l) => l.status === 'violated');
    expect(violating.length).toBeGreaterThan(0);
    expect(violating.every((l) => l.violatingRegions > 0 && l.patterns.length === l.violatingRegions)).toBe(true);
    expect(violating.every((l) => l.patterns.every((p) => p.length === network.hiddenCount))).toBe(true);
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      const x = [0, 1, 2].map(() => r0.range(-1, 1));
      const y = forwardFloat64(network, x);
      if (y[1] >= y[0] + 0.2) {
        bad++;
        const inside = leaves.filter((l) => x.every((xj, j) => xj >= l.lower[j] && xj <= l.upper[j]));
        expect(inside.length).toBeGreaterThan(0);
        expect(inside.some((l) => l.status !== 'safe')).toBe(true);
        // And the violating sample's region is among the listed ones.
        const pat = network.patterns([x])[0];
        expect(inside.some((l) => l.patterns.some((p) => p.every((b, k) => b === pat[k])))).toBe(true);
      }
    }
    expect(bad).toBeGreaterThan(20);
  });
});

describe('input checks', () => {
  it('reject unbounded inputs, wrong sizes and bad options with the field named', async () => {
    const n = await net('1_1');
    const open = parseVnnlib('(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= Y_0 1))');
    expect(() => propertyData(open.properties[0], 1)).toThrow(/X_0: is unbounded/);
    await expect(verify(n, open)).rejects.toThrow(InputError);
    await expect(verify(n, prop(1), { jobs: 0 })).rejects.toThrow(/jobs/);
    await expect(verify(n, prop(1), { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    await expect(verify(n, prop(1), { core: { leafUnstable: 1.5 } })).rejects.toThrow(/core.leafUnstable/);
  });
});
