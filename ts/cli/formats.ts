/**
 * CLI support for the interchange formats (issue 3): VNN-LIB specs, model/network output by
 * extension (.onnx, .nnet, TF.js model.json, relu-repair JSON).
 */
import { InputError } from '../errors.js';
import { networkToJson, repairedToJson } from '../formats/json.js';
import { nnetToText } from '../formats/nnet.js';
import { float32BandError, networkToOnnx, repairedToOnnx } from '../formats/onnx/export.js';
import { networkToTfjs } from '../formats/tfjs.js';
import {
  parseVnnlib,
  propertyInputDomain,
  regionProperty,
  safeSpec,
  type VnnlibProperty,
  vnnlibText,
  writeVnnlib,
} from '../formats/vnnlib.js';
import { saveJson } from '../io.js';
import type { Box, Network } from '../network.js';
import type { InputSet } from '../region.js';
import type { RepairedNetwork } from '../repaired.js';
import type { Spec } from '../spec.js';
import { isSpecUnion, type SpecUnion } from '../spec-union.js';
import { readBytes } from './data.js';

export const isVnnlibPath = (p: string) => /\.vnnlib(\.gz)?$/i.test(p);

/** Writes files atomically: each to a temporary name first, then all renamed into place. */
export async function saveFiles(files: { path: string; data: string | Uint8Array }[]): Promise<void> {
  const fs = await import('node:fs/promises');
  const tmps = files.map((f) => `${f.path}.tmp-${process.pid}-${Date.now()}`);
  try {
    for (let i = 0; i < files.length; i++) await fs.writeFile(tmps[i], files[i].data);
    for (let i = 0; i < files.length; i++) await fs.rename(tmps[i], files[i].path);
  } catch (e) {
    await Promise.all(tmps.map((t) => fs.rm(t, { force: true })));
    throw e;
  }
}

export type Precision = 'float32' | 'float64';

export function parsePrecision(v: string | undefined): Precision | undefined {
  if (v === undefined) return undefined;
  if (v !== 'float32' && v !== 'float64') throw new InputError('must be float32 or float64', { field: '--onnx-precision', value: v });
  return v;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Saves a plain network by extension: .onnx, .nnet, model.json (TF.js + weights.bin), else relu-repair JSON. */
export async function saveNetworkFile(
  path: string,
  net: Network,
  opts: { precision?: Precision; inputShape?: number[] } = {},
): Promise<void> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx'))
    return saveFiles([{ path, data: networkToOnnx(net, { precision: opts.precision, inputShape: opts.inputShape }) }]);
  if (lower.endsWith('.nnet')) return saveFiles([{ path, data: nnetToText(net) }]);
  if (basename(lower) === 'model.json') {
    const { modelJson, weights } = networkToTfjs(net, { weightsPath: 'weights.bin' });
    const dir = path.slice(0, path.length - basename(path).length);
    return saveFiles([
      { path: dir + 'weights.bin', data: weights },
      { path, data: JSON.stringify(modelJson) + '\n' },
    ]);
  }
  return saveJson(path, networkToJson(net));
}

/** float32 rounding of a support value above this (in the band) makes the ONNX outputs there visibly wrong. */
const FLOAT32_BAND_LIMIT = 1e-2;

/**
 * Saves a repaired network: ONNX when the name ends in .onnx, else relu-repair JSON; returns what
 * was written, for the summary. Without a requested precision, ONNX is float32 when float32 can
 * resolve every patch's locality band and float64 otherwise (with a note): a float32 file would be
 * wrong inside those bands (HCAS: inputs up to 6.5e4, radii ~6e-3). An explicit float32 request
 * is honoured, with a warning.
 */
export async function saveRepairedFile(
  path: string,
  rep: RepairedNetwork,
  opts: { precision?: Precision; quiet?: boolean; inputShape?: number[] } = {},
): Promise<string> {
  if (!path.toLowerCase().endsWith('.onnx')) {
    await saveJson(path, repairedToJson(rep));
    return path;
  }
  let precision = opts.precision;
  if (precision !== 'float64') {
    const err = float32BandError(rep);
    const bad = err.map((e, i) => [e, i]).filter(([e]) => !(e <= FLOAT32_BAND_LIMIT));
    if (bad.length > 0) {
      const worst = bad.reduce((a, b) => (b[0] > a[0] ? b : a));
      const why =
        `float32 cannot resolve the locality band of ${bad.length} of ${err.length} patch(es) ` +
        `(rounding of the support value can reach ${Number.isFinite(worst[0]) ? worst[0].toPrecision(2) : 'an unknown amount'} in patch ${worst[1]}'s band)`;
      if (precision === 'float32')
        process.stderr.write(
          `relu-repair: warning: ${why}: outputs of ${path} inside those bands will be wrong; use --onnx-precision float64\n`,
        );
      else {
        precision = 'float64';
        if (!opts.quiet)
          process.stderr.write(
            `relu-repair: note: writing ${path} in float64: ${why}, so float32 outputs would be wrong there (--onnx-precision float32 forces float32)\n`,
          );
      }
    }
  }
  precision ??= 'float32';
  await saveFiles([{ path, data: repairedToOnnx(rep, { precision, inputShape: opts.inputShape }) }]);
  return `${path} (${precision} ONNX)`;
}

export interface VnnlibJob {
  spec: Spec | SpecUnion;
  inputBox: Box;
  inputSet?: InputSet;
  /**
   * The property's unsafe output set as disjuncts, when `spec` is exactly the closure of its
   * complement (no margin): the branch and bound may prove pieces against it.
   */
  unsafe?: VnnlibProperty['unsafe'];
  /** Human summary for stderr. */
  summary: string;
}

/**
 * A VNN-LIB file for repair: the chosen property's input set (box ∩ `fallbackBox`, other rows as
 * an input set) and its safe output set (convex spec, or a union of pieces).
 */
export async function vnnlibJob(
  path: string,
  net: Network,
  opts: { property?: string; margin?: number; fallbackBox?: Box },
): Promise<VnnlibJob> {
  const text = await vnnlibText(await readBytes(path), path);
  const v = parseVnnlib(text, path, { inputs: net.inputSize, outputs: net.outputSize });
  let index = 0;
  if (opts.property !== undefined) {
    index = Number(opts.property);
    if (!Number.isInteger(index) || index < 0 || index >= v.properties.length) {
      throw new InputError(`must be a property index 0..${v.properties.length - 1}`, { field: '--property', value: opts.property });
    }
  } else if (v.properties.length > 1) {
    throw new InputError(
      `has ${v.properties.length} properties with different input sets; pick one with --property 0..${v.properties.length - 1} (points must lie in its input set)`,
      {
        file: path,
      },
    );
  }
  const p = v.properties[index];
  const { inputBox, inputSet } = propertyInputDomain(p, opts.fallbackBox, path);
  const safe = await safeSpec(p, net.outputSize, { margin: opts.margin, file: path });
  const pieces = isSpecUnion(safe.spec) ? safe.spec.pieces.length : 1;
  const summary =
    `${path}: property ${index} of ${v.properties.length}: input box${inputSet ? ` and ${inputSet.b.length} linear constraint(s)` : ''}, ` +
    `${p.unsafe.length} unsafe output set(s); safe set ${safe.convex ? 'convex' : `non-convex: ${pieces} convex pieces (each region gets the piece with the smallest minimal patch)`}`;
  return { spec: safe.spec, inputBox, inputSet, unsafe: opts.margin ? undefined : p.unsafe, summary };
}

/**
 * Writes the VNN-LIB property of every patch's region (one file per patch when several; cells of
 * a split region each get their own). A union spec uses the convex piece the patch was made for.
 */
export async function saveRegionProperties(
  path: string,
  rep: RepairedNetwork,
  specOf: (point: number | undefined) => Spec | SpecUnion,
  tolerance?: number,
): Promise<string[]> {
  const files: { path: string; data: string }[] = [];
  rep.patches.forEach((patch, i) => {
    let spec = specOf(patch.region.points[0]);
    if (isSpecUnion(spec)) spec = spec.pieces[patch.region.specPiece ?? 0];
    const v = regionProperty(rep, i, spec as Spec, { tolerance });
    const name = rep.patches.length === 1 ? path : path.replace(/(\.vnnlib)?$/i, `.region${i}$1`);
    const what = patch.region.points.length ? `points ${patch.region.points.join(', ')}` : `activation pattern ${patch.region.pattern}`;
    const comment =
      `relu-repair: repaired region ${i} (${what}${patch.region.cell ? `; cell ${patch.region.cell.index + 1} of ${patch.region.cell.of}` : ''}); the repaired network must not satisfy\n` +
      `the unsafe condition below for any input of the region: a verifier should answer unsat.`;
    files.push({ path: name, data: writeVnnlib(v, comment) });
  });
  if (files.length) await saveFiles(files);
  return files.map((f) => f.path);
}
