/**
 * A binary max-heap by a numeric key, ties broken by insertion order (first in, first out), so
 * that the order of equal keys, and everything decided from it, is deterministic.
 */
export class MaxHeap<T> {
  private readonly items: { key: number; seq: number; value: T }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(key: number, value: T): void {
    const a = this.items;
    a.push({ key, seq: this.seq++, value });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.above(l, m)) m = l;
        if (r < a.length && this.above(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top.value;
  }

  /** Every value left, in insertion order, emptying the heap. */
  drain(): T[] {
    const out = [...this.items].sort((a, b) => a.seq - b.seq).map((e) => e.value);
    this.items.length = 0;
    return out;
  }

  /** Does item i come out before item j? (NaN keys count as +Infinity.) */
  private above(i: number, j: number): boolean {
    const a = this.items[i];
    const b = this.items[j];
    const ka = Number.isNaN(a.key) ? Infinity : a.key;
    const kb = Number.isNaN(b.key) ? Infinity : b.key;
    return ka > kb || (ka === kb && a.seq < b.seq);
  }
}
