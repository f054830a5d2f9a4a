/**
 * `relu-repair run-instances instances.csv --out results.csv`: every `onnx,vnnlib,timeout` row of
 * a VNN-COMP benchmark CSV verified with its timeout, one results row per instance (answer,
 * times, boxes, regions, the shares of the box proven by bounds and by exact regions, and the
 * counterexample file of violated ones). Paths are relative to the CSV, or to `--root`.
 *
 * With `--repair`, every violated instance is also repaired over its violated property's whole
 * input set (ts/area-bab.ts, the instance's timeout as its budget) and the repaired network written
 * (float64 ONNX, `<out>.repaired/`) when the whole box is certified; the rows get the columns
 * repair, repair_s, regions_enumerated, patches, certified, repaired_model, box_patches,
 * max_patch_norm. The repair's phases are limited by its work budgets (as `repair --area`); the
 * instance's timeout is their time cap (`timeoutMs`: where it cuts, the result depends on the load)
 * and, as in `repair`, the hard stop is 2 × the timeout + 30 s (then the row says `timeout`).
 *
 * Exit codes: 0 every instance answered (holds or violated), 3 some timed out or stayed unknown,
 * 2 bad input (nothing written). The results and counterexample files are written at the end,
 * atomically; Ctrl-C stops without writing them.
 */
import type { Command } from 'commander';
import { AreaBabStopped, repairAreaBab } from '../area-bab.js';
import { AbortError, InputError } from '../errors.js';
import { loadModel } from '../formats/load.js';
import { repairedToOnnx } from '../formats/onnx/export.js';
import { type InstanceResult, parseInstancesCsv, RESULTS_HEADER, resultsCsvRow, resultText } from '../formats/vnncomp.js';
import { propertyInputDomain, safeSpec, type Vnnlib, type VnnlibProperty } from '../formats/vnnlib.js';
import type { Network } from '../network.js';
import { createPool, type RepairPool } from '../pool/pool.js';
import { verify } from '../verify.js';
import { init } from '../wasm/raw.js';
import { saveFiles } from './formats.js';
import { EXIT_NO_ANSWER, loadProperty, parseWorkerCount, readText, summaryOf, VerifyReporter, vnncompWord } from './verify.js';

export interface RunInstancesFlags {
  out: string;
  root?: string;
  workers?: string;
  cexDir?: string;
  timeoutScale?: string;
  skipMissing?: boolean;
  repair?: boolean;
  quiet?: boolean;
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const stem = (p: string) => base(p).replace(/\.(onnx|vnnlib|nnet|json)$/i, '');

export async function runInstances(csv: string, flags: RunInstancesFlags): Promise<number> {
  const path = await import('node:path');
  const fs = await import('node:fs/promises');
  const scale = flags.timeoutScale !== undefined ? Number(flags.timeoutScale) : 1;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new InputError('must be a number > 0', { field: '--timeout-scale', value: flags.timeoutScale });
  const workers = parseWorkerCount(flags.workers);
  const listed = parseInstancesCsv(await readText(csv), csv);
  const root = flags.root ?? path.dirname(csv);
  const resolve = (p: string) => (path.isAbsolute(p) ? p : path.join(root, p));
  // Every file must exist before anything runs (bad input: exit 2, nothing written), unless
  // --skip-missing leaves those rows out (a benchmark run on some of its networks).
  const rows: typeof listed = [];
  let skipped = 0;
  for (const r of listed) {
    let missing: string | undefined;
    for (const f of [r.onnx, r.vnnlib]) {
      try {
        await fs.access(resolve(f));
      } catch {
        missing ??= resolve(f);
      }
    }
    if (missing === undefined) rows.push(r);
    else if (flags.skipMissing) skipped++;
    else throw new InputError('does not exist', { file: csv, field: `line ${r.line}`, value: missing });
  }
  if (rows.length === 0) throw new InputError('no instance left: every row names a missing file', { file: csv });
  if (skipped && !flags.quiet) process.stderr.write(`${csv}: ${skipped} of ${listed.length} rows skipped (missing files)\n`);
  await init();
  const outDir = path.dirname(flags.out);
  const cexDir = flags.cexDir ?? `${flags.out.replace(/\.csv$/i, '')}.counterexamples`;
  const models = new Map<string, Network>();
  const props = new Map<string, Vnnlib>();
  let pool: RepairPool | undefined;
  const ctl = new AbortController();
  const onSigint = () => ctl.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  const results: InstanceResult[] = [];
  const repairCells: string[] = [];
  const repairDir = `${flags.out.replace(/\.csv$/i, '')}.repaired`;
  const files: { path: string; data: string | Uint8Array }[] = [];
  let unanswered = 0;
  try {
    if (workers !== undefined) pool = await createPool({ size: workers });
    for (const [i, r] of rows.entries()) {
      const t0 = performance.now();
      const modelPath = resolve(r.onnx);
      let net = models.get(modelPath);
      if (!net) {
        net = await loadModel(modelPath);
        models.set(modelPath, net);
      }
      const propPath = resolve(r.vnnlib);
      const key = `${modelPath}\n${propPath}`;
      let prop = props.get(key);
      if (!prop) {
        prop = await loadProperty(propPath, net);
        props.set(key, prop);
      }
      const prepare = (performance.now() - t0) / 1000;
      const label = `[${i + 1}/${rows.length}] ${base(r.onnx)} ${base(r.vnnlib)}`;
      const reporter = new VerifyReporter(flags.quiet === true, label);
      let res: Awaited<ReturnType<typeof verify>>;
      try {
        res = await verify(net, prop, {
          timeoutMs: r.timeout * scale * 1000,
          workers: pool,
          inputBox: net.info.inputBox,
          signal: ctl.signal,
          onProgress: (e) => reporter.update(e),
        });
      } finally {
        reporter.clear();
      }
      const word = vnncompWord(res.status);
      let cexFile = '';
      if (res.counterexample) {
        const file = path.join(cexDir, `${stem(r.onnx)}__${stem(r.vnnlib)}.counterexample`);
        files.push({ path: file, data: resultText({ result: 'sat', x: res.counterexample.x, y: res.counterexample.y }) });
        cexFile = path.relative(outDir, file);
      }
      if (res.status !== 'holds' && res.status !== 'violated') unanswered++;
      const s = res.shares;
      results.push({
        onnx: r.onnx,
        vnnlib: r.vnnlib,
        timeout: r.timeout,
        result: word === 'sat' && !res.counterexample ? 'unknown' : word,
        prepareSeconds: prepare,
        verifySeconds: res.ms / 1000,
        boxes: res.stats.boxes,
        regions: res.stats.regions,
        boundsShare: s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation,
        regionsShare: s.regions,
        counterexample: cexFile,
      });
      if (!flags.quiet) process.stderr.write(`${label}: ${res.status} (${word}); ${summaryOf(res)}\n`);
      if (flags.repair) {
        if (res.status !== 'violated' || !res.counterexample) repairCells.push(',,,,,,,');
        else {
          const file = path.join(repairDir, `${stem(r.onnx)}__${stem(r.vnnlib)}.onnx`);
          const cells = await repairInstance(net, prop.properties[res.counterexample.property], r.timeout * scale, ctl.signal, file);
          if (cells.bytes) files.push({ path: file, data: cells.bytes });
          repairCells.push(
            [
              cells.status,
              cells.seconds.toFixed(3),
              cells.regions,
              cells.patches,
              cells.certified,
              cells.bytes ? path.relative(outDir, file) : '',
              cells.boxPatches,
              cells.maxPatchNorm,
            ].join(','),
          );
          if (!flags.quiet)
            process.stderr.write(
              `${label}: repair ${cells.status} in ${cells.seconds.toFixed(1)} s (${cells.regions} regions, ${cells.patches} patches${cells.detail ? `; ${cells.detail}` : ''})\n`,
            );
        }
      }
    }
  } catch (e) {
    if (e instanceof AbortError) {
      process.stderr.write(`relu-repair: ${e.message}; ${results.length} of ${rows.length} instances done, nothing written\n`);
      return EXIT_NO_ANSWER;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    if (pool) await pool.close();
  }
  if (files.some((f) => f.path.startsWith(cexDir))) await fs.mkdir(cexDir, { recursive: true });
  if (files.some((f) => f.path.startsWith(repairDir))) await fs.mkdir(repairDir, { recursive: true });
  const header = flags.repair ? `${RESULTS_HEADER},${REPAIR_HEADER}` : RESULTS_HEADER;
  const lines = results.map((x, i) => (flags.repair ? `${resultsCsvRow(x)},${repairCells[i]}` : resultsCsvRow(x)));
  files.push({ path: flags.out, data: `${[header, ...lines].join('\n')}\n` });
  await saveFiles(files);
  if (!flags.quiet) {
    const count = (w: string) => results.filter((r) => r.result === w).length;
    process.stderr.write(
      `${rows.length} instances: ${count('unsat')} hold, ${count('sat')} violated, ${count('timeout')} timeout, ${count('unknown')} unknown; wrote ${flags.out}\n`,
    );
  }
  return unanswered > 0 ? EXIT_NO_ANSWER : 0;
}

/** The columns `--repair` appends. */
const REPAIR_HEADER = 'repair,repair_s,regions_enumerated,patches,certified,repaired_model,box_patches,max_patch_norm';

/**
 * Repairs one violated property over its whole input set, `budget` seconds as the time cap; the repaired
 * network's float64 ONNX only when the whole box is certified.
 */
async function repairInstance(
  net: Network,
  p: VnnlibProperty,
  budget: number,
  signal: AbortSignal,
  file: string,
): Promise<{
  status: string;
  seconds: number;
  regions: number;
  patches: number;
  certified: boolean;
  boxPatches: number | '';
  maxPatchNorm: number | '';
  bytes?: Uint8Array;
  detail?: string;
}> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const { inputBox, inputSet } = propertyInputDomain(p, net.info.inputBox, file);
    const safe = await safeSpec(p, net.outputSize, { file });
    const { network, report } = await repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec: safe.spec,
      unsafe: p.unsafe,
      timeoutMs: budget * 1000,
      signal,
    });
    const r = report.result;
    return {
      status: r.status,
      seconds: seconds(),
      regions: r.regions,
      patches: r.patches,
      certified: r.certified,
      boxPatches: report.boxPatches.length,
      maxPatchNorm: r.maxPatchNorm,
      bytes: r.certified && r.status === 'repaired' ? repairedToOnnx(network, { precision: 'float64' }) : undefined,
      detail: report.unproven.length ? `${report.unproven.length} part(s) unproven` : undefined,
    };
  } catch (e) {
    // Ctrl-C stops the run; the budget only this repair.
    if (signal.aborted) throw e instanceof AbortError ? e : new AbortError(signal.reason);
    const status = e instanceof AreaBabStopped ? 'timeout' : 'error';
    return {
      status,
      seconds: seconds(),
      regions: 0,
      patches: 0,
      certified: false,
      boxPatches: '',
      maxPatchNorm: '',
      detail: (e as Error).message.slice(0, 200),
    };
  }
}

/** Registers `run-instances` (one line in cli/main.ts). */
export function registerRunInstances(program: Command, setCode: (c: number) => void): void {
  program
    .command('run-instances')
    .description('verify every onnx,vnnlib,timeout row of a VNN-COMP instances CSV (exit 0 all answered, 3 some not, 2 bad input)')
    .argument('<instances.csv>', 'the benchmark CSV (paths relative to it, or to --root)')
    .requiredOption('--out <file>', 'results CSV: one row per instance (answer, times, boxes, regions, proof shares, counterexample file)')
    .option('--root <dir>', 'directory the CSV paths are relative to (default: the CSV directory)')
    .option('--workers <n>', "run each verification's jobs in n worker threads")
    .option('--cex-dir <dir>', 'where counterexample files go (default: <out>.counterexamples/)')
    .option('--timeout-scale <f>', 'multiply every instance timeout by f (default 1)')
    .option('--skip-missing', 'leave out rows whose model or property file does not exist (default: exit 2)')
    .option(
      '--repair',
      'also repair every violated instance over its whole input set (branch and bound, certified; work budgets as repair --area, the timeout as their time cap, stopped at 2 × the timeout + 30 s)',
    )
    .option('--quiet', 'no progress on stderr')
    .action(async (csv: string, flags: RunInstancesFlags) => {
      setCode(await runInstances(csv, flags));
    });
}
