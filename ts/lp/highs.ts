/**
 * HiGHS backend (the `highs` package: HiGHS compiled to WebAssembly, MIT). The model goes in as
 * CSR arrays (no LP text to parse), presolve off so that infeasible and unbounded are told apart,
 * dual simplex. Loaded lazily; selectable with `repair(..., { lp: new HighsBackend() })` or
 * `--lp highs` on the CLI.
 */
import { LpError } from '../errors.js';
import type { LpBackend, LpSolution, SparseLp } from './backend.js';

interface HighsModel {
  options: { set(o: Record<string, unknown>): void };
  run(): unknown;
  getModelStatus(): number;
  getSolution(): { colValue: Float64Array | number[]; rowDual?: Float64Array | number[] };
  getObjectiveValue(): number;
  dispose(): void;
}

interface HighsModule {
  infinity: number;
  constants: { modelStatus: Record<string, number> };
  createModel(data: unknown): HighsModel;
}

let highsPromise: Promise<HighsModule> | undefined;

async function loadHighs(): Promise<HighsModule> {
  highsPromise ??= (async () => {
    try {
      // A literal specifier, so that bundlers can resolve it; it stays external in our build.
      const mod = (await import('highs')) as unknown as { default: () => Promise<HighsModule> };
      return await mod.default();
    } catch (e) {
      highsPromise = undefined;
      throw new LpError(`cannot load the HiGHS backend (package "highs"): ${(e as Error).message}`, { cause: e });
    }
  })();
  return highsPromise;
}

export class HighsBackend implements LpBackend {
  readonly name = 'highs';

  async solve(lp: SparseLp, context: string): Promise<LpSolution> {
    const h = await loadHighs();
    const inf = h.infinity;
    const clampInf = (v: number) => (v === Infinity ? inf : v === -Infinity ? -inf : v);
    const starts = new Int32Array(lp.rows.length + 1);
    let nnz = 0;
    lp.rows.forEach((r, i) => {
      nnz += r.idx.length;
      starts[i + 1] = nnz;
    });
    const indices = new Int32Array(nnz);
    const values = new Float64Array(nnz);
    let pos = 0;
    for (const r of lp.rows) {
      indices.set(r.idx, pos);
      values.set(r.val, pos);
      pos += r.idx.length;
    }
    let model: HighsModel;
    try {
      model = h.createModel({
        numCols: lp.numVars,
        numRows: lp.rows.length,
        colCost: lp.objective,
        colLower: lp.lower.map(clampInf),
        colUpper: lp.upper.map(clampInf),
        rowLower: Float64Array.from(lp.rows, (r) => clampInf(r.lo)),
        rowUpper: Float64Array.from(lp.rows, (r) => clampInf(r.hi)),
        matrix: { format: 'csr', numRows: lp.rows.length, numCols: lp.numVars, starts, indices, values },
      });
    } catch (e) {
      throw new LpError(`${context}: highs rejected the model: ${(e as Error).message}`, { cause: e });
    }
    try {
      model.options.set({ output_flag: false, presolve: 'off', solver: 'simplex' });
      try {
        model.run();
      } catch (e) {
        // An abort inside HiGHS (e.g. out of wasm memory) kills its module instance: load a
        // fresh one next time.
        highsPromise = undefined;
        throw new LpError(
          `${context}: highs failed (${(e as Error).message.split('\n')[0]}) on an LP of ${lp.numVars} variables, ${lp.rows.length} rows and ${nnz} non-zeros`,
          { cause: e },
        );
      }
      const status = model.getModelStatus();
      if (status !== h.constants.modelStatus.optimal) {
        const name = Object.entries(h.constants.modelStatus).find(([, v]) => v === status)?.[0] ?? 'unknown';
        throw new LpError(
          `${context}: highs returned model status ${status} (${name}), not optimal (${lp.numVars} variables, ${lp.rows.length} rows)`,
        );
      }
      const sol = model.getSolution();
      return {
        objective: model.getObjectiveValue(),
        x: Float64Array.from(sol.colValue),
        ...(sol.rowDual && sol.rowDual.length === lp.rows.length ? { rowDuals: Float64Array.from(sol.rowDual) } : {}),
      };
    } finally {
      try {
        model.dispose();
      } catch {
        /* the module aborted; nothing left to free */
      }
    }
  }
}
