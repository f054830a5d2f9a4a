// Several spec rows bounded in one call (specRowsUpperBounds, core bounds::rows_upper): the same
// values as one call per row, bit for bit, for every method; bad input named.
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, init, specRowsUpperBounds, specRowUpperBound } from '../ts/index.js';
import { randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

describe('specRowsUpperBounds', () => {
  it('equals specRowUpperBound row by row, bit for bit, for interval, symbolic, lp and best', () => {
    const r = rng(17);
    const net = randomNetwork(r, [5, 16, 16, 4]);
    const box = { lower: [-1, -0.5, 0, 0.2, -1], upper: [-0.4, 0.5, 0.3, 0.9, 1] };
    const rows = 7;
    const C = Float64Array.from({ length: rows * 4 }, () => r.normal());
    const q = Float64Array.from({ length: rows }, () => r.normal());
    for (const method of ['interval', 'symbolic', 'lp', 'best'] as const) {
      const all = specRowsUpperBounds(net, box, C, q, { method });
      expect(all.length).toBe(rows);
      for (let i = 0; i < rows; i++) {
        const one = specRowUpperBound(net, box, C.subarray(i * 4, (i + 1) * 4), q[i], { method }).upper;
        expect(Object.is(all[i], one)).toBe(true);
      }
    }
    expect(specRowsUpperBounds(net, box, [], []).length).toBe(0);
  });

  it('rejects bad input with the field named', () => {
    const net = randomNetwork(rng(1), [2, 3, 2]);
    const box = { lower: [0, 0], upper: [1, 1] };
    expect(() => specRowsUpperBounds(net, box, [1, 0, 1], [0, 0])).toThrow(InputError);
    expect(() => specRowsUpperBounds(net, box, [1, 0, 1], [0, 0])).toThrow(/C/);
    expect(() => specRowsUpperBounds(net, box, [1, Number.NaN], [0])).toThrow(/C\[1\]/);
    expect(() => specRowsUpperBounds(net, box, [1, 0], [Number.POSITIVE_INFINITY])).toThrow(/q\[0\]/);
    expect(() => specRowsUpperBounds(net, { lower: [0], upper: [1] }, [1, 0], [0])).toThrow(InputError);
  });
});
