/**
 * Which patch bands can reach which points (ts/reach.ts, issue 14): the first-layer bound of the
 * band index never exceeds the support's true face excess, a patch it calls vanishing has support
 * exactly 0, and the repaired network through the remaining candidates is the full forward pass
 * bit for bit — so point-wise repair can skip the other patches at every point.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, patternFromHex, repair, slackExcess } from '../ts/index.js';
import { BandIndex, forwardAt } from '../ts/reach.js';
import { argmax, randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

describe('the band index of point-wise repair', () => {
  it('bounds the support excess from below, and skipping what it excludes changes no output bit', async () => {
    const g = rng(71);
    const net = randomNetwork(g, [4, 16, 10, 3]);
    const xs: number[][] = [];
    while (xs.length < 12) {
      const x = Array.from({ length: 4 }, () => g.range(-1, 1));
      xs.push(x);
    }
    // One label per point (not its argmax): every point is buggy, specs differ between regions.
    const labels = xs.map((x) => (argmax(net.predict([x])[0]) + 1 + (xs.indexOf(x) % 2)) % 3);
    const { network, report } = await repair(net, {
      points: xs,
      labels,
      inputBox: { lower: [-1, -1, -1, -1], upper: [1, 1, 1, 1] },
      radius: 0.4,
      certify: false,
    });
    expect(report.result.fixedPoints).toBe(12);
    const patches = network.patches;
    expect(patches.length).toBeGreaterThan(3);

    // The buggy points, points near them, and points anywhere in (and a little beyond) the box.
    const probe: number[] = [];
    for (const x of xs) for (let k = 0; k < 30; k++) probe.push(...x.map((v) => v + g.normal() * 0.05));
    for (let k = 0; k < 400; k++) for (let j = 0; j < 4; j++) probe.push(g.range(-1.05, 1.05));
    for (const x of xs) probe.push(...x);
    const flat = Float64Array.from(probe);
    const count = flat.length / 4;
    const index = BandIndex.of(net, flat, count)!;
    expect(index.h).toBe(16);
    const sigs = patches.map((p) => index.signature(p, patternFromHex(p.region.pattern, 26)));
    const supports = network.supportsFlat(flat, count);

    let excluded = 0;
    let positive = 0;
    const candidates: number[][] = [];
    for (let i = 0; i < count; i++) candidates.push([]);
    patches.forEach((p, j) => {
      const sig = sigs[j];
      expect(sig).toBeDefined();
      const excess = slackExcess(p.A, p.b, 4, flat);
      for (let i = 0; i < count; i++) {
        const lb = index.lowerBound(sig!, i, Infinity);
        expect(lb).toBeLessThanOrEqual(excess[i]);
        const support = supports[i * patches.length + j];
        if (index.vanishes(sig!, i, p.radius)) {
          excluded++;
          expect(support).toBe(0);
        } else {
          candidates[i].push(j);
          if (support > 0) positive++;
        }
      }
    });
    // The index excludes most pairs and keeps pairs where the patch is on: the checks bite.
    expect(excluded).toBeGreaterThan((count * patches.length) / 2);
    expect(positive).toBeGreaterThan(12);

    // The summed slacks of the differing first-layer rows, at points of another region: at least
    // 0 (each is a slack of that region's own rows) and at most the patch's excess there.
    const patterns = net.patterns(flat);
    let slackChecks = 0;
    patches.forEach((p, j) => {
      const excess = slackExcess(p.A, p.b, 4, flat);
      for (let i = 0; i < count; i += 7) {
        const ks = index.differing(sigs[j]!, patterns[i]);
        if (ks.length === 0) continue;
        const s = index.slackSum(ks, patterns[i], 1.1);
        let v = s.b;
        for (let q = 0; q < 4; q++) v -= s.c[q] * flat[i * 4 + q];
        expect(v).toBeGreaterThanOrEqual(-s.guard);
        expect(v - s.guard).toBeLessThanOrEqual(excess[i]);
        if (v > 1e-3) slackChecks++;
      }
    });
    expect(slackChecks).toBeGreaterThan(50);

    const full = network.forwardFlat(flat, count);
    const at = forwardAt(network, flat, count, candidates);
    expect(Array.from(at).every((v, k) => Object.is(v, full[k]))).toBe(true);
    // Dropping a candidate whose support is on at its point changes that point's output.
    const i = candidates.findIndex((c, i) => c.some((j) => supports[i * patches.length + j] > 0 && patches[j].d.some((v) => v !== 0)));
    const j = candidates[i].find((j) => supports[i * patches.length + j] > 0)!;
    const fewer = candidates.map((c, k) => (k === i ? c.filter((v) => v !== j) : c));
    const off = forwardAt(network, flat, count, fewer);
    expect(Array.from(off.subarray(i * 3, i * 3 + 3)).some((v, k) => v !== full[i * 3 + k])).toBe(true);
    expect(() => forwardAt(network, flat, count, candidates.slice(1))).toThrow(/candidate lists/);
  });

  it('gives no index for a network whose first layer is not dense ReLU', async () => {
    const g = rng(72);
    const net = randomNetwork(g, [3, 3]);
    expect(BandIndex.of(net, new Float64Array(3), 1)).toBeUndefined();
  });
});
