/**
 * The repaired network f̂ = f + Σ_A h_A (twin of crates/core/src/repaired.rs). Still one ReLU
 * network; evaluated in the core, where every point outside all supports gets the original
 * output bit for bit.
 */
import { type Box, CoreBacked, type Network, type Points, flattenPoints, unflatten } from './network.js';
import { type RegionPatch, patchDescriptor } from './patch.js';
import type { Core } from './wasm/raw.js';

/**
 * The input box as one indicator shared by every patch (crates/core/src/patch.rs `BoxGate`):
 * B(x) = ReLU(Σ_j [clamp(γ(u_j − x_j) + 1, 0, 1) + clamp(γ(x_j − l_j) + 1, 0, 1)] − 2n + 1),
 * and each support becomes ReLU(Σ_i g_i + B − m). Exactly the support over the patch rows plus
 * the box faces, without repeating 2n box rows in every patch.
 */
export interface BoxGate {
  lower: readonly number[];
  upper: readonly number[];
  radius: number;
}

export class RepairedNetwork extends CoreBacked {
  readonly inputSize: number;
  readonly outputSize: number;

  constructor(
    readonly original: Network,
    readonly patches: readonly RegionPatch[],
    /** The input domain the regions were computed in. */
    readonly inputBox?: Box,
    /** Shared box indicator gating every patch (patches then carry no box rows). */
    readonly boxGate?: BoxGate,
  ) {
    super();
    this.inputSize = original.inputSize;
    this.outputSize = original.outputSize;
  }

  protected createHandle(core: Core): number {
    const { handle: net } = this.original.handle();
    const h = core.check(core.guard(() => core.exports.rr_repaired_new(net)), 'repaired network');
    try {
      const gate = this.boxGate;
      if (gate) core.call('box gate', [gate.lower, gate.upper], ([lo, hi]) => core.exports.rr_repaired_set_box_gate(h, lo, hi, gate.radius));
      for (const p of this.patches) {
        const desc = patchDescriptor(p, this.outputSize);
        core.call('add patch', [desc], ([pd]) => core.exports.rr_repaired_add_patch(h, pd, desc.length));
      }
    } catch (e) {
      core.release(h);
      throw e;
    }
    return h;
  }

  forwardFlat(flat: Float64Array, count: number): Float64Array {
    const { core, handle } = this.handle();
    return core.run('repaired forward', [flat], [count * this.outputSize], ([xs, o]) => core.exports.rr_repaired_forward(handle, xs, count, o))[0];
  }

  predict(points: Points): number[][] {
    const { flat, count } = flattenPoints(points, this.inputSize);
    return unflatten(this.forwardFlat(flat, count), this.outputSize);
  }

  /** Support values g_A(x) of every patch at each point (`count × patches`). */
  supportsFlat(flat: Float64Array, count: number): Float64Array {
    const { core, handle } = this.handle();
    return core.run('supports', [flat], [count * this.patches.length], ([xs, o]) => core.exports.rr_repaired_supports(handle, xs, count, o))[0];
  }
}
