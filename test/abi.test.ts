/**
 * The typed boundary (ts/wasm/abi.ts ↔ crates/wasm/src/abi.rs): both sides have the same tables,
 * and every layout and option object survives a trip through the core's decoders and encoders
 * field by field (NaN, infinities, −0, absent optional fields, counted fields, enum codes).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getCore, InputError, init, LpError, WasmError } from '../ts/index.js';
import * as abi from '../ts/wasm/abi.js';
import type { Core } from '../ts/wasm/raw.js';

let core: Core;
beforeAll(async () => {
  await init();
  core = getCore();
});

const utf8 = (v: unknown) => new abi.Utf8(new TextEncoder().encode(JSON.stringify(v)));

/** The dimensions of layout `l`, each set to `n`. */
function dimsFor(l: abi.Layout, n: number): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const f of l.fields) for (const d of f.shape) dims[d] = n;
  return dims;
}

const REALS = [-0, 0.1, -1.5e-300, 5e-324, 1.7976931348623157e308, Infinity, -Infinity, NaN, 1 / 3, 123456789.125];

/**
 * A record of `l` whose values cycle through the cases of each kind (arrays of counts and
 * integers are indices: Int32 range); optional fields absent when `absent`, counted fields
 * holding `count` values.
 */
function sampleRecord(l: abi.Layout, dims: Record<string, number>, seed: number, absent: boolean, count: number): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  let k = seed;
  const value = (f: abi.Field): number | boolean | string => {
    k++;
    const inArray = f.shape.length > 0;
    if (f.kind === 'real') {
      // An optional field that is all NaN reads as absent: no NaN there.
      const v = REALS[k % REALS.length];
      return f.optional && Number.isNaN(v) ? 2.5 : v;
    }
    if (f.kind === 'count') return (inArray ? [0, 3, 2 ** 31 - 1] : [0, 3, 2 ** 40, 2 ** 53])[k % (inArray ? 3 : 4)];
    if (f.kind === 'integer') return [-1, -7, 0, -(2 ** 31)][k % 4];
    if (f.kind === 'flag') return k % 2 === 0;
    const names = Object.keys(f.kind.values);
    return names[k % names.length];
  };
  const counts = new Set(l.fields.flatMap((f) => (f.countedBy ? [f.countedBy] : [])));
  for (const f of l.fields) {
    const len = f.countedBy ? count : f.shape.reduce((s, d) => s * dims[d], 1);
    if (f.optional && absent && len > 0) r[f.name] = null;
    else if (counts.has(f.name)) r[f.name] = count;
    else if (f.shape.length === 0) r[f.name] = value(f);
    else {
      r[f.name] = Array.from({ length: len }, () => {
        const v = value(f);
        // Arrays of enum codes carry the codes themselves (decoded as an Int32Array).
        if (typeof v === 'string') return abi.code(f.kind as abi.EnumSpec, v);
        return typeof v === 'boolean' ? Number(v) : v;
      });
    }
  }
  return r;
}

/** Field by field, every number bit for bit (NaN is NaN, −0 is −0). */
function expectSameRecord(l: abi.Layout, got: Record<string, unknown>, want: Record<string, unknown>) {
  for (const f of l.fields) {
    const [g, w] = [got[f.name], want[f.name]];
    if (w === null) {
      expect(g, `${l.name}.${f.name}`).toBeNull();
    } else if (f.shape.length === 0) {
      expect(Object.is(g, w), `${l.name}.${f.name}: ${String(g)} vs ${String(w)}`).toBe(true);
    } else {
      const [ga, wa] = [Array.from(g as ArrayLike<number>), Array.from(w as ArrayLike<number>)];
      expect(ga.length, `${l.name}.${f.name} length`).toBe(wa.length);
      wa.forEach((x, i) => expect(Object.is(ga[i], x), `${l.name}.${f.name}[${i}]: ${ga[i]} vs ${x}`).toBe(true));
    }
  }
}

function echoLayout(l: abi.Layout, dims: Record<string, number>, data: Float64Array) {
  const code = abi.LAYOUTS.indexOf(l);
  return core.layout(`echo ${l.name}`, [utf8(dims), data], l, dims as abi.DimsOf<abi.Layout>, ([pd, pi, o], [dl, il]) =>
    core.exports.rr_abi_echo_layout(code, pd, dl, pi, il, o),
  );
}

function echoObject(spec: abi.ObjectSpec, text: abi.Utf8): unknown {
  const code = abi.OBJECTS.indexOf(spec);
  core.call(`echo ${spec.name}`, [text], ([p], [len]) => core.exports.rr_abi_echo_object(code, p, len));
  // The core writes non-finite numbers as these strings, like abi.json.
  return JSON.parse(core.message(), (_, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
}

describe('the boundary tables', () => {
  it('are the same on both sides: every enum code, layout field (kind, shape, optional, count) and object member', () => {
    core.guard(() => core.exports.rr_abi_describe());
    const theirs = JSON.parse(core.message()) as abi.Description;
    const ours = abi.describe();
    expect(theirs).toEqual(ours);
    // Not vacuous: the tables are all there.
    expect(ours.layouts.map((l) => l.name)).toContain('regionCertificate');
    expect(ours.layouts.map((l) => l.name)).toEqual(expect.arrayContaining(['sharedConstantPatch', 'sharedAffinePatch']));
    expect(ours.layouts.reduce((s, l) => s + l.fields.length, 0)).toBeGreaterThan(60);
    expect(ours.objects.length).toBe(18);
    expect(ours.enums.map((e) => e.name)).toEqual([
      'Status',
      'PatchKind',
      'Composition',
      'Proof',
      'Step',
      'OpKind',
      'Reason',
      'BoundKind',
      'LowerSlope',
      'Verdict',
      'LeafStatus',
      'ProofMethod',
    ]);
  });

  it('every export the TypeScript side declares is in the core, and the core has no others', () => {
    const declared = [
      'rr_alloc',
      'rr_free',
      'rr_message_ptr',
      'rr_message_len',
      'rr_version',
      'rr_reserve_memory',
      'rr_debug_panic',
      'rr_release',
      'rr_live_objects',
      'rr_network_new',
      'rr_graph_new',
      'rr_network_info',
      'rr_network_forward',
      'rr_network_patterns',
      'rr_region_new',
      'rr_region_of_pattern',
      'rr_region_intersect',
      'rr_region_info',
      'rr_region_read',
      'rr_region_support_rows',
      'rr_region_max_output',
      'rr_region_maximize',
      'rr_region_minimal_patch',
      'rr_slack_excess',
      'rr_constant_patch',
      'rr_region_minimal_patch_from',
      'rr_region_certify_max',
      'rr_lp_force_limits',
      'rr_region_max_unless_below',
      'rr_repaired_forward_at',
      'rr_repaired_new',
      'rr_repaired_add_patch',
      'rr_repaired_set_box_gate',
      'rr_repaired_set_composition',
      'rr_repaired_forward',
      'rr_repaired_supports',
      'rr_repaired_weights',
      'rr_enum_new',
      'rr_enum_step',
      'rr_enum_read',
      'rr_certifier_new',
      'rr_certifier_region',
      'rr_spec_contradiction',
      'rr_bounds_compute',
      'rr_bounds_row',
      'rr_bounds_rows',
      'rr_verify_new',
      'rr_verify_step',
      'rr_verify_expand',
      'rr_verify_leaves',
      'rr_verify_pending',
      'rr_repaired_share_rows',
      'rr_repaired_add_shared_patch',
      'rr_abi_describe',
      'rr_abi_echo_layout',
      'rr_abi_echo_object',
    ] satisfies (keyof typeof core.exports)[];
    const actual = Object.keys(core.exports).filter((k) => k.startsWith('rr_'));
    expect(actual.sort()).toEqual([...declared].sort());
  });
});

describe('every layout', () => {
  for (const l of abi.LAYOUTS) {
    it(`${l.name}: TypeScript encodes, the core decodes (checking every value) and encodes again, TypeScript decodes the same fields`, () => {
      let trips = 0;
      for (const [n, absent, count] of [
        [2, false, 2],
        [3, true, 0],
        [1, false, 1],
        [0, true, 0],
      ] as const) {
        const dims = dimsFor(l, n);
        const record = sampleRecord(l, dims, n, absent, Math.min(count, n));
        const data = abi.encode(l, dims as abi.DimsOf<abi.Layout>, record as abi.InputRecordOf<abi.Layout>);
        // Scalars as the decoder returns them (flags as booleans, enum codes as names).
        const echoed = echoLayout(l, dims, data);
        expectSameRecord(l, echoed as Record<string, unknown>, record);
        // Also decoded by TypeScript alone: the same record.
        expectSameRecord(l, abi.decode(l, dims as abi.DimsOf<abi.Layout>, data, data.length) as Record<string, unknown>, record);
        trips++;
      }
      expect(trips).toBe(4);
    });
  }

  it('bad values are rejected by the core with the field named, and by the TypeScript decoder', () => {
    const l = abi.REGION_CERTIFICATE;
    const dims = { inputs: 1, patches: 2 };
    const good = abi.encode(l, dims, {
      certified: true,
      reason: 'certified',
      maxViolation: -1,
      tolerance: 1e-9,
      rounding: 1e-12,
      scale: 3,
      pieces: 1,
      emptyPieces: 0,
      lps: 4,
      worstRow: 0,
      witnessValue: -1,
      errorBudget: 0,
      exactPatches: 0,
      specPiece: null,
      witnessViolation: -1,
      witnessInRegion: true,
      relevant: 2,
      witness: [0.5],
      patches: [1, 0],
    });
    expect(echoLayout(l, dims, good).patches).toEqual(Int32Array.from([1, 0]));
    const flag = good.slice();
    flag[0] = 2;
    expect(() => echoLayout(l, dims, flag)).toThrow(/regionCertificate: field certified value 0 is 2, not 0 or 1/);
    expect(() => abi.decode(l, dims, flag)).toThrow(WasmError);
    const over = good.slice();
    over[16] = 3; // three relevant patches, capacity two
    expect(() => echoLayout(l, dims, over)).toThrow(/relevant = 3 exceeds its capacity 2/);
    expect(() => abi.decode(l, dims, over)).toThrow(/above its capacity 2/);
    const proof = abi.encode(
      abi.MINIMAL_PATCH,
      { inputs: 0, outputs: 0, rows: 0, regionRows: 0 },
      {
        proof: 'full-lp',
        lowerBound: 0,
        norm: 0,
        residual: 0,
        lps: 0,
        pivots: 0,
        rounding: 0,
        d: null,
        worstLower: [],
        worstUpper: [],
        witnesses: [],
        duals: [],
      },
    );
    proof[0] = 7;
    expect(() => echoLayout(abi.MINIMAL_PATCH, { inputs: 0, outputs: 0, rows: 0, regionRows: 0 }, proof)).toThrow(
      /not a Proof code|is 7, not a Proof code/,
    );
    // A buffer that is one value too long, and a decode whose count disagrees with what was written.
    expect(() => echoLayout(l, dims, Float64Array.from([...good, 0]))).toThrow(/21 values, expected 20/);
    expect(() => abi.decode(l, dims, good, good.length + 1)).toThrow(/the table says 20/);
    expect(() => abi.encode(abi.CONSTANT_PATCH, { rows: 1, inputs: 2, outputs: 2 }, { A: [1, 0], b: [1], d: [1, 2, 3] })).toThrow(
      InputError,
    );
  });
});

describe('every option object', () => {
  /** Values of every member kind: awkward numbers, the extremes of counts, every enum name, lists of 0 and 2. */
  function sample(spec: abi.ObjectSpec, k: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const m of spec.members) {
      k++;
      if (m.kind === 'number') out[m.name] = REALS[k % REALS.length];
      else if (m.kind === 'count') out[m.name] = [0, 1, 2 ** 32 - 1, 2 ** 31][k % 4];
      else if (m.kind === 'flag') out[m.name] = k % 2 === 1;
      else if ('list' in m.kind) {
        const sub = m.kind.list;
        out[m.name] = Array.from({ length: k % 2 === 0 ? 0 : 2 }, (_, i) => sample(sub, k + i));
      } else {
        const names = Object.keys(m.kind.values);
        out[m.name] = names[k % names.length];
      }
    }
    return out;
  }

  const sameValue = (a: unknown, b: unknown): boolean =>
    typeof b === 'number'
      ? Object.is(a, b)
      : Array.isArray(b)
        ? Array.isArray(a) && a.length === b.length && b.every((x, i) => sameValue(a[i], x))
        : b !== null && typeof b === 'object'
          ? a !== null &&
            typeof a === 'object' &&
            Object.keys(b).length === Object.keys(a).length &&
            Object.entries(b).every(([k, v]) => sameValue((a as Record<string, unknown>)[k], v))
          : a === b;

  for (const spec of abi.OBJECTS) {
    it(`${spec.name}: TypeScript writes JSON, the core parses it as the exports do and writes it again, every member the same`, () => {
      let trips = 0;
      for (let k = 0; k < 12; k++) {
        const value = sample(spec, k);
        const back = echoObject(spec, abi.json(spec, value as abi.ObjectOf<abi.ObjectSpec>));
        expect(sameValue(back, value), `${JSON.stringify(back)} vs ${JSON.stringify(value)}`).toBe(true);
        trips++;
      }
      expect(trips).toBe(12);
    });
  }

  it('the core rejects missing, unknown and mistyped members, naming them', () => {
    const spec = abi.CERTIFY_OPTIONS;
    const echo = (v: unknown) => echoObject(spec, utf8(v));
    expect(() => echo({ rtol: 1e-9, eps: 0, maxPieces: 10 })).toThrow('certifyOptions: member "tolerance" is missing');
    expect(() => echo({ rtol: 1e-9, tolerance: 1, eps: 0, maxPieces: 10 })).toThrow('certifyOptions: member "boundHelpful" is missing');
    expect(() => echo({ rtol: 1e-9, tolerance: 1, eps: 0, maxPieces: 10, boundHelpful: true, chain: true })).toThrow(
      'certifyOptions: unknown member "chain"',
    );
    expect(() => echo({ rtol: 1e-9, tolerance: 1, eps: 0, maxPieces: 1.5, boundHelpful: true })).toThrow(
      /"maxPieces" must be a whole number from 0 to 4294967295 \(got 1\.5\)/,
    );
    expect(() => echo({ rtol: 1e-9, tolerance: 1, eps: 0, maxPieces: 2 ** 32, boundHelpful: true })).toThrow(
      /"maxPieces" must be a whole number from 0 to 4294967295/,
    );
    expect(() => echoObject(abi.PATCH_HEADER, utf8({ kind: 'linear', rows: 1, radius: 1 }))).toThrow(
      /"kind" must be one of "constant", "affine"/,
    );
    expect(() => echoObject(abi.NETWORK_SHAPE, utf8({ layers: [{ inputs: 1, outputs: 1 }] }))).toThrow(
      'networkShape.layers[0]: member "relu" is missing',
    );
    expect(() => echoObject(spec, new abi.Utf8(new TextEncoder().encode('{"rtol":')))).toThrow(/not valid JSON/);
    // abi.json refuses what the core would refuse, before any call.
    expect(() => abi.json(spec, { rtol: 1, eps: 0, maxPieces: 1, boundHelpful: 1 } as never)).toThrow(WasmError);
  });
});

describe('statuses', () => {
  it('map to the typed errors: invalid and piece limit → InputError, LP failure → LpError, bad handle → WasmError', () => {
    expect(() => core.check(abi.code(abi.Status, 'invalid'), 'x')).toThrow(InputError);
    expect(() => core.check(abi.code(abi.Status, 'pieceLimit'), 'x')).toThrow(InputError);
    expect(() => core.check(abi.code(abi.Status, 'lpFailure'), 'x')).toThrow(LpError);
    expect(() => core.check(abi.code(abi.Status, 'badHandle'), 'x')).toThrow(WasmError);
    expect(() => core.layout('info', [], abi.NETWORK_INFO, {}, ([o]) => core.exports.rr_network_info(987654, o))).toThrow(
      'handle 987654 is not a live network',
    );
    expect(core.check(5, 'x')).toBe(5);
  });
});
