/** Shared helpers of the format tests: onnxruntime as an oracle, band inputs, model builders. */
import * as ort from 'onnxruntime-node';
import { DT, encodeModel, type NodeOut, type TensorOut } from '../ts/formats/onnx/proto.js';
import type { RepairedNetwork } from '../ts/index.js';
import type { rng } from './helpers.js';

/** Runs an ONNX model in onnxruntime on `count` inputs (flat), returning the first output as float64. */
export async function ortRun(
  bytes: Uint8Array,
  x: Float64Array,
  count: number,
  shape: number[],
  precision: 'float32' | 'float64' = 'float32',
): Promise<Float64Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const feed =
      precision === 'float32'
        ? new ort.Tensor('float32', Float32Array.from(x), [count, ...shape])
        : new ort.Tensor('float64', Float64Array.from(x), [count, ...shape]);
    const out = await s.run({ [s.inputNames[0]]: feed });
    return Float64Array.from(out[s.outputNames[0]].data as Float32Array | Float64Array);
  } finally {
    await s.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const fround = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

/**
 * Inputs inside patch bands: for each patch, rays x0 + t·u from a point of its region in random
 * directions (scaled per coordinate by `scale`). Along a ray every row excess is a nondecreasing
 * piecewise-linear function of t >= 0, so the support
 *   g(t) = ReLU(B(t) − Σ_i min(1, γ (α_i + t β_i)⁺)),  B = the shared box gate (or 1),
 * is nonincreasing: the band {0 < g < 1} is found by bisection (in JS) and t is drawn inside it.
 * The caller checks with the core's own `supportsFlat` that the points really are in bands.
 */
export function bandInputs(
  rep: RepairedNetwork,
  anchors: (patch: number) => ArrayLike<number>,
  perPatch: number,
  r: ReturnType<typeof rng>,
  scale: ArrayLike<number>,
): Float64Array {
  const n = rep.inputSize;
  const out: number[] = [];
  const gate = rep.boxGate;
  rep.patches.forEach((p, a) => {
    const x0 = anchors(a);
    const m = p.b.length;
    const gamma = 1 / p.radius;
    const alpha = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = -p.b[i];
      for (let j = 0; j < n; j++) s += p.A[i * n + j] * x0[j];
      alpha[i] = s;
    }
    for (let k = 0; k < perPatch; k++) {
      const u = Array.from({ length: n }, (_, j) => r.normal() * scale[j]);
      const beta = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += p.A[i * n + j] * u[j];
        beta[i] = s;
      }
      const g = (t: number) => {
        let B = 1;
        if (gate) {
          const gg = 1 / gate.radius;
          let e = 0;
          for (let j = 0; j < n; j++) {
            const xj = x0[j] + t * u[j];
            e += Math.min(1, gg * Math.max(0, xj - gate.upper[j])) + Math.min(1, gg * Math.max(0, gate.lower[j] - xj));
          }
          B = Math.max(0, 1 - e);
        }
        let e = 0;
        for (let i = 0; i < m; i++) e += Math.min(1, gamma * Math.max(0, alpha[i] + t * beta[i]));
        return Math.max(0, B - e);
      };
      let hi = 1;
      while (g(hi) > 0 && hi < 1e12) hi *= 2;
      // [0, t1]: g = 1; (t1, t0): band; [t0, ∞): g = 0.
      let lo1 = 0;
      let hi1 = hi;
      for (let i = 0; i < 100; i++) {
        const mid = (lo1 + hi1) / 2;
        if (g(mid) >= 1) lo1 = mid;
        else hi1 = mid;
      }
      let lo0 = lo1;
      let hi0 = hi;
      for (let i = 0; i < 100; i++) {
        const mid = (lo0 + hi0) / 2;
        if (g(mid) > 0) lo0 = mid;
        else hi0 = mid;
      }
      const t = lo1 + (0.05 + 0.9 * r.next()) * (lo0 - lo1);
      for (let j = 0; j < n; j++) out.push(x0[j] + t * u[j]);
    }
  });
  return Float64Array.from(out);
}

/** Number of points (rows of `x`) at which some patch support is strictly between 0 and 1. */
export function countInBands(rep: RepairedNetwork, x: Float64Array): number {
  const count = x.length / rep.inputSize;
  const g = rep.supportsFlat(x, count);
  const P = rep.patches.length;
  let c = 0;
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < P; a++) {
      const v = g[i * P + a];
      if (v > 0 && v < 1) {
        c++;
        break;
      }
    }
  }
  return c;
}

export interface TestModel {
  ir?: number;
  opset?: number;
  input: { name: string; shape: (number | string)[]; elemType?: number };
  output: { name: string; shape?: (number | string)[] };
  nodes: (Omit<NodeOut, 'name'> & { name?: string })[];
  inits: { name: string; dims: number[]; data: ArrayLike<number>; dataType?: number }[];
  /** IR < 4 style: list every initializer among the graph inputs too. */
  initsAsInputs?: boolean;
}

/** Builds an ONNX model for tests (float32 initializers unless given). */
export function buildOnnx(m: TestModel): Uint8Array {
  const inits: TensorOut[] = m.inits.map((t) => ({ name: t.name, dims: t.dims, data: t.data, dataType: t.dataType ?? DT.FLOAT }));
  const inputs = [{ name: m.input.name, elemType: m.input.elemType ?? DT.FLOAT, shape: m.input.shape }];
  if (m.initsAsInputs) for (const t of inits) inputs.push({ name: t.name, elemType: t.dataType, shape: t.dims });
  return encodeModel({
    irVersion: m.ir ?? 7,
    opset: m.opset ?? 13,
    producerVersion: 'test',
    graphName: 'test',
    docString: '',
    nodes: m.nodes.map((n, i) => ({ ...n, name: n.name ?? `n${i}` })),
    initializers: inits,
    inputs,
    outputs: [{ name: m.output.name, elemType: m.input.elemType ?? DT.FLOAT, shape: m.output.shape }],
    metadata: [],
  });
}

/** Float32-representable random values (so ORT's float32 initializers equal our float64 copies). */
export function f32(r: ReturnType<typeof rng>, count: number, s = 1): number[] {
  return Array.from({ length: count }, () => Math.fround(s * r.normal()));
}
