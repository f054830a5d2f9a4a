// Runs in Chromium (vitest browser mode). reference*.json: the in-repo one-thread repairs (Node).

import * as rr from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';
import { expect, it } from 'vitest';
import reference from './reference.json';
import referenceFullLp from './reference-full-lp.json';

const json = (r) => JSON.stringify(rr.repairedToJson(r.network));

it('the browser build runs the SIMD core and repairs HCAS in Web Workers, bit for bit the Node repair', async () => {
  await rr.init();
  const loaded = performance.getEntriesByType('resource').map((e) => e.name);
  expect(loaded.some((n) => /\/relu-repair\/dist\/browser\.js/.test(n))).toBe(true);
  expect(loaded.some((n) => /\/relu-repair\/pkg\/relu_repair_simd\.wasm/.test(n))).toBe(true);
  const net = rr.parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
  const pts = rr.parsePoints(HCAS_DEMO.points, 3, 5);
  const job = { points: pts.points, labels: pts.labels, inputBox: pts.inputBox };
  const one = await rr.repair(net, job);
  expect(json(one)).toBe(JSON.stringify(reference));
  const pool = await rr.createPool({ size: 2 });
  try {
    expect(pool.runtime).toBe('browser');
    let events = 0;
    const many = await rr.repair(net, { ...job, workers: pool, onProgress: () => events++ });
    expect(many.report.tool.wasm).toBe('simd');
    expect(many.report.result.fixedPoints).toBe(50);
    expect(events).toBeGreaterThan(40);
    expect(json(many)).toBe(json(one));

    // glpk.js inside a Web Worker: the full-LP path (a narrow output box).
    const x = pts.points[0];
    const y = net.predict([x])[0];
    const P = [];
    const q = [];
    y.forEach((v, i) => {
      const c = i === 4 ? v + 50 : v - 50;
      const up = [0, 0, 0, 0, 0];
      up[i] = 1;
      P.push(
        up,
        up.map((u) => -u),
      );
      q.push(c + 1, -(c - 1));
    });
    const spec = rr.polytopeSpec(P, q);
    const lpMany = await rr.repair(net, { points: [x], spec, inputBox: pts.inputBox, workers: pool });
    expect(lpMany.report.regions[0].minimalityProof).toBe('full-lp');
    expect(lpMany.report.tool.lp).toMatch(/^glpk\.js \(GLPK/);
    expect(json(lpMany)).toBe(JSON.stringify(referenceFullLp));
    // glpk.js/node cannot load its wasm synchronously on a browser's main thread: the region is
    // reported as not solved (a partial repair), with a reason that says what to do.
    const lpMain = await rr.repair(net, { points: [x], spec, inputBox: pts.inputBox });
    expect(lpMain.report.result.status).toBe('partial');
    expect(lpMain.report.failedRegions[0].reason).toMatch(/glpk\.js could not be loaded \(in a browser's main thread: pass `workers`/);

    // A trap in a Web Worker: replaced, reported as a WasmError; a crash likewise.
    pool.injectFaultForTesting(2, 'trap');
    const trapped = await rr.repair(net, { ...job, workers: pool }).catch((e) => e);
    expect(trapped).toBeInstanceOf(rr.WasmError);
    expect(trapped.message).toMatch(/region 2: the WebAssembly core trapped/);
    pool.injectFaultForTesting(0, 'crash');
    const crashed = await rr.repair(net, { ...job, workers: pool }).catch((e) => e);
    expect(crashed).toBeInstanceOf(rr.WasmError);
    expect(crashed.message).toMatch(/the worker failed: .*injected crash/);
    expect(pool.stats.replaced).toBe(2);

    // AbortSignal in the browser.
    const ctl = new AbortController();
    const aborted = await rr
      .repair(net, { ...job, workers: pool, signal: ctl.signal, onProgress: (e) => e.done === 2 && ctl.abort('stop') })
      .catch((e) => e);
    expect(aborted).toBeInstanceOf(rr.AbortError);
    expect(json(await rr.repair(net, { ...job, workers: pool }))).toBe(json(one));
  } finally {
    await pool.close();
  }
});

it('the slim browser build takes the wasm from the caller', async () => {
  const slim = await import('relu-repair/slim');
  // A different module instance: its own (uninitialised) core.
  await expect(slim.init()).rejects.toThrow(/slim build/);
  const wasmUrl = (await import('relu-repair/pkg/relu_repair.wasm?url')).default;
  await slim.init({ wasm: wasmUrl, flavour: 'scalar' });
  const net = slim.parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
  const pts = slim.parsePoints(HCAS_DEMO.points, 3, 5);
  const res = await slim.repair(net, { points: pts.points, labels: pts.labels, inputBox: pts.inputBox, workers: 2 });
  expect(res.report.tool.wasm).toBe('scalar');
  expect(res.report.result.fixedPoints).toBe(50);
});
