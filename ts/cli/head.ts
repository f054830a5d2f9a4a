/**
 * `relu-repair repair --from TENSOR`: head repair (ts/head.ts) of an ONNX model — the
 * piecewise-linear tail from a named tensor on is repaired point-wise on the latent points of the
 * buggy inputs, the prefix kept as a fixed feature extractor. The output is one ONNX model (the
 * prefix copied verbatim, then the repaired tail).
 */

import { readJsonFile } from '../formats/load.js';
import { headRepairedToOnnx } from '../formats/onnx/head.js';
import { parseOnnxHead } from '../formats/onnx/import.js';
import { parsePoints } from '../formats/points.js';
import { repairHead } from '../head.js';
import { saveJson } from '../io.js';
import { init } from '../wasm/raw.js';
import { readBytes } from './data.js';
import { parsePrecision, saveFiles } from './formats.js';
import { type Interrupt, withProgress } from './interrupt.js';
import { parseInputBox } from './spec-flags.js';
import { certificateText, fmt, minimalityText } from './summary.js';
import { parseNumber, rejectFlags, UsageError } from './usage.js';

/** The `repair` flags head repair reads (ts/cli/repair.ts). */
export interface HeadFlags {
  model: string;
  from: string;
  points?: string;
  certify?: boolean;
  label?: string;
  inputBox?: string;
  latentBox?: string;
  radius?: string;
  margin?: string;
  prune: boolean;
  workers?: string;
  out: string;
  report?: string;
  quiet?: boolean;
  onnxPrecision?: string;
}

const EXIT_REPAIRED = 0;
const EXIT_NOT_REPAIRED = 1;

/** Head repair from `flags.from` (see the module comment); the exit code. */
export async function runHeadRepair(flags: HeadFlags, given: Set<string>, interrupt: Interrupt): Promise<number> {
  const mode = 'head repair (--from)';
  if (!flags.model.toLowerCase().endsWith('.onnx'))
    throw new UsageError('head repair reads an ONNX model (it splits the graph at a named tensor)', {
      field: '--model',
      value: flags.model,
    });
  if (!flags.out.toLowerCase().endsWith('.onnx'))
    throw new UsageError('head repair writes an ONNX model (the prefix copied verbatim, then the repaired tail)', {
      field: '--out',
      value: flags.out,
    });
  if (flags.points === undefined) throw new UsageError('head repair is point-wise: give --points FILE', { field: '--points' });
  rejectFlags(given, mode, {
    '--area': 'area repair needs a piecewise-linear model over its input box; head repair is point-wise',
    '--max-regions': 'it limits the regions of an area (--area)',
    '--spec': 'head repair takes labels (--label K, or labels in the points file)',
    '--property': 'it picks a property of a VNN-LIB file',
    '--out-vnnlib': 'the regions are regions of the tail, in the latent space: no VNN-LIB property of the whole model describes them',
    '--vnnlib-tolerance': 'it belongs to --out-vnnlib',
    '--nnet-normalize': 'head repair reads ONNX models',
  });
  const radius = flags.radius !== undefined ? parseNumber(flags.radius, '--radius') : undefined;
  const margin = flags.margin !== undefined ? parseNumber(flags.margin, '--margin') : undefined;
  const precision = parsePrecision(flags.onnxPrecision);

  await init();
  const head = parseOnnxHead(await readBytes(flags.model), flags.model, { headFrom: flags.from });
  const n = head.prefix.inputSize;
  const k = head.tail.outputSize;
  const pts = parsePoints(await readJsonFile(flags.points), n, k, flags.points);
  const labels = flags.label !== undefined ? parseNumber(flags.label, '--label') : pts.labels;
  if (labels === undefined)
    throw new UsageError('no specification: pass --label K, or give "targetLabel"/"labels" in the points file', { file: flags.points });
  const inputBox = flags.inputBox !== undefined ? await parseInputBox(flags.inputBox, n) : pts.inputBox;
  const latentBox = flags.latentBox !== undefined ? await parseInputBox(flags.latentBox, head.prefix.outputSize) : undefined;
  if (!inputBox && !latentBox)
    throw new UsageError(
      'no domain: pass --input-box lo,hi (the latent box is then bounded through the prefix) or --latent-box lo,hi, or give "inputBox" in the points file',
      { field: '--input-box' },
    );
  const result = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    repairHead(head, {
      points: pts.points,
      labels,
      margin,
      inputBox,
      latentBox,
      radius,
      prune: flags.prune ? 'auto' : false,
      workers: flags.workers !== undefined ? parseNumber(flags.workers, '--workers') : undefined,
      certify: flags.certify ?? 'auto',
      onProgress,
      signal,
    }),
  );
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, result.report);
  const r = result.report.result;
  if (r.status === 'failed') {
    process.stderr.write(`relu-repair: could not repair: ${r.unfixedPoints.length} point(s) still violate the spec; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  const cert = result.report.certificate;
  if (cert && cert.status !== 'certified') {
    process.stderr.write(`relu-repair: the repaired tail is not certified: ${certificateText(cert)}; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  await saveFiles([{ path: flags.out, data: headRepairedToOnnx(result.network, { precision }) }]);
  if (!flags.quiet) {
    const rep = result.report;
    process.stderr.write(
      `head repair from tensor "${head.from}" (${head.prefix.outputSize} values; prefix: ${head.prefix.curved.join(', ') || 'piecewise linear'}): ` +
        `${r.fixedPoints}/${r.buggyPoints} buggy points fixed with ${r.regions} patch(es) of the tail in ${rep.timingsMs.total.toFixed(1)} ms; ` +
        `max patch norm ${fmt(r.maxPatchNorm)}; ${minimalityText(rep.regions)}` +
        `${cert ? `; certificate (latent space): ${certificateText(cert)}` : ''}\n` +
        `guarantee: ${rep.head.guarantee}\nwrote ${[flags.out, ...(flags.report ? [flags.report] : [])].join(', ')}\n`,
    );
  }
  return EXIT_REPAIRED;
}
