/**
 * The worker pool (ts/pool/): a pooled repair is bit for bit the one-thread repair (label specs
 * on HCAS, and the glpk.js full-LP path on random networks); progress arrives per region;
 * AbortSignal cancels at once and recycles busy workers; a worker whose core traps (a real wasm
 * trap via rr_debug_panic) or that dies is replaced and the caller gets a WasmError; other
 * errors keep their class. Node worker_threads run dist/worker.node.js (npm test builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  createPool,
  InputError,
  init,
  polytopeSpec,
  type RegionPatch,
  type RegionTask,
  type RepairPool,
  type RepairResult,
  repair,
  WasmError,
} from '../ts/index.js';
import { getCore, resetForTests } from '../ts/wasm/raw.js';
import { argmax, hcasTau05, narrowBoxCase, rng } from './helpers.js';

const bytes = (a: Float64Array | undefined) => (a ? Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) : undefined);

/** Every number of every patch, as bytes, plus the report without timings. */
function fingerprint(r: RepairResult) {
  const patches = r.network.patches.map((p: RegionPatch) => ({
    kind: p.kind,
    radius: bytes(Float64Array.of(p.radius)),
    A: bytes(p.A),
    b: bytes(p.b),
    C: bytes(p.C),
    d: bytes(p.d),
    H: bytes(p.H),
    region: p.region,
  }));
  const { timingsMs: _t, ...report } = r.report;
  return { patches, report: { ...report, regions: report.regions.map(({ lpMs: _l, ...g }) => g) } };
}

/** The repaired network's outputs at the points and at random box inputs near them, as bytes. */
function outputs(r: RepairResult, points: readonly (readonly number[])[], seed: number) {
  const g = rng(seed);
  const xs = new Float64Array(points.length * 20 * 3);
  let o = 0;
  for (const p of points) for (let s = 0; s < 20; s++) for (let j = 0; j < 3; j++) xs[o++] = p[j] + (j < 2 ? 200 : 0.05) * g.normal();
  return [bytes(r.network.forwardFlat(Float64Array.from(points.flat()), points.length)), bytes(r.network.forwardFlat(xs, xs.length / 3))];
}

describe('worker pool (Node worker_threads)', () => {
  let pool: RepairPool;
  const hcas = hcasTau05();
  const job = { points: hcas.points, labels: hcas.labels, inputBox: hcas.inputBox };
  let single: RepairResult;

  beforeAll(async () => {
    await init();
    pool = await createPool({ size: 2 });
    single = await repair(hcas.net, job);
  });
  afterAll(() => pool.close());

  it('HCAS, 50 points: pooled repair is bit for bit the one-thread repair; progress per region', async () => {
    const events: { phase: string; done: number; total: number }[] = [];
    const pooled = await repair(hcas.net, { ...job, workers: pool, onProgress: (e) => events.push(e) });
    expect(pool.runtime).toBe('node');
    expect(pooled.report.result.fixedPoints).toBe(50);
    expect(fingerprint(pooled)).toEqual(fingerprint(single));
    expect(outputs(pooled, hcas.points, 1)).toEqual(outputs(single, hcas.points, 1));
    const regionEvents = events.filter((e) => e.phase === 'regions');
    const total = single.report.regions.length + single.report.unchangedRegions.length;
    expect(regionEvents.map((e) => e.done)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
    expect(regionEvents.every((e) => e.total === total)).toBe(true);
    expect(events.at(-1)?.phase).toBe('done');
    // Both workers took part, and no worker was replaced.
    expect(pool.alive).toBe(2);
    expect(pool.stats).toEqual({ started: 2, replaced: 0 });
  });

  it('full-LP path (glpk.js in the workers): bit for bit the one-thread repair', async () => {
    const r = rng(7);
    let fullLp = 0;
    for (let trial = 0; trial < 3; trial++) {
      // A narrow output box away from f: the constant patch is not minimal, the full LP runs.
      const { net, inputBox, points, spec } = narrowBoxCase(r);
      const one = await repair(net, { points, spec, inputBox });
      const many = await repair(net, { points, spec, inputBox, workers: pool });
      expect(fingerprint(many)).toEqual(fingerprint(one));
      expect(many.report.tool.lp).toBe(one.report.tool.lp);
      // A backend named by string travels to the workers (HiGHS here).
      const oneH = await repair(net, { points, spec, inputBox, lp: 'highs' });
      const manyH = await repair(net, { points, spec, inputBox, workers: pool, lp: 'highs' });
      expect(fingerprint(manyH)).toEqual(fingerprint(oneH));
      expect(manyH.report.tool.lp).toBe('highs');
      fullLp += one.report.regions.filter((g) => g.minimalityProof === 'full-lp').length;
    }
    expect(fullLp).toBeGreaterThan(3);
  });

  it('AbortSignal: rejects at once with AbortError, busy workers are replaced, the pool still gives the same result', async () => {
    const ctl = new AbortController();
    const run = repair(hcas.net, {
      ...job,
      workers: pool,
      signal: ctl.signal,
      onProgress: (e) => {
        if (e.phase === 'regions' && e.done === 3) ctl.abort(new Error('user gave up'));
      },
    });
    await expect(run).rejects.toThrow(AbortError);
    await expect(run).rejects.toThrow(/user gave up/);
    expect(pool.stats.replaced).toBeGreaterThanOrEqual(1);
    expect(pool.alive).toBe(2);
    // An already-aborted signal never starts the job.
    await expect(repair(hcas.net, { ...job, workers: pool, signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    expect(fingerprint(await repair(hcas.net, { ...job, workers: pool }))).toEqual(fingerprint(single));
  });

  it('a worker whose core traps is replaced; the caller gets a WasmError naming the region', async () => {
    const before = { ...pool.stats };
    pool.injectFaultForTesting(5, 'trap');
    const run = repair(hcas.net, { ...job, workers: pool });
    await expect(run).rejects.toThrow(WasmError);
    await expect(run).rejects.toThrow(/region 5: the WebAssembly core trapped \(unreachable/);
    expect(pool.stats.replaced).toBe(before.replaced + 1);
    expect(pool.alive).toBe(2);
    expect(fingerprint(await repair(hcas.net, { ...job, workers: pool }))).toEqual(fingerprint(single));
  });

  it('a worker that dies without replying is replaced; the caller gets a WasmError', async () => {
    const before = { ...pool.stats };
    pool.injectFaultForTesting(0, 'crash');
    const run = repair(hcas.net, { ...job, workers: pool });
    await expect(run).rejects.toThrow(WasmError);
    await expect(run).rejects.toThrow(/worker \d+: the worker failed: injected crash/);
    expect(pool.stats.replaced).toBe(before.replaced + 1);
    expect(fingerprint(await repair(hcas.net, { ...job, workers: pool }))).toEqual(fingerprint(single));
  });

  it('errors thrown in a worker keep their class and fields', async () => {
    const g = hcas.net.patterns([hcas.points[0]])[0];
    const bad: RegionTask = {
      anchor: Float64Array.from(hcas.points[0]),
      points: [0],
      pattern: String(g.length),
      spec: polytopeSpec([[1, 0, 0]], [0]), // 3 outputs, the network has 5
      box: hcas.inputBox,
      prune: true,
      radius: 1,
    };
    const err = await pool.solveAll(hcas.net, [bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('spec');
    expect((err as Error).message).toMatch(/spec has 3 outputs, the network has 5/);
    // Not a worker failure: nobody was replaced for it.
    expect(pool.alive).toBe(2);
  });

  it('bad options are InputErrors; `workers: N` runs a pool of its own for the call', async () => {
    await expect(repair(hcas.net, { ...job, workers: 0 })).rejects.toThrow(
      /workers: must be a RepairPool or an integer from 1 to 256 \(got 0\)/,
    );
    await expect(
      repair(hcas.net, { ...job, workers: 2, lp: { name: 'x', solve: async () => ({ objective: 0, x: new Float64Array() }) } }),
    ).rejects.toThrow(/lp: an LP backend object cannot move to worker threads/);
    await expect(repair(hcas.net, { ...job, lp: 'cplex' as 'glpk' })).rejects.toThrow(
      /lp: unknown LP backend \(expected "glpk" or "highs"\) \(got "cplex"\)/,
    );
    const own = await repair(hcas.net, { ...job, workers: 2 });
    expect(fingerprint(own)).toEqual(fingerprint(single));
  });
});

describe('worker pool: start-up failures', () => {
  it('a worker script that does not load is a WasmError; a closed pool refuses work', async () => {
    await init();
    const { net, points, labels, inputBox } = hcasTau05();
    const job = { points: points.slice(0, 4), labels: labels.slice(0, 4), inputBox };
    const broken = await createPool({ size: 1, workerUrl: new URL('file:///nonexistent/worker.js') });
    try {
      await expect(repair(net, { ...job, workers: broken })).rejects.toThrow(/^worker \d+: the worker failed: .*nonexistent/);
      await expect(repair(net, { ...job, workers: broken })).rejects.toThrow(WasmError);
    } finally {
      await broken.close();
    }
    await expect(repair(net, { ...job, workers: broken })).rejects.toThrow(/this worker pool is closed/);
  });
});

describe('worker pool with the scalar core', () => {
  afterAll(() => resetForTests());

  it('workers run the main thread flavour; results are bit for bit the one-thread ones', async () => {
    resetForTests();
    await init({ flavour: 'scalar' });
    expect(getCore().flavour).toBe('scalar');
    const { net, points, labels, inputBox } = hcasTau05();
    const job = { points: points.slice(0, 20), labels: labels.slice(0, 20), inputBox };
    const one = await repair(net, job);
    const pool = await createPool({ size: 2 });
    try {
      expect(pool.flavour).toBe('scalar');
      const many = await repair(net, { ...job, workers: pool });
      expect(many.report.tool.wasm).toBe('scalar');
      expect(fingerprint(many)).toEqual(fingerprint(one));
      // And the repaired points now get label 4.
      many.network.predict(job.points).forEach((y) => expect(argmax(y)).toBe(4));
    } finally {
      await pool.close();
    }
  });
});
