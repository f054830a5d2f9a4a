/**
 * CLI support for the interchange formats (issue 3): VNN-LIB specs, model/network output by
 * extension (.onnx, .nnet, TF.js model.json, relu-repair JSON), and the `eval` command.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { accuracy, parseImages, parseLabels } from '../eval.js';
import { networkToJson, REPAIRED_FORMAT, repairedFromJson, repairedToJson } from '../formats/json.js';
import { loadModel, parseJsonText } from '../formats/load.js';
import { nnetToText } from '../formats/nnet.js';
import { float32BandError, networkToOnnx, repairedToOnnx } from '../formats/onnx/export.js';
import { networkToTfjs } from '../formats/tfjs.js';
import { parseVnnlib, propertyInputDomain, regionProperty, safeSpec, writeVnnlib } from '../formats/vnnlib.js';
import { saveJson } from '../io.js';
import type { Box, Network } from '../network.js';
import type { InputSet } from '../region.js';
import type { RepairedNetwork } from '../repaired.js';
import type { RepairReport } from '../report.js';
import type { Spec } from '../spec.js';
import { isSpecUnion, type SpecUnion } from '../spec-union.js';
import { init } from '../wasm/raw.js';

export const isVnnlibPath = (p: string) => p.toLowerCase().endsWith('.vnnlib');

async function readBytes(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new InputError(
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

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

export function parsePrecision(v: string | undefined): Precision {
  if (v === undefined) return 'float32';
  if (v !== 'float32' && v !== 'float64') throw new InputError('must be float32 or float64', { field: '--onnx-precision', value: v });
  return v;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Saves a plain network by extension: .onnx, .nnet, model.json (TF.js + weights.bin), else relu-repair JSON. */
export async function saveNetworkFile(path: string, net: Network, opts: { precision?: Precision } = {}): Promise<void> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return saveFiles([{ path, data: networkToOnnx(net, { precision: opts.precision }) }]);
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

/**
 * Saves a repaired network: ONNX when the name ends in .onnx, else relu-repair JSON. A float32
 * ONNX whose supports float32 cannot resolve is still written, with a warning on stderr (outputs
 * inside those bands would be wrong; float64 is exact there).
 */
export async function saveRepairedFile(
  path: string,
  rep: RepairedNetwork,
  opts: { precision?: Precision; quiet?: boolean } = {},
): Promise<void> {
  if (path.toLowerCase().endsWith('.onnx')) {
    const precision = opts.precision ?? 'float32';
    if (precision === 'float32') {
      const err = float32BandError(rep);
      const bad = err.map((e, i) => [e, i]).filter(([e]) => !(e <= 1e-2));
      if (bad.length > 0) {
        const worst = bad.reduce((a, b) => (b[0] > a[0] ? b : a));
        process.stderr.write(
          `relu-repair: warning: float32 cannot resolve the locality band of ${bad.length} of ${err.length} patch(es) ` +
            `(rounding of the support value can reach ${Number.isFinite(worst[0]) ? worst[0].toPrecision(2) : 'an unknown amount'} in patch ${worst[1]}'s band): ` +
            `outputs of ${path} inside those bands will be wrong; use --onnx-precision float64\n`,
        );
      }
    }
    return saveFiles([{ path, data: repairedToOnnx(rep, { precision }) }]);
  }
  return saveJson(path, repairedToJson(rep));
}

export interface VnnlibJob {
  spec: Spec | SpecUnion;
  inputBox: Box;
  inputSet?: InputSet;
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
  const text = new TextDecoder().decode(await readBytes(path));
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
  return { spec: safe.spec, inputBox, inputSet, summary };
}

/** Writes the VNN-LIB property of every repaired region (one file per region when several). */
export async function saveRegionProperties(
  path: string,
  rep: RepairedNetwork,
  report: RepairReport,
  specOf: (point: number) => Spec | SpecUnion,
  tolerance?: number,
): Promise<string[]> {
  const files: { path: string; data: string }[] = [];
  rep.patches.forEach((patch, i) => {
    let spec = specOf(patch.region.points[0]);
    if (isSpecUnion(spec)) spec = spec.pieces[report.regions[i]?.specPiece ?? 0];
    const v = regionProperty(rep, i, spec as Spec, { tolerance });
    const name = rep.patches.length === 1 ? path : path.replace(/(\.vnnlib)?$/i, `.region${i}$1`);
    const comment =
      `relu-repair: repaired region ${i} (points ${patch.region.points.join(', ')}); the repaired network must not satisfy\n` +
      `the unsafe condition below for any input of the region: a verifier should answer unsat.`;
    files.push({ path: name, data: writeVnnlib(v, comment) });
  });
  if (files.length) await saveFiles(files);
  return files.map((f) => f.path);
}

/** `relu-repair eval`: accuracy of a model (or repaired network) on a labelled data set. */
export function registerEval(program: Command, setCode: (c: number) => void): void {
  program
    .command('eval')
    .description('accuracy of a model or repaired network on labelled inputs (argmax)')
    .requiredOption('--model <file>', 'model (.onnx, .nnet, .json, TF.js model.json) or repaired network (.json)')
    .requiredOption('--images <file>', 'inputs: IDX (optionally .gz) or .npy, first dimension = samples')
    .requiredOption('--labels <file>', 'labels: IDX, .npy or .txt')
    .option('--scale <s>', 'multiply inputs by s; "auto" (default) = 1/255 for uint8 data, else 1')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (o: { model: string; images: string; labels: string; scale?: string; json?: boolean }) => {
      await init();
      let model: Network | RepairedNetwork;
      if (o.model.toLowerCase().endsWith('.json')) {
        const doc = parseJsonText(new TextDecoder().decode(await readBytes(o.model)), o.model);
        model = (doc as { format?: unknown })?.format === REPAIRED_FORMAT ? repairedFromJson(doc, o.model) : await loadModel(o.model);
      } else model = await loadModel(o.model);
      let scale: number | 'auto' = 'auto';
      if (o.scale !== undefined && o.scale !== 'auto') {
        const m = /^1\/(\d+(?:\.\d+)?)$/.exec(o.scale);
        scale = m ? 1 / Number(m[1]) : Number(o.scale);
        if (!Number.isFinite(scale) || scale === 0)
          throw new InputError('must be a number, 1/N or "auto"', { field: '--scale', value: o.scale });
      }
      const data = await parseImages(await readBytes(o.images), o.images, { scale });
      const labels = await parseLabels(await readBytes(o.labels), o.labels, model.outputSize);
      const t0 = performance.now();
      const r = accuracy(model, data, labels, { file: o.images });
      const ms = performance.now() - t0;
      const pct = (100 * r.accuracy).toFixed(2);
      if (o.json) {
        const doc = {
          model: o.model,
          images: o.images,
          labels: o.labels,
          samples: r.total,
          correct: r.correct,
          accuracy: r.accuracy,
          inputScale: data.scale,
          inputType: data.dtype,
          evalMs: ms,
        };
        process.stdout.write(JSON.stringify(doc) + '\n');
      } else {
        process.stdout.write(`accuracy ${pct} % (${r.correct}/${r.total})\n`);
        process.stderr.write(
          `${o.model}: ${r.total} samples of ${data.dim} ${data.dtype} values${data.scale !== 1 ? ` scaled by ${data.scale === 1 / 255 ? '1/255' : data.scale}` : ''}; ${ms.toFixed(0)} ms\n`,
        );
      }
      setCode(0);
    });
}
