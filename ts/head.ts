/**
 * Head repair (issue 12 item 4; the setting of REASSURE's ImageNet experiment): for a model that
 * is not piecewise linear, or too large to handle whole, repair the piecewise-linear tail from a
 * named tensor on, with the prefix as a fixed feature extractor.
 *
 *   z = prefix(x)  (the latent point: ts/network/prefix.ts, float64)
 *   y = tail(z)    (piecewise linear: repaired point-wise, ts/repair.ts)
 *
 * The tail is repaired on the latent points of the buggy inputs, over the latent box (a sound
 * box of the prefix's outputs over the input box, by interval arithmetic through the prefix, or
 * one the caller gives). Every guarantee is a guarantee in the latent space: the spec holds on the
 * whole linear region of the tail around each latent point (∩ the latent box); the inputs it
 * covers are the preimage of that region under the prefix, which is in general not a linear region
 * of the full model (and not convex). The tail is bit-for-bit unchanged at latent points beyond the
 * radius from every patched region, so the whole model is unchanged on inputs whose latent point
 * lies there.
 *
 * The tail's regions of differently labelled points can touch (they do in the fixture of
 * test/head-repair.test.ts: the latent box is wide, and the tail's regions meet on its faces). A
 * continuous repair must give one output at a shared point, and constant patches give the later
 * patch's there: the earlier region's spec fails near that point, and its certificate with it.
 * Those pairs are found (ts/touching.ts) and reported — INFEASIBLE when the specs contradict, a
 * conflict of constant patches otherwise — with the shared point and the violation there; the
 * guarantee is stated for the other regions.
 */
import { InputError } from './errors.js';
import { HeadRepairedNetwork } from './formats/onnx/head.js';
import type { OnnxHead } from './formats/onnx/import.js';
import { type Box, checkBox, flattenPoints } from './network.js';
import { type RepairOptions, repair } from './repair.js';
import { resolveSpecs } from './repair-options.js';
import type { RepairReport } from './report.js';
import { intersectAny } from './spec-union.js';
import { type TouchingConflict, touchingConflicts } from './touching.js';

export interface HeadRepairOptions extends Omit<RepairOptions, 'inputBox' | 'inputSet'> {
  /** The buggy inputs of the whole model (input space). */
  points: RepairOptions['points'];
  /**
   * The input domain. The latent box is then a sound box of the prefix's outputs over it (unless
   * `latentBox` is given). One of the two is needed.
   */
  inputBox?: Box;
  /**
   * The latent domain the tail's regions are bounded by (default: the prefix's sound output box
   * over `inputBox`). Latent points outside it are refused; inputs whose latent point leaves it
   * are outside every repaired region (the box gate switches the patches off there).
   */
  latentBox?: Box;
}

/** What a head repair adds to the point-wise report. */
export interface HeadReport {
  /** The tensor the tail starts from, and its size. */
  from: string;
  latentSize: number;
  /** The prefix's curved operators (activation kinds). */
  curved: string[];
  /** The latent box: the sound box of the prefix over the input box, or the caller's. */
  latentBox: { source: 'prefix-bounds' | 'given'; lower: number[]; upper: number[] };
  /** The guarantee, stated in the latent space. */
  guarantee: string;
  /**
   * Repaired latent regions that touch a later-patched region with another spec, where their own
   * spec fails (see ts/touching.ts): the guarantee does not cover them. Empty when none touch.
   */
  conflicts: TouchingConflict[];
}

export interface HeadRepairResult {
  network: HeadRepairedNetwork;
  report: RepairReport & { head: HeadReport };
}

/** Repairs the tail of `head` on the latent points of `opts.points` (see the module comment). */
export async function repairHead(head: OnnxHead, opts: HeadRepairOptions): Promise<HeadRepairResult> {
  const { prefix, tail } = head;
  const n = prefix.inputSize;
  const m = prefix.outputSize;
  const { flat, count } = flattenPoints(opts.points, n);
  let latentBox: Box;
  let source: HeadReport['latentBox']['source'];
  if (opts.inputBox) {
    checkBox(opts.inputBox, n);
    for (let i = 0; i < count; i++)
      for (let j = 0; j < n; j++) {
        const v = flat[i * n + j];
        if (v < opts.inputBox.lower[j] || v > opts.inputBox.upper[j])
          throw new InputError(`lies outside the input box [${opts.inputBox.lower[j]}, ${opts.inputBox.upper[j]}]`, {
            field: `points[${i}][${j}]`,
            value: v,
          });
      }
  }
  if (opts.latentBox) {
    checkBox(opts.latentBox, m, undefined, 'latentBox');
    latentBox = opts.latentBox;
    source = 'given';
  } else if (opts.inputBox) {
    const b = prefix.bounds(opts.inputBox.lower, opts.inputBox.upper);
    const bad = [...b.lower, ...b.upper].findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new InputError(
        `the prefix's output bounds over the input box are not finite (latent coordinate ${bad % m}): give a latent box (--latent-box)`,
        { field: 'latentBox' },
      );
    latentBox = { lower: [...b.lower], upper: [...b.upper] };
    source = 'prefix-bounds';
  } else {
    throw new InputError(
      'no domain: give the input box (the latent box is then bounded through the prefix) or a latent box; the regions of the tail must be bounded',
      { field: 'inputBox' },
    );
  }
  const latent = prefix.forwardFlat(flat, count);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < m; j++) {
      const v = latent[i * m + j];
      if (!(v >= latentBox.lower[j] && v <= latentBox.upper[j]))
        throw new InputError(
          `has its latent point outside the latent box: coordinate ${j} of tensor "${head.from}" is ${v}, the box is [${latentBox.lower[j]}, ${latentBox.upper[j]}]`,
          { field: `points[${i}]`, value: v },
        );
    }
  const { inputBox: _i, latentBox: _l, points: _p, ...rest } = opts;
  const result = await repair(tail, { ...rest, points: latent, inputBox: latentBox });
  const network = new HeadRepairedNetwork(head, result.network);
  const specs = resolveSpecs(tail, count, opts);
  // The tail's repair examined the regions its certificate refused (a certified region has no
  // conflict); without a certificate every touching pair is examined here.
  const cert = result.report.certificate;
  const conflicts =
    result.report.conflicts ??
    (cert?.status === 'certified'
      ? []
      : touchingConflicts(result.network, (pts) => intersectAny(pts.map((i) => specs[i])), latentBox, opts.tolerance));
  const excluded = new Set(conflicts.flatMap((c) => c.points));
  const guarantee =
    `the spec holds on the whole linear region of the tail from tensor "${head.from}" (${m} values) around the latent point of each ` +
    `repaired input${excluded.size ? ` (except point(s) ${[...excluded].sort((a, b) => a - b).join(', ')}, whose region touches a region with another spec: see head.conflicts)` : ''}, ` +
    `within the latent box; in input space this covers the preimage of that latent region under the prefix ` +
    `(${prefix.curved.length ? `curved: ${prefix.curved.join(', ')}` : 'piecewise linear'}), which is not a linear region of the whole model. ` +
    'Inputs whose latent point lies beyond the radius from every patched region get the original outputs bit for bit.';
  const report = {
    ...result.report,
    head: { from: head.from, latentSize: m, curved: prefix.curved, latentBox: { source, ...latentBox }, guarantee, conflicts },
  } as RepairReport & { head: HeadReport };
  // One note per region whose spec fails (the pairs are in head.conflicts).
  const conflictNotes: string[] = [];
  for (const pts of new Set(conflicts.map((c) => c.points.join(', ')))) {
    const mine = conflicts.filter((c) => c.points.join(', ') === pts);
    const others = mine.map((c) => c.otherPoints.join(', ')).join('; ');
    const worst = Math.max(...mine.map((c) => c.violation)).toPrecision(3);
    const rows = mine.find((c) => c.contradictingRows);
    conflictNotes.push(
      rows
        ? `INFEASIBLE: the latent region of point(s) ${pts} touches that of point(s) ${rows.otherPoints.join(', ')}, whose spec contradicts its own (rows ${rows.contradictingRows!.join(', ')} of their intersection): no continuous network meets both specs at a shared point (head.conflicts)`
        : `CONFLICT: the latent region of point(s) ${pts} touches those of point(s) ${others} (other specs): constant patches cannot meet both specs at a shared point, the later patch wins there and the spec of point(s) ${pts} is violated by up to ${worst} (points in head.conflicts); relax a spec or drop a point`,
    );
  }
  report.notes = [...report.notes, ...conflictNotes, `head repair: ${guarantee}`];
  return { network, report };
}
