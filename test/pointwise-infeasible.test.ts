/**
 * Point-wise repair above 8 inputs with a different spec per region (issue 14): when two
 * repaired regions touch and their specs contradict (no output satisfies both), no continuous
 * network can meet both at the common point — the report says so (INFEASIBLE, with the points
 * and a point of both regions) instead of "NOT PROVEN".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, Network, repair } from '../ts/index.js';

beforeAll(async () => {
  await init();
});

/** 9 inputs, one ReLU neuron h = ReLU(x0), outputs (h, −h): two regions meeting at x0 = 0. */
function net(): Network {
  const w = [1, 0, 0, 0, 0, 0, 0, 0, 0];
  return Network.fromArrays([
    { weights: [w], bias: [0] },
    { weights: [[1], [-1]], bias: [0, 0] },
  ]);
}

const points = [
  [-0.5, 0.1, 0.2, 0.3, -0.1, 0, 0.4, -0.2, 0.1],
  [0.5, -0.3, 0.1, 0, 0.2, 0.3, -0.4, 0.1, 0],
];
const inputBox = { lower: new Array(9).fill(-1), upper: new Array(9).fill(1) };

describe('touching regions with contradicting specs', () => {
  it('are reported as an infeasible combination, with a point of both regions', async () => {
    // Label 0 by 0.1 on x0 <= 0, label 1 by 0.1 on x0 >= 0: y0 − y1 >= 0.1 and y1 − y0 >= 0.1.
    const { report } = await repair(net(), { points, labels: [0, 1], margin: 0.1, inputBox });
    expect(report.result.fixedPoints).toBe(2);
    const bands = report.bands!;
    expect(bands.unresolved).toBe(2);
    expect(bands.infeasiblePairs).toBe(2);
    expect(bands.infeasible).toHaveLength(1);
    const c = bands.infeasible![0];
    expect([...c.points, ...c.otherPoints].sort()).toEqual([0, 1]);
    expect(c.rows.length).toBeGreaterThan(1);
    // The point is on both closed regions: x0 = 0 (up to the LP's rounding), inside the box.
    expect(Math.abs(c.at[0])).toBeLessThan(1e-9);
    expect(c.at.every((v) => v >= -1 - 1e-12 && v <= 1 + 1e-12)).toBe(true);
    const notes = report.notes.join('\n');
    expect(notes).toMatch(/INFEASIBLE: the specs of point\(s\) [01] and of point\(s\) [01] contradict/);
    expect(notes).not.toMatch(/NOT PROVEN/);
  });

  it('are not called infeasible when the specs meet (margin 0: a tie satisfies both)', async () => {
    const { report } = await repair(net(), { points, labels: [0, 1], inputBox });
    // (Point 0 already meets label 0 with a tie: only point 1's region gets a patch.)
    expect(report.bands!.unresolved).toBe(1);
    expect(report.bands!.infeasible).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/NOT PROVEN: 1 patch band\(s\)/);
    expect(report.notes.join('\n')).not.toMatch(/INFEASIBLE/);
  });
});
