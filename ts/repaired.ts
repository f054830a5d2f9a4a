/**
 * The repaired network f̂ = f + Σ_A h_A (twin of crates/core/src/repaired.rs). Still one ReLU
 * network; evaluated in the core, where every point outside all supports gets the original
 * output bit for bit.
 */
import type { AreaProof } from './area-proof.js';
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
 * Where the handle keeps the patches' support rows (crates/core/src/patch.rs `Support`, one type,
 * two storages): `dense` copies every row into the core; `shared` has the rows that are rows of
 * the network's first ReLU layer (the same hyperplanes in every region) read from one table per
 * repaired network, and copies only the others; `auto` shares them from 32 inputs and 4 patches
 * on (below, copying the patches' rows costs less than building the table: a one-point MNIST
 * repair was ~10 % slower with it). Both evaluate the same function bit for bit.
 */
export type SupportStorage = 'auto' | 'dense' | 'shared';

/** Inputs and patches from which `auto` storage shares rows. */
const SHARED_FROM_INPUTS = 32;
const SHARED_FROM_PATCHES = 4;

/** The + rows of the first-layer table of a network as a core instance built them, by network. */
const tables = new WeakMap<Network, { core: Core; rows: Float64Array }>();

/**
 * Per support-row matrix: which rows are table rows (slot 2k: + row of neuron k, 2k + 1: its
 * negation), found by comparing every value, so that a shared support reads exactly the rows
 * the dense one holds. `own` lists the other rows.
 */
interface Sharing {
  slot: Float64Array;
  own: number[];
}
const sharings = new WeakMap<Float64Array, { table: Float64Array; sharing: Sharing }>();

function sharingOf(p: RegionPatch, table: Float64Array, neurons: number, inputs: number): Sharing {
  const cached = sharings.get(p.A);
  if (cached && cached.table === table && cached.sharing.slot.length === p.b.length) return cached.sharing;
  const rows = p.b.length;
  const slot = new Float64Array(rows);
  const own: number[] = [];
  const A = p.A;
  for (let i = 0; i < rows; i++) {
    const k = p.rows && p.rows.neuron.length === rows ? p.rows.neuron[i] : -1;
    let s = -1;
    if (k >= 0 && k < neurons) {
      const a = i * inputs;
      const t = k * inputs;
      // The orientation from the first non-zero table value, then every value compared; `===`
      // with zeros told apart by the sign of 1/v makes it the same bits (rows are finite).
      let j0 = 0;
      while (j0 < inputs && table[t + j0] === 0) j0++;
      const sign = j0 < inputs && A[a + j0] === -table[t + j0] ? -1 : 1;
      let same = true;
      for (let j = 0; j < inputs; j++) {
        const v = A[a + j];
        const w = sign * table[t + j];
        if (v !== w || (v === 0 && 1 / v !== 1 / w)) {
          same = false;
          break;
        }
      }
      if (same) s = sign > 0 ? 2 * k : 2 * k + 1;
    }
    if (s < 0) {
      s = 2 * neurons + own.length;
      own.push(i);
    }
    slot[i] = s;
  }
  const sharing = { slot, own };
  sharings.set(p.A, { table, sharing });
  return sharing;
}

/** A patch whose support reads the table where {@link sharingOf} found its rows there (`rr_repaired_add_shared_patch`). */
function sharedPatchArgs(p: PatchNetwork, sharing: Sharing, inputs: number, outputs: number): [abi.Utf8, Float64Array] {
  const affine = p.kind === 'affine';
  if (affine && (!p.C || !p.H)) throw new InputError('an affine patch needs C and H', { field: p.C ? 'H' : 'C' });
  if (p.d.length !== outputs)
    throw new InputError(`has ${p.d.length} outputs, the network has ${outputs}`, { field: 'd', value: p.d.length });
  const rows = p.b.length;
  const own = sharing.own.length;
  const A = new Float64Array(own * inputs);
  sharing.own.forEach((i, r) => A.set(p.A.subarray(i * inputs, (i + 1) * inputs), r * inputs));
  const header = abi.json(abi.SHARED_PATCH_HEADER, { kind: affine ? 'affine' : 'constant', rows, own, radius: p.radius });
  const dims = { rows, own, inputs, outputs };
  const slot = sharing.slot;
  if (!affine) return [header, abi.encode(abi.SHARED_CONSTANT_PATCH, dims, { slot, A, b: p.b, d: p.d })];
  return [header, abi.encode(abi.SHARED_AFFINE_PATCH, dims, { slot, A, b: p.b, C: p.C!, d: p.d, H: p.H! })];
}

/** Reservations below this size are not worth a call. */
const RESERVE_FROM_BYTES = 64 * 2 ** 20;

/**
 * Grows the core's memory once for every patch a handle will hold (its rows as stored, its
 * slots, b and map), by allocating that much and freeing it: the allocator then carves the patches from
 * memory grown in one step instead of growing it patch by patch, each growth step costing more
 * than the copy it makes room for (a 784-256-256-10 patch: ~2× the time to add it).
 */
function reserve(
  core: Core,
  patches: readonly PatchNetwork[],
  sharings: readonly (Sharing | undefined)[],
  inputs: number,
  outputs: number,
): void {
  let values = 0;
  patches.forEach((p, i) => {
    const s = sharings[i];
    const rows = s && s.own.length < p.b.length ? s.own.length : p.b.length;
    values += rows * inputs + p.b.length * 2 + (p.C ? p.C.length + 2 * outputs : 0) + outputs;
  });
  const bytes = values * 8 + patches.length * 256;
  if (bytes < RESERVE_FROM_BYTES || inputs === 0) return;
  core.guard(() => {
    const ptr = core.exports.rr_alloc(bytes);
    core.exports.rr_free(ptr, bytes);
  });
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
  /**
   * Area repairs by branch and bound: the pieces the area's box was split into and how each was
   * proven (ts/area-proof.ts), so that `certify --area` re-proves the file piece by piece instead
   * of enumerating every region. Says where to look only; never evidence.
   */
  proof?: AreaProof;
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
  private rowCounts = { shared: 0, own: 0 };

  constructor(
    readonly original: Network,
    readonly patches: readonly RegionPatch[],
    /** The input domain the regions were computed in. */
    readonly inputBox?: Box,
    /** Shared box indicator gating every patch (patches then carry no box rows). */
    readonly boxGate?: BoxGate,
    /** Composition of the constant patches (default `sum`). */
    readonly composition: Composition = 'sum',
    /** Storage of the support rows in the core (see {@link SupportStorage}). */
    readonly storage: SupportStorage = 'auto',
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
      const table = this.sharedTable(core, h);
      this.rowCounts = { shared: 0, own: 0 };
      const sharings = this.patches.map((p) =>
        table && p.A.length === p.b.length * this.inputSize ? sharingOf(p, table.rows, table.neurons, this.inputSize) : undefined,
      );
      reserve(core, this.patches, sharings, this.inputSize, this.outputSize);
      for (const [i, p] of this.patches.entries()) {
        const sharing = sharings[i];
        if (sharing && sharing.own.length < p.b.length) {
          const [header, params] = sharedPatchArgs(p, sharing, this.inputSize, this.outputSize);
          core.call('add patch', [header, params], ([ph, pp], [hl, pl]) => core.exports.rr_repaired_add_shared_patch(h, ph, hl, pp, pl));
          this.rowCounts.shared += p.b.length - sharing.own.length;
          this.rowCounts.own += sharing.own.length;
          continue;
        }
        const [header, params] = patchArgs(p, this.inputSize, this.outputSize);
        core.call('add patch', [header, params], ([ph, pp], [hl, pl]) => core.exports.rr_repaired_add_patch(h, ph, hl, pp, pl));
        this.rowCounts.own += p.b.length;
      }
    } catch (e) {
      core.release(h);
      throw e;
    }
    return h;
  }

  /**
   * The table of first-layer rows in the handle `h` when the storage shares rows (built by the
   * core; its + rows fetched once per network), or undefined.
   */
  private sharedTable(core: Core, h: number): { rows: Float64Array; neurons: number } | undefined {
    const first = this.original.denseLayers?.[0];
    const n = this.inputSize;
    if (this.storage === 'dense' || !first?.relu || this.patches.length === 0) return undefined;
    if (this.storage === 'auto' && (n < SHARED_FROM_INPUTS || this.patches.length < SHARED_FROM_PATCHES)) return undefined;
    const neurons = first.outputs;
    const known = tables.get(this.original);
    if (known && known.core === core && known.rows.length === neurons * n) {
      core.check(core.exports.rr_repaired_share_rows(h, neurons, 0, 0), 'shared rows');
      return { rows: known.rows, neurons };
    }
    const rows = core.run('shared rows', [], [neurons * n], ([o], [ol]) => core.exports.rr_repaired_share_rows(h, neurons, o, ol))[0];
    tables.set(this.original, { core, rows });
    return { rows, neurons };
  }

  /** Support rows of the core handle read from the shared table, and held by their patches. */
  rowStorage(): { shared: number; own: number } {
    this.handle();
    return { ...this.rowCounts };
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
