/**
 * Curved activations of a head-repair prefix (./prefix.ts): the functions the piecewise-linear
 * core cannot represent, evaluated exactly in float64 here, and their sound interval bounds
 * (for the latent box of head repair). Element-wise ones are applied to each element; Softmax and
 * LogSoftmax to groups of elements (`outer × len × inner` layout, the group is the `len` axis).
 *
 * Bounds are sound in floating point: every computed end is widened outward by a relative margin
 * that covers the error of the library function (Math.exp, Math.tanh, … are within a few ulp;
 * our erf within 1e-15 relative, see {@link erf}).
 */

/** An element-wise curved function (ONNX names in the comments). */
export type ElementwiseKind =
  | 'sigmoid' // Sigmoid
  | 'tanh' // Tanh
  | 'exp' // Exp
  | 'softplus' // Softplus: log(1 + e^x)
  | 'softsign' // Softsign: x / (1 + |x|)
  | 'erf' // Erf
  | 'gelu' // Gelu (approximate = "none"): x Φ(x)
  | 'geluTanh'; // Gelu (approximate = "tanh")

export type Activation =
  | { readonly kind: ElementwiseKind }
  /** Softmax (or LogSoftmax) over the middle axis of an `outer × len × inner` layout. */
  | { readonly kind: 'softmax' | 'logSoftmax'; readonly outer: number; readonly len: number; readonly inner: number };

export const ELEMENTWISE: readonly ElementwiseKind[] = ['sigmoid', 'tanh', 'exp', 'softplus', 'softsign', 'erf', 'gelu', 'geluTanh'];

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The error function to about 1e-15 relative: its Taylor series below |x| = 2.5 (terms alternate
 * and shrink; at most a digit lost to cancellation), the continued fraction of erfc above
 * (Lentz's method, converges in a few dozen steps there).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 2.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) <= 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (a > 6) return Math.sign(x); // erfc(6) < 2.2e-17
  return Math.sign(x) * (1 - erfcTail(a));
}

/**
 * erfc(a) for a >= 2.5: e^(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))), by Lentz's
 * algorithm on K = a + (1/2)/(a + 1/(a + (3/2)/(a + …))); to about 1e-15 relative.
 */
function erfcTail(a: number): number {
  const tiny = 1e-300;
  let f = a;
  let c = a;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const ak = k / 2;
    d = a + ak * d;
    d = d === 0 ? tiny : d;
    c = a + ak / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * x Φ(x). Below x = −2.5·√2, Φ(x) = erfc(−x/√2)/2 from the continued fraction: 1 + erf there
 * would cancel to a few digits (and to 0 below −6·√2), breaking the relative error the bounds assume.
 */
function gelu(x: number): number {
  const t = x * SQRT1_2;
  if (t < -2.5) return 0.5 * x * erfcTail(-t);
  return 0.5 * x * (1 + erf(t));
}

/** x (1 + tanh u)/2 = x sigmoid(2u), u = √(2/π)(x + 0.044715 x³): the sigmoid form does not cancel for x ≪ 0. */
function geluTanh(x: number): number {
  return x * sigmoid(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x));
}

const FN: Record<ElementwiseKind, (x: number) => number> = {
  sigmoid,
  tanh: Math.tanh,
  exp: Math.exp,
  softplus,
  softsign: (x) => x / (1 + Math.abs(x)),
  erf,
  gelu,
  geluTanh,
};

/** Relative error allowed for each function's float64 evaluation (library or ours). */
const REL: Record<ElementwiseKind, number> = {
  sigmoid: 2 ** -49,
  tanh: 2 ** -49,
  exp: 2 ** -49,
  softplus: 2 ** -48,
  softsign: 2 ** -50,
  erf: 1e-14,
  // 1 + erf(t) for t down to −2.5 (>= 4e-4) loses up to 3.4 digits of erf's 1e-16 absolute error.
  gelu: 1e-12,
  geluTanh: 2 ** -46,
};

/**
 * Minimum of both Gelu variants (the only non-monotone functions here): x Φ(x) has it at
 * x* ≈ −0.75179, value ≈ −0.169971; the tanh form at x* ≈ −0.75246, value ≈ −0.170041 (below
 * −0.17). The window around x (±0.001) holds both minimisers; the value is below both, rounded
 * outward.
 */
const GELU_MIN = { x: -0.75179, value: -0.1701 };

/** Applies `act` in place to `v` (one sample's values of the node). */
export function applyActivation(act: Activation, v: Float64Array): void {
  if (act.kind === 'softmax' || act.kind === 'logSoftmax') {
    const { outer, len, inner } = act;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (l: number) => (o * len + l) * inner + i;
        let m = -Infinity;
        for (let l = 0; l < len; l++) m = Math.max(m, v[at(l)]);
        let sum = 0;
        for (let l = 0; l < len; l++) sum += Math.exp(v[at(l)] - m);
        if (act.kind === 'softmax') for (let l = 0; l < len; l++) v[at(l)] = Math.exp(v[at(l)] - m) / sum;
        else {
          const lse = m + Math.log(sum);
          for (let l = 0; l < len; l++) v[at(l)] = v[at(l)] - lse;
        }
      }
    }
    return;
  }
  const f = FN[act.kind];
  for (let i = 0; i < v.length; i++) v[i] = f(v[i]);
}

/** The value of an element-wise function on one number (for constant folding). */
export function elementwise(kind: ElementwiseKind, x: number): number {
  return FN[kind](x);
}

const down = (v: number, rel: number) => v - Math.abs(v) * rel - 1e-300;
const up = (v: number, rel: number) => v + Math.abs(v) * rel + 1e-300;

/**
 * Sound bounds of `act` over the box [lo, hi] of its input (in place: lo and hi become the output
 * bounds). Monotone functions map the ends; Gelu adds its minimum when the interval holds it;
 * Softmax_i lies in [1/(1 + Σ_{j≠i} e^(hi_j − lo_i)), 1/(1 + Σ_{j≠i} e^(lo_j − hi_i))] (and
 * LogSoftmax in the logarithms of those, computed without overflow).
 */
export function activationBounds(act: Activation, lo: Float64Array, hi: Float64Array): void {
  if (act.kind === 'softmax' || act.kind === 'logSoftmax') {
    const { outer, len, inner } = act;
    const log = act.kind === 'logSoftmax';
    const outLo = new Float64Array(lo.length);
    const outHi = new Float64Array(hi.length);
    // log(1 + Σ_j e^(d_j)) without overflow.
    const log1pSumExp = (d: number[]) => {
      const m = Math.max(0, ...d);
      let s = Math.exp(-m);
      for (const x of d) s += Math.exp(x - m);
      return m + Math.log(s);
    };
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (l: number) => (o * len + l) * inner + i;
        for (let l = 0; l < len; l++) {
          const worst: number[] = [];
          const best: number[] = [];
          for (let j = 0; j < len; j++) {
            if (j === l) continue;
            worst.push(hi[at(j)] - lo[at(l)]);
            best.push(lo[at(j)] - hi[at(l)]);
          }
          // LogSoftmax_l ∈ [−log1pSumExp(worst), −log1pSumExp(best)].
          const a = -log1pSumExp(worst);
          const b = -log1pSumExp(best);
          const rel = 2 ** -46 * (len + 4);
          if (log) {
            outLo[at(l)] = down(a, rel) - rel;
            outHi[at(l)] = Math.min(0, up(b, rel) + rel);
          } else {
            outLo[at(l)] = Math.max(0, down(Math.exp(a), rel) - rel);
            outHi[at(l)] = Math.min(1, up(Math.exp(b), rel) + rel);
          }
        }
      }
    }
    lo.set(outLo);
    hi.set(outHi);
    return;
  }
  const f = FN[act.kind];
  const rel = REL[act.kind];
  const gelu = act.kind === 'gelu' || act.kind === 'geluTanh';
  for (let i = 0; i < lo.length; i++) {
    const a = lo[i];
    const b = hi[i];
    if (gelu) {
      const fa = f(a);
      const fb = f(b);
      let l: number;
      let h: number;
      if (b <= GELU_MIN.x - 0.001) {
        l = fb;
        h = fa;
      } else if (a >= GELU_MIN.x + 0.001) {
        l = fa;
        h = fb;
      } else {
        // The interval holds (or nearly holds) the minimum: its value bounds from below.
        l = Math.min(GELU_MIN.value, fa, fb);
        h = Math.max(fa, fb);
      }
      lo[i] = down(l, rel);
      hi[i] = up(h, rel);
    } else {
      lo[i] = down(f(a), rel);
      hi[i] = up(f(b), rel);
    }
  }
}
