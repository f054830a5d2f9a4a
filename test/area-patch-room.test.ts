/**
 * Room to split in the pending phase (ts/area-bab.ts `PENDING_SPLIT_ROOM`, ts/area-pending.ts): on
 * ACAS Xu φ7 the branch and bound hands back about as many boxes as the pending phase may bound,
 * and before this rule every one was box-patched as it came, sized from the loose bounds of a
 * large box (N1,9 φ7: ‖d‖∞ 24.5). Here a φ7 sub-box the branch and bound leaves undecided, with a branch-and-bound budget that hands back more boxes than a quarter of the
 * pending phase's default budget: the default budget must leave room to split each (it did not:
 * 394 boxes for φ7 whatever was handed back), the largest patch must be at most half the one
 * made without that room, and the repair is checked independently: certified, 20,000 uniform
 * samples of the sub-box safe by a float64 forward pass of the finished network, points outside
 * every band bit for bit the original's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultWorkBudget, PENDING_SPLIT_ROOM } from '../ts/area-bab.js';
import {
  init,
  loadModel,
  type Network,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  repairAreaBab,
  safeSpec,
  unsafeDepth,
} from '../ts/index.js';
import { acasSubProperty, fixture, outsideSupports, rng } from './helpers.js';

// Part of the box the repair of the whole property patched with ‖d‖∞ 24.5, around the point where
// its one-piece search found the largest shortfall (~0.002) of the piece it patched into.
const SUB = { lower: [-0.304, 0.125, -0.1912, -0.5, -0.482], upper: [-0.241, 0.1472, -0.1286, -0.4074, -0.4194] };

let net: Network;
beforeAll(async () => {
  await init();
  net = await loadModel(fixture('acasxu', 'ACASXU_run2a_1_9_batch_2000.onnx'));
});

describe('pending phase: room to split what the branch and bound hands back', () => {
  it('N1,9 φ7 sub-box: default budget ≥ (1 + room) × handed back, patches at most half the unsplit ones, certified, samples safe, far points bit for bit', async () => {
    const pr = parseVnnlib(acasSubProperty(7, SUB), 'sub7.vnnlib').properties[0];
    const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
    const { spec } = await safeSpec(pr, 5);
    const data = propertyData(pr, 5, net.info.inputBox);
    const verify = { maxBoxes: 112, jobs: 4 };
    const r = await repairAreaBab(net, { area: { box: inputBox, inputSet }, spec, unsafe: pr.unsafe, verify });
    const rep = r.report;
    const handed = rep.pending.handedBack;
    expect(rep.verify.status).not.toBe('holds');
    // The default rule's budget for this network and property: less than the room needed here.
    const rows = spec && 'pieces' in spec ? spec.pieces.reduce((t, p) => t + p.q.length, 0) : 0;
    const pieces = 'pieces' in spec ? spec.pieces.length : 1;
    const rule = defaultWorkBudget(
      net,
      { rows: pr.unsafe.reduce((t, u) => t + u.b.length, 0), disjuncts: pr.unsafe.length },
      { rows, pieces },
    );
    expect(handed).toBeGreaterThan(rule.pendingBoxes / (1 + PENDING_SPLIT_ROOM));
    expect(rep.budget.pendingBoxes).toBeGreaterThanOrEqual((1 + PENDING_SPLIT_ROOM) * handed);
    expect(rep.budget.pendingBounded).toBeLessThanOrEqual(rep.budget.pendingBoxes);
    expect(rep.pending.splits).toBeGreaterThan(handed / 2);
    expect(rep.result.certified).toBe(true);
    // Without the room (the budget spent on bounding what was handed back): no split at all.
    const bare = await repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec,
      unsafe: pr.unsafe,
      verify,
      pending: { maxBoxes: handed + rep.pending.leavesJoined },
    });
    expect(bare.report.pending.splits).toBe(0);
    expect(bare.report.result.certified).toBe(true);
    expect(rep.result.maxPatchNorm).toBeLessThanOrEqual(0.5 * bare.report.result.maxPatchNorm);
    // Independent checks of the finished network: uniform samples of the sub-box (float64
    // forward pass, unsafe depth of the VNN-LIB property), and points beyond every band.
    const g = rng(7);
    const m = 20_000;
    const x = Float64Array.from({ length: m * 5 }, (_, i) => g.range(SUB.lower[i % 5], SUB.upper[i % 5]));
    const y = r.network.forwardFlat(x, m);
    let bad = 0;
    for (let i = 0; i < m; i++)
      if (-unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(y.subarray(i * 5, i * 5 + 5))) > 1e-8) bad++;
    expect(bad).toBe(0);
    const far = Float64Array.from({ length: 2000 * 5 }, (_, i) => {
      const j = i % 5;
      const w = SUB.upper[j] - SUB.lower[j];
      return SUB.lower[j] - 0.5 * w + 2 * w * g.next();
    });
    const { outside, differ } = outsideSupports(r.network, net, far, 2000);
    expect(outside).toBeGreaterThan(500);
    expect(differ).toBe(0);
  }, 180_000);
});
