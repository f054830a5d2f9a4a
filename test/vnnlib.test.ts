/** VNN-LIB: semantics against an independent interpreter, safe sets, writer, repair with a property. */
import { beforeAll, describe, expect, it } from 'vitest';
import { repairedToOnnx } from '../ts/formats/onnx/export.js';
import {
  parseVnnlib,
  plainDecimal,
  propertyInputDomain,
  regionProperty,
  safeSpec,
  type Vnnlib,
  writeVnnlib,
} from '../ts/formats/vnnlib.js';
import { InputError, init, labelSpec, repair, type Spec, slackExcess } from '../ts/index.js';
import { isSpecUnion, violationOf } from '../ts/spec-union.js';
import { ortRun } from './formats-helpers.js';
import { argmax, hcasTau05, rng } from './helpers.js';

// ---- an independent interpreter: evaluates the formula directly on numbers ------------------
type S = string | S[];
function sexprs(text: string): S[] {
  const toks = text
    .replace(/;[^\n]*/g, '')
    .replace(/\(/g, ' ( ')
    .replace(/\)/g, ' ) ')
    .split(/\s+/)
    .filter(Boolean);
  let i = 0;
  const one = (): S => {
    const t = toks[i++];
    if (t !== '(') return t;
    const l: S[] = [];
    while (toks[i] !== ')') l.push(one());
    i++;
    return l;
  };
  const out: S[] = [];
  while (i < toks.length) out.push(one());
  return out;
}
function evalTerm(t: S, env: Map<string, number>): number {
  if (typeof t === 'string') return env.has(t) ? env.get(t)! : Number(t);
  const [op, ...a] = t;
  const v = a.map((x) => evalTerm(x, env));
  if (op === '+') return v.reduce((p, q) => p + q, 0);
  if (op === '*') return v.reduce((p, q) => p * q, 1);
  if (op === '-') return v.length === 1 ? -v[0] : v.slice(1).reduce((p, q) => p - q, v[0]);
  throw new Error(String(op));
}
function evalFormula(f: S, env: Map<string, number>): boolean {
  if (typeof f === 'string') return f === 'true';
  const [op, ...a] = f;
  if (op === 'and') return a.every((x) => evalFormula(x, env));
  if (op === 'or') return a.some((x) => evalFormula(x, env));
  const v = a.map((x) => evalTerm(x, env));
  const pairs = v.slice(1).map((q, i) => [v[i], q]);
  if (op === '<=' || op === '<') return pairs.every(([p, q]) => p <= q);
  if (op === '>=' || op === '>') return pairs.every(([p, q]) => p >= q);
  if (op === '=') return pairs.every(([p, q]) => p === q);
  throw new Error(String(op));
}
const unsafeByInterpreter = (text: string, x: number[], y: number[]) => {
  const env = new Map<string, number>();
  x.forEach((v, i) => env.set(`X_${i}`, v));
  y.forEach((v, j) => env.set(`Y_${j}`, v));
  return sexprs(text)
    .filter((c) => Array.isArray(c) && c[0] === 'assert')
    .every((c) => evalFormula((c as S[])[1], env));
};
const inPoly = (A: Float64Array, b: Float64Array, z: number[]) =>
  b.every((bi, r) => z.reduce((s, v, j) => s + A[r * z.length + j] * v, 0) <= bi);
const unsafeByParse = (v: Vnnlib, x: number[], y: number[]) =>
  v.properties.some(
    (p) =>
      x.every((xi, i) => xi >= p.input.box.lower[i] && xi <= p.input.box.upper[i]) &&
      inPoly(p.input.rows.A, p.input.rows.b, x) &&
      p.unsafe.some((u) => inPoly(u.A, u.b, y)),
  );

/** A random formula over X_0..X_{n-1} and Y_0..Y_{k-1} (atoms in X only or Y only). */
function randomFormula(r: ReturnType<typeof rng>, depth: number, n: number, k: number): string {
  if (depth === 0 || r.next() < 0.3) {
    const useX = r.next() < 0.5;
    const dim = useX ? n : k;
    const v = useX ? 'X' : 'Y';
    const terms: string[] = [];
    const count = 1 + Math.floor(r.next() * 2);
    for (let t = 0; t < count; t++) {
      const c = Math.floor(r.next() * 5) - 2 || 1;
      const j = Math.floor(r.next() * dim);
      terms.push(r.next() < 0.5 ? `(* ${c} ${v}_${j})` : c === 1 ? `${v}_${j}` : `(- ${v}_${j})`);
    }
    const lhs = terms.length === 1 ? terms[0] : `(+ ${terms.join(' ')})`;
    const rhs = (Math.floor(r.next() * 9) - 4) / 2;
    const op = ['<=', '>=', '<', '>'][Math.floor(r.next() * 4)];
    return r.next() < 0.5 ? `(${op} ${lhs} ${rhs})` : `(${op} ${rhs} ${lhs})`;
  }
  const op = r.next() < 0.5 ? 'and' : 'or';
  const m = 2 + Math.floor(r.next() * 2);
  return `(${op} ${Array.from({ length: m }, () => randomFormula(r, depth - 1, n, k)).join(' ')})`;
}

describe('VNN-LIB reader', () => {
  it('reads the usual form: bounds and an (or (and ...)) over outputs', () => {
    const text = `; a robustness property
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(assert (<= X_0 0.5))
(assert (>= X_0 -0.5))
(assert (<= X_1 1e-3))
(assert (>= X_1 (- 1.0)))
(assert (or
  (and (>= Y_1 Y_0))
  (and (>= Y_2 Y_0) (<= Y_2 3))
))`;
    const v = parseVnnlib(text, 'p.vnnlib', { inputs: 2, outputs: 3 });
    expect(v.properties.length).toBe(1);
    const p = v.properties[0];
    expect(p.input.box).toEqual({ lower: [-0.5, -1], upper: [0.5, 0.001] });
    expect(p.input.rows.b.length).toBe(0);
    expect(p.unsafe.map((u) => [Array.from(u.A), Array.from(u.b)])).toEqual([
      [[1, -1, 0], [0]],
      [
        [1, 0, -1, 0, 0, 1],
        [0, 3],
      ],
    ]);
  });

  it('full and/or semantics: random formulas agree with a direct interpreter at random points', () => {
    const r = rng(2024);
    const n = 2;
    const k = 2;
    let checked = 0;
    let unsafeSeen = 0;
    for (let f = 0; f < 60; f++) {
      const asserts = Array.from({ length: 1 + Math.floor(r.next() * 3) }, () => `(assert ${randomFormula(r, 3, n, k)})`);
      const text = [
        '(declare-const X_0 Real)',
        '(declare-const X_1 Real)',
        '(declare-const Y_0 Real)',
        '(declare-const Y_1 Real)',
        ...asserts,
      ].join('\n');
      let v: Vnnlib;
      try {
        v = parseVnnlib(text, 'r.vnnlib');
      } catch (e) {
        // Only "unsatisfiable as written" may be refused here.
        expect((e as Error).message).toMatch(/unsatisfiable as written/);
        for (let s = 0; s < 50; s++) {
          const x = [r.range(-3, 3), r.range(-3, 3)];
          const y = [r.range(-3, 3), r.range(-3, 3)];
          expect(unsafeByInterpreter(text, x, y)).toBe(false);
        }
        continue;
      }
      for (let s = 0; s < 200; s++) {
        // Half-integers hit boundaries often (non-strict semantics), the rest is generic.
        const pick = () => (s % 2 ? Math.round(r.range(-3, 3) * 2) / 2 : r.range(-3, 3));
        const x = [pick(), pick()];
        const y = [pick(), pick()];
        const want = unsafeByInterpreter(text.replace(/\((<|>) /g, '($1= '), x, y);
        expect(unsafeByParse(v, x, y)).toBe(want);
        if (want) unsafeSeen++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5000);
    expect(unsafeSeen).toBeGreaterThan(100);
  });

  it('groups disjuncts by input set and keeps linear terms and "=" exact', () => {
    const text = `(declare-const X_0 Real) (declare-const X_1 Real) (declare-const Y_0 Real) (declare-const Y_1 Real)
(assert (or (and (>= X_0 0) (<= X_0 1) (<= (+ X_0 (* 2 X_1)) 3) (>= Y_0 Y_1))
            (and (>= X_0 2) (<= X_0 3) (= (- Y_0 (* 0.5 Y_1)) 1))))`;
    const v = parseVnnlib(text);
    expect(v.properties.length).toBe(2);
    expect(v.properties[0].input.box.lower[0]).toBe(0);
    expect(Array.from(v.properties[0].input.rows.A)).toEqual([1, 2]);
    expect(Array.from(v.properties[1].unsafe[0].A)).toEqual([1, -0.5, -1, 0.5]);
    expect(Array.from(v.properties[1].unsafe[0].b)).toEqual([1, -1]);
  });

  it('names the file, line and token on bad input', () => {
    const decl = '(declare-const X_0 Real)(declare-const Y_0 Real)\n';
    const bad = (text: string, re: RegExp) => {
      let err: unknown;
      try {
        parseVnnlib(text, 'bad.vnnlib');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(re);
    };
    bad(decl + '(assert (<= X_0 0.5)', /bad\.vnnlib: line 2: unbalanced "\(": 1 list\(s\) not closed/);
    bad(decl + '(assert (<= (* X_0 Y_0) 1))', /line 2: a product of variables is not linear/);
    bad(decl + '(assert (<= X_0 Y_0))', /mixes inputs X and outputs Y/);
    bad(decl + '(assert (<= X_1 1))', /line 2: variable is used before its declare-const \(got "X_1"\)/);
    bad(decl + '(assert (not (<= X_0 1)))', /"not" is not part of VNN-LIB/);
    bad(decl + '(assert (exp X_0))', /unsupported formula.*\(got "exp"\)/);
    bad('(declare-const Z Real)', /variables must be named X_i .* \(got "Z"\)/);
    bad('(declare-const X_1 Real)(declare-const Y_0 Real)(assert (<= X_1 1))', /declares 1 X variables but not X_0/);
    expect(() => parseVnnlib(decl + '(assert (<= X_0 1))', 'p.vnnlib', { inputs: 3 })).toThrow(/declares 1 inputs X_i, the network has 3/);
  });
});

describe('VNN-LIB safe sets', () => {
  const k = 3;
  it('robustness (unsafe = OR of single atoms): the safe set is one convex piece, the label spec', async () => {
    const v = parseVnnlib(`(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)(declare-const Y_2 Real)
(assert (<= X_0 1))(assert (>= X_0 0))(assert (or (>= Y_0 Y_2) (>= Y_1 Y_2)))`);
    const s = await safeSpec(v.properties[0], k);
    expect(s.convex).toBe(true);
    const spec = s.spec as Spec;
    const label = labelSpec(2, k);
    const rows = (sp: Spec) =>
      new Set(Array.from({ length: sp.q.length }, (_, j) => JSON.stringify([...sp.P.subarray(j * k, (j + 1) * k), sp.q[j]])));
    expect(rows(spec)).toEqual(rows(label));
  });

  it('unsafe = AND of atoms: a union of convex pieces; nested pieces and empty unsafe sets are dropped', async () => {
    const head =
      '(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)(declare-const Y_2 Real)(assert (<= X_0 1))(assert (>= X_0 0))';
    const union = await safeSpec(parseVnnlib(`${head}(assert (and (>= Y_0 Y_1) (>= Y_0 Y_2)))`).properties[0], k);
    expect(union.convex).toBe(false);
    expect(isSpecUnion(union.spec) && union.spec.pieces.length).toBe(2);
    const nested = await safeSpec(parseVnnlib(`${head}(assert (and (>= Y_0 1) (>= Y_0 2)))`).properties[0], k);
    expect(nested.convex).toBe(true);
    // Unsafe Y_0 >= 1 and Y_0 >= 2 is Y_0 >= 2: the safe closure is Y_0 <= 2 (the piece Y_0 <= 1 lies inside it).
    expect(Array.from((nested.spec as Spec).P)).toEqual([1, 0, 0]);
    expect(Array.from((nested.spec as Spec).q)).toEqual([2]);
    const empty = await safeSpec(parseVnnlib(`${head}(assert (or (and (>= Y_0 1) (<= Y_0 0)) (>= Y_1 5)))`).properties[0], k);
    expect(empty.droppedUnsafe).toBe(1);
    expect(empty.convex).toBe(true);
  });

  it('the safe spec is the complement of the unsafe set (random formulas, random outputs)', async () => {
    const r = rng(99);
    let checked = 0;
    for (let f = 0; f < 25; f++) {
      const text = `(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)(assert (<= X_0 1))(assert (>= X_0 0))(assert ${randomFormula(r, 2, 1, 2).replace(/X_0/g, 'Y_0')})`;
      let v: Vnnlib;
      try {
        v = parseVnnlib(text);
      } catch {
        continue;
      }
      if (v.properties.length !== 1) continue;
      let s: Awaited<ReturnType<typeof safeSpec>>;
      try {
        s = await safeSpec(v.properties[0], 2);
      } catch (e) {
        expect((e as Error).message).toMatch(
          /every unsafe output set of the property is empty|safe output set is empty|every output unsafe/,
        );
        continue;
      }
      for (let t = 0; t < 200; t++) {
        const y = [r.range(-4, 4), r.range(-4, 4)];
        const unsafe = v.properties[0].unsafe.some((u) => inPoly(u.A, u.b, y));
        expect(violationOf(s.spec, y) <= 0).toBe(!unsafe);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });
});

describe('VNN-LIB writer', () => {
  it('plainDecimal is exact for doubles of every magnitude', () => {
    const r = rng(3);
    for (let i = 0; i < 5000; i++) {
      const x = (r.next() - 0.5) * 10 ** Math.floor(r.range(-300, 300));
      const s = plainDecimal(x);
      expect(s).not.toMatch(/e/i);
      expect(Number(s)).toBe(x);
    }
    expect(plainDecimal(-0)).toBe('0');
    expect(plainDecimal(3)).toBe('3.0');
  });

  it('write → read gives back the same rows bit for bit (one property, and several)', () => {
    const r = rng(4);
    const rand = () => (r.next() - 0.5) * 10 ** Math.floor(r.range(-12, 12));
    const prop = () => ({
      input: {
        box: { lower: [rand(), -Infinity], upper: [Infinity, rand()] },
        rows: { A: Float64Array.from([rand(), rand()]), b: Float64Array.of(rand()) },
      },
      unsafe: [
        { A: Float64Array.from([rand(), 0, rand(), rand(), rand(), 0]), b: Float64Array.from([rand(), rand()]) },
        { A: Float64Array.from([0, 0, rand()]), b: Float64Array.of(rand()) },
      ],
    });
    for (const v of [
      { inputs: 2, outputs: 3, properties: [prop()] },
      { inputs: 2, outputs: 3, properties: [prop(), prop()] },
    ] as Vnnlib[]) {
      const back = parseVnnlib(writeVnnlib(v, 'round trip\nsecond line'));
      expect(back.properties.length).toBe(v.properties.length);
      back.properties.forEach((p, i) => {
        const q = v.properties[i];
        expect(p.input.box).toEqual(q.input.box);
        expect(Array.from(p.input.rows.A)).toEqual(Array.from(q.input.rows.A));
        expect(Array.from(p.input.rows.b)).toEqual(Array.from(q.input.rows.b));
        expect(p.unsafe.map((u) => [Array.from(u.A), Array.from(u.b)])).toEqual(q.unsafe.map((u) => [Array.from(u.A), Array.from(u.b)]));
      });
    }
  });
});

describe('repair with a VNN-LIB property', () => {
  beforeAll(() => init());
  const hcasHeader = () =>
    [...[0, 1, 2].map((i) => `(declare-const X_${i} Real)`), ...[0, 1, 2, 3, 4].map((j) => `(declare-const Y_${j} Real)`)].join('\n');

  it('convex safe set: the region is cut by the input set, and nothing beyond its radius outside the set changes', async () => {
    const { net, points, labels } = hcasTau05();
    const pts = points.slice(0, 6);
    const lo = [0, 1, 2].map((j) => Math.min(...pts.map((p) => p[j])) - (j < 2 ? 50 : 0.01));
    const hi = [0, 1, 2].map((j) => Math.max(...pts.map((p) => p[j])) + (j < 2 ? 50 : 0.01));
    const text = `${hcasHeader()}
${[0, 1, 2].map((j) => `(assert (>= X_${j} ${plainDecimal(lo[j])}))\n(assert (<= X_${j} ${plainDecimal(hi[j])}))`).join('\n')}
(assert (or (>= Y_0 Y_4) (>= Y_1 Y_4) (>= Y_2 Y_4) (>= Y_3 Y_4)))`;
    const v = parseVnnlib(text, 'sr.vnnlib', { inputs: 3, outputs: 5 });
    const { inputBox, inputSet } = propertyInputDomain(v.properties[0]);
    expect(inputSet).toBeUndefined();
    const safe = await safeSpec(v.properties[0], 5);
    expect(safe.convex).toBe(true);
    const { network: rep, report } = await repair(net, { points: pts, spec: safe.spec, inputBox });
    expect(report.result.status).toBe('repaired');
    expect(rep.predict(pts).every((y) => argmax(y) === 4)).toBe(true);
    expect(labels.slice(0, 6).every((l) => l === 4)).toBe(true);
    // Locality w.r.t. the property's input set: samples whose summed face excess reaches the
    // radius for every patch are bit-identical; there are many outside the set near it.
    const r = rng(6);
    const N = 20000;
    const x = Float64Array.from({ length: N * 3 }, (_, i) => {
      const j = i % 3;
      const w = hi[j] - lo[j];
      return r.range(lo[j] - w, hi[j] + w);
    });
    const far = new Array(N).fill(true);
    for (const p of rep.patches) slackExcess(p.A, p.b, 3, x).forEach((e, i) => (far[i] &&= e >= p.radius));
    // The shared box gate (the property's box): beyond its radius outside the box, every patch is 0.
    const gate = rep.boxGate!;
    expect(gate.lower).toEqual(lo);
    expect(gate.upper).toEqual(hi);
    const boxRows = Float64Array.from([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1]);
    const boxB = Float64Array.from([hi[0], -lo[0], hi[1], -lo[1], hi[2], -lo[2]]);
    slackExcess(boxRows, boxB, 3, x).forEach((e, i) => (far[i] ||= e >= gate.radius));
    const outside = far.filter((f, i) => f && [0, 1, 2].some((j) => x[i * 3 + j] < lo[j] || x[i * 3 + j] > hi[j])).length;
    expect(outside).toBeGreaterThan(10000);
    const y0 = net.forwardFlat(x, N);
    const y1 = rep.forwardFlat(x, N);
    for (let i = 0; i < N; i++) if (far[i]) for (let j = 0; j < 5; j++) expect(Object.is(y0[i * 5 + j], y1[i * 5 + j])).toBe(true);
  });

  it('non-convex safe set: each region is repaired with the piece whose minimal patch is smallest (reported as specPiece)', async () => {
    const { net, points } = hcasTau05();
    const before = net.predict(points);
    const coc = points.filter((_, i) => argmax(before[i]) === 0).slice(0, 5);
    expect(coc.length).toBe(5);
    // Unsafe: advisory 0 (COC) is the argmax. Safe: some other advisory is >= it (4 pieces).
    const text = `${hcasHeader()}
(assert (<= X_0 56000.0)) (assert (>= X_0 -56000.0)) (assert (<= X_1 56000.0)) (assert (>= X_1 -56000.0))
(assert (<= X_2 3.141593)) (assert (>= X_2 -3.141593))
(assert (and (>= Y_0 Y_1) (>= Y_0 Y_2) (>= Y_0 Y_3) (>= Y_0 Y_4)))`;
    const v = parseVnnlib(text, 'coc.vnnlib');
    const safe = await safeSpec(v.properties[0], 5);
    expect(safe.convex).toBe(false);
    if (!isSpecUnion(safe.spec)) throw new Error('expected a union');
    const pieces = safe.spec.pieces;
    expect(pieces.length).toBe(4);
    const { inputBox } = propertyInputDomain(v.properties[0]);
    const { network: rep, report } = await repair(net, { points: coc, spec: safe.spec, inputBox });
    expect(report.result.status).toBe('repaired');
    // Independent check: repair each region with each piece alone; the chosen one is the smallest.
    for (const g of report.regions) {
      const x = coc[g.points[0]];
      const norms: number[] = [];
      for (const piece of pieces) {
        const single = await repair(net, { points: [x], spec: piece, inputBox });
        norms.push(single.report.regions[0]?.patchNorm ?? 0);
      }
      const best = Math.min(...norms);
      expect(g.specPiece).toBe(norms.indexOf(best));
      expect(g.patchNorm).toBe(best);
    }
    // The same in a worker pool (tasks carry the union to the workers): bit-identical choices and norms.
    const pooled = await repair(net, { points: coc, spec: safe.spec, inputBox, workers: 2 });
    expect(pooled.report.regions.map((g) => [g.specPiece, g.patchNorm])).toEqual(report.regions.map((g) => [g.specPiece, g.patchNorm]));
    for (const [i, y] of rep.predict(coc).entries()) {
      expect(violationOf(safe.spec, y)).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...y.map(Math.abs))));
      const g = report.regions.find((r) => r.points.includes(i))!;
      expect(violationOf(pieces[g.specPiece!], y)).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...y.map(Math.abs))));
    }
  });

  it('general linear input constraints become an input set; points outside it are refused', async () => {
    const { net, points } = hcasTau05();
    const [a, b] = points;
    const s = a[0] + a[1] + 1;
    const text = `${hcasHeader()}
(assert (<= X_0 56000.0)) (assert (>= X_0 -56000.0)) (assert (<= X_1 56000.0)) (assert (>= X_1 -56000.0))
(assert (<= X_2 3.141593)) (assert (>= X_2 -3.141593))
(assert (<= (+ X_0 X_1) ${plainDecimal(s)}))
(assert (or (>= Y_0 Y_4) (>= Y_1 Y_4) (>= Y_2 Y_4) (>= Y_3 Y_4)))`;
    const v = parseVnnlib(text, 'lin.vnnlib');
    const { inputBox, inputSet } = propertyInputDomain(v.properties[0]);
    expect(inputSet && Array.from(inputSet.A)).toEqual([1, 1, 0]);
    const safe = await safeSpec(v.properties[0], 5);
    const { network: rep } = await repair(net, { points: [a], spec: safe.spec, inputBox, inputSet });
    expect(argmax(rep.predict([a])[0])).toBe(4);
    // The support includes the property's constraint: beyond it by the radius, nothing changes.
    const far = [a[0] + rep.patches[0].radius * 2 + 2, a[1], a[2]];
    expect(far[0] + far[1]).toBeGreaterThan(s);
    expect(rep.predict([far])[0]).toEqual(net.predict([far])[0]);
    if (b[0] + b[1] > s)
      await expect(repair(net, { points: [b], spec: safe.spec, inputBox, inputSet })).rejects.toThrow(/lies outside the input set/);
  });

  it('the written region property holds for the exported ONNX on samples of the region', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const { network: rep } = await repair(net, { points: points.slice(0, 8), labels: labels.slice(0, 8), inputBox });
    const spec = labelSpec(4, 5);
    const onnx = repairedToOnnx(rep, { precision: 'float64' });
    const r = rng(12);
    for (let a = 0; a < rep.patches.length; a++) {
      const text = writeVnnlib(regionProperty(rep, a, spec, { tolerance: 1e-6 }));
      const v = parseVnnlib(text, `region${a}.vnnlib`, { inputs: 3, outputs: 5 });
      const p = v.properties[0];
      expect(p.unsafe.length).toBe(4);
      // The written input set is the patch's support polytope: same rows up to order.
      const rows = new Set<string>();
      for (let i = 0; i < rep.patches[a].b.length; i++)
        rows.add(JSON.stringify([...rep.patches[a].A.subarray(i * 3, i * 3 + 3), rep.patches[a].b[i]]));
      for (let i = 0; i < p.input.rows.b.length; i++)
        expect(rows.has(JSON.stringify([...p.input.rows.A.subarray(i * 3, i * 3 + 3), p.input.rows.b[i]]))).toBe(true);
      // Sample the region around its buggy point; no sample inside it may be unsafe in onnxruntime.
      const x0 = points[rep.patches[a].region.points[0]];
      const xs: number[][] = [x0];
      for (let t = 0; t < 400; t++) xs.push(x0.map((v0, j) => v0 + r.normal() * (j < 2 ? 20 : 0.002)));
      const inside = xs.filter(
        (x) => x.every((xi, i) => xi >= p.input.box.lower[i] && xi <= p.input.box.upper[i]) && inPoly(p.input.rows.A, p.input.rows.b, x),
      );
      expect(inside.length).toBeGreaterThan(0);
      const y = await ortRun(onnx, Float64Array.from(inside.flat()), inside.length, [3], 'float64');
      for (let i = 0; i < inside.length; i++) {
        const yi = Array.from(y.subarray(i * 5, i * 5 + 5));
        expect(p.unsafe.some((u) => inPoly(u.A, u.b, yi))).toBe(false);
      }
    }
  });
});
