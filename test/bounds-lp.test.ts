/**
 * The LP (triangle) relaxation as a bound of a spec row (ts/bounds.ts method `lp` / `best`;
 * crates/core/src/bounds/ `row_bounds`), against the exact maximum: every linear region of small
 * random networks (2 and 3 inputs) enumerated, the row maximised on each by the region LP, and
 * dense samples. The bound must be at least the exact maximum (sound), and in real arithmetic it is
 * never looser than the symbolic one (the triangle contains every line the symbolic pass uses);
 * `best` is never looser by construction. (The exact-arithmetic test is in the crate's
 * bounds/tests.rs.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { enumerateRegions, InputError, init, LinearRegion, specRowUpperBound } from '../ts/index.js';
import { randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

describe('specRowUpperBound, method lp / best', () => {
  it('is at least the exact maximum over every linear region, never looser than symbolic, and tighter on most boxes', async () => {
    const r = rng(11);
    let tighter = 0;
    let boxes = 0;
    for (let trial = 0; trial < 24; trial++) {
      const n = trial % 2 === 0 ? 2 : 3;
      const net = randomNetwork(r, [n, 10, 10, 3]);
      const lower = Array.from({ length: n }, () => r.range(-1, 0.5));
      const box = { lower, upper: lower.map((l) => l + r.range(0.2, 1.5)) };
      const c = [r.normal(), r.normal(), r.normal()];
      const q = r.normal();
      const sym = specRowUpperBound(net, box, c, q, { method: 'symbolic' });
      const lp = specRowUpperBound(net, box, c, q, { method: 'lp' });
      const best = specRowUpperBound(net, box, c, q, { method: 'best' });
      expect(Number.isNaN(sym.lp)).toBe(true);
      expect(lp.lp).toBeLessThan(Infinity);
      expect(best.upper).toBe(Math.min(best.symbolic, best.lp, best.interval));
      expect(best.upper).toBeLessThanOrEqual(sym.upper);
      expect(lp.upper).toBeLessThanOrEqual(sym.upper + 1e-9 * (1 + Math.abs(sym.upper)));
      // The exact maximum: the row's maximum over every region (a point's value: the true max is at least it).
      const en = await enumerateRegions(net, { box });
      let exact = -Infinity;
      for (const reg of en.regions) {
        const region = LinearRegion.ofPattern(net, reg.pattern, box);
        try {
          const m = region.maxOutput(c);
          exact = Math.max(exact, m.lower - q);
        } finally {
          region.free();
        }
      }
      // Dense samples too (independent of the enumeration).
      const count = 4000;
      const xs = new Float64Array(count * n);
      for (let i = 0; i < count * n; i++) xs[i] = r.range(box.lower[i % n], box.upper[i % n]);
      const ys = net.forwardFlat(xs, count);
      for (let i = 0; i < count; i++) exact = Math.max(exact, c[0] * ys[3 * i] + c[1] * ys[3 * i + 1] + c[2] * ys[3 * i + 2] - q);
      expect(best.lp, `trial ${trial}: ${en.regions.length} regions`).toBeGreaterThanOrEqual(exact);
      expect(best.upper).toBeGreaterThanOrEqual(exact);
      boxes++;
      if (lp.lp < sym.symbolic - 1e-9 * (1 + Math.abs(sym.symbolic))) tighter++;
    }
    expect(boxes).toBe(24);
    expect(tighter).toBeGreaterThanOrEqual(8);
  }, 60_000);

  it('rejects an unknown method naming the field', async () => {
    const net = randomNetwork(rng(1), [2, 4, 2]);
    const box = { lower: [0, 0], upper: [1, 1] };
    expect(() => specRowUpperBound(net, box, [1, -1], 0, { method: 'simplex' as never })).toThrow(InputError);
    expect(() => specRowUpperBound(net, box, [1, -1], 0, { method: 'simplex' as never })).toThrow(/method/);
  });
});
