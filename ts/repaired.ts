/**
 * The repaired network f̂ = f + Σ_A h_A (twin of crates/core/src/repaired.rs). Still one ReLU
 * network; evaluated in the core, where every point outside all supports gets the original
 * output bit for bit.
 */
import { InputError } from './errors.js';
import { type Box, CoreBacked, flattenPoints, type Network, type Points, unflatten } from './network.js';
import type { PatchNetwork, RegionPatch } from './patch.js';
import * as abi from './wasm/abi.js';
import type { Core } from './wasm/raw.js';

/**
 * The input box as one indicator shared by every patch (crates/core/src/gate.rs `BoxGate`):
 * B(x) = ReLU(Σ_j [clamp(γ(u_j − x_j) + 1, 0, 1) + clamp(γ(x_j − l_j) + 1, 0, 1)] − 2n + 1),
 * and each support becomes ReLU(Σ_i g_i + B − m). Exactly the support over the patch rows plus
 * the box faces, without repeating 2n box rows in every patch.
 */
export interface BoxGate {
  lower: readonly number[];
  upper: readonly number[];
  radius: number;
}

/**
 * How the constant patches are combined (METHOD.md §4; crates/core/src/repaired.rs):
 * - `sum`: f + Σ_i d_i g_i(x).
 * - `chain`: in patch order, f + Σ_i d_i w_i(x) with w_i = ReLU(g_i − U_{i+1}),
 *   U_i = U_{i+1} + w_i = max_{l >= i} g_l. At every x the patches are mixed convexly (weights
 *   sum to max_i g_i <= 1, the rest is "no patch"), so the output never leaves the convex spec
 *   when every patch whose band covers x is valid there; on a patched region only that patch and
 *   later ones count. Affine patches are always added as a sum.
 */
export type Composition = abi.NameOf<typeof abi.Composition>;

/**
 * A patch as `rr_repaired_add_patch` takes it: its header (JSON) and parameters (crates/wasm/src/patch.rs).
 * Malformed patches are InputErrors naming the field.
 */
function patchArgs(p: PatchNetwork, inputs: number, outputs: number): [abi.Utf8, Float64Array] {
  const affine = p.kind === 'affine';
  if (affine && (!p.C || !p.H)) throw new InputError('an affine patch needs C and H', { field: p.C ? 'H' : 'C' });
  if (p.d.length !== outputs)
    throw new InputError(`has ${p.d.length} outputs, the network has ${outputs}`, { field: 'd', value: p.d.length });
  const rows = p.b.length;
  const header = abi.json(abi.PATCH_HEADER, { kind: affine ? 'affine' : 'constant', rows, radius: p.radius });
  const dims = { rows, inputs, outputs };
  if (!affine) return [header, abi.encode(abi.CONSTANT_PATCH, dims, { A: p.A, b: p.b, d: p.d })];
  return [header, abi.encode(abi.AFFINE_PATCH, dims, { A: p.A, b: p.b, C: p.C!, d: p.d, H: p.H! })];
}

/**
 * What a repair made (saved with the network, checked by `certify`; never evidence for a
 * certificate): the area of an area repair, the spec (as convex pieces), the activation patterns
 * of the regions it patched, the boxes it patched as a whole (box patches, ts/box-patch.ts), and
 * the number of patches of the finished network.
 */
export interface RepairRecord {
  kind: 'area' | 'points';
  area?: { lower: number[]; upper: number[]; A?: number[][]; b?: number[] };
  spec?: { pieces: { P: number[][]; q: number[] }[] };
  regions: string[];
  /**
   * Boxes patched as a whole: where `certify` re-proves the spec by bounds on the file's own
   * parameters (the record says only where to look). `piece`: the convex piece of a union spec
   * the box was mapped into. Absent in files written before box patches were recorded.
   */
  boxes?: RecordBox[];
  patches: number;
}

export interface RecordBox {
  lower: number[];
  upper: number[];
  piece?: number;
}

/** The boxes of the box patches among `patches` (those whose region carries a `box`), in order, as the record names them. */
export function recordBoxesOf(patches: readonly RegionPatch[]): RecordBox[] {
  return patches.flatMap((p) => {
    const b = p.region?.box;
    if (!b) return [];
    return [{ lower: [...b.lower], upper: [...b.upper], ...(p.region.specPiece !== undefined ? { piece: p.region.specPiece } : {}) }];
  });
}

export class RepairedNetwork extends CoreBacked {
  readonly inputSize: number;
  readonly outputSize: number;
  /** What the repair that made this network recorded (see {@link RepairRecord}). */
  record?: RepairRecord;

  constructor(
    readonly original: Network,
    readonly patches: readonly RegionPatch[],
    /** The input domain the regions were computed in. */
    readonly inputBox?: Box,
    /** Shared box indicator gating every patch (patches then carry no box rows). */
    readonly boxGate?: BoxGate,
    /** Composition of the constant patches (default `sum`). */
    readonly composition: Composition = 'sum',
  ) {
    super();
    this.inputSize = original.inputSize;
    this.outputSize = original.outputSize;
  }

  protected createHandle(core: Core): number {
    const { handle: net } = this.original.handle();
    const h = core.check(
      core.guard(() => core.exports.rr_repaired_new(net)),
      'repaired network',
    );
    try {
      const gate = this.boxGate;
      if (gate)
        core.call('box gate', [gate.lower, gate.upper], ([lo, hi]) => core.exports.rr_repaired_set_box_gate(h, lo, hi, gate.radius));
      if (this.composition === 'chain')
        core.check(core.exports.rr_repaired_set_composition(h, abi.code(abi.Composition, 'chain')), 'composition');
      for (const p of this.patches) {
        const [header, params] = patchArgs(p, this.inputSize, this.outputSize);
        core.call('add patch', [header, params], ([ph, pp], [hl, pl]) => core.exports.rr_repaired_add_patch(h, ph, hl, pp, pl));
      }
    } catch (e) {
      core.release(h);
      throw e;
    }
    return h;
  }

  forwardFlat(flat: Float64Array, count: number): Float64Array {
    const { core, handle } = this.handle();
    return core.run('repaired forward', [flat], [count * this.outputSize], ([xs, o]) =>
      core.exports.rr_repaired_forward(handle, xs, count, o),
    )[0];
  }

  predict(points: Points): number[][] {
    const { flat, count } = flattenPoints(points, this.inputSize);
    return unflatten(this.forwardFlat(flat, count), this.outputSize);
  }

  /** Weight of every patch at each point (`count × patches`): the chain weight w_i for chain
   * composition, the support g_i otherwise. */
  weightsFlat(flat: Float64Array, count: number): Float64Array {
    const { core, handle } = this.handle();
    return core.run('weights', [flat], [count * this.patches.length], ([xs, o]) =>
      core.exports.rr_repaired_weights(handle, xs, count, o),
    )[0];
  }

  /** Support values g_A(x) of every patch at each point (`count × patches`). */
  supportsFlat(flat: Float64Array, count: number): Float64Array {
    const { core, handle } = this.handle();
    return core.run('supports', [flat], [count * this.patches.length], ([xs, o]) =>
      core.exports.rr_repaired_supports(handle, xs, count, o),
    )[0];
  }
}
