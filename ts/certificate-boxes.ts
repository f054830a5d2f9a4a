/**
 * The box part of the certificate of a saved repaired network (issue 10): a box patch
 * (ts/box-patch.ts) is proven on its whole box by bounds, not by linear regions, so `certify`
 * re-proves every box the file's repair record names and every box its box patches carry, with
 * `certifyBoxParts` on the file's own parameters (bounds recomputed on `rep.original`, patches and
 * gate read from the file). The record and the patches' `region.box` only say *where* to look:
 * an edited patch vector, gate or support fails the bound; a box moved in the record, or a box
 * patch the record does not name, is a mismatch (the file is not what its repair made); a patch
 * that looks like a box patch (`minimalityProof: 'box-bound'`) whose box cannot be found is
 * reported unchecked, and the file is then not certified.
 */
import type { BoundMethod } from './bounds.js';
import { type BoxCertificate, certifyBoxParts } from './box-patch.js';
import type { Box } from './network.js';
import type { RegionPatch } from './patch.js';
import { type RecordBox, type RepairedNetwork, recordBoxesOf } from './repaired.js';
import type { Spec } from './spec.js';
import type { SpecUnion } from './spec-union.js';

/** One box proven (or not) on the finished network. */
export interface SavedBoxCertificate {
  lower: number[];
  upper: number[];
  /** Where the box was found: the record, a box patch's `region.box`, or both. */
  source: 'record' | 'patch' | 'record+patch';
  /** Chain index of the box patch whose box this is, or null (a recorded box no patch has). */
  patch: number | null;
  /** The piece the record or patch names (union specs); the certificate tries every piece. */
  piece: number | null;
  status: 'certified' | 'refused';
  /** Parts the box was split into and proven (1: proven whole), and the parts left unproven. */
  provenParts: number;
  refusedParts: BoxCertificate[];
  /** Largest proven bound over the refused parts if any, else over the proven ones (certified iff <= the tolerance). */
  provenBound: number;
  ms: number;
}

export interface SavedBoxesReport {
  total: number;
  certified: number;
  perBox: SavedBoxCertificate[];
  /** Box patches whose box was not found (nothing proven for them). */
  unchecked: { patch: number; message: string }[];
  /** Record and patches disagree (a box moved or dropped): the file is not certified. */
  mismatch: string[];
  notes: string[];
  /** The bound method and the split depth used. */
  bound: BoundMethod;
  depth: number;
}

export interface SavedBoxOptions {
  tolerance?: number;
  /** Bound of the spec rows (default `best`). */
  bound?: BoundMethod;
  /** Halvings of a refused box (default 6 up to 16 inputs, else 0: halving a wide box rarely helps). */
  depth?: number;
  signal?: AbortSignal;
  onBox?: (done: number, total: number) => void;
}

const keyOf = (b: { lower: ArrayLike<number>; upper: ArrayLike<number> }) => JSON.stringify([Array.from(b.lower), Array.from(b.upper)]);

/** Is `p` a box patch by its own account (sized from bounds) — whether or not it carries its box? */
export function isBoxPatch(p: RegionPatch): boolean {
  return p.region?.minimalityProof === 'box-bound' || p.region?.box !== undefined;
}

/** The boxes to prove on a saved network: the record's and the box patches', with what disagrees. */
export function savedBoxes(rep: RepairedNetwork): {
  boxes: { box: RecordBox; source: SavedBoxCertificate['source']; patch: number | null }[];
  unchecked: SavedBoxesReport['unchecked'];
  mismatch: string[];
  notes: string[];
} {
  const record = rep.record;
  const fromPatches = new Map<string, { box: RecordBox; patch: number }>();
  const unchecked: SavedBoxesReport['unchecked'] = [];
  rep.patches.forEach((p, i) => {
    if (!isBoxPatch(p)) return;
    const b = p.region?.box;
    if (!b) {
      unchecked.push({
        patch: i,
        message: `patch ${i} is a box patch (minimalityProof "box-bound") without its box: the box was not checked`,
      });
      return;
    }
    const [box] = recordBoxesOf([p]);
    if (!fromPatches.has(keyOf(box))) fromPatches.set(keyOf(box), { box, patch: i });
  });
  const out: ReturnType<typeof savedBoxes>['boxes'] = [];
  const mismatch: string[] = [];
  const notes: string[] = [];
  const recorded = record?.boxes;
  if (recorded) {
    const seen = new Set<string>();
    recorded.forEach((b, i) => {
      const k = keyOf(b);
      if (seen.has(k)) return;
      seen.add(k);
      const own = fromPatches.get(k);
      out.push({ box: b, source: own ? 'record+patch' : 'record', patch: own ? own.patch : null });
      if (!own)
        mismatch.push(`record.boxes[${i}] is not the box of any box patch of the file (a box moved in the record, or its patch lost)`);
    });
    for (const [k, v] of fromPatches)
      if (!seen.has(k)) {
        out.push({ box: v.box, source: 'patch', patch: v.patch });
        mismatch.push(`the box of patch ${v.patch} is not named in the record (record.boxes)`);
      }
  } else {
    for (const v of fromPatches.values()) out.push({ box: v.box, source: 'patch', patch: v.patch });
    if (fromPatches.size > 0)
      notes.push(
        record
          ? 'the repair record names no boxes (written before box patches were recorded): the boxes were taken from the box patches themselves'
          : 'no repair record: the boxes were taken from the box patches themselves',
      );
  }
  return { boxes: out, unchecked, mismatch, notes };
}

/** Proves the spec on every box {@link savedBoxes} finds (module comment). */
export async function certifySavedBoxes(
  rep: RepairedNetwork,
  spec: Spec | SpecUnion,
  opts: SavedBoxOptions = {},
): Promise<SavedBoxesReport> {
  const { boxes, unchecked, mismatch, notes } = savedBoxes(rep);
  const bound = opts.bound ?? 'best';
  const depth = opts.depth ?? (rep.inputSize <= 16 ? 6 : 0);
  const perBox: SavedBoxCertificate[] = [];
  for (let i = 0; i < boxes.length; i++) {
    const { box, source, patch } = boxes[i];
    const t0 = performance.now();
    const b: Box = { lower: box.lower, upper: box.upper };
    const { proven, refused } = await certifyBoxParts(rep, b, spec, depth, { tolerance: opts.tolerance ?? 0, bound, signal: opts.signal });
    perBox.push({
      lower: [...box.lower],
      upper: [...box.upper],
      source,
      patch,
      piece: box.piece ?? null,
      status: refused.length === 0 && proven.length > 0 ? 'certified' : 'refused',
      provenParts: proven.length,
      refusedParts: refused,
      provenBound:
        refused.length > 0 ? Math.max(...refused.map((c) => c.provenBound)) : Math.max(-Infinity, ...proven.map((c) => c.provenBound)),
      ms: performance.now() - t0,
    });
    opts.onBox?.(i + 1, boxes.length);
  }
  return {
    total: perBox.length,
    certified: perBox.filter((c) => c.status === 'certified').length,
    perBox,
    unchecked,
    mismatch,
    notes,
    bound,
    depth,
  };
}
