/**
 * glpk.js backend. Always the `glpk.js/node` entry (synchronous, works in Node, Deno and workers),
 * presolve off: with presolve, infeasible and unbounded both come back as UNDEF. glpk.js is
 * GPL-3.0, so it stays a dependency loaded at run time and is never bundled into our output.
 */
import { LpError } from '../errors.js';
import type { LpBackend, LpSolution, SparseLp } from './backend.js';

interface GlpkInstance {
  GLP_MIN: number;
  GLP_FR: number;
  GLP_LO: number;
  GLP_UP: number;
  GLP_DB: number;
  GLP_FX: number;
  GLP_MSG_OFF: number;
  GLP_OPT: number;
  GLP_FEAS: number;
  GLP_INFEAS: number;
  GLP_NOFEAS: number;
  GLP_UNBND: number;
  GLP_UNDEF: number;
  version: string;
  solve(
    lp: unknown,
    options: unknown,
  ): { result: { status: number; z: number; vars: Record<string, number>; dual?: Record<string, number> } };
}

let glpkPromise: Promise<GlpkInstance> | undefined;

async function loadGlpk(): Promise<GlpkInstance> {
  glpkPromise ??= (async () => {
    // A literal specifier, left external by our build, so that the caller's bundler (Vite, ...)
    // resolves it for browsers; glpk.js itself is never part of our bundles.
    try {
      const mod = (await import('glpk.js/node')) as unknown as { default: () => Promise<GlpkInstance> };
      return await mod.default();
    } catch (e) {
      glpkPromise = undefined;
      // glpk.js/node loads its wasm synchronously: Node, Deno and Web Workers allow that, a
      // browser's main thread does not.
      const where =
        typeof (globalThis as { document?: unknown }).document !== 'undefined'
          ? " (in a browser's main thread: pass `workers` to repair(), glpk.js runs in Web Workers)"
          : '';
      throw new LpError(`glpk.js could not be loaded${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  })();
  return glpkPromise;
}

function boundType(g: GlpkInstance, lo: number, hi: number): { type: number; lb: number; ub: number } {
  const hasLo = Number.isFinite(lo);
  const hasHi = Number.isFinite(hi);
  if (hasLo && hasHi) return lo === hi ? { type: g.GLP_FX, lb: lo, ub: hi } : { type: g.GLP_DB, lb: lo, ub: hi };
  if (hasLo) return { type: g.GLP_LO, lb: lo, ub: 0 };
  if (hasHi) return { type: g.GLP_UP, lb: 0, ub: hi };
  return { type: g.GLP_FR, lb: 0, ub: 0 };
}

export class GlpkBackend implements LpBackend {
  name = 'glpk.js';

  /** @param timeLimitSeconds GLPK's time limit per LP; a solve that hits it is an LpError. */
  constructor(readonly timeLimitSeconds = 120) {}

  async solve(lp: SparseLp, context: string): Promise<LpSolution> {
    const g = await loadGlpk();
    this.name = `glpk.js (GLPK ${g.version})`;
    const name = (i: number) => `x${i}`;
    const vars: { name: string; coef: number }[] = [];
    for (let i = 0; i < lp.numVars; i++) if (lp.objective[i] !== 0) vars.push({ name: name(i), coef: lp.objective[i] });
    const problem = {
      name: 'lp',
      objective: { direction: g.GLP_MIN, name: 'obj', vars },
      subjectTo: lp.rows.map((r, k) => ({
        name: `r${k}`,
        vars: r.idx.map((v, j) => ({ name: name(v), coef: r.val[j] })),
        bnds: boundType(g, r.lo, r.hi),
      })),
      bounds: Array.from({ length: lp.numVars }, (_, i) => ({ name: name(i), ...boundType(g, lp.lower[i], lp.upper[i]) })),
    };
    let res: ReturnType<GlpkInstance['solve']>;
    try {
      res = g.solve(problem, { msglev: g.GLP_MSG_OFF, presol: false, tmlim: this.timeLimitSeconds });
    } catch (e) {
      throw new LpError(`${context}: glpk.js failed: ${(e as Error).message}`, { cause: e });
    }
    const status = res.result.status;
    if (status !== g.GLP_OPT) {
      const names: Record<number, string> = {
        [g.GLP_UNDEF]: 'undefined',
        [g.GLP_FEAS]: 'feasible but not proven optimal',
        [g.GLP_INFEAS]: 'infeasible (intermediate)',
        [g.GLP_NOFEAS]: 'infeasible',
        [g.GLP_UNBND]: 'unbounded',
      };
      throw new LpError(
        `${context}: glpk.js returned status ${status} (${names[status] ?? 'unknown'}), not optimal (${lp.numVars} variables, ${lp.rows.length} rows; time limit ${this.timeLimitSeconds} s)`,
      );
    }
    const x = new Float64Array(lp.numVars);
    for (let i = 0; i < lp.numVars; i++) x[i] = res.result.vars[name(i)] ?? 0;
    // Row duals (simplex only): absent rows read as 0.
    const dual = res.result.dual;
    const rowDuals = dual ? Float64Array.from(lp.rows, (_, k) => dual[`r${k}`] ?? 0) : undefined;
    return { objective: res.result.z, x, ...(rowDuals ? { rowDuals } : {}) };
  }
}
