/**
 * Independent truth for the certificate tests (issue 11): exact rational evaluation of a network
 * or a repaired network written as JSON (every double is a dyadic rational; BigInt fractions, no
 * rounding anywhere), onnxruntime on the float64 ONNX export, and the tampering of saved repaired
 * networks. None of it shares code with the certificate (it reads the JSON document, not the
 * core's objects).
 */
import { repairedFromJson, repairedToJson, repairedToOnnx } from '../ts/index.js';
import { ortRun } from './formats-helpers.js';

// ---------------------------------------------------------------------------------------------
// Exact rationals

export interface Q {
  n: bigint;
  d: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};
const norm = (n: bigint, d: bigint): Q => {
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
};
export const q0: Q = { n: 0n, d: 1n };
export const q1: Q = { n: 1n, d: 1n };
/** The exact value of a double. */
export function qOf(x: number): Q {
  if (!Number.isFinite(x)) throw new Error(`not finite: ${x}`);
  if (x === 0) return q0;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  return e >= 0 ? norm(sign * mant * (1n << BigInt(e)), 1n) : norm(sign * mant, 1n << BigInt(-e));
}
export const qAdd = (a: Q, b: Q): Q => norm(a.n * b.d + b.n * a.d, a.d * b.d);
export const qSub = (a: Q, b: Q): Q => norm(a.n * b.d - b.n * a.d, a.d * b.d);
export const qMul = (a: Q, b: Q): Q => norm(a.n * b.n, a.d * b.d);
export const qDiv = (a: Q, b: Q): Q => norm(a.n * b.d, a.d * b.n);
export const qCmp = (a: Q, b: Q): number => {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
};
export const qMax = (a: Q, b: Q): Q => (qCmp(a, b) >= 0 ? a : b);
export const qMin = (a: Q, b: Q): Q => (qCmp(a, b) <= 0 ? a : b);
export const qNum = (a: Q): number => {
  // Scale so that the quotient keeps ~60 significant bits.
  const shift = BigInt(Math.max(0, a.d.toString(2).length - a.n.toString(2).length + 64));
  return Number((a.n << shift) / a.d) / 2 ** Number(shift);
};

// ---------------------------------------------------------------------------------------------
// Exact evaluation of the JSON formats (ts/formats/json.ts): networks and repaired networks

interface LayerDoc {
  weights: number[][];
  bias: number[];
  activation?: string;
}

export function exactNetwork(layers: LayerDoc[], x: readonly number[]): Q[] {
  let h = x.map(qOf);
  for (const l of layers) {
    const z = l.bias.map((b, i) => l.weights[i].reduce((s, w, j) => qAdd(s, qMul(qOf(w), h[j])), qOf(b)));
    h = (l.activation ?? 'relu') === 'relu' ? z.map((v) => qMax(v, q0)) : z;
  }
  return h;
}

const clampStep = (t: Q) => qMin(qMax(qAdd(t, q1), q0), q1);

/**
 * f̂(x) of a repaired-network document whose supports are dense (`support.A`), exactly as the
 * evaluator defines it (crates/core/src/repaired.rs, patch.rs, gate.rs) but in rationals.
 */
export function exactRepaired(doc: RepairedDoc, x: readonly number[]): Q[] {
  const n = x.length;
  const X = x.map(qOf);
  let out = exactNetwork(doc.original.layers, x);
  let gate = q1;
  if (doc.boxGate) {
    const g = doc.boxGate;
    const inv = qDiv(q1, qOf(g.radius));
    let s = q0;
    for (let j = 0; j < n; j++) {
      s = qAdd(s, clampStep(qMul(inv, qSub(qOf(g.upper[j]), X[j]))));
      s = qAdd(s, clampStep(qMul(inv, qSub(X[j], qOf(g.lower[j])))));
    }
    gate = qMax(qAdd(qSub(s, { n: BigInt(2 * n), d: 1n }), q1), q0);
  }
  const support = (p: PatchDoc): Q => {
    if (qCmp(gate, q0) <= 0) return q0;
    const inv = qDiv(q1, qOf(p.radius));
    let s = q0;
    p.support.A.forEach((row, i) => {
      const ax = row.reduce((acc, a, j) => qAdd(acc, qMul(qOf(a), X[j])), q0);
      s = qAdd(s, clampStep(qMul(inv, qSub(qOf(p.support.b[i]), ax))));
    });
    return qMax(qSub(qAdd(s, gate), { n: BigInt(p.support.b.length), d: 1n }), q0);
  };
  const add = (d: number[], w: Q) => {
    out = out.map((v, o) => qAdd(v, qMul(qOf(d[o]), w)));
  };
  const affine = doc.patches.filter((p) => p.kind === 'affine');
  for (const p of affine) {
    const g = support(p);
    out = out.map((v, o) => {
      const pv = p.C![o].reduce((acc, c, j) => qAdd(acc, qMul(qOf(c), X[j])), qOf(p.d[o]));
      const H = qMul(qOf(p.H![o]), g);
      // clamp(p, −H g, H g)
      return qAdd(v, qMax(qMin(pv, H), qSub(q0, H)));
    });
  }
  if (doc.composition === 'sum') {
    for (const p of doc.patches) if (p.kind === 'constant') add(p.d, support(p));
    return out;
  }
  let U = q0;
  for (let i = doc.patches.length - 1; i >= 0; i--) {
    const p = doc.patches[i];
    if (p.kind !== 'constant') continue;
    const w = qMax(qSub(support(p), U), q0);
    U = qAdd(U, w);
    if (qCmp(w, q0) > 0) add(p.d, w);
  }
  return out;
}

/** Exact violation min over pieces of max over rows of (P_j y − q_j) (a convex spec is one piece). */
export function exactViolation(pieces: readonly { P: number[][]; q: number[] }[], y: readonly Q[]): Q {
  let best: Q | null = null;
  for (const pc of pieces) {
    let worst: Q | null = null;
    pc.P.forEach((row, j) => {
      const v = qSub(
        row.reduce((s, c, o) => qAdd(s, qMul(qOf(c), y[o])), q0),
        qOf(pc.q[j]),
      );
      worst = worst === null ? v : qMax(worst, v);
    });
    best = best === null ? worst! : qMin(best, worst!);
  }
  return best!;
}

// ---------------------------------------------------------------------------------------------
// Documents and tampering

export interface PatchDoc {
  kind: 'constant' | 'affine';
  radius: number;
  support: { A: number[][]; b: number[] };
  d: number[];
  C?: number[][];
  H?: number[];
  region: Record<string, unknown>;
}

export interface RepairedDoc {
  format: string;
  version: number;
  composition: 'sum' | 'chain';
  inputBox?: { lower: number[]; upper: number[] };
  boxGate?: { lower: number[]; upper: number[]; radius: number };
  record?: Record<string, unknown>;
  original: { layers: LayerDoc[] } & Record<string, unknown>;
  patches: PatchDoc[];
}

/** The JSON document of a repaired network with every support written densely (tampering edits rows). */
export function denseDoc(rep: ReturnType<typeof repairedFromJson>): RepairedDoc {
  const doc = repairedToJson(rep) as unknown as RepairedDoc;
  const n = rep.inputSize;
  doc.patches.forEach((p, i) => {
    const q = rep.patches[i];
    p.support = { A: Array.from({ length: q.b.length }, (_, k) => Array.from(q.A.subarray(k * n, (k + 1) * n))), b: Array.from(q.b) };
  });
  return doc;
}

export const clone = <T>(v: T): T => structuredClone(v);

/** Evaluates the document in onnxruntime (float64 export) at `count` points (flat). */
export async function ortDoc(doc: RepairedDoc, x: Float64Array, count: number): Promise<Float64Array> {
  const rep = repairedFromJson(doc);
  return ortRun(repairedToOnnx(rep, { precision: 'float64' }), x, count, [rep.inputSize], 'float64');
}

/** Per point, min over pieces of max over rows of (P_j y − q_j), for outputs `ys` (flat, k per point). */
export function violations(pieces: readonly { P: number[][]; q: number[] }[], ys: Float64Array, k: number): Float64Array {
  const count = ys.length / k;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let best = Infinity;
    for (const pc of pieces) {
      let worst = -Infinity;
      pc.P.forEach((row, j) => {
        let s = -pc.q[j];
        for (let o = 0; o < k; o++) s += row[o] * ys[i * k + o];
        worst = Math.max(worst, s);
      });
      best = Math.min(best, worst);
    }
    out[i] = best;
  }
  return out;
}
