/**
 * THE REFERENCE: `ts/formats/onnx/patch-graph.ts` as it was before graph networks (commit 8772b9a), kept verbatim
 * but for its imports, so that tests can check that dense networks still export byte for byte the
 * same. Not part of the library.
 */
/**
 * Patch networks as ONNX sub-graphs (METHOD.md §2, clamp gating; twin of the evaluator in
 * crates/core/src/repaired.rs): supports from dense rows or, compactly, from the original
 * network's own pre-activations and each patch's activation pattern; the shared box gate; constant
 * and clamped affine patches; and the chain of constant patches (docs/COMPOSITION.md).
 */
import { InputError } from '../../ts/errors.js';
import type { Network } from '../../ts/network.js';
import { boxFace, type PatchNetwork, patternFromHex, type RegionPatch } from '../../ts/patch.js';
import type { BoxGate } from '../../ts/repaired.js';
import type { GraphBuilder } from './onnx-dense-graph-builder.js';

/**
 * The support g_A(x) of one patch, from its rows (a_i·x <= b_i, normalised) and radius r, as an
 * [N, 1] tensor, optionally gated by a shared group value `gate` ∈ [0, 1] (the box indicator B).
 * Emitted as
 *
 *   g_A(x) = ReLU( G − Σ_i ReLU(γ (a_i·x − b_i)) ),   γ = 1/r,  G = gate (or 1),
 *
 * which is the same function as the core's ReLU(Σ_i [ReLU(γ s_i + 1) − ReLU(γ s_i)] + G − m)
 * (METHOD.md §2; G = 1 without a gate): with u_i = ReLU(−γ s_i) >= 0 the bracket is
 * 1 − min(1, u_i), so the argument is G − Σ_i min(1, u_i); if every u_i <= 1 that is G − Σ_i u_i,
 * and if some u_i > 1 both forms are <= G − 1 <= 0 and the outer ReLU gives 0. This form needs
 * one ReLU per row instead of two, is exactly G on the region (every u_i = 0) and exactly 0 once
 * Σ_i u_i >= G, even in float32. Axis-aligned rows (box faces) are emitted as element-wise ops
 * instead of dense rows. The one place that builds a support (the shared box gate is one too).
 */
export function emitSupport(
  g: GraphBuilder,
  x: string,
  n: number,
  A: Float64Array,
  b: Float64Array,
  radius: number,
  prefix: string,
  gate?: string,
): string {
  return combineSupport(g, x, n, emitRowTerms(g, x, n, A, b, 1 / radius, prefix), prefix, gate);
}

/** The terms −Σ_i ReLU(γ (a_i·x − b_i)) of dense rows, as [N, 1] tensors (see {@link emitSupport}). */
function emitRowTerms(g: GraphBuilder, x: string, n: number, A: Float64Array, b: Float64Array, gamma: number, prefix: string): string[] {
  const m = b.length;
  const upper = new Map<number, number>(); // x_j <= b
  const lower = new Map<number, number>(); // -x_j <= b
  const general: number[] = [];
  for (let i = 0; i < m; i++) {
    const face = boxFace(A.subarray(i * n, (i + 1) * n));
    const side = face ? (face.sign === 1 ? upper : lower) : undefined;
    if (face && side && !side.has(face.input)) side.set(face.input, b[i]);
    else general.push(i);
  }
  const negSums: string[] = [];
  if (general.length > 0) {
    const W = new Float64Array(general.length * n);
    const c = new Float64Array(general.length);
    general.forEach((r, k) => {
      for (let j = 0; j < n; j++) W[k * n + j] = gamma * A[r * n + j];
      c[k] = -gamma * b[r];
    });
    const e = g.op('Relu', [g.gemm(x, W, general.length, n, c, `${prefix}_rows`)]);
    negSums.push(g.op('MatMul', [e, g.init(`${prefix}_neg_ones`, [general.length, 1], new Float64Array(general.length).fill(-1))]));
  }
  for (const [side, sign] of [
    [upper, 1],
    [lower, -1],
  ] as const) {
    if (side.size === 0) continue;
    const s = new Float64Array(n);
    const c = new Float64Array(n);
    for (const [j, bj] of side) {
      s[j] = sign * gamma;
      c[j] = -gamma * bj;
    }
    const scaled = g.op('Mul', [x, g.init(`${prefix}_${sign > 0 ? 'up' : 'lo'}_scale`, [n], s)]);
    const e = g.op('Relu', [g.op('Add', [scaled, g.init(`${prefix}_${sign > 0 ? 'up' : 'lo'}_offset`, [n], c)])]);
    negSums.push(g.op('MatMul', [e, g.init(`${prefix}_${sign > 0 ? 'up' : 'lo'}_neg_ones`, [n, 1], new Float64Array(n).fill(-1))]));
  }
  return negSums;
}

/** g = ReLU(G + Σ terms) as an [N, 1] tensor; no terms: the gate, or 1. */
function combineSupport(g: GraphBuilder, x: string, n: number, negSums: string[], prefix: string, gate?: string): string {
  // No rows: the support is the gate, or 1 (as an [N, 1] tensor: 0·x + 1).
  if (negSums.length === 0)
    return (
      gate ?? g.op('Add', [g.op('MatMul', [x, g.init(`${prefix}_zero`, [n, 1], new Float64Array(n))]), g.init(`${prefix}_one`, [1], [1])])
    );
  let acc = g.op('Add', [negSums[0], gate ?? g.init(`${prefix}_one`, [1], [1])]);
  for (const s of negSums.slice(1)) acc = g.op('Add', [acc, s]);
  return g.op('Relu', [acc], [], `${prefix}_g`);
}

/**
 * What the original network's branch exposes to the patch branches: each layer's pre-activation
 * tensor and weight/bias initializers, so that supports can be computed from them.
 */
export interface NetworkBranch {
  net: Network;
  pre: string[];
  W: string[];
  b: string[];
}

/**
 * A compact support, from the rows' provenance (ts/patch.ts `SupportRows`): row i is neuron k's
 * pre-activation in the network linearised at the patch's activation pattern, scaled:
 * a_i·x − b_i = σ_k z_k(x) / norm_i (σ = −1 for an active neuron). The linearised
 * pre-activations reuse the original branch: layer 1's is the original z1 itself, deeper ones are
 * the original weights (shared initializers) applied to the masked previous layer. Per patch this
 * costs a 0/1 mask and a coefficient per neuron instead of a dense row per neuron (MNIST: ~1.5k
 * numbers instead of 512 × 785). Input-set rows stay dense rows.
 */
function emitPatternSupport(
  g: GraphBuilder,
  x: string,
  n: number,
  branch: NetworkBranch,
  p: RegionPatch,
  prefix: string,
  gate?: string,
): string {
  const gamma = 1 / p.radius;
  const rows = p.rows!;
  const net = branch.net;
  const hidden = net.hiddenCount;
  const bits = patternFromHex(p.region.pattern, hidden, `${prefix}.region.pattern`);
  // Global hidden index -> (layer, unit).
  const layerOf: number[] = [];
  const unitOf: number[] = [];
  const offsetOf: number[] = [];
  let off = 0;
  net.layers.forEach((l, li) => {
    offsetOf.push(off);
    if (!l.relu) return;
    for (let u = 0; u < l.outputs; u++) {
      layerOf.push(li);
      unitOf.push(u);
    }
    off += l.outputs;
  });
  const coef = new Map<number, Float64Array>();
  const denseRows: number[] = [];
  for (let i = 0; i < rows.index.length; i++) {
    const k = rows.neuron[i];
    if (k < 0) {
      denseRows.push(i);
      continue;
    }
    const li = layerOf[k];
    if (!coef.has(li)) coef.set(li, new Float64Array(net.layers[li].outputs));
    coef.get(li)![unitOf[k]] = (gamma * (bits[k] ? -1 : 1)) / rows.norm[i];
  }
  const terms: string[] = [];
  const top = coef.size ? Math.max(...coef.keys()) : -1;
  let z = branch.pre[0];
  for (let li = 0; li <= top; li++) {
    if (li > 0) {
      const prev = net.layers[li - 1];
      let h = z;
      if (prev.relu) {
        const mask = Float64Array.from({ length: prev.outputs }, (_, u) => bits[offsetOf[li - 1] + u]);
        h = g.op('Mul', [z, g.init(`${prefix}_mask${li - 1}`, [prev.outputs], mask)]);
      }
      z = g.op('Gemm', [h, branch.W[li], branch.b[li]], [{ name: 'transB', i: 1 }]);
    }
    const c = coef.get(li);
    if (!c) continue;
    const units = net.layers[li].outputs;
    const e = g.op('Relu', [g.op('Mul', [z, g.init(`${prefix}_coef${li}`, [units], c)])]);
    terms.push(g.op('MatMul', [e, g.init(`${prefix}_neg_ones${li}`, [units, 1], new Float64Array(units).fill(-1))]));
  }
  if (denseRows.length > 0) {
    const A = new Float64Array(denseRows.length * n);
    const b = new Float64Array(denseRows.length);
    denseRows.forEach((i, r) => {
      A.set(p.A.subarray(i * n, (i + 1) * n), r * n);
      b[r] = p.b[i];
    });
    terms.push(...emitRowTerms(g, x, n, A, b, gamma, `${prefix}_input`));
  }
  return combineSupport(g, x, n, terms, prefix, gate);
}

/** Whether a patch's support can be emitted in the compact form. */
function hasPatternRows(p: PatchNetwork): p is RegionPatch {
  const r = p as RegionPatch;
  return r.rows !== undefined && typeof r.region?.pattern === 'string' && r.rows.index.length === p.b.length;
}

/**
 * The shared box indicator B(x) of a repaired network (ts/repaired.ts `BoxGate`): the support of
 * the 2n box faces with the gate's radius, emitted by {@link emitSupport}.
 */
export function emitBoxGate(g: GraphBuilder, x: string, n: number, box: BoxGate): string {
  const A = new Float64Array(2 * n * n);
  const b = new Float64Array(2 * n);
  for (let j = 0; j < n; j++) {
    A[2 * j * n + j] = 1; // x_j <= u_j
    b[2 * j] = box.upper[j];
    A[(2 * j + 1) * n + j] = -1; // -x_j <= -l_j
    b[2 * j + 1] = -box.lower[j];
  }
  return emitSupport(g, x, n, A, b, box.radius, 'box_gate');
}

/** The support g_A(x) of a patch as an [N, 1] tensor. */
function emitPatchSupport(
  g: GraphBuilder,
  x: string,
  n: number,
  p: PatchNetwork,
  prefix: string,
  boxGate: string | undefined,
  branch: NetworkBranch,
  compact: boolean,
): string {
  return compact && hasPatternRows(p)
    ? emitPatternSupport(g, x, n, branch, p, prefix, boxGate)
    : emitSupport(g, x, n, p.A, p.b, p.radius, prefix, boxGate);
}

/** The patch h_A(x) as an [N, k] tensor (METHOD.md §2, clamp gating). */
export function emitPatch(
  g: GraphBuilder,
  x: string,
  n: number,
  k: number,
  p: PatchNetwork,
  prefix: string,
  boxGate: string | undefined,
  branch: NetworkBranch,
  compact: boolean,
): string {
  const gate = emitPatchSupport(g, x, n, p, prefix, boxGate, branch, compact);
  if (p.kind === 'constant') return g.op('MatMul', [gate, g.init(`${prefix}_d`, [1, k], p.d)]);
  if (!p.C || !p.H) throw new InputError('affine patch without C or H', { field: prefix });
  const lin = g.gemm(x, p.C, k, n, p.d, `${prefix}_affine`);
  const hg = g.op('MatMul', [gate, g.init(`${prefix}_H`, [1, k], p.H)]);
  const up = g.op('Relu', [g.op('Add', [lin, hg])]);
  const dn = g.op('Relu', [g.op('Sub', [lin, hg])]);
  return g.op('Sub', [g.op('Sub', [up, dn]), hg]);
}

/**
 * The constant patches composed as a chain (ts/repaired.ts `Composition`): from the last patch
 * back, w_i = Relu(g_i − U), U ← U + w_i, and the terms d_i·w_i, as [N, k] tensors.
 */
export function emitChain(
  g: GraphBuilder,
  x: string,
  n: number,
  k: number,
  patches: { p: PatchNetwork; a: number }[],
  boxGate: string | undefined,
  branch: NetworkBranch,
  compact: boolean,
): string[] {
  const terms: string[] = [];
  let U: string | undefined;
  for (let t = patches.length - 1; t >= 0; t--) {
    const { p, a } = patches[t];
    const gi = emitPatchSupport(g, x, n, p, `patch${a}`, boxGate, branch, compact);
    const w = U === undefined ? gi : g.op('Relu', [g.op('Sub', [gi, U])]);
    U = U === undefined ? w : g.op('Add', [U, w]);
    terms.push(g.op('MatMul', [w, g.init(`patch${a}_d`, [1, k], p.d)]));
  }
  return terms;
}
