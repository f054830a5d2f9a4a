/**
 * Data sets and models for `eval`, `compare` and `find-failures`: `--data` is images (IDX,
 * optionally .gz, or .npy; first dimension = samples) with `--labels` (IDX, .npy or text), or a
 * points file (.json: the `repair --points` format, labels per point); `--scale` as in `eval`.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { type Dataset, type Evaluator, parseImages, parseLabels } from '../eval.js';
import { REPAIRED_FORMAT, repairedFromJson } from '../formats/json.js';
import { loadModel, parseJsonText } from '../formats/load.js';
import { parsePoints } from '../formats/points.js';
import type { Box } from '../network.js';
import { UsageError } from './usage.js';

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InputError(
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** A model or a repaired network (relu-repair JSON with format relu-repair.repaired). */
export async function loadEvaluator(path: string): Promise<Evaluator & { info?: { inputBox?: Box } }> {
  if (path.toLowerCase().endsWith('.json')) {
    const doc = parseJsonText(new TextDecoder().decode(await readBytes(path)), path);
    if ((doc as { format?: unknown })?.format === REPAIRED_FORMAT) return repairedFromJson(doc, path);
  }
  return loadModel(path);
}

export function parseScale(v: string | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const m = /^1\/(\d+(?:\.\d+)?)$/.exec(v);
  const scale = m ? 1 / Number(m[1]) : Number(v);
  if (!Number.isFinite(scale) || scale === 0 || v.trim() === '')
    throw new UsageError('must be a number, 1/N or "auto"', { field: '--scale', value: v });
  return scale;
}

export interface LoadedData {
  data: Dataset;
  labels?: Int32Array;
  /** For the summary: "10000 samples of 784 uint8 values scaled by 1/255". */
  description: string;
  /** A points file's inputBox, if it has one. */
  inputBox?: Box;
}

export const isPointsFile = (p: string) => p.toLowerCase().endsWith('.json');

export async function loadData(
  path: string,
  opts: { labels?: string; scale?: string; inputs: number; outputs: number },
): Promise<LoadedData> {
  if (isPointsFile(path)) {
    if (opts.labels !== undefined)
      throw new UsageError(`does not apply to a points file (${path} carries its labels)`, { field: '--labels', value: opts.labels });
    if (opts.scale !== undefined)
      throw new UsageError(`does not apply to a points file (${path} holds the inputs as the network sees them)`, {
        field: '--scale',
        value: opts.scale,
      });
    const doc = parseJsonText(new TextDecoder().decode(await readBytes(path)), path);
    const pts = parsePoints(doc, opts.inputs, opts.outputs, path);
    const x = Float64Array.from(pts.points.flat());
    const data: Dataset = { x, count: pts.points.length, dim: opts.inputs, scale: 1, dtype: 'float64' };
    return {
      data,
      labels: pts.labels ? Int32Array.from(pts.labels) : undefined,
      description: `${data.count} points of ${data.dim} inputs`,
      inputBox: pts.inputBox,
    };
  }
  const data = await parseImages(await readBytes(path), path, { scale: parseScale(opts.scale) });
  const labels = opts.labels !== undefined ? await parseLabels(await readBytes(opts.labels), opts.labels, opts.outputs) : undefined;
  if (data.dim !== opts.inputs)
    throw new InputError(`samples have ${data.dim} values, the network has ${opts.inputs} inputs`, {
      file: path,
      field: 'shape',
      value: data.dim,
    });
  if (labels && labels.length !== data.count)
    throw new InputError(`there are ${labels.length} labels for ${data.count} samples`, {
      file: opts.labels,
      field: 'labels',
      value: labels.length,
    });
  const scaled = data.scale !== 1 ? ` scaled by ${data.scale === 1 / 255 ? '1/255' : data.scale}` : '';
  return { data, labels, description: `${data.count} samples of ${data.dim} ${data.dtype} values${scaled}` };
}
