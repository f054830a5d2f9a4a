/**
 * Area repair of a property that holds but needs more than the default work budget to prove
 * (ts/area-bab.ts, CONFIRM_HOLDS_FACTOR): ACAS Xu N3,3 φ2 — no counterexample exists (VNN-COMP
 * 2021: unsat), and the branch and bound needs ~19,000 boxes where the default budget is 1,992.
 * Before the confirmation run, `repairAreaBab` patched ~1,100 boxes on which nothing was wrong;
 * now it goes on as `verify` would and leaves the network unchanged.
 */

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultWorkBudget } from '../ts/area-bab.js';
import { init, loadModel, type Network, parseVnnlib, propertyInputDomain, repairAreaBab, safeSpec } from '../ts/index.js';
import { fixture, rng } from './helpers.js';

let net: Network;
beforeAll(async () => {
  await init();
  net = await loadModel(fixture('acasxu', 'ACASXU_run2a_3_3_batch_2000.onnx'));
});

describe('repair --area of a property that holds beyond the default budget', () => {
  it('N3,3 φ2: reported holds after the confirmation run, no patch, every output bit for bit the original', async () => {
    const pr = parseVnnlib(readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8'), 'prop_2.vnnlib').properties[0];
    const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
    const { spec } = await safeSpec(pr, 5);
    const r = await repairAreaBab(net, { area: { box: inputBox, inputSet }, spec, unsafe: pr.unsafe });
    const budget = defaultWorkBudget(net, { rows: 4, disjuncts: 1 }, { rows: 4, pieces: 4 });
    expect(r.report.result.status).toBe('holds');
    expect(r.report.result.patches).toBe(0);
    expect(r.network.patches ?? []).toHaveLength(0);
    // The default budget alone did not prove it: the confirmation run needed more boxes.
    expect(r.report.budget.verifyBoxes).toBe(budget.verifyBoxes);
    expect(r.report.budget.confirmBoxes).toBeGreaterThan(budget.verifyBoxes);
    expect(r.report.shares.bounds + r.report.shares.regions).toBeCloseTo(1, 9);
    const g = rng(33);
    const m = 2000;
    const x = new Float64Array(m * 5);
    for (let i = 0; i < m; i++) for (let j = 0; j < 5; j++) x[i * 5 + j] = g.range(inputBox.lower[j], inputBox.upper[j]);
    const a = r.network.forwardFlat(x, m);
    const o = net.forwardFlat(x, m);
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], o[i])) differ++;
    expect(differ).toBe(0);
  }, 300_000);
});
