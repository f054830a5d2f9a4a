/**
 * Support rows shared with the network's first layer (ts/repaired.ts `SupportStorage`; core
 * `Support` with two storages): a repaired network whose supports read their first-layer rows
 * from one table computes the same function, bit for bit, as the one holding every row — on
 * random networks, at points inside, in and beyond the bands, in sum and chain composition —
 * and a row that is not exactly a table row stays the patch's own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, repair } from '../ts/index.js';
import type { RegionPatch } from '../ts/patch.js';
import { RepairedNetwork } from '../ts/repaired.js';
import { argmax, randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('shared support rows', () => {
  it('evaluate bit for bit as dense rows on random networks and points', async () => {
    const g = rng(314);
    let inside = 0;
    let compared = 0;
    for (const sizes of [
      [3, 12, 3],
      [5, 16, 8, 3],
      [6, 10, 10, 6, 4],
    ]) {
      const n = sizes[0];
      const net = randomNetwork(g, sizes);
      const k = sizes[sizes.length - 1];
      const xs = Array.from({ length: 5 }, () => Array.from({ length: n }, () => g.range(-0.9, 0.9)));
      const labels = xs.map((x) => (argmax(net.predict([x])[0]) + 1) % k);
      const box = { lower: new Array(n).fill(-1), upper: new Array(n).fill(1) };
      const { network } = await repair(net, { points: xs, labels, inputBox: box, radius: 0.3, certify: false });
      const patches = network.patches as RegionPatch[];
      expect(patches.length).toBeGreaterThan(0);
      for (const composition of ['sum', 'chain'] as const) {
        const dense = new RepairedNetwork(net, patches, box, network.boxGate, composition, 'dense');
        const shared = new RepairedNetwork(net, patches, box, network.boxGate, composition, 'shared');
        const pts: number[] = [];
        for (const x of xs)
          for (let t = 0; t < 200; t++) {
            const s = g.range(0, 0.8);
            for (let j = 0; j < n; j++) pts.push(Math.min(1.2, Math.max(-1.2, x[j] + s * g.range(-1, 1))));
          }
        const flat = Float64Array.from(pts);
        const count = pts.length / n;
        expect(sameBits(shared.forwardFlat(flat, count), dense.forwardFlat(flat, count))).toBe(true);
        const sd = dense.supportsFlat(flat, count);
        expect(sameBits(shared.supportsFlat(flat, count), sd)).toBe(true);
        expect(sameBits(shared.weightsFlat(flat, count), dense.weightsFlat(flat, count))).toBe(true);
        inside += sd.filter((v) => v > 0).length;
        compared += count;
        // Rows were really read from the table (and none by the dense network).
        expect(shared.rowStorage().shared).toBeGreaterThan(0);
        expect(dense.rowStorage().shared).toBe(0);
        dense.free();
        shared.free();
      }
    }
    // Enough points inside bands and supports for the comparison to mean something.
    expect(inside).toBeGreaterThan(compared / 20);
  });

  it('keeps a row that is not exactly a table row as the patch own row', async () => {
    const g = rng(27);
    const net = randomNetwork(g, [4, 12, 3]);
    const x = [0.1, -0.2, 0.3, 0.05];
    const label = (argmax(net.predict([x])[0]) + 1) % 3;
    const box = { lower: [-1, -1, -1, -1], upper: [1, 1, 1, 1] };
    const { network } = await repair(net, { points: [x], labels: label, inputBox: box, radius: 0.2, certify: false });
    const p = network.patches[0] as RegionPatch;
    expect(p.rows).toBeDefined();
    // One ulp off in one coefficient: the shared network must use this row, not the table's.
    const A = p.A.slice();
    A[1] = A[1] + Math.abs(A[1]) * 2 ** -52 || 2 ** -1074;
    const tampered: RegionPatch = { ...p, A };
    const pts = Float64Array.from(Array.from({ length: 400 * 4 }, (_, i) => x[i % 4] + g.range(-0.5, 0.5)));
    const dense = new RepairedNetwork(net, [tampered], box, network.boxGate, 'chain', 'dense');
    const shared = new RepairedNetwork(net, [tampered], box, network.boxGate, 'chain', 'shared');
    expect(sameBits(shared.supportsFlat(pts, 400), dense.supportsFlat(pts, 400))).toBe(true);
    expect(sameBits(shared.forwardFlat(pts, 400), dense.forwardFlat(pts, 400))).toBe(true);
    // The untampered patch reads that row from the table; the tampered one keeps it.
    const plain = new RepairedNetwork(net, [p], box, network.boxGate, 'chain', 'shared');
    plain.handle();
    expect(plain.rowStorage().shared).toBe(shared.rowStorage().shared + 1);
    expect(shared.rowStorage().own).toBe(plain.rowStorage().own + 1);
  });
});
