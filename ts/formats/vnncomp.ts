/**
 * VNN-COMP conventions (github.com/stanleybak/vnncomp2021, the competition's rules):
 *
 * - **Result file**: the first line is the answer, `sat` (the property is violated: a
 *   counterexample follows), `unsat` (it holds), `timeout`, `unknown` or `error`; after `sat`,
 *   the counterexample as `((X_0 v) … (Y_0 v) …)`, one pair per line, inputs flattened in the
 *   ONNX input's C order and outputs as the network computes them.
 * - **Instances CSV**: one `onnx,vnnlib,timeout` row per instance (paths relative to the CSV,
 *   timeout in seconds), no header.
 *
 * Numbers are written as JavaScript's shortest round-trip text (`String(v)`), which every
 * float parser reads back to the same double.
 */
import { InputError } from '../errors.js';

export type VnncompResult = 'sat' | 'unsat' | 'timeout' | 'unknown' | 'error';

const RESULTS: readonly VnncompResult[] = ['sat', 'unsat', 'timeout', 'unknown', 'error'];

export interface ResultFile {
  result: VnncompResult;
  /** The counterexample's inputs and outputs (sat only). */
  x?: number[];
  y?: number[];
}

function num(v: number, what: string): string {
  if (!Number.isFinite(v)) throw new InputError('is not a finite number', { field: what, value: v });
  return Object.is(v, -0) ? '0' : String(v);
}

/** The text of a result file. A `sat` answer needs the counterexample (`x`, `y`). */
export function resultText(r: ResultFile): string {
  if (!RESULTS.includes(r.result)) throw new InputError(`must be one of ${RESULTS.join(', ')}`, { field: 'result', value: r.result });
  if (r.result !== 'sat') return `${r.result}\n`;
  if (!r.x || !r.y || r.x.length === 0 || r.y.length === 0)
    throw new InputError('a sat result needs the counterexample inputs and outputs', { field: 'counterexample' });
  const pairs = [...r.x.map((v, i) => `(X_${i} ${num(v, `X_${i}`)})`), ...r.y.map((v, j) => `(Y_${j} ${num(v, `Y_${j}`)})`)];
  return `sat\n(${pairs.join('\n ')})\n`;
}

/** Reads a result file (ours or another tool's). */
export function parseResultText(text: string, file = 'result.txt'): ResultFile {
  const trimmed = text.trim();
  const nl = trimmed.indexOf('\n');
  const first = (nl < 0 ? trimmed : trimmed.slice(0, nl)).trim().toLowerCase();
  // Some tools write "holds"/"violated"; the competition's words are sat/unsat.
  const result = (first === 'violated' ? 'sat' : first === 'holds' ? 'unsat' : first) as VnncompResult;
  if (!RESULTS.includes(result))
    throw new InputError(`first line must be one of ${RESULTS.join(', ')}`, { file, field: 'line 1', value: first });
  if (result !== 'sat') return { result };
  const body = nl < 0 ? '' : trimmed.slice(nl + 1);
  const xs = new Map<number, number>();
  const ys = new Map<number, number>();
  const pair = /\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)/g;
  for (let m = pair.exec(body); m; m = pair.exec(body)) {
    const v = Number(m[3]);
    if (!Number.isFinite(v)) throw new InputError('is not a number', { file, field: `${m[1]}_${m[2]}`, value: m[3] });
    (m[1] === 'X' ? xs : ys).set(Number(m[2]), v);
  }
  const dense = (map: Map<number, number>, name: string): number[] => {
    const out: number[] = [];
    for (let i = 0; i < map.size; i++) {
      const v = map.get(i);
      if (v === undefined) throw new InputError(`has ${map.size} ${name} values but no ${name}_${i}`, { file });
      out.push(v);
    }
    return out;
  };
  const x = dense(xs, 'X');
  if (x.length === 0) throw new InputError('a sat result has no counterexample (X_i values)', { file });
  return { result, x, y: dense(ys, 'Y') };
}

/** One row of an instances CSV. */
export interface Instance {
  onnx: string;
  vnnlib: string;
  /** Seconds. */
  timeout: number;
  /** 1-based line in the file (for messages). */
  line: number;
}

/** Reads an instances CSV (`onnx,vnnlib,timeout` per line; blank lines skipped; an optional header). */
export function parseInstancesCsv(text: string, file = 'instances.csv'): Instance[] {
  const out: Instance[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',').map((c) => c.trim());
    if (out.length === 0 && i === lines.findIndex((l) => l.trim() !== '') && cells.length >= 3 && !Number.isFinite(Number(cells[2])))
      return; // a header row
    if (cells.length !== 3)
      throw new InputError('must have three fields: onnx,vnnlib,timeout', { file, field: `line ${i + 1}`, value: line });
    const timeout = Number(cells[2]);
    if (cells[2] === '' || !Number.isFinite(timeout) || timeout <= 0)
      throw new InputError('timeout must be a number of seconds > 0', { file, field: `line ${i + 1}`, value: cells[2] });
    if (cells[0] === '' || cells[1] === '') throw new InputError('has an empty file name', { file, field: `line ${i + 1}`, value: line });
    out.push({ onnx: cells[0], vnnlib: cells[1], timeout, line: i + 1 });
  });
  if (out.length === 0) throw new InputError('lists no instances', { file });
  return out;
}

/** One answered instance, as `run-instances` writes it. */
export interface InstanceResult {
  onnx: string;
  vnnlib: string;
  timeout: number;
  result: VnncompResult;
  /** Wall-clock seconds: loading the files, and the verification. */
  prepareSeconds: number;
  verifySeconds: number;
  boxes: number;
  regions: number;
  /** Share of the input box proven safe by bounds (any bound method) and by exact regions. */
  boundsShare: number;
  regionsShare: number;
  /** The counterexample file (sat), relative to the results CSV, else empty. */
  counterexample: string;
}

export const RESULTS_HEADER = 'onnx,vnnlib,timeout_s,result,prepare_s,verify_s,boxes,regions,bounds_share,regions_share,counterexample';

const csvCell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** One results CSV line (no newline). */
export function resultsCsvRow(r: InstanceResult): string {
  return [
    csvCell(r.onnx),
    csvCell(r.vnnlib),
    String(r.timeout),
    r.result,
    r.prepareSeconds.toFixed(3),
    r.verifySeconds.toFixed(3),
    String(r.boxes),
    String(r.regions),
    r.boundsShare.toPrecision(6),
    r.regionsShare.toPrecision(6),
    csvCell(r.counterexample),
  ].join(',');
}
