/**
 * `relu-repair verify`: a VNN-LIB property on a model, in the conventions of VNN-COMP.
 *
 * Exit codes: 0 the property holds (`unsat` in the result file), 1 it is violated (`sat` and the
 * counterexample), 3 no answer (`timeout` or `unknown`; also after Ctrl-C), 2 bad input (nothing
 * written). The answer word is printed on stdout; details and progress go to stderr (a bar on a
 * TTY, else a line per phase and every 10 s).
 */
import type { Command } from 'commander';
import { AbortError, InputError } from '../errors.js';
import { loadModel } from '../formats/load.js';
import { resultText } from '../formats/vnncomp.js';
import { parseVnnlib, type Vnnlib, vnnlibText } from '../formats/vnnlib.js';
import type { Network } from '../network.js';
import { type VerifyProgress, type VerifyResult, verify } from '../verify.js';
import { init } from '../wasm/raw.js';
import { readBytes } from './data.js';
import { saveFiles } from './formats.js';

export const EXIT_HOLDS = 0;
export const EXIT_VIOLATED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_NO_ANSWER = 3;

export function exitCodeOf(status: VerifyResult['status']): number {
  return status === 'holds' ? EXIT_HOLDS : status === 'violated' ? EXIT_VIOLATED : EXIT_NO_ANSWER;
}

/** The VNN-COMP result word of an answer. */
export function vnncompWord(status: VerifyResult['status']): 'sat' | 'unsat' | 'timeout' | 'unknown' {
  return status === 'holds' ? 'unsat' : status === 'violated' ? 'sat' : status;
}

export function parseSeconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0) throw new InputError('must be a number of seconds > 0', { field: flag, value: v });
  return x;
}

export function parseWorkerCount(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InputError('must be an integer from 0 to 256', { field: '--workers', value: v });
  return n === 0 ? undefined : n;
}

export async function readText(path: string): Promise<string> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new InputError(
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** The property file for a model (sizes checked). */
export async function loadProperty(path: string, net: Network): Promise<Vnnlib> {
  return parseVnnlib(await vnnlibText(await readBytes(path), path), path, { inputs: net.inputSize, outputs: net.outputSize });
}

/** Progress on stderr: a bar on a TTY; otherwise a line per phase and every 10 s. */
export class VerifyReporter {
  private last = '';
  private lastLine = 0;
  private phase = '';
  constructor(
    private readonly quiet: boolean,
    private readonly prefix = '',
  ) {}

  private text(e: VerifyProgress): string {
    const prop = e.properties > 1 ? ` property ${e.property + 1}/${e.properties}` : '';
    const jobs = e.phase === 'jobs' ? `, jobs ${e.jobsDone}/${e.jobs}` : '';
    return `${this.prefix}${prop} ${e.phase}: ${(100 * e.decided).toFixed(1)} % of the box decided, ${e.boxes} boxes, ${e.regions} regions${jobs}, ${(e.elapsedMs / 1000).toFixed(1)} s`;
  }

  update(e: VerifyProgress): void {
    if (this.quiet) return;
    const line = this.text(e).trim();
    if (process.stderr.isTTY) {
      const width = 20;
      const fill = Math.round(Math.min(1, e.decided) * width);
      const bar = `\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${line}`;
      if (bar !== this.last) {
        process.stderr.write(bar.padEnd(this.last.length));
        this.last = bar;
      }
      return;
    }
    const key = `${e.property}:${e.phase}`;
    const now = performance.now();
    if (key !== this.phase || now - this.lastLine >= 10_000) {
      process.stderr.write(`${line}\n`);
      this.phase = key;
      this.lastLine = now;
    }
  }

  clear(): void {
    if (this.last && process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
  }
}

/** A one-line summary of a result, for stderr. */
export function summaryOf(r: VerifyResult): string {
  const s = r.shares;
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  const bounds = s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation;
  const proof = `box proven safe: ${pct(bounds)} by bounds (interval ${pct(s.interval)}, symbolic ${pct(s.symbolic + s.symbolicLp)}, LP relaxation ${pct(s.lpRelaxation)}), ${pct(s.regions)} by exact regions`;
  const open = s.unknown > 0 || s.undecided > 0 ? `; undecided ${pct(s.unknown + s.undecided)}` : '';
  const st = r.stats;
  return `${proof}${open}; ${st.boxes} boxes, ${st.regions} regions, ${st.lps} LPs, depth ${st.maxDepth}; ${(r.ms / 1000).toFixed(2)} s`;
}

export interface VerifyFlags {
  model: string;
  property: string;
  result?: string;
  timeout?: string;
  workers?: string;
  jobs?: string;
  report?: string;
  quiet?: boolean;
}

/** Runs `verify` with Ctrl-C as a stop; returns the exit code. */
export async function runVerify(flags: VerifyFlags): Promise<number> {
  await init();
  const timeout = parseSeconds(flags.timeout, '--timeout');
  const workers = parseWorkerCount(flags.workers);
  const jobs = flags.jobs !== undefined ? Number(flags.jobs) : undefined;
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1 && jobs <= 4096))
    throw new InputError('must be an integer from 1 to 4096', { field: '--jobs', value: flags.jobs });
  const net = await loadModel(flags.model);
  const prop = await loadProperty(flags.property, net);
  const reporter = new VerifyReporter(flags.quiet === true);
  const ctl = new AbortController();
  const onSigint = () => ctl.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  let result: VerifyResult;
  try {
    result = await verify(net, prop, {
      timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
      workers,
      jobs,
      inputBox: net.info.inputBox,
      signal: ctl.signal,
      onProgress: (e) => reporter.update(e),
    });
  } catch (e) {
    reporter.clear();
    if (e instanceof AbortError) {
      process.stderr.write(`relu-repair: ${e.message}; no answer\n`);
      if (flags.result) await saveFiles([{ path: flags.result, data: resultText({ result: 'unknown' }) }]);
      process.stdout.write('unknown\n');
      return EXIT_NO_ANSWER;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    reporter.clear();
  }
  const files: { path: string; data: string }[] = [];
  const word = vnncompWord(result.status);
  if (flags.result) {
    const cx = result.counterexample;
    files.push({
      path: flags.result,
      data: resultText(cx ? { result: 'sat', x: cx.x, y: cx.y } : { result: word === 'sat' ? 'unknown' : word }),
    });
  }
  if (flags.report)
    files.push({
      path: flags.report,
      data: `${JSON.stringify(result, (_, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2)}\n`,
    });
  if (files.length) await saveFiles(files);
  if (!flags.quiet) {
    const cx = result.counterexample;
    const head =
      result.status === 'violated' && cx
        ? `${flags.property}: violated (property ${cx.property}); counterexample x = ${shortList(cx.x, flags.result)}, y = ${shortList(cx.y, flags.result)}, inside the unsafe set by ${(-cx.margin).toExponential(3)}`
        : `${flags.property}: ${result.status}`;
    process.stderr.write(`${head}\n${summaryOf(result)}\n`);
  }
  process.stdout.write(`${result.status}\n`);
  return exitCodeOf(result.status);
}

/** A vector for the summary line: whole up to 16 values, else its first 8 and where the rest is. */
function shortList(v: readonly number[], resultFile?: string): string {
  if (v.length <= 16) return `[${v.join(', ')}]`;
  const where = resultFile ? `all in ${resultFile}` : 'all with --result';
  return `[${v.slice(0, 8).join(', ')}, … (${v.length} values, ${where})]`;
}

/** Registers `verify` (one line in cli/main.ts). */
export function registerVerify(program: Command, setCode: (c: number) => void): void {
  program
    .command('verify')
    .description(
      'does a VNN-LIB property hold on a model? prints holds/violated/timeout/unknown (exit 0 holds, 1 violated, 3 timeout or unknown, 2 bad input)',
    )
    .requiredOption('--model <file>', 'network (.onnx, .nnet, relu-repair .json or TF.js model.json)')
    .requiredOption('--property <file>', 'VNN-LIB property (.vnnlib): input set and unsafe output set')
    .option('--result <file>', 'VNN-COMP result file: unsat, or sat and the counterexample ((X_i v) ... (Y_j v)), or timeout/unknown')
    .option('--timeout <seconds>', 'stop after this long with the partial answer "timeout"')
    .option('--workers <n>', 'run the branch-and-bound jobs in n worker threads (same answer as one thread)')
    .option('--jobs <n>', 'boxes handed out as jobs after the first search (default 16)')
    .option('--report <file>', 'the full result as JSON (proof shares, statistics)')
    .option('--quiet', 'no summary or progress on stderr')
    .action(async (flags: VerifyFlags) => {
      setCode(await runVerify(flags));
    });
}
