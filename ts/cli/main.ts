/**
 * The `relu-repair` command line. Exit codes: 0 repaired, 1 could not repair, 2 bad input.
 * Human text goes to stderr (with a progress bar when stderr is a TTY); `demo` prints its table
 * on stdout.
 */
import { Command, CommanderError, Option } from 'commander';
import demoPoints from '../../test/fixtures/hcas/buggy-points-pra1-tau05.json' with { type: 'json' };
import demoNnet from '../../test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet';
import { repairArea } from '../area.js';
import { type CertificateReport, certify } from '../certificate.js';
import { InputError, ReluRepairError } from '../errors.js';
import { type AreaFile, parseAreaJson } from '../formats/area.js';
import { networkToJson, REPAIRED_FORMAT, repairedFromJson, repairedToJson } from '../formats/json.js';
import { loadModel, readJsonFile } from '../formats/load.js';
import { parseNnet } from '../formats/nnet.js';
import { parsePoints } from '../formats/points.js';
import { saveJson } from '../io.js';
import { LP_NAMES, type LpName } from '../lp/select.js';
import { type Box, expandBox, type Network } from '../network.js';
import { type RepairResult, repair } from '../repair.js';
import { RepairedNetwork } from '../repaired.js';
import type { RepairReport } from '../report.js';
import { labelSpec, parseSpecJson, type Spec } from '../spec.js';
import type { SpecUnion } from '../spec-union.js';
import { VERSION } from '../version.js';
import { init } from '../wasm/raw.js';
import {
  isVnnlibPath,
  parsePrecision,
  registerEval,
  saveNetworkFile,
  saveRegionProperties,
  saveRepairedFile,
  type VnnlibJob,
  vnnlibJob,
} from './formats.js';
import { ProgressBar } from './progress.js';
import { registerRunInstances } from './run-instances.js';
import { registerVerify } from './verify.js';

const EXIT_REPAIRED = 0;
const EXIT_NOT_REPAIRED = 1;
const EXIT_BAD_INPUT = 2;

class UsageError extends InputError {}

function parseNumber(v: string, flag: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError('is not a finite number', { field: flag, value: v });
  return x;
}

async function parseInputBox(arg: string, dim: number): Promise<Box> {
  const parts = arg.split(',');
  if (parts.length === 2 && parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p)))) {
    return expandBox(Number(parts[0]), Number(parts[1]), dim, undefined, '--input-box');
  }
  const doc = (await readJsonFile(arg)) as Record<string, unknown>;
  const b = (doc?.box ?? doc?.inputBox ?? doc) as Record<string, unknown>;
  return expandBox(b?.lower, b?.upper, dim, arg, doc?.box ? 'box' : doc?.inputBox ? 'inputBox' : '');
}

interface RepairFlags {
  model: string;
  points?: string;
  area?: string;
  maxRegions?: string;
  certify: boolean;
  label?: string;
  spec?: string;
  inputBox?: string;
  radius?: string;
  margin?: string;
  prune: boolean;
  lp?: string;
  workers?: string;
  out: string;
  report?: string;
  quiet?: boolean;
  // formats (issue 3)
  property?: string;
  onnxPrecision?: string;
  outVnnlib?: string;
  vnnlibTolerance?: string;
  nnetNormalize?: boolean;
}

async function runRepair(flags: RepairFlags): Promise<number> {
  if (flags.label !== undefined && flags.spec !== undefined) throw new UsageError('give --label or --spec, not both', { field: '--spec' });
  if (flags.area !== undefined) return runAreaRepair(flags);
  if (flags.points === undefined)
    throw new UsageError('give --points FILE (point-wise repair) or --area FILE (area repair)', { field: '--points' });
  await init();
  const precision = parsePrecision(flags.onnxPrecision);
  const net = await loadModel(flags.model, { normalize: flags.nnetNormalize });
  const pts = parsePoints(await readJsonFile(flags.points), net.inputSize, net.outputSize, flags.points);
  let spec: Spec | SpecUnion | undefined;
  let labels: number | number[] | undefined;
  let vnn: VnnlibJob | undefined;
  if (flags.spec !== undefined && isVnnlibPath(flags.spec)) {
    const fallbackBox =
      flags.inputBox !== undefined ? await parseInputBox(flags.inputBox, net.inputSize) : (pts.inputBox ?? net.info.inputBox);
    const margin = flags.margin !== undefined ? parseNumber(flags.margin, '--margin') : undefined;
    vnn = await vnnlibJob(flags.spec, net, { property: flags.property, margin, fallbackBox });
    spec = vnn.spec;
    if (!flags.quiet) process.stderr.write(vnn.summary + '\n');
  } else if (flags.spec !== undefined) spec = parseSpecJson(await readJsonFile(flags.spec), net.outputSize, flags.spec);
  else if (flags.label !== undefined) labels = parseNumber(flags.label, '--label');
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
  const radius = flags.radius !== undefined ? parseNumber(flags.radius, '--radius') : undefined;
  const result = await withProgress(flags.quiet, (onProgress, signal) =>
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
      workers: parseWorkers(flags.workers),
      certify: flags.certify ? 'auto' : false,
      onProgress,
      signal,
    }),
  );
  if (flags.report) await saveJson(flags.report, result.report);
  const r = result.report.result;
  if (r.status === 'failed') {
    process.stderr.write(
      `relu-repair: could not repair: ${r.unfixedPoints.length} point(s) still violate the spec (${r.unfixedPoints.slice(0, 10).join(', ')}); no network written\n`,
    );
    return EXIT_NOT_REPAIRED;
  }
  const cert = result.report.certificate;
  if (cert && cert.status !== 'certified') {
    process.stderr.write(`relu-repair: the repaired network is not certified: ${certificateText(cert)}; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  await saveRepairedFile(flags.out, result.network, { precision });
  let vnnFiles: string[] = [];
  if (flags.outVnnlib) {
    const tol = flags.vnnlibTolerance !== undefined ? parseNumber(flags.vnnlibTolerance, '--vnnlib-tolerance') : undefined;
    const specOf = (i: number) => spec ?? labelSpec(Array.isArray(labels) ? labels[i] : labels!, net.outputSize, { margin });
    vnnFiles = await saveRegionProperties(flags.outVnnlib, result.network, result.report, specOf, tol);
  }
  if (!flags.quiet)
    process.stderr.write(
      summary(result.report) + `\nwrote ${[flags.out, ...(flags.report ? [flags.report] : []), ...vnnFiles].join(', ')}\n`,
    );
  return EXIT_REPAIRED;
}

function parseWorkers(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError('must be an integer from 1 to 256', { field: '--workers', value: v });
  return n;
}

// ---------------------------------------------------------------------------------------------
// Area repair and certificates (issue 4)

/** Reads an area file: JSON (ts/formats/area.ts), or a VNN-LIB property (its input set and safe set). */
async function loadArea(
  path: string,
  net: Network,
  opts: { property?: string; margin?: string; quiet?: boolean },
): Promise<{ area: AreaFile['area']; spec?: Spec | SpecUnion }> {
  if (isVnnlibPath(path)) {
    const margin = opts.margin !== undefined ? parseNumber(opts.margin, '--margin') : undefined;
    const job = await vnnlibJob(path, net, { property: opts.property, margin, fallbackBox: net.info.inputBox });
    if (!opts.quiet) process.stderr.write(job.summary + '\n');
    return { area: { box: job.inputBox, inputSet: job.inputSet }, spec: job.spec };
  }
  return parseAreaJson(await readJsonFile(path), net.inputSize, net.outputSize, path);
}

function parseCount(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < 1) throw new UsageError('must be a whole number >= 1', { field: flag, value: v });
  return x;
}

async function specFromFlags(
  flags: { spec?: string; label?: string; margin?: string },
  fromFile: Spec | SpecUnion | undefined,
  outputs: number,
  source: string,
): Promise<Spec | SpecUnion> {
  if (flags.label !== undefined && flags.spec !== undefined) throw new UsageError('give --label or --spec, not both', { field: '--spec' });
  const margin = flags.margin !== undefined ? parseNumber(flags.margin, '--margin') : undefined;
  if (flags.spec !== undefined && isVnnlibPath(flags.spec)) {
    throw new UsageError('with an area, give a VNN-LIB property as --area (its input set is the area and its safe set the spec)', {
      file: flags.spec,
      field: '--spec',
    });
  }
  if (flags.spec !== undefined) return parseSpecJson(await readJsonFile(flags.spec), outputs, flags.spec);
  if (flags.label !== undefined) return labelSpec(parseNumber(flags.label, '--label'), outputs, { margin, field: '--label' });
  if (fromFile) return fromFile;
  throw new UsageError(`no specification: pass --label K or --spec FILE, or give "targetLabel" or "spec" in ${source}`, {
    field: '--spec',
  });
}

function certificateText(c: CertificateReport): string {
  if (c.status === 'certified') {
    return `${c.certifiedRegions}/${c.regions} regions certified (largest proven bound ${fmt(c.maxViolation)}, tolerance <= ${fmt(c.tolerance.largestAbsolute)}, ${c.pieces} pieces)`;
  }
  const found =
    c.largestViolationFound === null
      ? 'no violating point found (the bounds do not close)'
      : `largest violation found ${fmt(c.largestViolationFound)}`;
  return `${c.failedRegions.length} of ${c.regions} regions not certified (largest proven bound ${fmt(c.maxViolation)} > tolerance; ${found})`;
}

async function runAreaRepair(flags: RepairFlags): Promise<number> {
  if (flags.points !== undefined) throw new UsageError('give --points or --area, not both', { field: '--area' });
  await init();
  const net = await loadModel(flags.model);
  const file = await loadArea(flags.area!, net, flags);
  // A VNN-LIB area brings its safe set (--margin already shrank it).
  const spec = await specFromFlags(
    isVnnlibPath(flags.area!) ? { ...flags, margin: undefined } : flags,
    file.spec,
    net.outputSize,
    flags.area!,
  );
  const radius = flags.radius !== undefined ? parseNumber(flags.radius, '--radius') : undefined;
  const maxRegions = parseCount(flags.maxRegions, '--max-regions');
  const result = await withProgress(flags.quiet, (onProgress, signal) =>
    repairArea(net, {
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
  if (flags.report) await saveJson(flags.report, result.report);
  const r = result.report.result;
  const head = `${r.regions} linear regions in the area, ${r.buggyRegions} violated the spec and were repaired`;
  if (r.status === 'not-certified') {
    process.stderr.write(`relu-repair: ${head}, but ${certificateText(result.report.certificate)}; no network written\n`);
    return EXIT_NOT_REPAIRED;
  }
  await saveRepairedFile(flags.out, result.network, { precision: parsePrecision(flags.onnxPrecision) });
  if (!flags.quiet) {
    const t = result.report.timingsMs;
    process.stderr.write(
      `${head} (max patch norm ${fmt(r.maxPatchNorm)}); ${certificateText(result.report.certificate)}; ` +
        `${t.total.toFixed(1)} ms (enumeration ${t.enumerate.toFixed(1)}, repair ${t.repair.toFixed(1)}, certificate ${t.certify.toFixed(1)})\nwrote ${flags.out}${flags.report ? ` and ${flags.report}` : ''}\n`,
    );
  }
  return EXIT_REPAIRED;
}

interface CertifyFlags {
  model: string;
  property?: string;
  spec?: string;
  label?: string;
  margin?: string;
  area?: string;
  maxRegions?: string;
  exact?: boolean;
  report?: string;
  quiet?: boolean;
}

async function runCertify(flags: CertifyFlags): Promise<number> {
  await init();
  // A repaired network (relu-repair JSON), or a plain model certified as it is (with --area).
  let network: RepairedNetwork;
  const text = flags.model.toLowerCase().endsWith('.json') ? ((await readJsonFile(flags.model)) as { format?: unknown }) : undefined;
  if (text?.format === REPAIRED_FORMAT) network = repairedFromJson(text, flags.model);
  else {
    const net = await loadModel(flags.model);
    if (flags.area === undefined)
      throw new UsageError('is not a repaired network (relu-repair JSON); pass --area to certify a plain model on an area', {
        file: flags.model,
      });
    network = new RepairedNetwork(net, [], net.info.inputBox);
  }
  const n = network.inputSize;
  const file = flags.area !== undefined ? await loadArea(flags.area, network.original, flags) : undefined;
  const vnnArea = flags.area !== undefined && isVnnlibPath(flags.area);
  const spec = await specFromFlags(
    vnnArea ? { ...flags, margin: undefined } : flags,
    file?.spec,
    network.outputSize,
    flags.area ?? flags.model,
  );
  const maxRegions = parseCount(flags.maxRegions, '--max-regions');
  const report = await withProgress(flags.quiet, (onProgress, signal) =>
    certify(network, {
      spec,
      area: file?.area,
      enumerate: { maxRegions },
      boundHelpful: !flags.exact,
      signal,
      onProgress: (e) => onProgress({ done: e.done, total: e.total, phase: e.phase }),
    }),
  );
  if (flags.report) await saveJson(flags.report, report);
  const scope = report.scope === 'area' ? `every linear region of the area (${flags.area})` : 'the regions its patches repaired';
  if (report.status === 'certified') {
    if (!flags.quiet) process.stderr.write(`certified on ${scope}: ${certificateText(report)}; ${(report.ms ?? 0).toFixed(1)} ms\n`);
    return EXIT_REPAIRED;
  }
  process.stderr.write(`relu-repair: NOT certified on ${scope}: ${certificateText(report)}\n`);
  return EXIT_NOT_REPAIRED;
}

function lpBackend(name: string | undefined): LpName | undefined {
  if (name === undefined) return undefined;
  if (!(LP_NAMES as readonly string[]).includes(name))
    throw new UsageError(`unknown LP backend (expected ${LP_NAMES.join(' or ')})`, { field: '--lp', value: name });
  return name as LpName;
}

function summary(rep: RepairReport): string {
  const r = rep.result;
  const proofs = new Map<string, number>();
  for (const g of rep.regions) proofs.set(g.minimalityProof, (proofs.get(g.minimalityProof) ?? 0) + 1);
  const proofText = [...proofs].map(([p, c]) => `${c} by ${p}`).join(', ');
  return (
    `${r.fixedPoints}/${r.buggyPoints} buggy points fixed (${r.points} given) with ${r.regions} patch(es) in ${rep.timingsMs.total.toFixed(1)} ms; ` +
    `max patch norm ${fmt(r.maxPatchNorm)}; minimality proven ${proofText || 'n/a'}; wasm ${rep.tool.wasm}`
  );
}

function fmt(v: number, digits = 6): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(digits);
}

async function withProgress<T>(
  quiet: boolean | undefined,
  run: (onProgress: (e: { done: number; total: number; phase: string }) => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const bar = !quiet && process.stderr.isTTY ? new ProgressBar(process.stderr) : undefined;
  const ctl = new AbortController();
  const onSigint = () => ctl.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  try {
    return await run((e) => bar?.update(e.done, e.total, e.phase), ctl.signal);
  } finally {
    process.off('SIGINT', onSigint);
    bar?.clear();
  }
}

async function runDemo(opts: { out?: string; report?: string }): Promise<number> {
  await init();
  const file = 'HCAS_rect_v6_pra1_tau05_25HU_3000.nnet';
  const net = parseNnet(demoNnet, file);
  const pts = parsePoints(demoPoints, net.inputSize, net.outputSize, 'buggy-points-pra1-tau05.json');
  const result: RepairResult = await withProgress(false, (onProgress, signal) =>
    repair(net, { points: pts.points, labels: pts.labels, inputBox: pts.inputBox, onProgress, signal }),
  );
  const { report } = result;
  const before = net.predict(pts.points);
  const after = result.network.predict(pts.points);
  const argmax = (y: number[]) => y.reduce((b, v, i) => (v > y[b] ? i : b), 0);
  const regionOf = new Map<number, number>();
  report.regions.forEach((g, ri) => g.points.forEach((p) => regionOf.set(p, ri)));
  const advisory = ['COC', 'WL', 'WR', 'SL', 'SR'];
  const lines: string[] = [];
  lines.push(`relu-repair ${VERSION} demo: repair the HCAS collision-avoidance network ${file}`);
  lines.push(`(3 inputs x, y, theta; 5 hidden ReLU layers of 25; 5 advisories) on its 50 known counterexamples.`);
  lines.push(`Specification: advisory 4 (SR, strong right) must be the argmax on the whole linear region of each point.`);
  lines.push('');
  lines.push(' #   x [ft]   y [ft]  theta [rad]  before    after   region  patch |p|inf  lower bound  proof');
  pts.points.forEach((x, i) => {
    const ri = regionOf.get(i);
    const g = ri !== undefined ? report.regions[ri] : undefined;
    const b = argmax(before[i]);
    const a = argmax(after[i]);
    lines.push(
      `${String(i).padStart(2)} ${x[0].toFixed(0).padStart(8)} ${x[1].toFixed(0).padStart(8)} ${x[2].toFixed(4).padStart(12)}  ` +
        `${(advisory[b] + ` (${b})`).padEnd(8)} ${(advisory[a] + ` (${a})`).padEnd(8)} ${String(ri ?? '-').padStart(6)}  ` +
        `${g ? fmt(g.patchNorm).padStart(11) : '-'.padStart(11)}  ${g ? fmt(g.lowerBound).padStart(11) : '-'.padStart(11)}  ${g?.minimalityProof ?? '-'}`,
    );
  });
  const r = report.result;
  const perPoint = report.timingsMs.total / r.points;
  lines.push('');
  lines.push(
    `${r.fixedPoints}/${r.buggyPoints} buggy points fixed; ${r.regions} linear regions patched (points sharing a region share one patch).`,
  );
  lines.push(`Every patch is the minimal affine patch on its whole region (norm = lower bound), and the network is unchanged`);
  lines.push(
    `bit for bit farther than each patch's radius (largest ${fmt(Math.max(...report.regions.map((g) => g.radius)))}) from its region.`,
  );
  lines.push(
    `Time: ${report.timingsMs.total.toFixed(1)} ms in all, ${perPoint.toFixed(3)} ms per point (wasm ${report.tool.wasm}; region LPs in the core simplex).`,
  );
  if (report.certificate) lines.push(`Certificate of the finished network: ${certificateText(report.certificate)}.`);
  process.stdout.write(lines.join('\n') + '\n');
  if (opts.out) await saveJson(opts.out, repairedToJson(result.network));
  if (opts.report) await saveJson(opts.report, report);
  return r.status === 'repaired' ? EXIT_REPAIRED : EXIT_NOT_REPAIRED;
}

export async function main(argv: string[]): Promise<number> {
  let code = EXIT_REPAIRED;
  const program = new Command()
    .name('relu-repair')
    .description('Provable repair of ReLU neural networks (REASSURE): minimal, local patches per faulty linear region.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('repair')
    .description('repair the linear region of every buggy point')
    .requiredOption('--model <file>', 'network to repair (.nnet, .onnx, relu-repair .json or TF.js model.json)')
    .option('--points <file>', 'buggy points (JSON: {points, targetLabel|labels, inputBox?} or [{input, label}])')
    .option(
      '--area <file>',
      'area repair instead: every linear region in the area (JSON {box: {lower, upper}, A?, b?, targetLabel?}, or a VNN-LIB property)',
    )
    .option('--max-regions <N>', 'area repair: stop with an error beyond N linear regions (default 100000)')
    .option('--no-certify', 'point-wise repair: skip the certificate of the finished network (on by default for <= 8 inputs)')
    .option('--label <K>', 'the label every point must get (label spec: output K is the argmax)')
    .option(
      '--spec <file>',
      'output spec JSON: {"label": K, "margin"?: m} or {"P": [[...]], "q": [...]} (P y <= q), or a VNN-LIB property (.vnnlib)',
    )
    .option('--input-box <lo,hi|box.json>', 'input domain bounding the regions (default: the points file inputBox, then the model range)')
    .option('--radius <r>', 'largest locality radius in input units (default 1e-3 x the narrowest box side)')
    .option('--margin <m>', 'margin for label specs (default 0)')
    .option('--no-prune', 'keep redundant region rows in the supports')
    .option('--lp <backend>', 'LP backend for the full minimal-patch LP: glpk (default) or highs')
    .option('--workers <n>', 'solve the regions in n worker threads (same result as one thread)')
    .requiredOption('--out <file>', 'repaired network (relu-repair JSON, or ONNX when the name ends in .onnx)')
    .option('--report <file>', 'repair report (JSON)')
    .option('--quiet', 'no summary or progress on stderr')
    .option('--property <i>', 'VNN-LIB: which property (input set) of the file, when it has several')
    .option(
      '--onnx-precision <p>',
      'ONNX output element type: float32 (default) or float64 (needed when float32 cannot resolve the locality radius)',
    )
    .option('--out-vnnlib <file>', 'also write the VNN-LIB property of each repaired region (for external verifiers)')
    .option('--vnnlib-tolerance <t>', 'the written properties flag outputs violating the spec by at least t (default 1e-5)')
    .option('--nnet-normalize', 'apply the .nnet header normalisation (inputs and outputs in raw units)')
    .action(async (flags: RepairFlags) => {
      code = await runRepair(flags);
    });
  program
    .command('certify')
    .description('prove a spec on a repaired network, region by region (exit 0 certified, 1 not certified, 2 bad input)')
    .requiredOption('--model <file>', 'repaired network (relu-repair JSON), or a plain model with --area')
    .option('--spec <file>', 'output spec JSON: {"label": K, "margin"?: m} or {"P": [[...]], "q": [...]} (P y <= q)')
    .option('--label <K>', 'label spec: output K is the argmax')
    .option('--margin <m>', 'margin for --label (default 0)')
    .option(
      '--area <file>',
      'certify every linear region of this area (JSON, or a VNN-LIB property: its input set and safe set); default: the regions the patches repaired',
    )
    .option('--property <i>', 'with a VNN-LIB area of several properties: which one (0-based)')
    .option('--max-regions <N>', 'stop with an error beyond N linear regions (default 100000)')
    .option('--exact', 'model every patch whose band reaches a region exactly (default: bound patches that only lower every spec row by 0)')
    .option('--report <file>', 'certificate report (JSON)')
    .option('--quiet', 'no summary or progress on stderr')
    .action(async (flags: CertifyFlags) => {
      code = await runCertify(flags);
    });
  program
    .command('demo')
    .description('repair the embedded HCAS tau05 network on its 50 buggy points and print a table')
    .addOption(new Option('--out <file>', 'also save the repaired network'))
    .addOption(new Option('--report <file>', 'also save the report'))
    .action(async (opts: { out?: string; report?: string }) => {
      code = await runDemo(opts);
    });
  program
    .command('export-model')
    .description('convert a model: to relu-repair JSON, or by the output name to .onnx, .nnet or TF.js model.json')
    .requiredOption('--model <file>', 'input model')
    .requiredOption('--out <file>', 'output (.json, .onnx, .nnet, model.json)')
    .option('--onnx-precision <p>', 'ONNX element type: float32 (default) or float64')
    .option('--nnet-normalize', 'apply the .nnet header normalisation of the input model')
    .action(async (o: { model: string; out: string; onnxPrecision?: string; nnetNormalize?: boolean }) => {
      const net: Network = await loadModel(o.model, { normalize: o.nnetNormalize });
      await saveNetworkFile(o.out, net, { precision: parsePrecision(o.onnxPrecision) });
    });
  registerEval(program, (c) => {
    code = c;
  });
  registerVerify(program, (c) => (code = c));
  registerRunInstances(program, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof InputError) {
      process.stderr.write(`relu-repair: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof ReluRepairError) {
      process.stderr.write(`relu-repair: ${e.message}\n`);
      return EXIT_NOT_REPAIRED;
    }
    throw e;
  }
}
