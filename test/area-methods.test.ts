/**
 * `repairArea`, the library's one entry for area repair (ts/area.ts): each method on a small
 * network, the CLI's defaults (box above 64 inputs, bab with a VNN-LIB unsafe set, enumerate
 * otherwise), options of another method refused, and every result checked independently: samples
 * of the area on the finished network satisfy the spec, and far points are the original network's
 * outputs bit for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  areaMethodFor,
  InputError,
  init,
  labelSpec,
  type Network,
  type RepairAreaResult,
  repairArea,
  unsafeDisjuncts,
} from '../ts/index.js';
import { randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

const argmaxAt = (y: Float64Array, i: number, k: number) => {
  let b = 0;
  for (let o = 1; o < k; o++) if (y[i * k + o] > y[i * k + b]) b = o;
  return b;
};

/** A label the network gets wrong at the box centre (so that the area needs repair). */
function wrongLabel(net: Network, box: { lower: number[]; upper: number[] }): number {
  const c = Float64Array.from(box.lower, (l, j) => 0.5 * (l + box.upper[j]));
  const y = net.forwardFlat(c, 1);
  return (argmaxAt(y, 0, net.outputSize) + 1) % net.outputSize;
}

/** Uniform samples of the box: how many break label `label` on the repaired network; and far points bit for bit. */
function check(res: RepairAreaResult, net: Network, box: { lower: number[]; upper: number[] }, label: number, seed: number) {
  const r = rng(seed);
  const n = net.inputSize;
  const k = net.outputSize;
  const count = 2000;
  const x = new Float64Array(count * n);
  for (let i = 0; i < count * n; i++) x[i] = r.range(box.lower[i % n], box.upper[i % n]);
  const y = res.network.forwardFlat(x, count);
  let wrong = 0;
  for (let i = 0; i < count; i++) if (argmaxAt(y, i, k) !== label) wrong++;
  const far = Float64Array.from({ length: 50 * n }, (_, i) => box.upper[i % n] + 5 + r.next());
  const a = res.network.forwardFlat(far, 50);
  const b = net.forwardFlat(far, 50);
  return { wrong, farSame: a.every((v, i) => Object.is(v, b[i])) };
}

describe('repairArea: one entry, method enumerate | bab | box', () => {
  const net = randomNetwork(rng(5), [2, 10, 10, 3]);
  const box = { lower: [-0.5, -0.5], upper: [0.5, 0.5] };
  let label = -1;
  beforeAll(async () => {
    await init();
    label = wrongLabel(net, box);
  });

  it('default on 2 inputs is enumerate; explicit enumerate, bab and box each repair the area and say how', async () => {
    expect(areaMethodFor(net, {})).toBe('enumerate');
    const results: RepairAreaResult[] = [];
    for (const method of [undefined, 'bab', 'box'] as const) {
      const res = await repairArea(net, { area: { box }, label, ...(method ? { method } : {}) });
      expect(res.method).toBe(method ?? 'enumerate');
      expect(res.report.kind).toBe({ enumerate: 'area', bab: 'area-bab', box: 'area-box' }[res.method]);
      expect(res.certified, JSON.stringify(res.report.notes)).toBe(true);
      const { wrong, farSame } = check(res, net, box, label, 3);
      expect(wrong).toBe(0);
      expect(farSame).toBe(true);
      results.push(res);
    }
    // The variants carry their own result types.
    const [en, bab, bx] = results;
    if (en.method !== 'enumerate' || bab.method !== 'bab' || bx.method !== 'box') throw new Error('method tags');
    expect(en.regions.length).toBe(en.report.result.regions);
    expect(en.report.result.buggyRegions).toBeGreaterThan(0);
    expect(bab.report.result.patches).toBeGreaterThan(0);
    expect(bx.report.result.patches).toBe(1);
    expect(bx.report.certificate?.status).toBe('certified');
  }, 120_000);

  it('a VNN-LIB unsafe set makes bab the default; above 64 inputs the default is box', async () => {
    const unsafe = unsafeDisjuncts(labelSpec(label, 3));
    expect(areaMethodFor(net, { unsafe })).toBe('bab');
    const res = await repairArea(net, { area: { box }, label, unsafe });
    expect(res.method).toBe('bab');
    expect(res.certified).toBe(true);
    expect(check(res, net, box, label, 4).wrong).toBe(0);

    const wide = randomNetwork(rng(8), [65, 12, 3]);
    const r = rng(9);
    const x0 = Array.from({ length: 65 }, () => r.range(0.2, 0.8));
    const wbox = { lower: x0.map((v) => v - 0.01), upper: x0.map((v) => v + 0.01) };
    const wl = wrongLabel(wide, wbox);
    expect(areaMethodFor(wide, {})).toBe('box');
    const wres = await repairArea(wide, { area: { box: wbox }, label: wl });
    expect(wres.method).toBe('box');
    expect(wres.certified).toBe(true);
    if (wres.method === 'box') expect(wres.report.result.status).toBe('repaired');
    expect(check(wres, wide, wbox, wl, 6).wrong).toBe(0);
  }, 120_000);

  it("an unknown method, or another method's option, is an InputError naming the field", async () => {
    await expect(repairArea(net, { area: { box }, label, method: 'grid' as never })).rejects.toThrow(InputError);
    await expect(repairArea(net, { area: { box }, label, method: 'grid' as never })).rejects.toThrow(/method/);
    await expect(repairArea(net, { area: { box }, label, method: 'box', enumerate: { maxRegions: 5 } })).rejects.toThrow(
      /enumerate.*applies to method enumerate only/,
    );
    await expect(repairArea(net, { area: { box }, label, search: { starts: 1 } })).rejects.toThrow(/search.*applies to method box only/);
    await expect(repairArea(net, { area: { box }, label, method: 'box', certificate: { rtol: 1e-6 } })).rejects.toThrow(
      /certificate.tolerance/,
    );
  });
});
