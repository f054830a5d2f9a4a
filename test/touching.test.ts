/**
 * Repaired regions that touch a region with another spec (ts/touching.ts): the shared point, the
 * repaired network's violation there, and INFEASIBLE when the specs contradict. A 9-input network
 * with one ReLU (two regions meeting at x0 = 0), as in test/pointwise-infeasible.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, labelSpec, Network, repair, specViolation } from '../ts/index.js';
import { touchingConflicts } from '../ts/touching.js';

beforeAll(async () => {
  await init();
});

const net = () =>
  Network.fromArrays([
    { weights: [[1, 0, 0, 0, 0, 0, 0, 0, 0]], bias: [0] },
    { weights: [[1], [-1]], bias: [0, 0] },
  ]);
const points = [
  [-0.5, 0.1, 0.2, 0.3, -0.1, 0, 0.4, -0.2, 0.1],
  [0.5, -0.3, 0.1, 0, 0.2, 0.3, -0.4, 0.1, 0],
];
const inputBox = { lower: new Array(9).fill(-1), upper: new Array(9).fill(1) };

describe('touchingConflicts', () => {
  it('finds the shared point of two repaired regions whose specs contradict, and the violation there', async () => {
    const labels = [0, 1];
    const margin = 0.1;
    const { network } = await repair(net(), { points, labels, margin, inputBox, certify: false });
    const specs = labels.map((y) => labelSpec(y, 2, { margin }));
    const conflicts = touchingConflicts(network, (pts) => specs[pts[0]], inputBox);
    expect(conflicts).toHaveLength(1);
    const c = conflicts[0];
    expect([...c.points, ...c.otherPoints].sort()).toEqual([0, 1]);
    expect(c.patches[0]).toBeLessThan(c.patches[1]);
    expect(c.contradictingRows).not.toBeNull();
    // On both closed regions: x0 = 0, inside the box.
    expect(Math.abs(c.at[0])).toBeLessThan(1e-9);
    expect(c.at.every((v) => v >= -1 && v <= 1)).toBe(true);
    // The repaired network there (forward pass): the earlier spec fails by its reported amount.
    const y = network.forwardFlat(Float64Array.from(c.at), 1);
    expect(specViolation(specs[c.points[0]], y)).toBeCloseTo(c.violation, 9);
    expect(c.violation).toBeGreaterThan(0.1);
    network.free();
  });

  it('reports nothing for regions that do not touch, nor for touching regions with one spec', async () => {
    const apart = [
      [-0.5, 0, 0, 0, 0, 0, 0, 0, 0],
      [0.5, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    // One spec (label 1 by 0.1) on both regions: no conflict whatever touches.
    const same = await repair(net(), { points: apart, labels: [1, 1], margin: 0.1, inputBox, certify: false });
    expect(touchingConflicts(same.network, () => labelSpec(1, 2, { margin: 0.1 }), inputBox)).toEqual([]);
    same.network.free();
    // y = (ReLU(x0 − 0.25), ReLU(−x0 − 0.25)): the regions x0 <= −0.25 and x0 >= 0.25 of the two
    // wrong points are apart (the region |x0| <= 0.25 lies between them).
    const two = Network.fromArrays([
      {
        weights: [
          [1, 0, 0, 0, 0, 0, 0, 0, 0],
          [-1, 0, 0, 0, 0, 0, 0, 0, 0],
        ],
        bias: [-0.25, -0.25],
      },
      {
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
      },
    ]);
    const res = await repair(two, { points: apart, labels: [0, 1], margin: 0.1, inputBox, certify: false });
    expect(res.report.result.regions).toBe(2);
    const specs = [labelSpec(0, 2, { margin: 0.1 }), labelSpec(1, 2, { margin: 0.1 })];
    expect(touchingConflicts(res.network, (pts) => specs[pts[0]], inputBox)).toEqual([]);
    res.network.free();
  });
});
