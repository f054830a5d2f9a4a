/**
 * LP backends behind one interface. The per-region LPs (max of one linear function over a linear
 * region) run in the Rust core's simplex; general sparse LPs such as the full minimal-patch LP go
 * through a backend (glpk.js by default).
 */

/** minimise c·x subject to rowLower <= R x <= rowUpper, lower <= x <= upper (±Infinity allowed). */
export interface SparseLp {
  numVars: number;
  objective: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  rows: SparseRow[];
}

export interface SparseRow {
  idx: number[];
  val: number[];
  lo: number;
  hi: number;
}

export interface LpSolution {
  objective: number;
  x: Float64Array;
  /**
   * The row multipliers, one per row, in the solver's own sign convention, when it reports them.
   * Only ever used as candidate certificates (ts/minimal.ts): the core checks them.
   */
  rowDuals?: Float64Array;
}

export interface LpBackend {
  /** Name and version, for reports. */
  readonly name: string;
  /** Solves to optimality or throws an LpError naming the status. */
  solve(lp: SparseLp, context: string): Promise<LpSolution>;
}

/** Incremental builder for sparse LPs. */
export class LpBuilder {
  private lo: number[] = [];
  private hi: number[] = [];
  private obj: number[] = [];
  readonly rows: SparseRow[] = [];

  /** Adds `count` variables with the given bounds; returns the first index. */
  addVars(count: number, lower = -Infinity, upper = Infinity, cost = 0): number {
    const first = this.lo.length;
    for (let i = 0; i < count; i++) {
      this.lo.push(lower);
      this.hi.push(upper);
      this.obj.push(cost);
    }
    return first;
  }

  setCost(v: number, cost: number): void {
    this.obj[v] = cost;
  }

  addRow(idx: number[], val: number[], lo: number, hi: number): void {
    this.rows.push({ idx, val, lo, hi });
  }

  build(): SparseLp {
    return {
      numVars: this.lo.length,
      objective: Float64Array.from(this.obj),
      lower: Float64Array.from(this.lo),
      upper: Float64Array.from(this.hi),
      rows: this.rows,
    };
  }
}
