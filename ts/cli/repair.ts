/**
 * `relu-repair repair`: point-wise (`--points`) or area (`--area`) repair. Every flag either works
 * in the chosen mode or is refused (exit 2) before any work, naming the flag and the mode.
 */
import type { Command } from 'commander';
import { repairArea } from '../area.js';
import { AreaBabStopped, repairAreaBab } from '../area-bab.js';
import { repairAreaBox } from '../area-box.js';
import { checkSafeSetNotEmpty } from '../certificate.js';
import type { Area } from '../enumerate.js';
import { loadModel, type ModelLoadOptions, readJsonFile } from '../formats/load.js';
import { repairBaseFromOnnx } from '../formats/onnx/readback.js';
import { parsePoints } from '../formats/points.js';
import { parseVnnlib, type VnnlibProperty, vnnlibText } from '../formats/vnnlib.js';
import { saveJson } from '../io.js';
import { LP_NAMES, type LpName } from '../lp/select.js';
import type { Network } from '../network.js';
import { repair } from '../repair.js';
import type { AreaBabStopReport } from '../report.js';
import { labelSpec, parseSpecJson, type Spec } from '../spec.js';
import type { SpecUnion } from '../spec-union.js';
import { init } from '../wasm/raw.js';
import { readBytes } from './data.js';
import {
  isVnnlibPath,
  parsePrecision,
  saveNetworkFile,
  saveRegionProperties,
  saveRepairedFile,
  type VnnlibJob,
  vnnlibJob,
} from './formats.js';
import { runHeadRepair } from './head.js';
import { type CommandRunner, type Interrupt, withProgress } from './interrupt.js';
import { areaSpec, loadArea, parseInputBox } from './spec-flags.js';
import { certificateText, fmt, minimalityText } from './summary.js';
import { checkExtension, checkOutputs, givenFlags, parseCount, parseNumber, rejectFlags, UsageError } from './usage.js';

export const EXIT_REPAIRED = 0;
export const EXIT_NOT_REPAIRED = 1;

export interface RepairFlags {
  model: string;
  points?: string;
  area?: string;
  method?: string;
  boxPatch?: boolean;
  timeout?: string;
  hardStop?: string;
  babBoxes?: string;
  pendingBoxes?: string;
  maxRegions?: string;
  certify?: boolean;
  label?: string;
  spec?: string;
  inputBox?: string;
  radius?: string;
  margin?: string;
  prune: boolean;
  lp?: string;
  lpFallback: boolean;
  lpPivotLimit?: string;
  allowPartial?: boolean;
  workers?: string;
  out: string;
  report?: string;
  quiet?: boolean;
  property?: string;
  onnxPrecision?: string;
  outVnnlib?: string;
  vnnlibTolerance?: string;
  nnetNormalize?: boolean;
  from?: string;
  latentBox?: string;
}

export function registerRepair(program: Command, run: CommandRunner): void {
  program
    .command('repair')
    .description('repair the linear region of every buggy point (--points), or every faulty linear region of an area (--area)')
    .requiredOption('--model <file>', 'network to repair (.nnet, .onnx, relu-repair .json or TF.js model.json)')
    .option('--points <file>', 'point-wise repair: buggy points (JSON: {points, targetLabel|labels, inputBox?} or [{input, label}])')
    .option(
      '--area <file>',
      'area repair: every linear region in the area (JSON {box: {lower, upper}, A?, b?, targetLabel?}, or a VNN-LIB property)',
    )
    .option(
      '--method <bab|enumerate|box>',
      'area repair: bab (branch and bound: bounds prove most of the box, only undecided boxes are enumerated; default for a VNN-LIB area), enumerate (every linear region; default for a JSON area) or box (one constant patch for the whole box, sized by sound bounds and certified by bounds on the repaired network; default above 64 inputs, e.g. an MNIST L-inf ball)',
    )
    .option(
      '--box-patch',
      'area repair with --method bab: a box with more than --max-regions regions gets one box patch instead of per-region patches (default above 8 inputs)',
    )
    .option('--no-box-patch', 'area repair with --method bab: such a box stays unproven (the repair is then not certified)')
    .option(
      '--timeout <S>',
      'area repair with --method bab: optional time cap in seconds (default none). The phases are limited by work budgets (--bab-boxes, --pending-boxes), so the same network, property and options give the same patches and proof map on any machine; a cap cuts the branch and bound at a fifth of it and the splitting of undecided boxes at 35 % (they are patched then), and the report says so (budget.cutByTime: the result then depends on the machine and its load); past 2 × the cap + 30 s the repair stops (exit 1, nothing written)',
    )
    .option(
      '--hard-stop <S>',
      'area repair with --method bab: stop outright after S seconds (default 2 × the --timeout cap + 30, or 600 without a cap): a partial report (the phase, the share of the box decided and how, regions and patches so far) to --report, a summary, exit 1, no network written',
    )
    .option(
      '--bab-boxes <N>',
      'area repair with --method bab: work budget of the branch and bound, in boxes bounded (default from the sizes of network and property: 185.6 M / (weights x layers x max(1, unsafe rows x disjuncts / 4)), at least 256, at most the --pending-boxes default: 1,992 on ACAS Xu phi2); split evenly among its jobs; the boxes it leaves undecided are decided after it',
    )
    .option(
      '--pending-boxes <N>',
      'area repair with --method bab: work budget, in boxes bounded, for splitting the boxes the branch and bound leaves undecided before the rest is patched box by box (default 371.1 M / (weights x layers x max(1, safe rows x pieces / 16)), at least 256: 3,985 on ACAS Xu phi2)',
    )
    .option('--max-regions <N>', 'area repair: stop with an error beyond N linear regions (default 100000)')
    .option(
      '--certify',
      'point-wise repair: certify the finished network on every repaired region even for more than 8 inputs (default: only up to 8)',
    )
    .option('--no-certify', 'point-wise repair: skip the certificate of the finished network (area repair always certifies)')
    .option('--label <K>', 'the label every point must get (label spec: output K is the argmax)')
    .option(
      '--spec <file>',
      'output spec JSON: {"label": K, "margin"?: m} or {"P": [[...]], "q": [...]} (P y <= q); point-wise repair also takes a VNN-LIB property (.vnnlib)',
    )
    .option(
      '--input-box <lo,hi|box.json>',
      'point-wise repair: input domain bounding the regions (default: the points file inputBox, then the model range; area repair uses the area box)',
    )
    .option('--radius <r>', 'largest locality radius in input units (default 1e-3 x the narrowest box side)')
    .option('--margin <m>', 'margin for label specs (default 0); with a VNN-LIB spec, shrinks its safe set')
    .option('--no-prune', 'keep redundant region rows in the supports')
    .option('--lp <backend>', 'LP backend for the full minimal-patch LP and the fallback of region LPs: glpk (default) or highs')
    .option(
      '--no-lp-fallback',
      'point-wise repair: a region whose LPs the core simplex cannot solve is reported as failed instead of going to the --lp backend',
    )
    .option(
      '--lp-pivot-limit <N>',
      'point-wise repair: pivot budget per LP and method of the core simplex (default 20 x (rows + inputs) + 1000); past it the LP goes to the fallback',
    )
    .option(
      '--allow-partial',
      'point-wise repair: when some regions cannot be solved, still write the network patching the others (exit code 1; the report lists the failed regions)',
    )
    .option(
      '--workers <n>',
      'point-wise repair: solve the regions in n worker threads; area repair with --method bab: run the branch and bound in n worker threads (same result as one thread)',
    )
    .requiredOption('--out <file>', 'repaired network: .json (relu-repair JSON, exact) or .onnx')
    .option('--report <file>', 'repair report (JSON)')
    .option('--quiet', 'no summary or progress on stderr')
    .option('--property <i>', 'VNN-LIB: which property (input set) of the file, when it has several')
    .option(
      '--onnx-precision <p>',
      'with --out X.onnx: float32 or float64 (default: float32 when it resolves every patch band, else float64)',
    )
    .option('--out-vnnlib <file>', 'also write the VNN-LIB property of each repaired region (for external verifiers)')
    .option('--vnnlib-tolerance <t>', 'with --out-vnnlib: the properties flag outputs violating the spec by at least t (default 1e-5)')
    .option('--nnet-normalize', 'with a .nnet model: apply its header normalisation (inputs and outputs in raw units)')
    .option('--from <tensor>', 'head repair of an ONNX model: repair the piecewise-linear tail from this tensor on (the prefix is kept)')
    .option('--latent-box <lo,hi|file>', 'with --from: the latent domain (default: bounds of the prefix over the input box)')
    .action((flags: RepairFlags, cmd: Command) => run((interrupt) => runRepair(flags, givenFlags(cmd), interrupt)));
}

/** Checks shared by both modes: flags tied to a file kind, outputs. */
function checkCommon(flags: RepairFlags, given: Set<string>, vnnSpec: boolean, mode: string): void {
  if (flags.label !== undefined && flags.spec !== undefined) throw new UsageError('give --label or --spec, not both', { field: '--spec' });
  checkExtension(flags.out, '--out', ['.json', '.onnx'], 'a repaired network');
  const onnx = flags.out.toLowerCase().endsWith('.onnx');
  rejectFlags(given, mode, {
    '--onnx-precision': onnx ? undefined : `--out ${flags.out} is not ONNX (the precision is for --out X.onnx)`,
    '--vnnlib-tolerance':
      flags.outVnnlib !== undefined ? undefined : 'it is the tolerance of the properties --out-vnnlib writes; give --out-vnnlib too',
    '--nnet-normalize': flags.model.toLowerCase().endsWith('.nnet')
      ? undefined
      : `--model ${flags.model} is not a .nnet file (only .nnet headers carry a normalisation)`,
    '--property': vnnSpec ? undefined : 'it picks a property of a VNN-LIB file (--spec X.vnnlib or --area X.vnnlib)',
  });
  if (flags.onnxPrecision !== undefined) parsePrecision(flags.onnxPrecision);
  if (flags.lp !== undefined) lpBackend(flags.lp);
  checkOutputs({ '--out': flags.out, '--report': flags.report, '--out-vnnlib': flags.outVnnlib });
}

export function lpBackend(name: string | undefined): LpName | undefined {
  if (name === undefined) return undefined;
  if (!(LP_NAMES as readonly string[]).includes(name))
    throw new UsageError(`unknown LP backend (expected ${LP_NAMES.join(' or ')})`, { field: '--lp', value: name });
  return name as LpName;
}

function parseWorkers(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError('must be an integer from 1 to 256', { field: '--workers', value: v });
  return n;
}

async function runRepair(flags: RepairFlags, given: Set<string>, interrupt: Interrupt): Promise<number> {
  if (flags.area !== undefined && flags.points !== undefined)
    throw new UsageError('give --points or --area, not both', { field: '--area' });
  if (flags.from !== undefined) return runHeadRepair({ ...flags, from: flags.from }, given, interrupt);
  if (flags.latentBox !== undefined)
    throw new UsageError('is the latent domain of head repair: give --from too', { field: '--latent-box' });
  if (flags.area !== undefined) return runAreaRepair(flags, given, interrupt);
  if (flags.points === undefined)
    throw new UsageError('give --points FILE (point-wise repair) or --area FILE (area repair)', { field: '--points' });
  const vnnSpec = flags.spec !== undefined && isVnnlibPath(flags.spec);
  const mode = 'point-wise repair (--points)';
  rejectFlags(given, mode, { '--max-regions': 'it limits the regions of an area (--area)' });
  const lpPivotLimit = parseWhole(flags.lpPivotLimit, '--lp-pivot-limit');
  checkCommon(flags, given, vnnSpec, mode);
  if (flags.spec !== undefined && !vnnSpec && flags.margin !== undefined) {
    throw new UsageError('does not apply with --spec FILE: put "margin" in the spec file (label specs) or shift q (polytope specs)', {
      field: '--margin',
    });
  }
  const workers = parseWorkers(flags.workers);
  const radius = flags.radius !== undefined ? parseNumber(flags.radius, '--radius') : undefined;
  if (flags.margin !== undefined) parseNumber(flags.margin, '--margin');
  if (flags.label !== undefined) parseNumber(flags.label, '--label');
  const tol = flags.vnnlibTolerance !== undefined ? parseNumber(flags.vnnlibTolerance, '--vnnlib-tolerance') : undefined;

  await init();
  const net = await loadRepairBase(flags.model, { normalize: flags.nnetNormalize });
  const pts = parsePoints(await readJsonFile(flags.points), net.inputSize, net.outputSize, flags.points);
  let spec: Spec | SpecUnion | undefined;
  let labels: number | number[] | undefined;
  let vnn: VnnlibJob | undefined;
  if (vnnSpec) {
    const fallbackBox =
      flags.inputBox !== undefined ? await parseInputBox(flags.inputBox, net.inputSize) : (pts.inputBox ?? net.info.inputBox);
    const margin = flags.margin !== undefined ? parseNumber(flags.margin, '--margin') : undefined;
    vnn = await vnnlibJob(flags.spec!, net, { property: flags.property, margin, fallbackBox });
    spec = vnn.spec;
    if (!flags.quiet) process.stderr.write(vnn.summary + '\n');
  } else if (flags.spec !== undefined) {
    spec = parseSpecJson(await readJsonFile(flags.spec), net.outputSize, flags.spec);
    checkSafeSetNotEmpty(spec, flags.spec);
  } else if (flags.label !== undefined) labels = parseNumber(flags.label, '--label');
  else if (pts.labels) labels = pts.labels;
  else
    throw new UsageError('no specification: pass --label K or --spec FILE, or give "targetLabel"/"labels" in the points file', {
      file: flags.points,
    });
  const inputBox = vnn
    ? vnn.inputBox
    : flags.inputBox !== undefined
      ? await parseInputBox(flags.inputBox, net.inputSize)
      : (pts.inputBox ?? net.info.inputBox);
  if (!inputBox) {
    throw new UsageError(
      'no input domain: pass --input-box lo,hi (or a box.json), or give "inputBox" in the points file; the model declares no input range, and an unbounded region has no finite minimal patch',
      { field: '--input-box' },
    );
  }
  const margin = flags.margin !== undefined && !vnn ? parseNumber(flags.margin, '--margin') : undefined;
  const result = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    repair(net, {
      points: pts.points,
      spec,
      labels,
      margin,
      inputBox,
      inputSet: vnn?.inputSet,
      radius,
      prune: flags.prune ? 'auto' : false,
      lp: lpBackend(flags.lp),
      lpFallback: flags.lpFallback,
      lpPivotLimit,
      workers,
      certify: flags.certify ?? 'auto',
      onProgress,
      signal,
    }),
  );
  if (interrupt.interrupted) return 0; // main() turns this into exit 130; nothing is written
  if (flags.report) await saveJson(flags.report, result.report);
  const r = result.report.result;
  let partialText = '';
  if (r.status === 'partial') {
    const failed = result.report.failedRegions;
    const pts = failed.flatMap((f) => f.points);
    const head = `${failed.length} region(s) could not be solved (points ${pts.slice(0, 10).join(', ')}${pts.length > 10 ? ', ...' : ''}): ${failed[0].reason}`;
    if (!flags.allowPartial) {
      process.stderr.write(
        `relu-repair: could not repair every region: ${head}; no network written (--allow-partial writes the network of the other regions)\n`,
      );
      return EXIT_NOT_REPAIRED;
    }
    partialText = `PARTIAL REPAIR (--allow-partial): ${head}; the network patches only the other regions\n`;
  }
  if (r.status === 'failed') {
    process.stderr.write(
      `relu-repair: could not repair: ${r.unfixedPoints.length} point(s) still violate the spec (${r.unfixedPoints.slice(0, 10).join(', ')}); no network written\n`,
    );
    return EXIT_NOT_REPAIRED;
  }
  const cert = result.report.certificate;
  if (cert && cert.status !== 'certified') {
    // Touching regions with other specs (report.conflicts): say which and why, as head repair does.
    const conflicts = result.report.conflicts ?? [];
    const why = conflicts.length
      ? `; ${conflicts.length} pair(s) of touching regions with other specs (report's conflicts), e.g. point(s) ${conflicts[0].points.join(', ')} and ${conflicts[0].otherPoints.join(', ')}: ${conflicts[0].why}`
      : '';
    process.stderr.write(`relu-repair: the repaired network is not certified: ${certificateText(cert)}${why}; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  const written = await saveRepairedFile(flags.out, result.network, {
    precision: flags.onnxPrecision === undefined ? undefined : parsePrecision(flags.onnxPrecision),
    quiet: flags.quiet,
  });
  let vnnFiles: string[] = [];
  if (flags.outVnnlib) {
    const specOf = (i: number | undefined) =>
      spec ?? labelSpec(Array.isArray(labels) ? labels[i ?? 0] : labels!, net.outputSize, { margin });
    vnnFiles = await saveRegionProperties(flags.outVnnlib, result.network, specOf, tol);
  }
  if (!flags.quiet) {
    const rep = result.report;
    const certText = rep.certificate
      ? `; certificate: ${certificateText(rep.certificate)}`
      : flags.certify === false
        ? '; certificate skipped (--no-certify)'
        : rep.bands && rep.bands.unresolved > 0
          ? `; not certified by default for more than 8 inputs` +
            (rep.bands.infeasible
              ? `, INFEASIBLE: ${rep.bands.infeasible.length} pair(s) of touching regions with contradicting specs (points and a common point in the report's bands.infeasible)`
              : '') +
            (rep.bands.unresolved > (rep.bands.infeasiblePairs ?? 0)
              ? `, and NOT PROVEN: ${rep.bands.unresolved - (rep.bands.infeasiblePairs ?? 0)} patch band(s) may reach a repaired region with another spec (--certify checks them)`
              : '')
          : rep.bands && rep.bands.otherSpecPairs > 0
            ? `; not certified by default for more than 8 inputs (--certify asks for it), every patch band proven off the ${rep.bands.provenApart} repaired region(s) with another spec`
            : '; not certified by default for more than 8 inputs (--certify asks for it)';
    process.stderr.write(
      partialText +
        `${r.fixedPoints}/${r.buggyPoints} buggy points fixed (${r.points} given) with ${r.regions} patch(es) in ${rep.timingsMs.total.toFixed(1)} ms; ` +
        `max patch norm ${fmt(r.maxPatchNorm)}; ${minimalityText(rep.regions)}${certText}; wasm ${rep.tool.wasm}\n` +
        `wrote ${[written, ...(flags.report ? [flags.report] : []), ...vnnFiles].join(', ')}\n`,
    );
  }
  return r.status === 'partial' ? EXIT_NOT_REPAIRED : EXIT_REPAIRED;
}

function parseWhole(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < 0) throw new UsageError('must be a whole number >= 0', { field: flag, value: v });
  return x;
}

async function runAreaRepair(flags: RepairFlags, given: Set<string>, interrupt: Interrupt): Promise<number> {
  const mode = 'area repair (--area)';
  rejectFlags(given, mode, {
    '--input-box': `the area file's box is the input domain (${flags.area})`,
    '--no-certify': 'area repair always certifies every region of the area (that is what its exit code reports)',
    '--certify': 'area repair always certifies every region of the area',
    '--no-lp-fallback': 'area repair always falls back to the --lp backend when the core simplex fails on a region',
    '--lp-pivot-limit': 'point-wise repair only (area repair keeps the core simplex budgets)',
    '--allow-partial': 'area repair either certifies the whole area or writes no network',
  });
  checkCommon(flags, given, isVnnlibPath(flags.area!), mode);
  const radius = flags.radius !== undefined ? parseNumber(flags.radius, '--radius') : undefined;
  const maxRegions = parseCount(flags.maxRegions, '--max-regions');
  const tol = flags.vnnlibTolerance !== undefined ? parseNumber(flags.vnnlibTolerance, '--vnnlib-tolerance') : undefined;

  if (flags.method !== undefined && !['bab', 'enumerate', 'box'].includes(flags.method))
    throw new UsageError('must be bab, enumerate or box', { field: '--method', value: flags.method });

  await init();
  const net = await loadRepairBase(flags.model, { normalize: flags.nnetNormalize });
  // Above 64 inputs no linear region enumeration finishes (an MNIST ball: 0.7 regions/s): the
  // whole box is one box patch unless --method says otherwise.
  const method = flags.method ?? (net.inputSize > 64 ? 'box' : isVnnlibPath(flags.area!) ? 'bab' : 'enumerate');
  if (method !== 'bab' && flags.timeout !== undefined) throw new UsageError('applies to --method bab only', { field: '--timeout' });
  if (method !== 'bab' && flags.hardStop !== undefined) throw new UsageError('applies to --method bab only', { field: '--hard-stop' });
  if (method !== 'bab' && flags.babBoxes !== undefined) throw new UsageError('applies to --method bab only', { field: '--bab-boxes' });
  if (method !== 'bab' && flags.pendingBoxes !== undefined)
    throw new UsageError('applies to --method bab only', { field: '--pending-boxes' });
  if (method !== 'bab' && flags.workers !== undefined)
    throw new UsageError('applies to --method bab only among area repairs (their other methods run on one thread)', { field: '--workers' });
  if (method !== 'bab' && flags.boxPatch !== undefined)
    throw new UsageError('applies to --method bab only', { field: flags.boxPatch ? '--box-patch' : '--no-box-patch' });
  if (method === 'box' && flags.maxRegions !== undefined)
    throw new UsageError('--method box enumerates no regions', { field: '--max-regions', value: flags.maxRegions });
  const file = await loadArea(flags.area!, net, flags);
  // A VNN-LIB area brings its safe set (--margin already shrank it).
  const spec = await areaSpec(isVnnlibPath(flags.area!) ? { ...flags, margin: undefined } : flags, file.spec, net.outputSize, flags.area!);
  if (method === 'bab') return runAreaBab(flags, net, file.area, spec, radius, maxRegions, interrupt);
  if (method === 'box') return runAreaBox(flags, net, file.area, spec, radius, interrupt);
  const result = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    repairArea(net, {
      method: 'enumerate',
      area: file.area,
      spec,
      radius,
      prune: flags.prune ? 'auto' : false,
      lp: lpBackend(flags.lp),
      enumerate: { maxRegions },
      onProgress,
      signal,
    }),
  );
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, result.report);
  const r = result.report.result;
  const head = `${r.regions} linear regions in the area, ${r.buggyRegions} violated the spec and were repaired`;
  if (r.status === 'not-certified') {
    process.stderr.write(`relu-repair: ${head}, but ${certificateText(result.report.certificate)}; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  const written = await saveRepairedFile(flags.out, result.network, {
    precision: flags.onnxPrecision === undefined ? undefined : parsePrecision(flags.onnxPrecision),
    quiet: flags.quiet,
  });
  const vnnFiles = flags.outVnnlib ? await saveRegionProperties(flags.outVnnlib, result.network, () => spec, tol) : [];
  if (!flags.quiet) {
    const t = result.report.timingsMs;
    process.stderr.write(
      `${head} (max patch norm ${fmt(r.maxPatchNorm)}); ${minimalityText(result.report.regions)}; ${certificateText(result.report.certificate)}; ` +
        `${t.total.toFixed(1)} ms (enumeration ${t.enumerate.toFixed(1)}, repair ${t.repair.toFixed(1)}, certificate ${t.certify.toFixed(1)})\n` +
        `wrote ${[written, ...(flags.report ? [flags.report] : []), ...vnnFiles].join(', ')}\n`,
    );
  }
  return EXIT_REPAIRED;
}

/** `repair --area --method bab` (ts/area-bab.ts): a property that holds is written unchanged. */
async function runAreaBab(
  flags: RepairFlags,
  net: Network,
  area: Area,
  spec: Spec | SpecUnion,
  radius: number | undefined,
  maxRegions: number | undefined,
  interrupt: Interrupt,
): Promise<number> {
  const timeout = flags.timeout !== undefined ? parseNumber(flags.timeout, '--timeout') : undefined;
  if (timeout !== undefined && !(timeout > 0))
    throw new UsageError('must be a number of seconds > 0', { field: '--timeout', value: flags.timeout });
  const hardStop = flags.hardStop !== undefined ? parseNumber(flags.hardStop, '--hard-stop') : undefined;
  if (hardStop !== undefined && !(hardStop > 0))
    throw new UsageError('must be a number of seconds > 0', { field: '--hard-stop', value: flags.hardStop });
  const babBoxes = parseWhole(flags.babBoxes, '--bab-boxes');
  const pendingBoxes = parseWhole(flags.pendingBoxes, '--pending-boxes');
  if (babBoxes === 0) throw new UsageError('must be a whole number >= 1', { field: '--bab-boxes', value: flags.babBoxes });
  if (pendingBoxes === 0) throw new UsageError('must be a whole number >= 1', { field: '--pending-boxes', value: flags.pendingBoxes });
  const workers = parseWorkers(flags.workers);
  // The property's own unsafe set is what the branch and bound proves absent (without --margin).
  let unsafe: VnnlibProperty['unsafe'] | undefined;
  if (isVnnlibPath(flags.area!) && flags.margin === undefined) {
    const v = parseVnnlib(await vnnlibText(await readBytes(flags.area!), flags.area!), flags.area!, {
      inputs: net.inputSize,
      outputs: net.outputSize,
    });
    unsafe = v.properties[flags.property !== undefined ? Number(flags.property) : 0].unsafe;
  }
  let result: Awaited<ReturnType<typeof repairAreaBab>>;
  try {
    result = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
      repairAreaBab(net, {
        area,
        spec,
        unsafe,
        radius,
        prune: flags.prune ? 'auto' : false,
        lp: lpBackend(flags.lp),
        maxLeafRegions: maxRegions,
        boxPatches: flags.boxPatch,
        timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
        hardStopMs: hardStop !== undefined ? hardStop * 1000 : undefined,
        verify: babBoxes !== undefined ? { maxBoxes: babBoxes } : undefined,
        pending: pendingBoxes !== undefined ? { maxBoxes: pendingBoxes } : undefined,
        workers,
        onProgress,
        signal,
      }),
    );
  } catch (e) {
    if (!(e instanceof AreaBabStopped) || interrupt.interrupted) throw e;
    // The hard stop: what was decided so far, and no network.
    if (flags.report) await saveJson(flags.report, e.report);
    process.stderr.write(
      `relu-repair: ${stopSummary(e.report)}; no network written${flags.report ? `; partial report in ${flags.report}` : ''}\n`,
    );
    return EXIT_NOT_REPAIRED;
  }
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, result.report);
  const rep = result.report;
  const r = rep.result;
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  const proof = `${pct(rep.shares.bounds)} of the box proven by bounds, ${pct(rep.shares.regions)} by exact regions`;
  if (r.status === 'holds') {
    await saveNetworkFile(flags.out, net);
    if (!flags.quiet)
      process.stderr.write(
        `relu-repair: the property holds on the whole area (${proof}); nothing to repair; wrote the network unchanged to ${flags.out}` +
          `${flags.report ? ` and ${flags.report}` : ''}\n`,
      );
    return EXIT_REPAIRED;
  }
  const head = `${proof}; ${r.regions} linear regions enumerated, ${r.buggyRegions} violated the spec and were repaired (${r.patches} patches)`;
  if (r.status === 'not-certified') {
    const why = rep.unproven
      .slice(0, 3)
      .map((u) => `${u.reason}: ${u.detail}`)
      .join('; ');
    process.stderr.write(
      `relu-repair: ${head}, but ${rep.unproven.length} part(s) of the area have no proof on the repaired network (${why}); no network written\n`,
    );
    return EXIT_NOT_REPAIRED;
  }
  const written = await saveRepairedFile(flags.out, result.network, {
    precision: flags.onnxPrecision === undefined ? undefined : parsePrecision(flags.onnxPrecision),
    quiet: flags.quiet,
  });
  if (!flags.quiet) {
    const t = rep.timingsMs;
    process.stderr.write(
      `${head} (max patch norm ${fmt(r.maxPatchNorm)}); certified on the whole area (${rep.certificate?.regions ?? 0} regions certified, ` +
        `${pct(rep.shares.reproven)} of the box re-proven where patch bands reach); ${(t.total / 1000).toFixed(1)} s ` +
        `(branch and bound ${(t.verify / 1000).toFixed(1)}, enumeration ${(t.enumerate / 1000).toFixed(1)}, repair ${(t.repair / 1000).toFixed(1)}, ` +
        `certificate ${(t.certify / 1000).toFixed(1)}, re-proof ${(t.reprove / 1000).toFixed(1)}); ` +
        `work budgets: ${rep.verify.boxes} of ${rep.budget.verifyBoxes} boxes bounded by the branch and bound (${rep.budget.jobsSpent} of ${rep.budget.jobs} jobs spent their ${rep.budget.jobBoxes}), ` +
        `${rep.budget.pendingBounded} of ${rep.budget.pendingBoxes} for undecided boxes` +
        `${rep.budget.cutByTime ? `; cut by the ${(rep.budget.timeCapMs ?? 0) / 1000} s time cap: this result depends on the machine and its load` : ''}\n` +
        `wrote ${[written, ...(flags.report ? [flags.report] : [])].join(', ')}\n`,
    );
  }
  return EXIT_REPAIRED;
}

/** A stopped area repair in one line: where it stopped and what it had decided. */
function stopSummary(r: AreaBabStopReport): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)} %`);
  const s = r.shares;
  const how =
    s.bounds !== null
      ? `: ${pct(s.bounds)} proven by bounds and ${pct(s.regions)} by exact regions on the original network, ${pct(s.violated)} violated, ${pct(s.undecided)} handed back` +
        (s.pendingBounds !== null
          ? ` (of which ${pct(s.pendingBounds)} proven by bounds, ${pct(s.pendingBoxPatch)} patched as a whole, ${pct(s.pendingNoPatch)} without a patch)`
          : '')
      : '';
  return (
    `area repair stopped at its hard limit of ${+(r.limitMs / 1000).toFixed(3)} s in phase "${r.phase}"; ` +
    `the branch and bound decided ${pct(s.decided)} of the box${how}; ` +
    `${r.regions ?? 0} linear regions enumerated, ${r.patches} patches made (${r.boxPatches} box patches); nothing certified on a repaired network`
  );
}

/** `repair --area --method box` (ts/area-box.ts): the whole box as one box patch, certified by bounds. */
async function runAreaBox(
  flags: RepairFlags,
  net: Network,
  area: Area,
  spec: Spec | SpecUnion,
  radius: number | undefined,
  interrupt: Interrupt,
): Promise<number> {
  if (!flags.quiet)
    process.stderr.write(`relu-repair: one box patch for the whole area (${net.inputSize} inputs): bounding the spec rows\n`);
  const result = await interrupt.cancellableJob(() => repairAreaBox(net, { area, spec, radius, signal: interrupt.signal }));
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, result.report);
  const rep = result.report;
  const m = rep.minimality;
  if (rep.result.status === 'holds') {
    await saveNetworkFile(flags.out, net);
    if (!flags.quiet)
      process.stderr.write(
        `relu-repair: the bounds prove the spec on the whole area; nothing to repair; wrote the network unchanged to ${flags.out}` +
          `${flags.report ? ` and ${flags.report}` : ''}\n`,
      );
    return EXIT_REPAIRED;
  }
  if (rep.result.status !== 'repaired') {
    const why = rep.certificate?.reason ?? rep.notes.join('; ');
    process.stderr.write(`relu-repair: the box patch is not certified (${why}); no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  const written = await saveRepairedFile(flags.out, result.network, {
    precision: flags.onnxPrecision === undefined ? undefined : parsePrecision(flags.onnxPrecision),
    quiet: flags.quiet,
  });
  if (!flags.quiet) {
    const c = rep.certificate!;
    process.stderr.write(
      `one box patch of norm ${fmt(m.patchNorm)} (from sound bounds; the worst violation found needs ${fmt(m.minimalNorm)}: minimality gap ${fmt(m.gap)}); ` +
        `certified on the whole box by bounds on the repaired network (proven bound ${fmt(c.provenBound)} <= tolerance ${fmt(c.tolerance)}); ` +
        `${(rep.timingsMs.total / 1000).toFixed(1)} s\nwrote ${[written, ...(flags.report ? [flags.report] : [])].join(', ')}\n`,
    );
  }
  return EXIT_REPAIRED;
}

/** A model to repair; a repaired ONNX file is repaired as a whole (its graph is the base network: docs/COMPOSITION.md). */
async function loadRepairBase(path: string, opts: ModelLoadOptions): Promise<Network> {
  const net = await loadModel(path, opts);
  if (!path.toLowerCase().endsWith('.onnx') || net.info.inputBox) return net;
  const fs = await import('node:fs/promises');
  return repairBaseFromOnnx(new Uint8Array(await fs.readFile(path)), path, net);
}
