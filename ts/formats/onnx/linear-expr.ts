/**
 * What the ONNX reader keeps for a data tensor between ReLUs: an affine expression
 * `Σ_t M_t v_{from_t} + bias` over values of the graph under construction (flat, row-major
 * features). Affine ONNX operators compose into it — constants scale and shift it, Gemm/MatMul
 * multiply it, index operators (transpose, slice, pad, concatenation) gather it, a convolution or
 * pooling applies to it — and a `Relu` turns it into a graph node. When an operator cannot be
 * composed with a term (a convolution after a dense map, say), the expression is first
 * materialised as a linear node of its own and the operator applies to that node.
 *
 * The dense arithmetic is exactly the one of the dense-only reader this replaced (diagonal and
 * dense maps, the same products in the same order), so that dense ONNX models give the same
 * layers bit for bit.
 */
import type { GraphNode, GraphTerm } from '../../network/graph.js';
import { type AvgPoolOp, type ConvOp, forwardAdd, type LinearOp } from '../../network/ops.js';

/** How one term maps its source value (of `size` elements) to the expression's features. */
export type TermMap =
  /** out = s ⊙ x (null: x); out has the source's size. */
  | { kind: 'diag'; s: Float64Array | null }
  /** out = W x, W row-major out × size. */
  | { kind: 'dense'; W: Float64Array }
  /** out_i = ±x_{index_i}, 0 where index_i = −1. */
  | { kind: 'gather'; index: Int32Array; negate: boolean }
  /** out = ±A x for a convolution or pooling A. */
  | { kind: 'op'; op: ConvOp | AvgPoolOp; negate: boolean };

export interface Term {
  /** Graph value read (0 the input, k + 1 node k). */
  from: number;
  /** Its size. */
  size: number;
  map: TermMap;
}

export interface Expr {
  terms: Term[];
  /** One value per feature. */
  bias: Float64Array;
}

/** The identity expression of value `from` (a ReLU output, the input). */
export function valueExpr(from: number, size: number): Expr {
  return { terms: [{ from, size, map: { kind: 'diag', s: null } }], bias: new Float64Array(size) };
}

/** Whether `e` is value `from` itself (one identity term, zero bias). */
export function isValue(e: Expr): number | undefined {
  if (e.terms.length !== 1) return undefined;
  const t = e.terms[0];
  return t.map.kind === 'diag' && t.map.s === null && e.bias.every((v) => v === 0) ? t.from : undefined;
}

/** The expression's terms as graph terms. */
export function graphTerms(e: Expr): GraphTerm[] {
  return e.terms.map((t): GraphTerm => {
    const m = t.map;
    switch (m.kind) {
      case 'diag':
        return { from: t.from, op: m.s ? { kind: 'scale', values: m.s } : { kind: 'identity', size: t.size } };
      case 'dense':
        return { from: t.from, op: { kind: 'dense', inputs: t.size, outputs: m.W.length / t.size, weights: m.W } };
      case 'gather':
        return { from: t.from, op: { kind: 'gather', inputs: t.size, index: m.index }, negate: m.negate };
      case 'op':
        return { from: t.from, op: m.op, negate: m.negate };
    }
  });
}

/** The node `relu?(e)`. */
export function nodeOf(e: Expr, relu: boolean): GraphNode {
  return { terms: graphTerms(e), bias: Float64Array.from(e.bias), relu };
}

/** c ⊙ e (c per feature); null when a term cannot absorb it (the caller materialises). */
export function scaleExpr(e: Expr, c: Float64Array): Expr | null {
  const terms: Term[] = [];
  for (const t of e.terms) {
    const m = t.map;
    if (m.kind === 'diag') terms.push({ ...t, map: { kind: 'diag', s: m.s ? m.s.map((v, i) => v * c[i]) : Float64Array.from(c) } });
    else if (m.kind === 'dense') terms.push({ ...t, map: { kind: 'dense', W: m.W.map((v, k) => v * c[Math.floor(k / t.size)]) } });
    else if (m.kind === 'gather') {
      if (!c.every((v) => v === 1)) return null;
      terms.push(t);
    } else {
      const op = scaleOutputChannels(m.op, c);
      if (!op) return null;
      terms.push({ ...t, map: { ...m, op } });
    }
  }
  return { terms, bias: e.bias.map((v, i) => v * c[i]) };
}

/** A convolution whose output channel o is scaled by c (constant over the channel), or null. */
function scaleOutputChannels(op: ConvOp | AvgPoolOp, c: Float64Array): ConvOp | null {
  if (op.kind !== 'conv') return null;
  const [ch, h, w] = op.transposed ? op.image : op.features;
  const per = perChannel(c, ch, h * w);
  if (!per) return null;
  const kk = op.kernel[0] * op.kernel[1];
  const weights = Float64Array.from(op.weights);
  if (!op.transposed) {
    const block = (op.image[0] / op.groups) * kk;
    for (let o = 0; o < ch; o++) for (let k = 0; k < block; k++) weights[o * block + k] *= per[o];
  } else {
    // ConvTranspose weights [C_in][C_out / groups][kh][kw]: output channel m = group · (C_out / groups) + m'.
    const gm = ch / op.groups;
    const gin = op.features[0] / op.groups;
    for (let c0 = 0; c0 < op.features[0]; c0++) {
      const g = Math.floor(c0 / gin);
      for (let mi = 0; mi < gm; mi++) for (let k = 0; k < kk; k++) weights[(c0 * gm + mi) * kk + k] *= per[g * gm + mi];
    }
  }
  return { ...op, weights };
}

/** The value of each channel when `c` is constant over every channel's `inner` features, else null. */
export function perChannel(c: ArrayLike<number>, channels: number, inner: number): Float64Array | null {
  const out = new Float64Array(channels);
  for (let ch = 0; ch < channels; ch++) {
    const v = c[ch * inner];
    for (let k = 1; k < inner; k++) if (!Object.is(c[ch * inner + k], v)) return null;
    out[ch] = v;
  }
  return out;
}

/** e + s·c (c per feature). */
export function shiftExpr(e: Expr, c: ArrayLike<number>, s: number): Expr {
  return { terms: e.terms, bias: e.bias.map((v, i) => v + s * c[i]) };
}

/** −e: diagonal and dense maps and the bias multiplied by −1 (exact, as scaling always did), other maps negated. */
export function negateExpr(e: Expr): Expr {
  const minus = new Float64Array(e.bias.length).fill(-1);
  const terms = e.terms.map((t): Term => {
    const m = t.map;
    if (m.kind === 'gather' || m.kind === 'op') return { ...t, map: { ...m, negate: !m.negate } };
    return scaleExpr({ terms: [t], bias: minus }, minus)!.terms[0];
  });
  return { terms, bias: e.bias.map((v) => v * -1) };
}

/** The dense matrix (out × size) of a diagonal or dense map. */
function denseOf(t: Term, out: number): Float64Array {
  const m = t.map;
  if (m.kind === 'dense') return m.W;
  if (m.kind !== 'diag') throw new RangeError('denseOf: not a diagonal or dense map');
  const W = new Float64Array(out * t.size);
  for (let i = 0; i < out; i++) W[i * t.size + i] = m.s ? m.s[i] : 1;
  return W;
}

/** x + y; a term of y from the same value as a diagonal or dense term of x merges into it. */
export function addExprs(x: Expr, y: Expr): Expr {
  const terms = [...x.terms];
  const out = x.bias.length;
  for (const t of y.terms) {
    const i = terms.findIndex((u) => u.from === t.from && (u.map.kind === 'diag' || u.map.kind === 'dense'));
    if (i < 0 || !(t.map.kind === 'diag' || t.map.kind === 'dense')) {
      terms.push(t);
      continue;
    }
    const u = terms[i];
    if (u.map.kind === 'diag' && t.map.kind === 'diag') {
      const su = u.map.s ?? new Float64Array(out).fill(1);
      const st = t.map.s ?? new Float64Array(out).fill(1);
      terms[i] = { ...u, map: { kind: 'diag', s: su.map((v, k) => v + st[k]) } };
    } else {
      const wt = denseOf(t, out);
      terms[i] = { ...u, map: { kind: 'dense', W: denseOf(u, out).map((v, k) => v + wt[k]) } };
    }
  }
  return { terms, bias: x.bias.map((v, i) => v + y.bias[i]) };
}

/**
 * e · B on the last axis: features [R, K] → [R, N] (B row-major K × N). Diagonal, dense and
 * gather terms compose; returns null when a term cannot (the caller materialises).
 */
export function rightMultiply(e: Expr, B: Float64Array, R: number, K: number, N: number): Expr | null {
  const outDim = R * N;
  const terms: Term[] = [];
  for (const t of e.terms) {
    const m = t.map;
    if (m.kind === 'op') return null;
    const base = t.size;
    const W = new Float64Array(outDim * base);
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < K; k++) {
        const row = r * K + k;
        if (m.kind === 'diag' || m.kind === 'gather') {
          const col = m.kind === 'diag' ? row : m.index[row];
          if (col < 0) continue;
          const s = m.kind === 'diag' ? (m.s ? m.s[row] : 1) : m.negate ? -1 : 1;
          for (let j = 0; j < N; j++) W[(r * N + j) * base + col] += B[k * N + j] * s;
        } else {
          const src = m.W.subarray(row * base, (row + 1) * base);
          for (let j = 0; j < N; j++) {
            const c = B[k * N + j];
            if (c === 0) continue;
            const dst = (r * N + j) * base;
            for (let q = 0; q < base; q++) W[dst + q] += c * src[q];
          }
        }
      }
    }
    terms.push({ ...t, map: { kind: 'dense', W } });
  }
  const b = new Float64Array(outDim);
  for (let r = 0; r < R; r++)
    for (let k = 0; k < K; k++) {
      const bk = e.bias[r * K + k];
      for (let j = 0; j < N; j++) b[r * N + j] += B[k * N + j] * bk;
    }
  return mergeDense({ terms, bias: b });
}

/** Dense terms of the same value summed into one (a gathered or concatenated value read several times). */
function mergeDense(e: Expr): Expr {
  const terms: Term[] = [];
  for (const t of e.terms) {
    const u = terms.findIndex((v) => v.from === t.from && v.map.kind === 'dense' && t.map.kind === 'dense');
    if (u < 0) {
      terms.push(t);
      continue;
    }
    const a = (terms[u].map as { W: Float64Array }).W;
    const b = (t.map as { W: Float64Array }).W;
    terms[u] = { ...terms[u], map: { kind: 'dense', W: a.map((v, k) => v + b[k]) } };
  }
  return { terms, bias: e.bias };
}

/** L · e for a dense L (out × features); null when a term cannot compose (the caller materialises). */
export function leftMultiply(e: Expr, L: Float64Array, out: number): Expr | null {
  const inDim = e.bias.length;
  const terms: Term[] = [];
  for (const t of e.terms) {
    const m = t.map;
    if (m.kind === 'op') return null;
    const W = new Float64Array(out * t.size);
    for (let i = 0; i < out; i++) {
      for (let k = 0; k < inDim; k++) {
        const c = L[i * inDim + k];
        if (c === 0) continue;
        if (m.kind === 'diag') W[i * t.size + k] += c * (m.s ? m.s[k] : 1);
        else if (m.kind === 'gather') {
          if (m.index[k] >= 0) W[i * t.size + m.index[k]] += m.negate ? -c : c;
        } else for (let q = 0; q < t.size; q++) W[i * t.size + q] += c * m.W[k * t.size + q];
      }
    }
    terms.push({ ...t, map: { kind: 'dense', W } });
  }
  const b = new Float64Array(out);
  for (let i = 0; i < out; i++) for (let k = 0; k < inDim; k++) b[i] += L[i * inDim + k] * e.bias[k];
  return mergeDense({ terms, bias: b });
}

/** out_i = e_{index_i} (0 where index_i = −1); null when a term cannot compose. */
export function gatherExpr(e: Expr, index: Int32Array): Expr | null {
  // An identity map (a Pad of zeros, a Slice of everything, a trivial Transpose, a max over every output) changes nothing.
  if (index.length === e.bias.length && index.every((k, i) => k === i)) return e;
  const terms: Term[] = [];
  const out = index.length;
  for (const t of e.terms) {
    const m = t.map;
    if (m.kind === 'diag') {
      // A uniform sign is a negated gather; any other scaling does not compose with an index map.
      const sign = !m.s || m.s.every((v) => v === 1) ? 1 : m.s.every((v) => v === -1) ? -1 : 0;
      if (sign === 0) return null;
      terms.push(gatherTerm(t, index, sign < 0));
    } else if (m.kind === 'gather') {
      terms.push(
        gatherTerm(
          t,
          index.map((i) => (i < 0 ? -1 : m.index[i])),
          m.negate,
        ),
      );
    } else if (m.kind === 'dense') {
      const W = new Float64Array(out * t.size);
      index.forEach((i, r) => {
        if (i >= 0) W.set(m.W.subarray(i * t.size, (i + 1) * t.size), r * t.size);
      });
      terms.push({ ...t, map: { kind: 'dense', W } });
    } else return null;
  }
  return { terms, bias: Float64Array.from(index, (i) => (i < 0 ? 0 : e.bias[i])) };
}

/**
 * The zero padding an index map performs, when it is one: out [C, H + top + bottom, W + left + right]
 * reads in [C, H, W] at (y − top, x − left) and zero elsewhere.
 */
function zeroPadding(
  index: Int32Array,
  channels: number,
  outH: number,
  outW: number,
  size: number,
): [number, number, number, number] | null {
  if (index.length !== channels * outH * outW || size % channels !== 0) return null;
  const first = index.indexOf(0);
  if (first < 0 || first >= outH * outW) return null;
  const top = Math.floor(first / outW);
  const left = first % outW;
  let W = 0;
  while (left + W < outW && index[top * outW + left + W] === W) W++;
  const H = size / channels / W;
  if (!Number.isInteger(H) || top + H > outH) return null;
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < outH; y++)
      for (let x = 0; x < outW; x++) {
        const inside = y >= top && y < top + H && x >= left && x < left + W;
        const want = inside ? (c * H + y - top) * W + x - left : -1;
        if (index[(c * outH + y) * outW + x] !== want) return null;
      }
  return [top, left, outH - top - H, outW - left - W];
}

/** `op` reading an image padded by `pad` directly from the unpadded image (its own pads grown), or null. */
function absorbPadding(op: ConvOp | AvgPoolOp, m: TermMap, size: number): ConvOp | AvgPoolOp | null {
  if (m.kind !== 'gather' || m.negate) return null;
  if (op.kind === 'conv' && op.transposed) return null;
  // Zero padding is data to a pooling that does not count padding: only count_include_pad pools absorb it.
  if (op.kind === 'avgPool' && !op.countIncludePad) return null;
  const [c, h, w] = op.kind === 'conv' ? op.image : [op.channels, op.image[0], op.image[1]];
  const p = zeroPadding(m.index, c, h, w, size);
  if (!p) return null;
  const pads: [number, number, number, number] = [op.pads[0] + p[0], op.pads[1] + p[1], op.pads[2] + p[2], op.pads[3] + p[3]];
  const inner: [number, number] = [h - p[0] - p[2], w - p[1] - p[3]];
  return op.kind === 'conv' ? { ...op, image: [c, inner[0], inner[1]], pads } : { ...op, image: inner, pads };
}

/** Term t's source through `index` (negated): an identity map is the value itself (times −1). */
function gatherTerm(t: Term, index: Int32Array, negate: boolean): Term {
  if (index.length === t.size && index.every((k, i) => k === i))
    return { ...t, map: { kind: 'diag', s: negate ? new Float64Array(t.size).fill(-1) : null } };
  return { ...t, map: { kind: 'gather', index, negate } };
}

/** A convolution or pooling applied to e (input channel scalings fold into convolution weights); null when a term cannot compose. */
export function applyOp(e: Expr, op: ConvOp | AvgPoolOp): Expr | null {
  const terms: Term[] = [];
  for (const t of e.terms) {
    const m = t.map;
    const padded = absorbPadding(op, m, t.size);
    if (padded) {
      terms.push({ ...t, map: { kind: 'op', op: padded, negate: false } });
      continue;
    }
    if (m.kind !== 'diag') return null;
    if (!m.s) {
      terms.push({ ...t, map: { kind: 'op', op, negate: false } });
      continue;
    }
    const folded = scaleInputChannels(op, m.s);
    if (!folded) return null;
    terms.push({ ...t, map: { kind: 'op', op: folded, negate: false } });
  }
  const bias = new Float64Array(outputsOf(op));
  forwardAdd(op as LinearOp, e.bias, bias);
  return { terms, bias };
}

function outputsOf(op: ConvOp | AvgPoolOp): number {
  if (op.kind === 'avgPool') return op.channels * op.output[0] * op.output[1];
  const s = op.transposed ? op.image : op.features;
  return s[0] * s[1] * s[2];
}

/** A convolution reading input channel c scaled by s (constant over the channel), or null. */
function scaleInputChannels(op: ConvOp | AvgPoolOp, s: Float64Array): ConvOp | null {
  if (op.kind !== 'conv') return null;
  const [ch, h, w] = op.transposed ? op.features : op.image;
  const per = perChannel(s, ch, h * w);
  if (!per) return null;
  const kk = op.kernel[0] * op.kernel[1];
  const weights = Float64Array.from(op.weights);
  if (!op.transposed) {
    // Weights [C_out][C_in / groups][kh][kw]: input channel g · (C_in / groups) + ci.
    const gp = op.image[0] / op.groups;
    const gq = op.features[0] / op.groups;
    for (let o = 0; o < op.features[0]; o++) {
      const g = Math.floor(o / gq);
      for (let ci = 0; ci < gp; ci++) for (let k = 0; k < kk; k++) weights[(o * gp + ci) * kk + k] *= per[g * gp + ci];
    }
  } else {
    // ConvTranspose weights [C_in][C_out / groups][kh][kw].
    const block = (op.image[0] / op.groups) * kk;
    for (let c = 0; c < ch; c++) for (let k = 0; k < block; k++) weights[c * block + k] *= per[c];
  }
  return { ...op, weights };
}
