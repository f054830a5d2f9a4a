/**
 * `relu-repair compare` (original vs repaired on a data set, with an SVG bar chart) and
 * `relu-repair find-failures` (a data set's misclassified inputs as a points file for repair).
 */
import type { Command } from 'commander';
import { type Comparison, compareModels } from '../dataset/compare.js';
import { findFailures, storedRangeBox } from '../dataset/failures.js';
import { comparisonSvg } from '../dataset/plot.js';
import { saveJson } from '../io.js';
import type { Box } from '../network.js';
import { init } from '../wasm/raw.js';
import { loadData, loadEvaluator } from './data.js';
import { saveFiles } from './formats.js';
import type { CommandRunner } from './interrupt.js';
import { parseInputBox } from './spec-flags.js';
import { checkExtension, checkOutputs, parseCount, UsageError } from './usage.js';

interface CompareFlags {
  model: string;
  repaired: string;
  data: string;
  labels?: string;
  scale?: string;
  out?: string;
  plot?: string;
  quiet?: boolean;
}

interface FailuresFlags {
  model: string;
  data: string;
  labels?: string;
  scale?: string;
  out: string;
  limit?: string;
  inputBox?: string;
}

const DATA_HELP =
  'inputs: images (IDX, .gz, .npy; first dimension = samples) with --labels, or a points file (.json, the repair --points format)';

export function registerCompare(program: Command, run: CommandRunner): void {
  program
    .command('compare')
    .description('compare a model and its repaired version on a data set: accuracy, per class, flipped predictions, changed outputs')
    .requiredOption('--model <file>', 'the original model (.onnx, .nnet, .json, TF.js model.json)')
    .requiredOption('--repaired <file>', 'the repaired network (relu-repair JSON from repair --out X.json), or any model')
    .requiredOption('--data <file>', DATA_HELP)
    .option('--labels <file>', 'labels for images: IDX, .npy or .txt (without labels only prediction and output changes are reported)')
    .option('--scale <s>', 'multiply image values by s; "auto" (default) = 1/255 for uint8 data, else 1')
    .option('--out <file>', 'write the comparison as JSON')
    .option('--plot <file>', 'write a per-class accuracy bar chart (SVG)')
    .option('--quiet', 'print nothing (with --out/--plot)')
    .action((flags: CompareFlags) => run(() => runCompare(flags)));
  program
    .command('find-failures')
    .description('write the misclassified inputs of a data set as a points file for `repair --points` (true label per point)')
    .requiredOption('--model <file>', 'the model (.onnx, .nnet, .json, TF.js model.json)')
    .requiredOption('--data <file>', DATA_HELP)
    .option('--labels <file>', 'labels for images: IDX, .npy or .txt (required with images)')
    .option('--scale <s>', 'multiply image values by s; "auto" (default) = 1/255 for uint8 data, else 1')
    .requiredOption('--out <file>', 'points file to write (.json)')
    .option('--limit <N>', 'keep the first N failures in data-set order (default: all)')
    .option(
      '--input-box <lo,hi|box.json>',
      'input domain written into the points file (default: [0, 255 x scale] for uint8 data, else none)',
    )
    .action((flags: FailuresFlags) => run(() => runFindFailures(flags)));
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const list = (xs: number[], n = 12) => (xs.length ? ` (${xs.slice(0, n).join(', ')}${xs.length > n ? ', ...' : ''})` : '');

export function comparisonText(c: Comparison, what: { model: string; repaired: string; data: string }): string {
  const L: string[] = [];
  L.push(`compare ${what.model} -> ${what.repaired} on ${what.data}`);
  if (c.accuracy) {
    const d = c.accuracy.after - c.accuracy.before;
    L.push(
      `accuracy   ${pct(c.accuracy.before)} -> ${pct(c.accuracy.after)} (${c.accuracy.correctBefore} -> ${c.accuracy.correctAfter} of ${c.samples} correct; ${d >= 0 ? '+' : ''}${(100 * d).toFixed(2)} points)`,
    );
    L.push('per class  class  samples   before     after    change');
    for (const p of c.perClass!) {
      if (p.count === 0) continue;
      const b = p.accuracyBefore as number;
      const a = p.accuracyAfter as number;
      L.push(
        `           ${String(p.label).padStart(5)}  ${String(p.count).padStart(7)}  ${pct(b).padStart(8)}  ${pct(a).padStart(8)}  ${`${a - b >= 0 ? '+' : ''}${(100 * (a - b)).toFixed(2)}`.padStart(7)}`,
      );
    }
    const pr = c.predictions;
    L.push(
      `flipped    right -> wrong: ${pr.rightToWrong!.length}${list(pr.rightToWrong!)}; wrong -> right: ${pr.wrongToRight!.length}${list(pr.wrongToRight!)}; wrong -> another wrong class: ${pr.wrongToWrong!.length}${list(pr.wrongToWrong!)}`,
    );
  } else {
    L.push(
      `predictions changed on ${c.predictions.changed} of ${c.samples} inputs${list(c.predictions.changedIndices)} (no labels: accuracy not computed)`,
    );
  }
  const o = c.outputChanges;
  const share = `${((100 * o.changed) / c.samples).toFixed(2)} %`;
  L.push(
    `outputs    changed at all on ${o.changed} of ${c.samples} inputs (${share})${list(o.changedIndices)}; ` +
      (o.largestChange
        ? `largest change ${o.largestChange.value.toPrecision(4)} (input ${o.largestChange.sample}, output ${o.largestChange.output}); `
        : '') +
      `the other ${c.samples - o.changed} are bit for bit equal`,
  );
  return L.join('\n') + '\n';
}

async function runCompare(flags: CompareFlags): Promise<number> {
  if (flags.out !== undefined) checkExtension(flags.out, '--out', ['.json'], 'the comparison');
  if (flags.plot !== undefined) checkExtension(flags.plot, '--plot', ['.svg'], 'the chart');
  checkOutputs({ '--out': flags.out, '--plot': flags.plot });
  await init();
  const original = await loadEvaluator(flags.model);
  const repaired = await loadEvaluator(flags.repaired);
  const { data, labels, description } = await loadData(flags.data, {
    labels: flags.labels,
    scale: flags.scale,
    inputs: original.inputSize,
    outputs: original.outputSize,
  });
  if (flags.plot !== undefined && !labels)
    throw new UsageError('needs labels (per-class accuracy): give --labels, or a points file with labels', { field: '--plot' });
  const c = compareModels(original, repaired, data, labels, { file: flags.data });
  const files: { path: string; data: string }[] = [];
  if (flags.out)
    files.push({
      path: flags.out,
      data:
        JSON.stringify({
          model: flags.model,
          repaired: flags.repaired,
          data: flags.data,
          labels: flags.labels ?? null,
          scale: data.scale,
          ...c,
        }) + '\n',
    });
  if (flags.plot) files.push({ path: flags.plot, data: comparisonSvg(c) });
  if (files.length) await saveFiles(files);
  if (!flags.quiet) {
    process.stdout.write(comparisonText(c, { model: flags.model, repaired: flags.repaired, data: `${flags.data} (${description})` }));
    if (files.length) process.stderr.write(`wrote ${files.map((f) => f.path).join(', ')}\n`);
  }
  return 0;
}

/** A box whose bounds are all equal is written as two numbers (the points format allows it). */
function compactBox(b: Box): { lower: number | readonly number[]; upper: number | readonly number[] } {
  const same = (v: readonly number[]) => v.every((x) => x === v[0]);
  return { lower: same(b.lower) ? b.lower[0] : b.lower, upper: same(b.upper) ? b.upper[0] : b.upper };
}

async function runFindFailures(flags: FailuresFlags): Promise<number> {
  checkExtension(flags.out, '--out', ['.json'], 'a points file');
  checkOutputs({ '--out': flags.out });
  const limit = parseCount(flags.limit, '--limit');
  await init();
  const model = await loadEvaluator(flags.model);
  const {
    data,
    labels,
    description,
    inputBox: fileBox,
  } = await loadData(flags.data, { labels: flags.labels, scale: flags.scale, inputs: model.inputSize, outputs: model.outputSize });
  if (!labels)
    throw new UsageError('failures need labels: give --labels FILE with images (or a points file with labels)', { field: '--labels' });
  let inputBox: Box | undefined;
  let boxSource = '';
  if (flags.inputBox !== undefined) {
    inputBox = await parseInputBox(flags.inputBox, model.inputSize);
    boxSource = '--input-box';
  } else if (fileBox) {
    inputBox = fileBox;
    boxSource = `the inputBox of ${flags.data}`;
  } else {
    inputBox = storedRangeBox(data);
    if (inputBox) boxSource = `the range of ${data.dtype} data x ${data.scale === 1 / 255 ? '1/255' : data.scale}`;
    else {
      inputBox = model.info?.inputBox;
      if (inputBox) boxSource = 'the model';
    }
  }
  const f = findFailures(model, data, labels, { limit, inputBox });
  const doc = {
    ...f,
    inputBox: f.inputBox ? compactBox(f.inputBox) : undefined,
    source: { model: flags.model, data: flags.data, labels: flags.labels ?? null, scale: data.scale },
  };
  await saveJson(flags.out, doc);
  const kept = f.points.length < f.failures ? `; kept the first ${f.points.length} (--limit)` : '';
  const box = inputBox ? `; inputBox from ${boxSource}` : '; no inputBox (pass --input-box to repair, or here)';
  process.stderr.write(
    `${f.failures} of ${f.samples} inputs misclassified (${description})${kept}${box}\nwrote ${flags.out} (${f.points.length} points with their true labels)\n`,
  );
  return 0;
}
