/**
 * The boundary between TypeScript and the core, one to one with crates/wasm/src/abi.rs: every
 * layout, option object and enum code that crosses it, with names, and their encoders and
 * decoders. Every caller of the core goes through these tables; `test/abi.test.ts` checks that
 * they equal the core's own (`rr_abi_describe`) and echoes every layout and object through it.
 *
 * - A **layout** is a flat f64 buffer: named fields in order, each a scalar or an array whose
 *   length is a product of named dimensions given by the call (`inputs`, `rows`, …). An optional
 *   field is all NaN when absent (decoded as `null`); a counted field holds as many values as an
 *   earlier count field says (its shape is the capacity to allocate). Decoding checks every value
 *   against its kind, and that the core wrote exactly as many values as the table says.
 * - An **object** is JSON (options and shapes: everything that is not bulk numbers), with exactly
 *   the members of its table. Non-finite numbers travel as the strings "NaN", "Infinity" and
 *   "-Infinity"; finite ones as the shortest text that reads back to the same f64.
 * - An **enum** maps names to i32 codes: layouts carry codes, objects carry names.
 */
import { InputError, WasmError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Enums

export interface EnumSpec<V extends Readonly<Record<string, number>> = Readonly<Record<string, number>>> {
  readonly name: string;
  readonly values: V;
}

const enumSpec = <const V extends Readonly<Record<string, number>>>(name: string, values: V): EnumSpec<V> => ({ name, values });

/** What every export returns: a count or handle (>= 0), or one of these failures (the message buffer says why). */
export const Status = enumSpec('Status', { ok: 0, invalid: -1, lpFailure: -2, badHandle: -3, pieceLimit: -4, empty: -5 });
/** The map of a patch network. */
export const PatchKind = enumSpec('PatchKind', { constant: 0, affine: 1 });
/** How a repaired network composes its constant patches (ts/repaired.ts `Composition`). */
export const Composition = enumSpec('Composition', { sum: 0, chain: 1 });
/** How minimality of a region's patch was proven (ts/region.ts `MinimalityProof`). */
export const Proof = enumSpec('Proof', { 'not-needed': 0, 'constant-patch': 1, 'full-lp': 2 });
/** State of a region enumeration after a step. */
export const Step = enumSpec('Step', { more: 0, done: 1, limit: 2 });
/** The structured linear operator of a graph term (core `network/op.rs`, ts/network/graph.ts). */
export const OpKind = enumSpec('OpKind', { dense: 0, conv: 1, avgPool: 2, scale: 3, gather: 4, identity: 5 });

/** Which bounds `rr_bounds_compute` computes (ts/bounds.ts). */
export const BoundKind = enumSpec('BoundKind', { interval: 0, symbolic: 1, lp: 2, best: 3 });
/** The lower line of an unstable ReLU in the symbolic bounds. */
export const LowerSlope = enumSpec('LowerSlope', { adaptive: 0, parallel: 1, zero: 2 });
/** The answer of a verification so far (ts/verify.ts). */
export const Verdict = enumSpec('Verdict', { running: 0, holds: 1, violated: 2, unknown: 3 });
/** The status of a finished box of a verification. */
export const LeafStatus = enumSpec('LeafStatus', { safe: 0, violated: 1, unknown: 2 });
/** How a box was proven safe (the index of the volume statistics). */
export const ProofMethod = enumSpec('ProofMethod', {
  empty: 0,
  interval: 1,
  symbolic: 2,
  'symbolic-lp': 3,
  'lp-relaxation': 4,
  regions: 5,
});

/** Why a region is not certified (`certified` when it is; crates/core/src/certificate/region_certificate.rs `Reason`). */
export const Reason = enumSpec('Reason', { certified: 0, bound: 1, unresolved: 2, pieceLimit: 3, unionLimit: 4, violated: 5 });

export const ENUMS: readonly EnumSpec[] = [
  Status,
  PatchKind,
  Composition,
  Proof,
  Step,
  OpKind,
  Reason,
  BoundKind,
  LowerSlope,
  Verdict,
  LeafStatus,
  ProofMethod,
];

export type NameOf<E extends EnumSpec> = keyof E['values'] & string;

/** The code of `name` in enum `e`. */
export function code<E extends EnumSpec>(e: E, name: NameOf<E>): number {
  return e.values[name];
}

/** The name of `code` in enum `e`, or undefined. */
export function nameOf<E extends EnumSpec>(e: E, code: number): NameOf<E> | undefined {
  return (Object.keys(e.values) as NameOf<E>[]).find((k) => e.values[k] === code);
}

// ---------------------------------------------------------------------------------------------
// Layouts

/**
 * What a field's numbers are: any f64, a whole number >= 0, a whole number, 0/1, or an enum code.
 * In arrays, counts and whole numbers are indices (Int32 range, decoded as Int32Array).
 */
export type Kind = 'real' | 'count' | 'integer' | 'flag' | EnumSpec;

export interface Field {
  readonly name: string;
  readonly kind: Kind;
  /** Dimensions whose product is the length; empty for a scalar. */
  readonly shape: readonly string[];
  /** All NaN when absent. */
  readonly optional?: boolean;
  /** The earlier count field holding this array's length (`shape` is then its capacity). */
  readonly countedBy?: string;
}

export interface Layout<F extends readonly Field[] = readonly Field[]> {
  readonly name: string;
  readonly fields: F;
}

const layout = <const F extends readonly Field[]>(name: string, fields: F): Layout<F> => ({ name, fields });
const scalar = <const N extends string, const K extends Kind>(name: N, kind: K) => ({ name, kind, shape: [] as const });
const array = <const N extends string, const K extends Kind, const S extends readonly string[]>(name: N, kind: K, shape: S) => ({
  name,
  kind,
  shape,
});
const optional = <const F extends Field>(f: F) => ({ ...f, optional: true as const });
const counted = <const F extends Field, const B extends string>(f: F, by: B) => ({ ...f, countedBy: by });

/** Parameters of one layer of a network (in): weights `outputs × inputs` row-major, then bias. */
export const NETWORK_LAYER = layout('networkLayer', [array('weights', 'real', ['outputs', 'inputs']), array('bias', 'real', ['outputs'])]);

/** Parameters of a graph's dense operator (in), see {@link GRAPH_SHAPE}. */
export const DENSE_OP = layout('denseOp', [array('weights', 'real', ['outputs', 'inputs'])]);
/** Parameters of a graph's convolution (in): ONNX layout, `featureChannels × (imageChannels / groups) × kernelHeight × kernelWidth`. */
export const CONV_OP = layout('convOp', [array('weights', 'real', ['featureChannels', 'groupChannels', 'kernelHeight', 'kernelWidth'])]);
/** Parameters of a graph's element-wise scaling (in). */
export const SCALE_OP = layout('scaleOp', [array('values', 'real', ['size'])]);
/** Parameters of a graph's index map (in): the input read by each output, −1 for zero. */
export const GATHER_OP = layout('gatherOp', [array('index', 'integer', ['outputs'])]);
/** A graph node's bias (in). */
export const NODE_BIAS = layout('nodeBias', [array('bias', 'real', ['size'])]);

/** A constant patch network (in): support rows A x <= b, then d. */
export const CONSTANT_PATCH = layout('constantPatch', [
  array('A', 'real', ['rows', 'inputs']),
  array('b', 'real', ['rows']),
  array('d', 'real', ['outputs']),
]);

/**
 * A constant patch network whose support reads rows from the repaired network's shared table
 * (in): row i is table row `slot[i]` below the table's size, else own row `slot[i]` − size of A.
 */
export const SHARED_CONSTANT_PATCH = layout('sharedConstantPatch', [
  array('slot', 'count', ['rows']),
  array('A', 'real', ['own', 'inputs']),
  array('b', 'real', ['rows']),
  array('d', 'real', ['outputs']),
]);

/** An affine patch network with a shared-table support (in; rows as {@link SHARED_CONSTANT_PATCH}). */
export const SHARED_AFFINE_PATCH = layout('sharedAffinePatch', [
  array('slot', 'count', ['rows']),
  array('A', 'real', ['own', 'inputs']),
  array('b', 'real', ['rows']),
  array('C', 'real', ['outputs', 'inputs']),
  array('d', 'real', ['outputs']),
  array('H', 'real', ['outputs']),
]);

/** An affine patch network (in): support rows A x <= b, then C x + d with clamp bounds H. */
export const AFFINE_PATCH = layout('affinePatch', [
  array('A', 'real', ['rows', 'inputs']),
  array('b', 'real', ['rows']),
  array('C', 'real', ['outputs', 'inputs']),
  array('d', 'real', ['outputs']),
  array('H', 'real', ['outputs']),
]);

/** `rr_network_info` (out): `nodes` = layers of a dense chain; `denseChain` whether it is one. */
export const NETWORK_INFO = layout('networkInfo', [
  scalar('inputs', 'count'),
  scalar('outputs', 'count'),
  scalar('hidden', 'count'),
  scalar('nodes', 'count'),
  scalar('denseChain', 'flag'),
]);

/** `rr_region_info` (out). `supportRows` is absent until `rr_region_support_rows` ran. */
export const REGION_INFO = layout('regionInfo', [
  scalar('inputs', 'count'),
  scalar('outputs', 'count'),
  scalar('rows', 'count'),
  scalar('hidden', 'count'),
  scalar('constantNeurons', 'count'),
  scalar('impliedRows', 'count'),
  scalar('impliedLps', 'count'),
  scalar('impliedWithoutLp', 'count'),
  optional(scalar('supportRows', 'count')),
]);

/** The fields of a region, read one at a time by `rr_region_read(handle, code)` (out). */
export const REGION_FIELDS = layout('regionFields', [
  array('A', 'real', ['rows', 'inputs']),
  array('b', 'real', ['rows']),
  array('F', 'real', ['outputs', 'inputs']),
  array('e', 'real', ['outputs']),
  array('pattern', 'flag', ['hidden']),
  // Hidden neuron of each row, −1 for rows of an input set.
  array('rowNeuron', 'integer', ['rows']),
  array('supportA', 'real', ['supportRows', 'inputs']),
  array('supportB', 'real', ['supportRows']),
  array('lower', 'real', ['inputs']),
  array('upper', 'real', ['inputs']),
  // Region row copied by each support row, −1 − j for a box face of input j.
  array('supportIndex', 'integer', ['supportRows']),
  array('rowNorms', 'real', ['rows']),
]);

/** A maximum over a region (out), certified from both sides: `lower` is the value at `x`. */
export const LP_SOLUTION = layout('lpSolution', [
  scalar('lower', 'real'),
  scalar('upper', 'real'),
  scalar('infeasibility', 'real'),
  scalar('pivots', 'count'),
  array('x', 'real', ['inputs']),
]);

/** `rr_region_minimal_patch` (out); `d` is absent when no constant patch exists. */
export const MINIMAL_PATCH = layout('minimalPatch', [
  scalar('proof', Proof),
  scalar('lowerBound', 'real'),
  scalar('norm', 'real'),
  scalar('residual', 'real'),
  scalar('lps', 'count'),
  scalar('pivots', 'count'),
  scalar('rounding', 'real'),
  optional(array('d', 'real', ['outputs'])),
  array('worstLower', 'real', ['rows']),
  array('worstUpper', 'real', ['rows']),
  array('witnesses', 'real', ['rows', 'inputs']),
  array('duals', 'real', ['rows', 'regionRows']),
]);

/** `rr_constant_patch` (out): the smallest constant patch for given worst violations; `d` is absent (and `norm` infinite) when none exists. */
export const BEST_CONSTANT_PATCH = layout('bestConstantPatch', [scalar('norm', 'real'), optional(array('d', 'real', ['outputs']))]);

/** `rr_enum_step` (out). */
export const ENUM_STATUS = layout('enumStatus', [
  scalar('state', Step),
  scalar('regions', 'count'),
  scalar('pending', 'count'),
  scalar('lps', 'count'),
  scalar('explored', 'real'),
  scalar('thin', 'count'),
  scalar('empty', 'count'),
  scalar('forced', 'count'),
  scalar('hidden', 'count'),
]);

/** The regions found by an enumeration, read one field at a time from a region index on by `rr_enum_read(handle, code, from)` (out). */
export const ENUMERATION_FIELDS = layout('enumerationFields', [
  array('patterns', 'flag', ['regions', 'hidden']),
  array('centres', 'real', ['regions', 'inputs']),
  array('radii', 'real', ['regions']),
  array('thin', 'flag', ['regions']),
  array('slack', 'real', ['regions', 'hidden']),
]);

/**
 * `rr_certifier_region` (out): `patches` lists the `relevant` patches (capacity: all patches); `witness` is absent when no LP was
 * solved, `witnessViolation` (the repaired network's own violation there) with it; `specPiece` is the union piece a convex-tier
 * certificate used.
 */
export const REGION_CERTIFICATE = layout('regionCertificate', [
  scalar('certified', 'flag'),
  scalar('reason', Reason),
  scalar('maxViolation', 'real'),
  scalar('tolerance', 'real'),
  scalar('rounding', 'real'),
  scalar('scale', 'real'),
  scalar('pieces', 'count'),
  scalar('emptyPieces', 'count'),
  scalar('lps', 'count'),
  scalar('worstRow', 'count'),
  scalar('witnessValue', 'real'),
  scalar('errorBudget', 'real'),
  scalar('exactPatches', 'count'),
  optional(scalar('specPiece', 'count')),
  optional(scalar('witnessViolation', 'real')),
  scalar('witnessInRegion', 'flag'),
  scalar('relevant', 'count'),
  optional(array('witness', 'real', ['inputs'])),
  counted(array('patches', 'count', ['patches']), 'relevant'),
]);

/** `rr_bounds_compute` (out): every operator's pre-activation bounds in order (`neurons` = their total width), the outputs' bounds, the unstable ReLU count. */
export const PRE_ACTIVATION_BOUNDS = layout('preActivationBounds', [
  scalar('unstable', 'count'),
  array('lower', 'real', ['neurons']),
  array('upper', 'real', ['neurons']),
  array('outputLower', 'real', ['outputs']),
  array('outputUpper', 'real', ['outputs']),
]);

/** `rr_bounds_row` (out): upper bounds of `c·f(x) − q` (the best, and interval arithmetic alone) and the linear function `slope·x + offset` above it. */
export const ROW_BOUND = layout('rowBound', [
  scalar('upper', 'real'),
  scalar('interval', 'real'),
  scalar('symbolic', 'real'),
  scalar('lp', 'real'),
  scalar('offset', 'real'),
  array('slope', 'real', ['inputs']),
]);

/** `rr_bounds_rows` (out): an upper bound of each of several spec rows over one box (the passes computed once). */
export const ROW_UPPERS = layout('rowUppers', [array('upper', 'real', ['rows'])]);

/** `rr_verify_new` (in): the property (box, input rows, the unsafe disjuncts stacked) and optionally a root box inside it. */
export const VERIFY_PROPERTY = layout('verifyProperty', [
  array('lower', 'real', ['inputs']),
  array('upper', 'real', ['inputs']),
  array('A', 'real', ['inputRows', 'inputs']),
  array('b', 'real', ['inputRows']),
  array('disjunctRows', 'count', ['disjuncts']),
  array('unsafeA', 'real', ['unsafeRows', 'outputs']),
  array('unsafeB', 'real', ['unsafeRows']),
  optional(array('rootLower', 'real', ['inputs'])),
  optional(array('rootUpper', 'real', ['inputs'])),
]);

/** `rr_verify_step`, `rr_verify_expand` (out): the verdict so far and the statistics (`volume` per ProofMethod). */
export const VERIFY_STATUS = layout('verifyStatus', [
  scalar('verdict', Verdict),
  scalar('boxes', 'count'),
  scalar('splits', 'count'),
  scalar('leaves', 'count'),
  scalar('exactLeaves', 'count'),
  scalar('regions', 'count'),
  scalar('violatingRegions', 'count'),
  scalar('lps', 'count'),
  scalar('evaluations', 'count'),
  scalar('maxDepth', 'count'),
  scalar('maxQueue', 'count'),
  scalar('pending', 'count'),
  array('volume', 'real', ['methods']),
  scalar('violatedVolume', 'real'),
  scalar('unknownVolume', 'real'),
  scalar('minMargin', 'real'),
  scalar('bestMargin', 'real'),
  scalar('leavesWaiting', 'count'),
  scalar('patternValues', 'count'),
  scalar('spent', 'flag'),
  scalar('bounding', 'flag'),
  optional(scalar('counterexampleMargin', 'real')),
  optional(array('counterexample', 'real', ['inputs'])),
]);

/** `rr_verify_leaves` (out): the finished leaves since the last call; NaN counterexamples where none; the violating regions' patterns, leaf after leaf. */
export const VERIFY_LEAVES = layout('verifyLeaves', [
  array('lower', 'real', ['leaves', 'inputs']),
  array('upper', 'real', ['leaves', 'inputs']),
  array('depth', 'count', ['leaves']),
  array('status', LeafStatus, ['leaves']),
  array('method', ProofMethod, ['leaves']),
  array('margin', 'real', ['leaves']),
  array('regions', 'count', ['leaves']),
  array('violatingRegions', 'count', ['leaves']),
  array('counterexample', 'real', ['leaves', 'inputs']),
  array('counterexampleMargin', 'real', ['leaves']),
  array('patterns', 'flag', ['patternValues']),
]);

/** `rr_verify_pending` (out): the waiting boxes in canonical order (the jobs after `rr_verify_expand`). */
export const VERIFY_BOXES = layout('verifyBoxes', [
  array('lower', 'real', ['boxes', 'inputs']),
  array('upper', 'real', ['boxes', 'inputs']),
  array('depth', 'count', ['boxes']),
  array('id', 'real', ['boxes']),
  array('priority', 'real', ['boxes']),
]);

/** `rr_spec_contradiction` (out): rows of a spec that contradict each other (`count` of them; 0 when the LP finds none). */
export const SPEC_CONTRADICTION = layout('specContradiction', [
  scalar('count', 'count'),
  counted(array('rows', 'count', ['rows']), 'count'),
]);

/** In the order of the core's table: a layout's position is its code for `rr_abi_echo_layout`. */
export const LAYOUTS: readonly Layout[] = [
  NETWORK_LAYER,
  DENSE_OP,
  CONV_OP,
  SCALE_OP,
  GATHER_OP,
  NODE_BIAS,
  CONSTANT_PATCH,
  AFFINE_PATCH,
  SHARED_CONSTANT_PATCH,
  SHARED_AFFINE_PATCH,
  NETWORK_INFO,
  REGION_INFO,
  REGION_FIELDS,
  LP_SOLUTION,
  MINIMAL_PATCH,
  BEST_CONSTANT_PATCH,
  ENUM_STATUS,
  ENUMERATION_FIELDS,
  REGION_CERTIFICATE,
  SPEC_CONTRADICTION,
  PRE_ACTIVATION_BOUNDS,
  ROW_BOUND,
  ROW_UPPERS,
  VERIFY_PROPERTY,
  VERIFY_STATUS,
  VERIFY_LEAVES,
  VERIFY_BOXES,
];

type ScalarOf<K> = K extends 'flag' ? boolean : K extends EnumSpec<infer V> ? keyof V & string : number;
type ArrayOf<K> = K extends 'real' ? Float64Array : K extends 'flag' ? Uint8Array : Int32Array;
type OptionalOf<F, T> = F extends { optional: true } ? T | null : T;
type ValueOf<F extends Field> = F['shape'] extends readonly [] ? OptionalOf<F, ScalarOf<F['kind']>> : OptionalOf<F, ArrayOf<F['kind']>>;

/** A layout's contents by field name: scalars as numbers (flags as booleans, enum codes as names), arrays as typed arrays. */
export type RecordOf<L extends Layout> = { -readonly [F in L['fields'][number] as F['name']]: ValueOf<F> };
/** The dimensions a layout's shapes name. */
export type DimsOf<L extends Layout> = { [D in L['fields'][number]['shape'][number]]: number };
/** A field name of a layout. */
export type FieldOf<L extends Layout> = L['fields'][number]['name'];
/** Values accepted for a field when encoding (plain arrays too). */
type InputOf<F extends Field> = F['shape'] extends readonly [] ? OptionalOf<F, ScalarOf<F['kind']>> : OptionalOf<F, ArrayLike<number>>;
export type InputRecordOf<L extends Layout> = { [F in L['fields'][number] as F['name']]: InputOf<F> };

function dimsOf(l: Layout, f: Field, dims: Readonly<Record<string, number>>): number {
  let n = 1;
  for (const d of f.shape) {
    const v = dims[d];
    if (!(Number.isInteger(v) && v >= 0)) throw new WasmError(`layout ${l.name}: dimension ${d} of field ${f.name} is ${v}`);
    n *= v;
  }
  return n;
}

/** Values a buffer for `layout` needs (counted fields at capacity). */
export function size<L extends Layout>(l: L, dims: DimsOf<L>): number {
  return l.fields.reduce((s, f) => s + dimsOf(l, f, dims as Record<string, number>), 0);
}

/** Values one field needs (a counted field: its capacity). */
export function fieldSize<L extends Layout>(l: L, name: FieldOf<L>, dims: DimsOf<L>): number {
  return dimsOf(l, l.fields[fieldCode(l, name)], dims as Record<string, number>);
}

/** The code of a field: its position (the read exports take it). */
export function fieldCode<L extends Layout>(l: L, name: FieldOf<L>): number {
  const i = l.fields.findIndex((f) => f.name === name);
  if (i < 0) throw new WasmError(`layout ${l.name} has no field ${name}`);
  return i;
}

/** Arrays of counts and integers are indices: they must fit an Int32Array. */
function checkValue(kind: Kind, v: number, inArray: boolean): boolean {
  const whole = Number.isInteger(v) && (inArray ? v >= -(2 ** 31) && v < 2 ** 31 : Math.abs(v) <= 2 ** 53);
  if (kind === 'real') return true;
  if (kind === 'count') return whole && v >= 0;
  if (kind === 'integer') return whole;
  if (kind === 'flag') return v === 0 || v === 1;
  return whole && Object.values(kind.values).includes(v);
}

function kindText(kind: Kind): string {
  return typeof kind === 'string' ? kind : kind.name;
}

function decodeValues(l: Layout, f: Field, v: Float64Array): unknown {
  if (f.optional && v.length > 0 && v.every((x) => Number.isNaN(x))) return null;
  // Reals need no check (every value is valid); skipping the scan matters for region rows (MBs).
  const bad = f.kind === 'real' ? -1 : v.findIndex((x) => !checkValue(f.kind, x, f.shape.length > 0));
  if (bad >= 0) throw new WasmError(`the core wrote ${l.name}.${f.name}[${bad}] = ${v[bad]}, not a valid ${kindText(f.kind)} value`);
  if (f.shape.length === 0) {
    const x = v[0];
    if (f.kind === 'flag') return x === 1;
    if (typeof f.kind === 'object') return nameOf(f.kind, x);
    return x;
  }
  // A view of a whole buffer is a fresh copy already (the single-field reads): no second copy.
  if (f.kind === 'real') return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice();
  if (f.kind === 'flag') return Uint8Array.from(v);
  return Int32Array.from(v);
}

/**
 * Decodes `layout` from `data`. With `written` (what the core reported), exactly that many values
 * must have been decoded.
 */
export function decode<L extends Layout>(l: L, dims: DimsOf<L>, data: Float64Array, written?: number): RecordOf<L> {
  const d = dims as Record<string, number>;
  const out: Record<string, unknown> = {};
  let pos = 0;
  for (const f of l.fields) {
    let len = dimsOf(l, f, d);
    if (f.countedBy !== undefined) {
      const n = out[f.countedBy] as number;
      if (!(n <= len)) throw new WasmError(`the core wrote ${l.name}.${f.countedBy} = ${n}, above its capacity ${len}`);
      len = n;
    }
    if (pos + len > data.length) throw new WasmError(`layout ${l.name}: field ${f.name} needs ${len} values, ${data.length - pos} remain`);
    out[f.name] = decodeValues(l, f, data.subarray(pos, pos + len));
    pos += len;
  }
  if (written !== undefined && written !== pos) throw new WasmError(`the core wrote ${written} values of ${l.name}, the table says ${pos}`);
  return out as RecordOf<L>;
}

/** Decodes one field of `layout` (the read exports), checking that the core wrote exactly its length. */
export function decodeField<L extends Layout, N extends FieldOf<L>>(
  l: L,
  name: N,
  dims: DimsOf<L>,
  data: Float64Array,
  written: number,
): RecordOf<L>[N & keyof RecordOf<L>] {
  const f = l.fields[fieldCode(l, name)];
  const len = dimsOf(l, f, dims as Record<string, number>);
  if (written !== len) throw new WasmError(`the core wrote ${written} values of ${l.name}.${name}, the table says ${len}`);
  return decodeValues(l, f, data.subarray(0, len)) as RecordOf<L>[N & keyof RecordOf<L>];
}

/**
 * Encodes `record` as `layout` into `out` from `offset` on; returns the offset after it. A field of
 * the wrong length is an InputError naming it.
 */
export function encodeInto<L extends Layout>(l: L, dims: DimsOf<L>, record: InputRecordOf<L>, out: Float64Array, offset: number): number {
  const d = dims as Record<string, number>;
  const r = record as Record<string, unknown>;
  let pos = offset;
  for (const f of l.fields) {
    const len = f.countedBy !== undefined ? (r[f.countedBy] as number) : dimsOf(l, f, d);
    const v = r[f.name];
    if (v === undefined) throw new InputError('is missing', { field: `${l.name}.${f.name}` });
    if (v === null && f.optional) out.fill(NaN, pos, pos + len);
    else if (f.shape.length === 0)
      out[pos] = typeof v === 'boolean' ? Number(v) : typeof v === 'string' && typeof f.kind === 'object' ? code(f.kind, v) : (v as number);
    else {
      const values = v as ArrayLike<number>;
      if (values.length !== len)
        throw new InputError(`has ${values.length} values, expected ${len}`, { field: `${l.name}.${f.name}`, value: values.length });
      out.set(values, pos);
    }
    pos += len;
  }
  return pos;
}

/** Encodes `record` as `layout` (see {@link encodeInto}). */
export function encode<L extends Layout>(l: L, dims: DimsOf<L>, record: InputRecordOf<L>): Float64Array {
  const out = new Float64Array(size(l, dims));
  const end = encodeInto(l, dims, record, out, 0);
  return end === out.length ? out : out.slice(0, end);
}

// ---------------------------------------------------------------------------------------------
// Objects (JSON)

/** A number, a whole number from 0 to 2³²−1, true/false, the name of an enum code, or an array of objects. */
export type MemberKind = 'number' | 'count' | 'flag' | EnumSpec | { readonly list: ObjectSpec };

export interface Member {
  readonly name: string;
  readonly kind: MemberKind;
}

/** An object with exactly these members (all required, no others). */
export interface ObjectSpec<M extends readonly Member[] = readonly Member[]> {
  readonly name: string;
  readonly members: M;
}

const object = <const M extends readonly Member[]>(name: string, members: M): ObjectSpec<M> => ({ name, members });
const member = <const N extends string, const K extends MemberKind>(name: N, kind: K) => ({ name, kind });

type MemberValue<K> = K extends 'flag'
  ? boolean
  : K extends EnumSpec<infer V>
    ? keyof V & string
    : K extends { list: ObjectSpec<infer M> }
      ? { [X in M[number] as X['name']]: MemberValue<X['kind']> }[]
      : number;
/** An object's value by member name. */
export type ObjectOf<O extends ObjectSpec> = { [M in O['members'][number] as M['name']]: MemberValue<M['kind']> };

/** One layer's shape (inside {@link NETWORK_SHAPE}); its parameters are a {@link NETWORK_LAYER} layout. */
export const LAYER_SHAPE = object('layerShape', [member('inputs', 'count'), member('outputs', 'count'), member('relu', 'flag')]);
/** `rr_network_new`: the layers; the parameters follow as one {@link NETWORK_LAYER} per layer. */
export const NETWORK_SHAPE = object('networkShape', [member('layers', { list: LAYER_SHAPE })]);
/** One term `±A v_from` of a graph node: `op` picks the operator list of {@link GRAPH_SHAPE}, `index` the operator in it (0 for `identity`). */
export const TERM_SHAPE = object('termShape', [
  member('from', 'count'),
  member('negate', 'flag'),
  member('op', OpKind),
  member('index', 'count'),
]);
/** A graph node `relu?(Σ terms + bias)` of `size` elements. */
export const NODE_SHAPE = object('nodeShape', [member('size', 'count'), member('relu', 'flag'), member('terms', { list: TERM_SHAPE })]);
/** A dense operator (its weights: a {@link DENSE_OP}). */
export const DENSE_SHAPE = object('denseShape', [member('inputs', 'count'), member('outputs', 'count')]);
const windowMembers = [
  member('kernelHeight', 'count'),
  member('kernelWidth', 'count'),
  member('strideHeight', 'count'),
  member('strideWidth', 'count'),
  member('padTop', 'count'),
  member('padLeft', 'count'),
  member('padBottom', 'count'),
  member('padRight', 'count'),
  member('dilationHeight', 'count'),
  member('dilationWidth', 'count'),
] as const;
/** A convolution (`transposed`: ONNX ConvTranspose, feature side → image side; its weights: a {@link CONV_OP}). */
export const CONV_SHAPE = object('convShape', [
  member('imageChannels', 'count'),
  member('imageHeight', 'count'),
  member('imageWidth', 'count'),
  member('featureChannels', 'count'),
  member('featureHeight', 'count'),
  member('featureWidth', 'count'),
  ...windowMembers,
  member('groups', 'count'),
  member('transposed', 'flag'),
]);
/** An average pooling (no parameters). */
export const POOL_SHAPE = object('poolShape', [
  member('channels', 'count'),
  member('imageHeight', 'count'),
  member('imageWidth', 'count'),
  member('outputHeight', 'count'),
  member('outputWidth', 'count'),
  ...windowMembers,
  member('countIncludePad', 'flag'),
]);
/** An element-wise scaling (its values: a {@link SCALE_OP}). */
export const SCALE_SHAPE = object('scaleShape', [member('size', 'count')]);
/** An index map (its indices: a {@link GATHER_OP}). */
export const GATHER_SHAPE = object('gatherShape', [member('inputs', 'count'), member('outputs', 'count')]);
/**
 * `rr_graph_new`: a network as a graph (value 0 the input, value k + 1 node k, the last node the output). The parameters follow as
 * one layout per operator — every {@link DENSE_OP}, then every {@link CONV_OP}, {@link SCALE_OP}, {@link GATHER_OP}, in list order —
 * then one {@link NODE_BIAS} per node.
 */
export const GRAPH_SHAPE = object('graphShape', [
  member('inputs', 'count'),
  member('nodes', { list: NODE_SHAPE }),
  member('dense', { list: DENSE_SHAPE }),
  member('conv', { list: CONV_SHAPE }),
  member('pool', { list: POOL_SHAPE }),
  member('scale', { list: SCALE_SHAPE }),
  member('gather', { list: GATHER_SHAPE }),
]);
/** `rr_repaired_add_patch`: the kind picks the parameter layout ({@link CONSTANT_PATCH} or {@link AFFINE_PATCH}), `rows` is its number of support rows. */
export const PATCH_HEADER = object('patchHeader', [member('kind', PatchKind), member('rows', 'count'), member('radius', 'number')]);
/**
 * `rr_repaired_add_shared_patch`: as {@link PATCH_HEADER}, with `own` rows stored in the patch (the others
 * read from the shared table; layouts {@link SHARED_CONSTANT_PATCH}, {@link SHARED_AFFINE_PATCH}).
 */
export const SHARED_PATCH_HEADER = object('sharedPatchHeader', [
  member('kind', PatchKind),
  member('rows', 'count'),
  member('own', 'count'),
  member('radius', 'number'),
]);
/** `rr_region_support_rows`: prune redundant rows by LP (tolerance `tol`), append the box faces. */
export const SUPPORT_ROWS_OPTIONS = object('supportRowsOptions', [
  member('prune', 'flag'),
  member('withBox', 'flag'),
  member('tol', 'number'),
]);
/** `rr_region_minimal_patch`: solve every spec row exactly instead of bounding the rows that cannot decide the norm. */
export const MINIMAL_PATCH_OPTIONS = object('minimalPatchOptions', [member('exactRows', 'flag')]);
/** `rr_enum_new`. */
export const ENUMERATE_OPTIONS = object('enumerateOptions', [
  member('eps', 'number'),
  member('minRadius', 'number'),
  member('maxRegions', 'count'),
]);
/** `rr_certifier_new` (the composition comes from the repaired network). */
export const CERTIFY_OPTIONS = object('certifyOptions', [
  member('rtol', 'number'),
  // NaN: none (the relative tolerance applies).
  member('tolerance', 'number'),
  member('eps', 'number'),
  member('maxPieces', 'count'),
  member('boundHelpful', 'flag'),
]);

/** `rr_bounds_compute`, `rr_bounds_row`. */
export const BOUND_OPTIONS = object('boundOptions', [
  member('kind', BoundKind),
  member('slope', LowerSlope),
  member('backSubstitute', 'flag'),
  member('bothSlopes', 'flag'),
]);
/** `rr_verify_new`: the core's VerifyOptions, the sizes of the VERIFY_PROPERTY layout, and the root's place in a larger verification. */
export const VERIFY_OPTIONS = object('verifyOptions', [
  member('slope', LowerSlope),
  member('backSubstitute', 'flag'),
  member('bothSlopes', 'flag'),
  member('lpMaxUnstable', 'count'),
  member('rootSamples', 'count'),
  member('boxSamples', 'count'),
  member('attackSteps', 'count'),
  member('leafUnstable', 'count'),
  member('leafMaxPieces', 'count'),
  member('maxDepth', 'count'),
  member('stopAtViolation', 'flag'),
  member('collectLeaves', 'flag'),
  member('bestFirst', 'flag'),
  member('queueCap', 'count'),
  member('seed', 'count'),
  member('maxBoxes', 'count'),
  member('inputRows', 'count'),
  member('disjuncts', 'count'),
  member('unsafeRows', 'count'),
  member('rootDepth', 'count'),
  member('rootId', 'number'),
  member('rootPriority', 'number'),
]);

/** In the order of the core's table: an object's position is its code for `rr_abi_echo_object`. */
export const OBJECTS: readonly ObjectSpec[] = [
  LAYER_SHAPE,
  NETWORK_SHAPE,
  TERM_SHAPE,
  NODE_SHAPE,
  DENSE_SHAPE,
  CONV_SHAPE,
  POOL_SHAPE,
  SCALE_SHAPE,
  GATHER_SHAPE,
  GRAPH_SHAPE,
  PATCH_HEADER,
  SHARED_PATCH_HEADER,
  SUPPORT_ROWS_OPTIONS,
  MINIMAL_PATCH_OPTIONS,
  ENUMERATE_OPTIONS,
  CERTIFY_OPTIONS,
  BOUND_OPTIONS,
  VERIFY_OPTIONS,
];

/** JSON text of a number that reads back to the same f64 (non-finite ones as strings). */
function numberText(v: number): string {
  if (Number.isNaN(v)) return '"NaN"';
  if (!Number.isFinite(v)) return v > 0 ? '"Infinity"' : '"-Infinity"';
  return Object.is(v, -0) ? '-0' : String(v);
}

function objectText(spec: ObjectSpec, value: Record<string, unknown>, path: string): string {
  const extra = Object.keys(value).find((k) => !spec.members.some((m) => m.name === k));
  if (extra !== undefined) throw new WasmError(`${path}: no member ${extra} in the core's ${spec.name}`);
  const parts = spec.members.map((m) => {
    const v = value[m.name];
    const where = `${path}.${m.name}`;
    let text: string;
    if (m.kind === 'flag') {
      if (typeof v !== 'boolean') throw new WasmError(`${where}: must be true or false, got ${String(v)}`);
      text = String(v);
    } else if (m.kind === 'number' || m.kind === 'count') {
      if (typeof v !== 'number') throw new WasmError(`${where}: must be a number, got ${String(v)}`);
      text = numberText(v);
    } else if ('list' in m.kind) {
      const sub = m.kind.list;
      if (!Array.isArray(v)) throw new WasmError(`${where}: must be an array`);
      text = `[${v.map((x, i) => objectText(sub, x as Record<string, unknown>, `${where}[${i}]`)).join(',')}]`;
    } else {
      if (typeof v !== 'string' || !(v in m.kind.values)) throw new WasmError(`${where}: not a ${m.kind.name} name: ${String(v)}`);
      text = JSON.stringify(v);
    }
    return `${JSON.stringify(m.name)}:${text}`;
  });
  return `{${parts.join(',')}}`;
}

/** UTF-8 JSON of an object, passed to an export as (pointer, byte length). */
export class Utf8 {
  constructor(readonly bytes: Uint8Array) {}
}

/** The JSON of `value` as an object of `spec` (every member, no others). */
export function json<O extends ObjectSpec>(spec: O, value: ObjectOf<O>): Utf8 {
  return new Utf8(new TextEncoder().encode(objectText(spec, value as Record<string, unknown>, spec.name)));
}

// ---------------------------------------------------------------------------------------------
// The tables as data (compared with the core's `rr_abi_describe` in test/abi.test.ts)

export interface Description {
  enums: { name: string; values: [string, number][] }[];
  layouts: { name: string; fields: { name: string; kind: string; shape: string[]; optional: boolean; countedBy: string | null }[] }[];
  objects: { name: string; members: { name: string; kind: string }[] }[];
}

export function describe(): Description {
  const memberKind = (k: MemberKind): string => (typeof k === 'string' ? k : 'list' in k ? `${k.list.name}[]` : k.name);
  return {
    enums: ENUMS.map((e) => ({ name: e.name, values: Object.entries(e.values) })),
    layouts: LAYOUTS.map((l) => ({
      name: l.name,
      fields: l.fields.map((f) => ({
        name: f.name,
        kind: kindText(f.kind),
        shape: [...f.shape],
        optional: f.optional === true,
        countedBy: f.countedBy ?? null,
      })),
    })),
    objects: OBJECTS.map((o) => ({ name: o.name, members: o.members.map((m) => ({ name: m.name, kind: memberKind(m.kind) })) })),
  };
}
