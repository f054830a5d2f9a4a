/** ts/util/heap.ts: largest key first, equal keys first in first out, NaN as +Infinity; against a sort. */
import { describe, expect, it } from 'vitest';
import { MaxHeap } from '../ts/util/heap.js';
import { rng } from './helpers.js';

describe('MaxHeap', () => {
  it('pops in the order of a stable sort by key descending, interleaved with pushes; drain keeps insertion order', () => {
    const r = rng(5);
    const h = new MaxHeap<number>();
    const live: { key: number; id: number }[] = [];
    let id = 0;
    for (let step = 0; step < 2000; step++) {
      if (live.length === 0 || r.range(0, 1) < 0.6) {
        // Few distinct keys, so that ties are common; NaN counts as +Infinity.
        const key = r.range(0, 1) < 0.05 ? Number.NaN : Math.floor(r.range(0, 8));
        h.push(key, id);
        live.push({ key: Number.isNaN(key) ? Infinity : key, id: id++ });
      } else {
        const want = [...live].sort((a, b) => b.key - a.key || a.id - b.id)[0];
        expect(h.pop()).toBe(want.id);
        live.splice(live.indexOf(want), 1);
      }
      expect(h.size).toBe(live.length);
    }
    expect(h.drain()).toEqual(live.map((e) => e.id).sort((a, b) => a - b));
    expect(h.size).toBe(0);
    expect(h.pop()).toBeUndefined();
  });
});
