/**
 * Point-wise repair (dense and graph networks) whose certificate fails because two repaired
 * regions with other specs touch (ts/touching.ts called from ts/repair.ts): report.conflicts
 * names the pair, the shared facet and why. 9 inputs, one ReLU neuron h = ReLU(x0): two regions
 * meeting on the facet x0 = 0. Independent checks: the violation by a forward pass of the
 * repaired network at the reported point, and by LP (HiGHS) that no output — whatever patches
 * produce it — meets both specs there.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HighsBackend, init, labelSpec, Network, repair, type Spec, specViolation } from '../ts/index.js';
import { touchingConflicts } from '../ts/touching.js';

beforeAll(async () => {
  await init();
});

const w0 = [1, 0, 0, 0, 0, 0, 0, 0, 0];

/** y = (a0·h + c0, a1·h + c1), h = ReLU(x0); as a dense chain or as a graph with a skip term. */
function net(kind: 'dense' | 'graph', a: [number, number], c: [number, number]): Network {
  if (kind === 'dense')
    return Network.fromArrays([
      { weights: [w0], bias: [0] },
      { weights: [[a[0]], [a[1]]], bias: c },
    ]);
  // The output also reads the input through a zero map: a graph, not a dense chain.
  const dense = (inputs: number, outputs: number, weights: number[]) => ({
    kind: 'dense' as const,
    inputs,
    outputs,
    weights: Float64Array.from(weights),
  });
  return Network.fromGraph({
    inputShape: [9],
    nodes: [
      { terms: [{ from: 0, op: dense(9, 1, w0) }], bias: Float64Array.from([0]), relu: true },
      {
        terms: [
          { from: 1, op: dense(1, 2, a) },
          { from: 0, op: dense(9, 2, new Array(18).fill(0)) },
        ],
        bias: Float64Array.from(c),
        relu: false,
      },
    ],
  });
}

const points = [
  [-0.5, 0.1, 0.2, 0.3, -0.1, 0, 0.4, -0.2, 0.1],
  [0.5, -0.3, 0.1, 0, 0.2, 0.3, -0.4, 0.1, 0],
];
const inputBox = { lower: new Array(9).fill(-1), upper: new Array(9).fill(1) };

/** Is there an output y (|y| <= 1e4) with P y <= q for every spec? By HiGHS. */
async function someOutputMeets(specs: Spec[]): Promise<boolean> {
  const k = specs[0].outputs;
  const rows = specs.flatMap((s) =>
    Array.from(s.q, (q, j) => ({ idx: [...Array(k).keys()], val: Array.from(s.P.subarray(j * k, (j + 1) * k)), lo: -Infinity, hi: q })),
  );
  const lp = {
    numVars: k,
    objective: new Float64Array(k),
    lower: new Float64Array(k).fill(-1e4),
    upper: new Float64Array(k).fill(1e4),
    rows,
  };
  try {
    await new HighsBackend().solve(lp, 'feasibility');
    return true;
  } catch {
    return false;
  }
}

describe.each(['dense', 'graph'] as const)('point-wise repair of touching regions (%s network)', (kind) => {
  it('reports touching regions whose specs contradict: INFEASIBLE, with the shared facet, and the certificate fails', async () => {
    // (h, −h): label 0 by 0.1 on x0 <= 0 and label 1 by 0.1 on x0 >= 0; both points are wrong.
    const network = net(kind, [1, -1], [0, 0]);
    expect(network.denseLayers !== undefined).toBe(kind === 'dense');
    const specs = [labelSpec(0, 2, { margin: 0.1 }), labelSpec(1, 2, { margin: 0.1 })];
    const { network: repaired, report } = await repair(network, { points, spec: specs, inputBox, certify: true });
    expect(report.result.fixedPoints).toBe(2);
    expect(report.certificate!.status).not.toBe('certified');
    const conflicts = report.conflicts!;
    expect(conflicts.length).toBeGreaterThanOrEqual(1);
    for (const c of conflicts) {
      expect([...c.points, ...c.otherPoints].sort()).toEqual([0, 1]);
      expect(c.neurons).toEqual([0]);
      expect(c.why).toMatch(/^INFEASIBLE: the regions share the facet of neuron 0/);
      expect(c.contradictingRows).not.toBeNull();
      // On the facet x0 = 0 inside the box; the repaired network there violates the earlier spec.
      expect(Math.abs(c.at[0])).toBeLessThan(1e-9);
      expect(c.at.every((v) => v >= -1 - 1e-12 && v <= 1 + 1e-12)).toBe(true);
      const y = repaired.forwardFlat(Float64Array.from(c.at), 1);
      expect(specViolation(specs[c.points[0]], y)).toBeCloseTo(c.violation, 9);
      expect(c.violation).toBeGreaterThan(0.1);
    }
    // Real: at a point of the facet the network has one output, and by LP no output meets both
    // specs — whatever the two patches add there.
    expect(await someOutputMeets(specs)).toBe(false);
    expect(report.notes.join('\n')).toMatch(/INFEASIBLE: the linear region of point\(s\) [01] touches that of point\(s\) [01]/);
    repaired.free();
  });

  it('repairs and certifies touching regions whose specs are compatible, with no conflict', async () => {
    // y1 − y0 = 11 + 2h: 11 on x0 <= 0 (needs <= 10), 12 at the second point (needs <= 0). The
    // later patch (the second point's) makes y1 − y0 <= 0 on its closed region, so also where
    // the regions meet: both specs hold there.
    const network = net(kind, [0, 2], [0, 11]);
    const P = Float64Array.from([-1, 1]);
    const specs: Spec[] = [
      { outputs: 2, P, q: Float64Array.from([10]) },
      { outputs: 2, P, q: Float64Array.from([0]) },
    ];
    expect(await someOutputMeets(specs)).toBe(true);
    const { network: repaired, report } = await repair(network, { points, spec: specs, inputBox, certify: true });
    expect(report.result.fixedPoints).toBe(2);
    expect(report.result.regions).toBe(2);
    expect(report.certificate!.status).toBe('certified');
    expect(report.conflicts).toBeUndefined();
    // The two closed regions do touch (x0 = 0), and nothing fails there.
    expect(touchingConflicts(repaired, (pts) => specs[pts[0]], inputBox)).toEqual([]);
    const at = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const y = repaired.forwardFlat(Float64Array.from(at), 1);
    for (const s of specs) expect(specViolation(s, y)).toBeLessThanOrEqual(1e-9);
    repaired.free();
  });
});
