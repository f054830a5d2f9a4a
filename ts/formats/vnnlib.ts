/**
 * VNN-LIB properties (the SMT-LIB subset of the verification community, vnnlib.org).
 *
 *   (declare-const X_0 Real) ... (declare-const Y_0 Real) ...
 *   (assert (<= X_0 0.5)) (assert (>= X_0 -0.5)) ...
 *   (assert (or (and (>= Y_1 Y_0) ...) (and ...)))
 *
 * A file states the **unsafe** condition: the property is violated iff some input satisfies the
 * conjunction of all asserts together with its output. Full `and`/`or` semantics: every assert
 * is a formula of `and`, `or` and linear atoms (`<=`, `>=`, `<`, `>`, `=` over `+`, `-`, `*` by
 * constants, numbers, X_i, Y_j); the conjunction is put in disjunctive normal form, and each
 * disjunct is split into its input part (a polytope over X) and output part (a polytope over Y;
 * an atom may not mix X and Y). Disjuncts with the same input polytope form one **property**:
 *
 *   unsafe(property) = { (x, y) : x ∈ input polytope, y ∈ ∪_t U_t }.
 *
 * The safe output set is the complement ∩_t ∁U_t, whose closure is the union over choices of one
 * row per U_t of { y : G_{t,j} y >= h_{t,j} }. `safeSpec` builds those pieces, drops empty ones
 * and ones contained in another (LPs), and returns a convex `Spec` when one piece is left, else a
 * `SpecUnion` (repair then picks, per region, the piece with the smallest minimal patch). Strict
 * and non-strict inequalities are treated alike (closed sets); `margin` shrinks the safe set so
 * that its boundary is strictly safe.
 *
 * The writer emits the same form, with numbers as exact decimals (no exponent), so that
 * `parseVnnlib(writeVnnlib(p))` gives back the same rows bit for bit.
 *
 * Files may be gzip-compressed (`.vnnlib.gz`, as some VNN-COMP benchmarks ship them):
 * `vnnlibText` decompresses bytes that start with the gzip magic; the CLI reads every property
 * file through it.
 */
import { InputError } from '../errors.js';
import { type LpBackend, LpBuilder } from '../lp/backend.js';
import { GlpkBackend } from '../lp/glpk.js';
import type { Box } from '../network.js';
import { boxFace } from '../patch.js';
import type { InputSet } from '../region.js';
import type { RepairedNetwork } from '../repaired.js';
import type { Spec } from '../spec.js';
import { MAX_SPEC_PIECES, type SpecUnion, unionSpec } from '../spec-union.js';
import { maybeGunzip } from './idx.js';

/** {z : A z <= b}, A row-major `rows × dim`. */
export interface HPolytope {
  A: Float64Array;
  b: Float64Array;
}

export interface VnnlibInputSet {
  /** Bounds per input (±Infinity where the file gives none). */
  box: { lower: number[]; upper: number[] };
  /** Constraints over several inputs (not bounds), if any. */
  rows: HPolytope;
}

export interface VnnlibProperty {
  input: VnnlibInputSet;
  /** The unsafe output sets U_t: the property is violated when the output lies in any of them. */
  unsafe: HPolytope[];
}

export interface Vnnlib {
  inputs: number;
  outputs: number;
  /** One entry per distinct input polytope. */
  properties: VnnlibProperty[];
}

// ---------------------------------------------------------------------------------------------
// S-expressions

interface Atom {
  atom: string;
  line: number;
}
interface List {
  list: SExpr[];
  line: number;
}
type SExpr = Atom | List;

const MAX_DEPTH = 200;

function tokenize(text: string, file: string): SExpr[] {
  const top: SExpr[] = [];
  const stack: { items: SExpr[]; line: number }[] = [];
  let cur = top;
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') i++;
    else if (c === ';') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (stack.length >= MAX_DEPTH) throw new InputError(`nesting deeper than ${MAX_DEPTH} levels`, { file, field: `line ${line}` });
      const items: SExpr[] = [];
      cur.push({ list: items, line });
      stack.push({ items: cur, line });
      cur = items;
      i++;
    } else if (c === ')') {
      const prev = stack.pop();
      if (!prev) throw new InputError('unbalanced ")"', { file, field: `line ${line}` });
      cur = prev.items;
      i++;
    } else if (c === '"' || c === '|') {
      throw new InputError(`quoted ${c === '"' ? 'strings' : 'symbols'} are not part of VNN-LIB`, { file, field: `line ${line}` });
    } else {
      let j = i;
      while (j < n && !' \t\r\n\f\v();"|'.includes(text[j])) j++;
      cur.push({ atom: text.slice(i, j), line });
      i = j;
    }
  }
  if (stack.length > 0)
    throw new InputError(`unbalanced "(": ${stack.length} list(s) not closed (truncated file?)`, {
      file,
      field: `line ${stack[stack.length - 1].line}`,
    });
  return top;
}

const isList = (e: SExpr): e is List => 'list' in e;

// ---------------------------------------------------------------------------------------------
// Linear atoms and formulas

/** Σ coef·var + constant, vars indexed: inputs 0..n−1, outputs as n + j (resolved later). */
interface Linear {
  coef: Map<string, number>;
  constant: number;
}

/** coef·vars <= rhs. */
interface Row {
  coef: Map<string, number>;
  rhs: number;
}

type Formula = { kind: 'and' | 'or'; args: Formula[] } | { kind: 'row'; row: Row } | { kind: 'true' } | { kind: 'false' };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

class Reader {
  readonly vars = new Map<string, { kind: 'X' | 'Y'; index: number }>();

  constructor(private readonly file: string) {}

  fail(message: string, e: SExpr | undefined, value?: unknown): never {
    const where = { file: this.file, field: e ? `line ${e.line}` : undefined } as { file: string; field?: string; value?: unknown };
    if (value !== undefined) where.value = value;
    throw new InputError(message, where);
  }

  head(e: SExpr): string | undefined {
    return isList(e) && e.list.length > 0 && !isList(e.list[0]) ? (e.list[0] as Atom).atom : undefined;
  }

  declare(e: List): void {
    const [, name, sort] = e.list;
    if (e.list.length !== 3 || !name || isList(name) || !sort || isList(sort)) this.fail('declare-const needs a name and a sort', e);
    if (sort.atom !== 'Real') this.fail('only Real constants are supported', e, sort.atom);
    const m = /^([XY])_(\d+)$/.exec(name.atom);
    if (!m) this.fail('variables must be named X_i (inputs) or Y_j (outputs)', e, name.atom);
    if (this.vars.has(name.atom)) this.fail('is declared twice', e, name.atom);
    const index = Number(m[2]);
    if (!Number.isSafeInteger(index) || index > 1e7) this.fail('variable index is too large', e, name.atom);
    this.vars.set(name.atom, { kind: m[1] as 'X' | 'Y', index });
  }

  term(e: SExpr, depth: number): Linear {
    if (depth > MAX_DEPTH) this.fail('term nested too deeply', e);
    if (!isList(e)) {
      if (NUMBER.test(e.atom)) {
        const v = Number(e.atom);
        if (!Number.isFinite(v)) this.fail('number out of range', e, e.atom);
        return { coef: new Map(), constant: v };
      }
      if (!this.vars.has(e.atom))
        this.fail(
          /^[XY]_\d+$/.test(e.atom) ? 'variable is used before its declare-const' : 'is not a number or a declared variable',
          e,
          e.atom,
        );
      return { coef: new Map([[e.atom, 1]]), constant: 0 };
    }
    const op = this.head(e);
    const args = e.list.slice(1).map((a) => this.term(a, depth + 1));
    switch (op) {
      case '+':
        if (args.length === 0) this.fail('"+" needs arguments', e);
        return args.reduce((a, b) => addLin(a, b, 1));
      case '-':
        if (args.length === 0) this.fail('"-" needs arguments', e);
        if (args.length === 1) return scaleLin(args[0], -1);
        return args.slice(1).reduce((a, b) => addLin(a, b, -1), args[0]);
      case '*': {
        if (args.length === 0) this.fail('"*" needs arguments', e);
        const nonConst = args.filter((a) => a.coef.size > 0);
        if (nonConst.length > 1) this.fail('a product of variables is not linear', e);
        let c = 1;
        for (const a of args) if (a.coef.size === 0) c *= a.constant;
        return nonConst.length ? scaleLin(nonConst[0], c) : { coef: new Map(), constant: c };
      }
      default:
        this.fail(`unsupported term operator (VNN-LIB terms use +, -, * by constants)`, e, op ?? '(list)');
    }
  }

  formula(e: SExpr, depth: number): Formula {
    if (depth > MAX_DEPTH) this.fail('formula nested too deeply', e);
    if (!isList(e)) {
      if (e.atom === 'true') return { kind: 'true' };
      if (e.atom === 'false') return { kind: 'false' };
      this.fail('expected a formula', e, e.atom);
    }
    const op = this.head(e);
    const rest = e.list.slice(1);
    switch (op) {
      case 'and':
      case 'or':
        return { kind: op, args: rest.map((a) => this.formula(a, depth + 1)) };
      case '<=':
      case '<':
      case '>=':
      case '>':
      case '=': {
        if (rest.length < 2) this.fail(`"${op}" needs at least two terms`, e);
        const terms = rest.map((a) => this.term(a, depth + 1));
        const rows: Formula[] = [];
        for (let i = 0; i + 1 < terms.length; i++) {
          // a op b  →  rows of the form coef·v <= rhs.
          const diff = addLin(terms[i], terms[i + 1], -1); // a − b
          if (op === '<=' || op === '<' || op === '=') rows.push(rowOf(diff, 1));
          if (op === '>=' || op === '>' || op === '=') rows.push(rowOf(diff, -1));
        }
        return rows.length === 1 ? rows[0] : { kind: 'and', args: rows };
      }
      case 'not':
        return this.fail('"not" is not part of VNN-LIB (write the negated atom instead)', e);
      default:
        return this.fail('unsupported formula (VNN-LIB uses and, or, <=, >=, <, >, =)', e, op ?? '(list)');
    }
  }
}

function addLin(a: Linear, b: Linear, s: number): Linear {
  const coef = new Map(a.coef);
  for (const [k, v] of b.coef) {
    const nv = (coef.get(k) ?? 0) + s * v;
    if (nv === 0) coef.delete(k);
    else coef.set(k, nv);
  }
  return { coef, constant: a.constant + s * b.constant };
}

function scaleLin(a: Linear, c: number): Linear {
  const coef = new Map<string, number>();
  if (c !== 0) for (const [k, v] of a.coef) coef.set(k, v * c);
  return { coef, constant: a.constant * c };
}

/** s·(expr) <= 0  →  coef·v <= rhs (a constant-only row becomes true or false). */
function rowOf(diff: Linear, s: number): Formula {
  const coef = new Map<string, number>();
  for (const [k, v] of diff.coef) coef.set(k, s * v);
  const rhs = -s * diff.constant + 0; // + 0: no -0
  if (coef.size === 0) return { kind: rhs >= 0 ? 'true' : 'false' };
  return { kind: 'row', row: { coef, rhs } };
}

/** Disjunctive normal form: a list of conjunctions (lists of rows). */
function dnf(f: Formula, file: string, limit = 100_000): Row[][] {
  switch (f.kind) {
    case 'true':
      return [[]];
    case 'false':
      return [];
    case 'row':
      return [[f.row]];
    case 'or': {
      const out: Row[][] = [];
      for (const a of f.args) {
        out.push(...dnf(a, file, limit));
        if (out.length > limit) throw new InputError(`the formula has more than ${limit} disjuncts in normal form`, { file });
      }
      return out;
    }
    case 'and': {
      let acc: Row[][] = [[]];
      for (const a of f.args) {
        const d = dnf(a, file, limit);
        if (acc.length * d.length > limit) throw new InputError(`the formula has more than ${limit} disjuncts in normal form`, { file });
        const next: Row[][] = [];
        for (const x of acc) for (const y of d) next.push([...x, ...y]);
        acc = next;
      }
      return acc;
    }
  }
}

/** The text of a VNN-LIB file from its bytes, gunzipped first when they are gzip-compressed. */
export async function vnnlibText(bytes: Uint8Array, file: string): Promise<string> {
  return new TextDecoder().decode(await maybeGunzip(bytes, file));
}

/** Parses a VNN-LIB file. `inputs`/`outputs` (the network's sizes) are checked when given. */
export function parseVnnlib(text: string, file = 'property.vnnlib', sizes: { inputs?: number; outputs?: number } = {}): Vnnlib {
  const exprs = tokenize(text, file);
  const r: Reader = new Reader(file);
  const asserts: Formula[] = [];
  for (const e of exprs) {
    if (!isList(e)) r.fail('expected a command in parentheses', e, e.atom);
    const h = r.head(e);
    if (h === 'declare-const') r.declare(e);
    else if (h === 'assert') {
      if (e.list.length !== 2) r.fail('assert takes one formula', e);
      asserts.push(r.formula(e.list[1], 1));
    } else if (h === 'check-sat' || h === 'get-model' || h === 'exit' || h === 'set-info' || h === 'set-logic' || h === 'set-option')
      continue;
    else r.fail('unsupported command (VNN-LIB uses declare-const and assert)', e, h ?? '(list)');
  }
  // Variables: X_0..X_{n−1}, Y_0..Y_{k−1}, contiguous.
  const count = (kind: 'X' | 'Y') => {
    const idx = [...r.vars.values()].filter((v) => v.kind === kind).map((v) => v.index);
    const n = idx.length;
    const set = new Set(idx);
    for (let i = 0; i < n; i++) if (!set.has(i)) throw new InputError(`declares ${n} ${kind} variables but not ${kind}_${i}`, { file });
    return n;
  };
  const inputs = count('X');
  const outputs = count('Y');
  if (inputs === 0) throw new InputError('declares no input variables X_i', { file });
  if (outputs === 0) throw new InputError('declares no output variables Y_j', { file });
  if (sizes.inputs !== undefined && sizes.inputs !== inputs)
    throw new InputError(`declares ${inputs} inputs X_i, the network has ${sizes.inputs}`, { file, value: inputs });
  if (sizes.outputs !== undefined && sizes.outputs !== outputs)
    throw new InputError(`declares ${outputs} outputs Y_j, the network has ${sizes.outputs}`, { file, value: outputs });
  if (asserts.length === 0) throw new InputError('has no assert: the unsafe set is everything', { file });

  const terms = dnf({ kind: 'and', args: asserts }, file);
  if (terms.length === 0) throw new InputError('the unsafe condition is unsatisfiable as written (false): nothing to repair', { file });
  const groups = new Map<string, VnnlibProperty>();
  for (const term of terms) {
    const inRows: Row[] = [];
    const outRows: Row[] = [];
    for (const row of term) {
      const kinds = new Set([...row.coef.keys()].map((k) => r.vars.get(k)!.kind));
      if (kinds.size > 1)
        throw new InputError('an atom mixes inputs X and outputs Y; only separate input and output constraints are supported', {
          file,
          value: [...row.coef.keys()],
        });
      (kinds.has('X') ? inRows : outRows).push(row);
    }
    const input = inputSetOf(inRows, inputs, r);
    const out = polytopeOf(outRows, outputs, r);
    const key = inputKey(input);
    const g = groups.get(key);
    if (g) g.unsafe.push(out);
    else groups.set(key, { input, unsafe: [out] });
  }
  return { inputs, outputs, properties: [...groups.values()] };
}

function inputSetOf(rows: Row[], n: number, r: Reader): VnnlibInputSet {
  const lower = new Array<number>(n).fill(-Infinity);
  const upper = new Array<number>(n).fill(Infinity);
  const general: Row[] = [];
  for (const row of rows) {
    if (row.coef.size === 1) {
      const [name, c] = [...row.coef][0];
      const j = r.vars.get(name)!.index;
      if (c === 1) upper[j] = Math.min(upper[j], row.rhs);
      else if (c === -1) lower[j] = Math.max(lower[j], -row.rhs + 0);
      else if (c > 0) upper[j] = Math.min(upper[j], row.rhs / c);
      else lower[j] = Math.max(lower[j], row.rhs / c);
    } else general.push(row);
  }
  return { box: { lower, upper }, rows: polytopeOf(general, n, r) };
}

function polytopeOf(rows: Row[], dim: number, r: Reader): HPolytope {
  const A = new Float64Array(rows.length * dim);
  const b = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    for (const [name, c] of row.coef) A[i * dim + r.vars.get(name)!.index] += c;
    b[i] = row.rhs;
  });
  return { A, b };
}

function inputKey(s: VnnlibInputSet): string {
  return JSON.stringify([s.box.lower.map(String), s.box.upper.map(String), Array.from(s.rows.A), Array.from(s.rows.b)]);
}

// ---------------------------------------------------------------------------------------------
// What repair needs

/**
 * The input domain of a property for `repair()`: the box (each bound intersected with
 * `fallback`, e.g. the model's declared range, where the file gives none) and the general rows as
 * an `inputSet`.
 */
export function propertyInputDomain(p: VnnlibProperty, fallback?: Box, file?: string): { inputBox: Box; inputSet?: InputSet } {
  const n = p.input.box.lower.length;
  const lower = p.input.box.lower.map((v, j) => Math.max(v, fallback ? fallback.lower[j] : -Infinity));
  const upper = p.input.box.upper.map((v, j) => Math.min(v, fallback ? fallback.upper[j] : Infinity));
  for (let j = 0; j < n; j++) {
    if (!Number.isFinite(lower[j]) || !Number.isFinite(upper[j])) {
      throw new InputError(
        `input X_${j} is unbounded in the property and no input box gives it bounds (the linear regions must be bounded)`,
        { file, field: `X_${j}` },
      );
    }
    if (lower[j] > upper[j])
      throw new InputError(`the input set is empty: X_${j} must lie in [${lower[j]}, ${upper[j]}]`, { file, field: `X_${j}` });
  }
  const m = p.input.rows.b.length;
  return { inputBox: { lower, upper }, inputSet: m > 0 ? { A: p.input.rows.A, b: p.input.rows.b } : undefined };
}

/** max c·y over {G y <= h} with a backend; +Infinity when unbounded, null when empty. */
async function lpMax(G: Float64Array, h: Float64Array, k: number, c: ArrayLike<number> | null, lp: LpBackend): Promise<number | null> {
  const B = new LpBuilder();
  B.addVars(k);
  for (let i = 0; i < h.length; i++) {
    const idx: number[] = [];
    const val: number[] = [];
    for (let j = 0; j < k; j++) {
      if (G[i * k + j] !== 0) {
        idx.push(j);
        val.push(G[i * k + j]);
      }
    }
    if (idx.length === 0) {
      if (h[i] < 0) return null;
      continue;
    }
    B.addRow(idx, val, -Infinity, h[i]);
  }
  // glpk is given a large box so that its answer is finite; the maximum is unbounded exactly when
  // it grows with the box, so solve with two boxes and compare.
  const big = 1e9 * (1 + h.reduce((a, v) => Math.max(a, Math.abs(v)), 0));
  const solveIn = async (box: number): Promise<number | null> => {
    const built = B.build();
    built.lower.fill(-box);
    built.upper.fill(box);
    if (c) for (let j = 0; j < k; j++) built.objective[j] = -c[j];
    try {
      return -(await lp.solve(built, 'VNN-LIB output set')).objective;
    } catch (e) {
      if (e instanceof Error && /\(infeasible\)/.test(e.message)) return null;
      throw e;
    }
  };
  const v1 = await solveIn(big);
  if (v1 === null || !c) return v1;
  const v2 = (await solveIn(2 * big))!;
  return v2 > v1 + 1e-9 * (1 + Math.abs(v1)) ? Infinity : v1;
}

/** The unsafe set's piece `t` is empty (LP). */
async function isEmpty(P: HPolytope, k: number, lp: LpBackend): Promise<boolean> {
  return (await lpMax(P.A, P.b, k, null, lp)) === null;
}

export interface SafeSpecResult {
  /** A convex Spec when the safe set is one convex piece, else a SpecUnion. */
  spec: Spec | SpecUnion;
  /** Whether the safe set is convex (one piece). */
  convex: boolean;
  /** Unsafe sets dropped because they are empty. */
  droppedUnsafe: number;
}

/**
 * The safe output set of a property as a spec: the closure of the complement of ∪_t U_t,
 * shrunk by `margin` (each row j of each U_t becomes −G_j y <= −h_j − margin·‖G_j‖₁). Empty
 * unsafe sets are dropped first; empty pieces and pieces contained in another are dropped after.
 */
export async function safeSpec(
  p: VnnlibProperty,
  k: number,
  opts: { margin?: number; lp?: LpBackend; file?: string } = {},
): Promise<SafeSpecResult> {
  const margin = opts.margin ?? 0;
  if (!(Number.isFinite(margin) && margin >= 0)) throw new InputError('must be a finite number >= 0', { field: 'margin', value: margin });
  const lp = opts.lp ?? new GlpkBackend();
  const unsafe: HPolytope[] = [];
  for (const u of p.unsafe) if (u.b.length === 0 || !(await isEmpty(u, k, lp))) unsafe.push(u);
  const droppedUnsafe = p.unsafe.length - unsafe.length;
  if (unsafe.length === 0) throw new InputError('every unsafe output set of the property is empty: nothing to repair', { file: opts.file });
  if (unsafe.some((u) => u.b.length === 0)) {
    throw new InputError(
      'the property declares every output unsafe on its input set (a disjunct has no output constraint): no repair can satisfy it',
      { file: opts.file },
    );
  }
  // Pieces: one row (negated) from each unsafe set.
  let pieces: { rows: number[][]; rhs: number[] }[] = [{ rows: [], rhs: [] }];
  for (const u of unsafe) {
    const m = u.b.length;
    if (pieces.length * m > MAX_SPEC_PIECES)
      throw new InputError(`the safe set has more than ${MAX_SPEC_PIECES} convex pieces`, { file: opts.file });
    const next: typeof pieces = [];
    for (const pc of pieces) {
      for (let j = 0; j < m; j++) {
        const row = Array.from(u.A.subarray(j * k, (j + 1) * k), (v) => 0 - v);
        const l1 = row.reduce((a, v) => a + Math.abs(v), 0);
        const rhs = 0 - u.b[j] - margin * l1;
        const key = JSON.stringify([row, rhs]);
        const dup = pc.rows.some((r, i) => JSON.stringify([r, pc.rhs[i]]) === key);
        next.push(dup ? pc : { rows: [...pc.rows, row], rhs: [...pc.rhs, rhs] });
      }
    }
    pieces = next;
  }
  // Drop empty pieces, then pieces contained in another one.
  const flat = pieces.map((pc) => ({ A: Float64Array.from(pc.rows.flat()), b: Float64Array.from(pc.rhs) }));
  const alive: HPolytope[] = [];
  for (const pc of flat) if (!(await isEmpty(pc, k, lp))) alive.push(pc);
  if (alive.length === 0)
    throw new InputError('the safe output set is empty (every choice of negated unsafe rows is infeasible)', { file: opts.file });
  const keep: boolean[] = alive.map(() => true);
  for (let i = 0; i < alive.length; i++) {
    for (let j = 0; j < alive.length && keep[i]; j++) {
      if (i === j || !keep[j]) continue;
      if (await contains(alive[j], alive[i], k, lp)) keep[i] = false;
    }
  }
  const specs: Spec[] = alive.filter((_, i) => keep[i]).map((pc) => ({ outputs: k, P: pc.A, q: pc.b }));
  const spec = unionSpec(specs);
  return { spec, convex: specs.length === 1, droppedUnsafe };
}

/** outer ⊇ inner (every row of outer holds on inner, by LP; tolerance 1e-12 relative). */
async function contains(outer: HPolytope, inner: HPolytope, k: number, lp: LpBackend): Promise<boolean> {
  for (let r = 0; r < outer.b.length; r++) {
    const c = outer.A.subarray(r * k, (r + 1) * k);
    const v = await lpMax(inner.A, inner.b, k, c, lp);
    if (v === null) return true;
    if (!(v <= outer.b[r] + 1e-12 * (1 + Math.abs(outer.b[r])))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** An exact decimal for a double, without exponent (parses back to the same double). */
export function plainDecimal(x: number): string {
  if (!Number.isFinite(x)) throw new InputError('is not a finite number', { value: x });
  if (Object.is(x, -0)) return '0';
  const s = String(x);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s.includes('.') ? s : `${s}.0`;
  const [, sign, int, frac = '', expText] = m;
  const exp = Number(expText);
  const digits = int + frac;
  const point = int.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = `${digits}${'0'.repeat(point - digits.length)}.0`;
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + out;
}

function linearText(coef: ArrayLike<number>, prefix: 'X' | 'Y'): string {
  const terms: string[] = [];
  for (let j = 0; j < coef.length; j++) {
    const c = coef[j];
    if (c === 0) continue;
    terms.push(c === 1 ? `${prefix}_${j}` : `(* ${plainDecimal(c)} ${prefix}_${j})`);
  }
  if (terms.length === 0) return '0.0';
  return terms.length === 1 ? terms[0] : `(+ ${terms.join(' ')})`;
}

/** VNN-LIB text of one or more properties (the reader's form). */
export function writeVnnlib(v: Vnnlib, comment?: string): string {
  const { inputs: n, outputs: k } = v;
  const lines: string[] = [];
  if (comment) for (const l of comment.split('\n')) lines.push(`; ${l}`);
  for (let i = 0; i < n; i++) lines.push(`(declare-const X_${i} Real)`);
  for (let j = 0; j < k; j++) lines.push(`(declare-const Y_${j} Real)`);
  const inputAtoms = (s: VnnlibInputSet) => {
    const atoms: string[] = [];
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(s.box.upper[i])) atoms.push(`(<= X_${i} ${plainDecimal(s.box.upper[i])})`);
      if (Number.isFinite(s.box.lower[i])) atoms.push(`(>= X_${i} ${plainDecimal(s.box.lower[i])})`);
    }
    for (let r = 0; r < s.rows.b.length; r++)
      atoms.push(`(<= ${linearText(s.rows.A.subarray(r * n, (r + 1) * n), 'X')} ${plainDecimal(s.rows.b[r])})`);
    return atoms;
  };
  const outputConj = (u: HPolytope) => {
    const atoms: string[] = [];
    for (let r = 0; r < u.b.length; r++) atoms.push(`(<= ${linearText(u.A.subarray(r * k, (r + 1) * k), 'Y')} ${plainDecimal(u.b[r])})`);
    return atoms.length === 1 ? atoms[0] : `(and ${atoms.join(' ')})`;
  };
  if (v.properties.length === 1) {
    // The common form: input constraints as top-level asserts, the unsafe outputs as one (or ...).
    const p = v.properties[0];
    lines.push('; input set');
    for (const a of inputAtoms(p.input)) lines.push(`(assert ${a})`);
    lines.push('; unsafe outputs');
    lines.push(
      p.unsafe.length === 1 ? `(assert ${outputConj(p.unsafe[0])})` : `(assert (or\n  ${p.unsafe.map(outputConj).join('\n  ')}\n))`,
    );
  } else {
    const disjuncts: string[] = [];
    for (const p of v.properties) for (const u of p.unsafe) disjuncts.push(`(and ${[...inputAtoms(p.input), outputConj(u)].join(' ')})`);
    lines.push(`(assert (or\n  ${disjuncts.join('\n  ')}\n))`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The property a repaired network satisfies on one repaired region, for external verifiers:
 * inputs in the region (its support rows: the input box as bounds, the other rows as linear
 * constraints), unsafe when some spec row is violated by at least `tolerance`:
 * `P_j y >= q_j + tolerance`. A verifier should answer `unsat` for the exported ONNX. Choose
 * `tolerance` above the verifier's floating-point error (the minimal patch makes the worst input
 * of the region an exact tie, so `tolerance = 0` invites spurious counterexamples).
 */
export function regionProperty(rep: RepairedNetwork, patchIndex: number, spec: Spec, opts: { tolerance?: number } = {}): Vnnlib {
  const p = rep.patches[patchIndex];
  if (!p) throw new InputError('there is no such patch', { field: 'patch', value: patchIndex });
  const n = rep.inputSize;
  const k = rep.outputSize;
  if (spec.outputs !== k) throw new InputError(`spec has ${spec.outputs} outputs, the network has ${k}`, { field: 'spec' });
  const tol = opts.tolerance ?? 1e-5;
  if (!(Number.isFinite(tol) && tol >= 0)) throw new InputError('must be a finite number >= 0', { field: 'tolerance', value: tol });
  const lower = new Array<number>(n).fill(-Infinity);
  const upper = new Array<number>(n).fill(Infinity);
  const box = rep.boxGate ?? rep.inputBox; // the patches' box group, else the repair domain
  if (box) {
    box.lower.forEach((v, j) => (lower[j] = v));
    box.upper.forEach((v, j) => (upper[j] = v));
  }
  const general: number[] = [];
  for (let i = 0; i < p.b.length; i++) {
    const face = boxFace(p.A.subarray(i * n, (i + 1) * n));
    if (face?.sign === 1) upper[face.input] = Math.min(upper[face.input], p.b[i]);
    else if (face?.sign === -1) lower[face.input] = Math.max(lower[face.input], -p.b[i]);
    else general.push(i);
  }
  const A = new Float64Array(general.length * n);
  const b = new Float64Array(general.length);
  general.forEach((r, i) => {
    A.set(p.A.subarray(r * n, (r + 1) * n), i * n);
    b[i] = p.b[r];
  });
  const unsafe: HPolytope[] = [];
  for (let j = 0; j < spec.q.length; j++) {
    unsafe.push({ A: Float64Array.from(spec.P.subarray(j * k, (j + 1) * k), (v) => 0 - v), b: Float64Array.of(0 - (spec.q[j] + tol)) });
  }
  return { inputs: n, outputs: k, properties: [{ input: { box: { lower, upper }, rows: { A, b } }, unsafe }] };
}
