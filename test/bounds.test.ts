/**
 * Bounds through the TypeScript API (ts/bounds.ts), checked against exact arithmetic: every f64
 * is a dyadic rational m·2^e, and so are the sums, products and ReLUs of a forward pass, so a
 * BigInt evaluation is exact. Tiny networks, points and boxes (including degenerate ones, where
 * a bound is as tight as rounding allows), and a case built so that f64 rounding alone would put
 * a bound on the wrong side of the exact value.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, init, intervalBounds, Network, preActivationBounds, specRowUpperBound } from '../ts/index.js';
import { randomNetwork, rng } from './helpers.js';

beforeAll(async () => {
  await init();
});

/** An exact dyadic rational m·2^e. */
interface Dy {
  m: bigint;
  e: number;
}

function dyadic(x: number): Dy {
  if (!Number.isFinite(x)) throw new Error(`not finite: ${x}`);
  if (x === 0) return { m: 0n, e: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return exp === 0 ? { m: sign * frac, e: -1074 } : { m: sign * (frac | (1n << 52n)), e: exp - 1075 };
}

const add = (a: Dy, b: Dy): Dy => {
  const e = Math.min(a.e, b.e);
  return { m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e };
};
const mul = (a: Dy, b: Dy): Dy => ({ m: a.m * b.m, e: a.e + b.e });
const relu = (a: Dy): Dy => (a.m < 0n ? { m: 0n, e: 0 } : a);
/** Sign of a − x for a double x. */
const cmp = (a: Dy, x: number): number => {
  const d = add(a, { m: -dyadic(x).m, e: dyadic(x).e });
  return d.m === 0n ? 0 : d.m > 0n ? 1 : -1;
};

/** Exact pre-activations of every layer at x. */
function exactPre(net: Network, x: readonly number[]): Dy[][] {
  let h = x.map(dyadic);
  const out: Dy[][] = [];
  for (const l of net.layers) {
    const z: Dy[] = [];
    for (let i = 0; i < l.outputs; i++) {
      let s = dyadic(l.bias[i]);
      for (let j = 0; j < l.inputs; j++) s = add(s, mul(dyadic(l.weights[i * l.inputs + j]), h[j]));
      z.push(s);
    }
    out.push(z);
    h = l.relu ? z.map(relu) : z;
  }
  return out;
}

describe('bounds in exact arithmetic', () => {
  it('contain the exact pre-activations and row values on random tiny networks, boxes near 1e4 and point boxes', () => {
    const r = rng(3);
    let compared = 0;
    for (let trial = 0; trial < 40; trial++) {
      const net = randomNetwork(r, [3, 4, 4, 2]);
      const scale = [1e-3, 1, 1e3][trial % 3];
      const scaled = new Network(
        net.layers.map((l) => ({ ...l, weights: l.weights.map((v) => v * scale), bias: l.bias.map((v) => v * scale) })),
      );
      const centre = trial % 2 === 0 ? 1e4 : 0;
      const lower = [0, 1, 2].map(() => centre + r.range(-1, 1));
      const upper = lower.map((v) => (trial % 4 === 0 ? v : v + r.range(0, 0.5)));
      const box = { lower, upper };
      const c = [r.normal(), r.normal()];
      const q = r.normal();
      for (const method of ['interval', 'symbolic'] as const) {
        const b = preActivationBounds(scaled, box, { method });
        const row = specRowUpperBound(scaled, box, c, q, { method });
        for (let s = 0; s < 8; s++) {
          const x = lower.map((lo, j) => (s === 0 ? lo : lo + r.next() * (upper[j] - lo)));
          const z = exactPre(scaled, x);
          z.forEach((layer, l) =>
            layer.forEach((v, i) => {
              expect(cmp(v, b.lower[l][i]), `${method} trial ${trial} layer ${l} neuron ${i} lower`).toBeGreaterThanOrEqual(0);
              expect(cmp(v, b.upper[l][i]), `${method} trial ${trial} layer ${l} neuron ${i} upper`).toBeLessThanOrEqual(0);
              compared++;
            }),
          );
          const y = z[z.length - 1];
          let value = { m: -dyadic(q).m, e: dyadic(q).e };
          y.forEach((v, k) => {
            value = add(value, mul(dyadic(c[k]), v));
          });
          expect(cmp(value, row.upper), `${method} trial ${trial} row`).toBeLessThanOrEqual(0);
          // The linear function slope·x + offset lies above the row too.
          let line = dyadic(row.offset);
          x.forEach((v, j) => {
            line = add(line, mul(dyadic(row.slope[j]), dyadic(v)));
          });
          const diff = add(value, { m: -line.m, e: line.e });
          expect(diff.m <= 0n, `${method} trial ${trial} linear bound`).toBe(true);
        }
      }
    }
    expect(compared).toBeGreaterThan(3000);
  });

  it('hold where rounding alone would cross the exact value (z = x0 + 2⁻⁶⁰ x1 at x = (1, 1))', () => {
    const net = Network.fromArrays([{ weights: [[1, 2 ** -60]], bias: [0], relu: false }]);
    expect(net.predict([[1, 1]])[0][0]).toBe(1); // f64 drops the 2⁻⁶⁰
    const exact = exactPre(net, [1, 1])[0][0];
    const box = { lower: [1, 1], upper: [1, 1] };
    for (const method of ['interval', 'symbolic'] as const) {
      const b = preActivationBounds(net, box, { method });
      expect(cmp(exact, b.upper[0][0])).toBe(-1);
      expect(cmp(exact, b.lower[0][0])).toBe(1);
      expect(cmp(exact, specRowUpperBound(net, box, [1], 0, { method }).upper)).toBe(-1);
    }
  });
});

describe('bounds', () => {
  it('are never below sampled values, and symbolic bounds are at least as tight as intervals', () => {
    const r = rng(9);
    const net = randomNetwork(r, [5, 20, 20, 5]);
    const box = { lower: [-1, -1, -1, -1, -1], upper: [-0.5, 0, 0.2, -0.8, 1] };
    const ib = intervalBounds(net, box);
    const sb = preActivationBounds(net, box);
    expect(sb.unstable).toBeLessThanOrEqual(ib.unstable);
    let tighter = 0;
    for (let l = 0; l < sb.lower.length; l++)
      for (let i = 0; i < sb.lower[l].length; i++) {
        expect(sb.lower[l][i]).toBeGreaterThanOrEqual(ib.lower[l][i]);
        expect(sb.upper[l][i]).toBeLessThanOrEqual(ib.upper[l][i]);
        if (sb.upper[l][i] - sb.lower[l][i] < ib.upper[l][i] - ib.lower[l][i]) tighter++;
      }
    expect(tighter).toBeGreaterThan(10);
    const c = [1, -1, 0, 0.5, 0];
    const row = specRowUpperBound(net, box, c, 0.1);
    expect(row.upper).toBeLessThanOrEqual(row.interval);
    const pts = Array.from({ length: 3000 }, () => box.lower.map((lo, j) => lo + r.next() * (box.upper[j] - lo)));
    net.predict(pts).forEach((y) => {
      for (let k = 0; k < 5; k++) {
        expect(y[k]).toBeGreaterThanOrEqual(sb.outputLower[k]);
        expect(y[k]).toBeLessThanOrEqual(sb.outputUpper[k]);
      }
      expect(c.reduce((s, ck, k) => s + ck * y[k], -0.1)).toBeLessThanOrEqual(row.upper);
    });
  });

  it('reject bad input with the field named', () => {
    const net = randomNetwork(rng(1), [2, 3, 2]);
    expect(() => preActivationBounds(net, { lower: [0], upper: [1] })).toThrow(InputError);
    expect(() => preActivationBounds(net, { lower: [1, 0], upper: [0, 1] })).toThrow(/lower bound 1 exceeds/);
    expect(() => specRowUpperBound(net, { lower: [0, 0], upper: [1, 1] }, [1], 0)).toThrow(/has 1 entries/);
    expect(() => preActivationBounds(net, { lower: [0, 0], upper: [1, 1] }, { method: 'exact' as never })).toThrow(/method/);
  });
});
