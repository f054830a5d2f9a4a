/**
 * Deterministic work budgets of the area repair (ts/area-bab.ts, ts/verify.ts, the core's
 * `max_boxes`): the branch and bound and the pending phase stop after a number of boxes bounded,
 * not after a time, so the same network, area and options give the same boxes, patches and proof
 * map run after run and with any number of workers; a time cap (`timeoutMs`) still cuts the
 * phases short, and the report says the result then depends on the load.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultWorkBudget } from '../ts/area-bab.js';
import {
  type AreaBabResult,
  init,
  loadModel,
  type Network,
  parseVnnlib,
  propertyInputDomain,
  repairAreaBab,
  safeSpec,
} from '../ts/index.js';
import { acasSubProperty, fixture } from './helpers.js';

// A sub-box of N2,1 φ2 where the property is violated (test/area-stop.test.ts).
const SUB = { lower: [0.6, -0.05, -0.5, 0.45, -0.5], upper: [0.64, 0.05, -0.4, 0.5, -0.45] };
const subText = () => acasSubProperty(2, SUB);

let net: Network;
beforeAll(async () => {
  await init();
  net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'));
});

async function run(extra: Partial<Parameters<typeof repairAreaBab>[1]> = {}): Promise<AreaBabResult> {
  const pr = parseVnnlib(subText(), 'sub.vnnlib').properties[0];
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const { spec } = await safeSpec(pr, 5);
  // Small budgets, so that both phases spend theirs on this sub-box.
  return repairAreaBab(net, {
    area: { box: inputBox, inputSet },
    spec,
    unsafe: pr.unsafe,
    verify: { maxBoxes: 40, jobs: 4 },
    pending: { maxBoxes: 150 },
    ...extra,
  });
}

/** Everything a run decides, without its timings: the figures, the boxes, the patches, the proof map. */
function decided(r: AreaBabResult): string {
  const { timingsMs: _t, verify, pending, certificate, ...rest } = r.report;
  const { ms: _v, ...ver } = verify;
  const { ms: _p, splitMs: _s, patchMs: _q, ...pend } = pending;
  const { ms: _c, ...cert } = (certificate ?? {}) as Record<string, unknown>;
  const patches = (r.network.patches ?? []).map((p) => ({
    kind: p.kind,
    d: Array.from(p.kind === 'constant' ? p.d : []),
    norm: p.region.patchNorm,
  }));
  return JSON.stringify({
    rest: { ...rest, budget: { ...rest.budget, workers: 0 } },
    ver,
    pend,
    cert,
    patches,
    proof: r.network.record?.proof ?? null,
  });
}

describe('work budgets', () => {
  it('two runs (and 2 workers) give the same figures, boxes, patches and proof map bit for bit; the budgets were spent, not cut by time', async () => {
    const a = await run();
    const b = await run();
    expect(a.report.result.certified).toBe(true);
    expect(a.report.budget.cutByTime).toBe(false);
    expect(a.report.budget.jobsSpent).toBeGreaterThan(0);
    expect(a.report.verify.boxes).toBeLessThanOrEqual(a.report.budget.verifyBoxes + a.report.budget.jobs);
    expect(a.report.budget.pendingBounded).toBeGreaterThan(0);
    expect(a.report.budget.pendingBounded).toBeLessThanOrEqual(150);
    expect(a.report.pending.handedBack).toBeGreaterThan(0);
    expect(a.network.record?.proof).toBeTruthy();
    expect(decided(b)).toBe(decided(a));
    const w = await run({ workers: 2 });
    expect(w.report.budget.workers).toBe(2);
    expect(decided(w)).toBe(decided(a));
    // A larger budget is another run (the budget is what decides, not the clock).
    const c = await run({ verify: { maxBoxes: 400, jobs: 4 } });
    expect(c.report.verify.boxes).toBeGreaterThan(a.report.verify.boxes);
  }, 120_000);

  it('a time cap still cuts the phases short; the report says the result depends on the load', async () => {
    const r = await run({ verify: { maxBoxes: 1_000_000, jobs: 4, timeoutMs: 5 }, pending: { maxBoxes: 1_000_000 }, timeoutMs: 20 });
    expect(r.report.budget.cutByTime).toBe(true);
    expect(r.report.budget.timeCapMs).toBe(20);
    expect(r.report.budget.jobsSpent).toBe(0);
    expect(r.report.notes.join(' ')).toMatch(/time cap .* depend on this machine's speed and load/);
  }, 120_000);

  it('default budgets follow the network size: weights × layers per box', async () => {
    const acas = defaultWorkBudget(net);
    expect(acas.verifyBoxes).toBeGreaterThan(1500);
    expect(acas.verifyBoxes).toBeLessThan(2500);
    expect(Math.abs(acas.pendingBoxes - 2 * acas.verifyBoxes)).toBeLessThanOrEqual(1);
    // The same layers twice over: twice the weights and twice the layers, a quarter of the boxes.
    const deep = { ...net, layers: [...net.layers, ...net.layers] } as unknown as Network;
    const d = defaultWorkBudget(deep);
    expect(Math.abs(d.verifyBoxes - acas.verifyBoxes / 4)).toBeLessThanOrEqual(1);
    // A tiny network still gets a real search.
    const tiny = { layers: [net.layers[0]] } as unknown as Network;
    expect(defaultWorkBudget(tiny).verifyBoxes).toBeLessThanOrEqual(1_000_000);
    expect(defaultWorkBudget(tiny).verifyBoxes).toBeGreaterThanOrEqual(256);
  });
});
