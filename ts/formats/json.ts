/**
 * relu-repair's JSON formats.
 *
 * Network (`format: "relu-repair.network"`), version 1 for chains of dense layers:
 *   { "format", "version", "inputBox"?: { "lower": [...], "upper": [...] },
 *     "layers": [ { "weights": [[w_00, w_01, ...], ...],   // outputs × inputs
 *                   "bias": [...], "activation": "relu" | "linear" }, ... ] }
 * and version 2 for any other graph (convolutions, pooling, residual connections, ...; see
 * ./json-graph.ts). Dense chains are always written as version 1; both versions are read.
 *
 * Repaired network (`format: "relu-repair.repaired-network"`, version 1):
 *   { "format", "version", "original": <network>, "inputBox", "composition": "sum" | "chain",
 *     // chain: constant patches mixed in the order of "patches" (ts/repaired.ts, METHOD.md §4)
 *     "boxGate"?: { "lower", "upper", "radius" },   // shared box indicator (see ts/repaired.ts)
 *     "record"?: { "kind", "area"?, "spec"?, "regions", "boxes"?, "proof"?, "patches" },   // what the repair made (ts/repaired.ts RepairRecord; proof: ts/area-proof.ts)
 *     "patches": [ { "kind": "constant" | "affine", "radius",
 *                    "support": { "A": [[...]], "b": [...] }            // dense rows, or
 *                             | { "fromRegion": [row indices], "b": [...], "inputSet"?: { "A", "b" } },
 *                    // rows of the linear region of region.pattern in inputBox (recomputed on load)
 *                    "d": [...], "C"?: [[...]], "H"?: [...], "region": { points, pattern, ... } } ] }
 *
 * Numbers are written by JSON.stringify (shortest round-trip form), so save → load is exact.
 */
import { areaProofFromJson } from '../area-proof.js';
import { InputError } from '../errors.js';
import { type Box, type DenseLayer, expandBox, Network } from '../network.js';
import type { PatchRegionInfo, RegionPatch } from '../patch.js';
import { type InputSet, LinearRegion } from '../region.js';
import { type BoxGate, RepairedNetwork, type RepairRecord } from '../repaired.js';
import { graphFromJson, graphToJson } from './json-graph.js';

export const NETWORK_FORMAT = 'relu-repair.network';
export const REPAIRED_FORMAT = 'relu-repair.repaired-network';

function rows(flat: Float64Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from(flat.subarray(i, i + width)));
  return out;
}

function matrix(
  v: unknown,
  r: number | undefined,
  c: number | undefined,
  file: string | undefined,
  field: string,
): { data: Float64Array; rows: number; cols: number } {
  if (!Array.isArray(v)) throw new InputError('must be an array of rows', { file, field, value: v });
  if (r !== undefined && v.length !== r) throw new InputError(`must have ${r} rows`, { file, field, value: v.length });
  const cols = c ?? (v.length ? (Array.isArray(v[0]) ? v[0].length : -1) : 0);
  const data = new Float64Array(v.length * Math.max(cols, 0));
  v.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols)
      throw new InputError(`must have ${cols} entries`, { file, field: `${field}[${i}]`, value: Array.isArray(row) ? row.length : row });
    row.forEach((x, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new InputError('is not a finite number', { file, field: `${field}[${i}][${j}]`, value: x });
      data[i * cols + j] = x;
    });
  });
  return { data, rows: v.length, cols };
}

function vector(v: unknown, len: number | undefined, file: string | undefined, field: string): Float64Array {
  if (!Array.isArray(v)) throw new InputError('must be an array of numbers', { file, field, value: v });
  if (len !== undefined && v.length !== len) throw new InputError(`must have ${len} entries`, { file, field, value: v.length });
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new InputError('is not a finite number', { file, field: `${field}[${i}]`, value: x });
  });
  return Float64Array.from(v as number[]);
}

export function networkToJson(net: Network): Record<string, unknown> {
  const box = net.info.inputBox ? { inputBox: { lower: [...net.info.inputBox.lower], upper: [...net.info.inputBox.upper] } } : {};
  if (!net.denseLayers) return { format: NETWORK_FORMAT, version: 2, ...box, ...graphToJson(net.graph) };
  return {
    format: NETWORK_FORMAT,
    version: 1,
    ...box,
    layers: net.denseLayers.map((l) => ({
      weights: rows(l.weights, l.inputs),
      bias: Array.from(l.bias),
      activation: l.relu ? 'relu' : 'linear',
    })),
  };
}

export function networkFromJson(doc: unknown, file?: string, field = ''): Network {
  const at = (f: string) => (field ? `${field}.${f}` : f);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new InputError('a network must be a JSON object', { file, field: field || undefined, value: doc });
  const d = doc as Record<string, unknown>;
  if (d.format !== undefined && d.format !== NETWORK_FORMAT) {
    throw new InputError(`unknown format (expected "${NETWORK_FORMAT}")`, { file, field: at('format'), value: d.format });
  }
  if (d.version !== undefined && d.version !== 1 && d.version !== 2)
    throw new InputError('unsupported version (this reader knows 1 and 2)', { file, field: at('version'), value: d.version });
  if (d.version === 2) {
    const graph = graphFromJson(d, file, at);
    let box: Box | undefined;
    if (d.inputBox !== undefined) {
      const b = d.inputBox as Record<string, unknown>;
      box = expandBox(
        b?.lower,
        b?.upper,
        graph.inputShape.reduce((x, y) => x * y, 1),
        file,
        at('inputBox'),
      );
    }
    return Network.fromGraph(graph, { source: file, inputBox: box });
  }
  if (!Array.isArray(d.layers) || d.layers.length === 0)
    throw new InputError('must be a non-empty array of layers', { file, field: at('layers'), value: d.layers });
  const layers: DenseLayer[] = d.layers.map((l: unknown, i: number) => {
    const f = at(`layers[${i}]`);
    if (typeof l !== 'object' || l === null)
      throw new InputError('must be an object with "weights" and "bias"', { file, field: f, value: l });
    const L = l as Record<string, unknown>;
    const w = matrix(L.weights, undefined, undefined, file, `${f}.weights`);
    const b = vector(L.bias, w.rows, file, `${f}.bias`);
    const act = L.activation ?? (i < (d.layers as unknown[]).length - 1 ? 'relu' : 'linear');
    if (act !== 'relu' && act !== 'linear')
      throw new InputError('activation must be "relu" or "linear"', { file, field: `${f}.activation`, value: act });
    return { inputs: w.cols, outputs: w.rows, weights: w.data, bias: b, relu: act === 'relu' };
  });
  let inputBox: Box | undefined;
  if (d.inputBox !== undefined) {
    const b = d.inputBox as Record<string, unknown>;
    inputBox = expandBox(b?.lower, b?.upper, layers[0].inputs, file, at('inputBox'));
  }
  return new Network(layers, { source: file, inputBox });
}

export function repairedToJson(r: RepairedNetwork): Record<string, unknown> {
  const n = r.inputSize;
  return {
    format: REPAIRED_FORMAT,
    version: 1,
    composition: r.composition,
    ...(r.inputBox ? { inputBox: { lower: [...r.inputBox.lower], upper: [...r.inputBox.upper] } } : {}),
    ...(r.boxGate ? { boxGate: { lower: [...r.boxGate.lower], upper: [...r.boxGate.upper], radius: r.boxGate.radius } } : {}),
    ...(r.record ? { record: r.record } : {}),
    original: networkToJson(r.original),
    patches: r.patches.map((p) => ({
      kind: p.kind,
      radius: p.radius,
      support: supportToJson(p, n, r.inputBox !== undefined),
      d: Array.from(p.d),
      ...(p.kind === 'affine' ? { C: rows(p.C!, n), H: Array.from(p.H!) } : {}),
      region: p.region,
    })),
  };
}

/**
 * A support is written compactly when its rows are rows of the linear region of the patch's
 * activation pattern: the row indices (and the right-hand sides, as a check) instead of the dense
 * rows. For MNIST that is ~1 KB instead of 512 × 784 numbers per patch. The reader recomputes the
 * region from the network and the pattern with the same core code, which gives the same rows bit
 * for bit (checked against the saved right-hand sides).
 */
function supportToJson(p: RegionPatch, n: number, haveBox: boolean): Record<string, unknown> {
  const compact = haveBox && p.rows !== undefined && typeof p.region?.pattern === 'string' && p.rows.index.every((i) => i >= 0);
  if (!compact) return { A: rows(p.A, n), b: Array.from(p.b) };
  return {
    fromRegion: Array.from(p.rows!.index),
    b: Array.from(p.b),
    ...(p.inputSet ? { inputSet: { A: rows(p.inputSet.A, n), b: Array.from(p.inputSet.b) } } : {}),
  };
}

function patternBits(hex: string, count: number, file: string | undefined, field: string): Float64Array {
  if (typeof hex !== 'string' || !/^[0-9a-f]*$/.test(hex) || hex.length !== Math.ceil(count / 4)) {
    throw new InputError(`must be a hex string of ${Math.ceil(count / 4)} digits (${count} hidden neurons)`, { file, field, value: hex });
  }
  const bits = new Float64Array(count);
  for (let i = 0; i < count; i++) bits[i] = (parseInt(hex[i >> 2], 16) >> (3 - (i & 3))) & 1;
  return bits;
}

/** Rows of a compact support, recomputed from the region of the patch's pattern. */
function supportFromRegion(
  original: Network,
  P: Record<string, unknown>,
  S: Record<string, unknown>,
  box: Box | undefined,
  file: string | undefined,
  f: string,
) {
  const n = original.inputSize;
  if (!box)
    throw new InputError("a support given by region rows needs the repaired network's inputBox", {
      file,
      field: `${f}.support.fromRegion`,
    });
  const region = (P.region ?? {}) as Record<string, unknown>;
  const bits = patternBits(region.pattern as string, original.hiddenCount, file, `${f}.region.pattern`);
  const index = S.fromRegion;
  if (!Array.isArray(index))
    throw new InputError('must be an array of row indices', { file, field: `${f}.support.fromRegion`, value: index });
  const b = vector(S.b, index.length, file, `${f}.support.b`);
  let inputSet: InputSet | undefined;
  if (S.inputSet !== undefined) {
    const I = S.inputSet as Record<string, unknown>;
    const A = matrix(I?.A, undefined, n, file, `${f}.support.inputSet.A`);
    inputSet = { A: A.data, b: vector(I?.b, A.rows, file, `${f}.support.inputSet.b`) };
  }
  const reg = LinearRegion.ofPattern(original, bits, box, inputSet);
  try {
    const Afull = reg.A;
    const bfull = reg.b;
    const neuron = reg.neuronIndex;
    const norms = reg.rowNorms;
    const A = new Float64Array(index.length * n);
    index.forEach((i, r) => {
      if (!Number.isInteger(i) || i < 0 || i >= bfull.length) {
        throw new InputError(`is not a row of the region (it has ${bfull.length} rows)`, {
          file,
          field: `${f}.support.fromRegion[${r}]`,
          value: i,
        });
      }
      // === rather than Object.is: JSON writes −0 as 0.
      if (bfull[i] !== b[r]) {
        throw new InputError(
          `row ${i} of the region recomputed from the pattern has right-hand side ${bfull[i]}, the file says ${b[r]} (saved from a different network or core?)`,
          { file, field: `${f}.support.b[${r}]`, value: b[r] },
        );
      }
      A.set(Afull.subarray(i * n, (i + 1) * n), r * n);
    });
    const idx = Int32Array.from(index as number[]);
    return {
      A,
      b,
      rows: { index: idx, neuron: Int32Array.from(idx, (i) => neuron[i]), norm: Float64Array.from(idx, (i) => norms[i]) },
      inputSet,
    };
  } finally {
    reg.free();
  }
}

export function repairedFromJson(doc: unknown, file?: string): RepairedNetwork {
  if (typeof doc !== 'object' || doc === null) throw new InputError('a repaired network must be a JSON object', { file, value: doc });
  const d = doc as Record<string, unknown>;
  if (d.format !== REPAIRED_FORMAT)
    throw new InputError(`unknown format (expected "${REPAIRED_FORMAT}")`, { file, field: 'format', value: d.format });
  if (d.version !== 1) throw new InputError('unsupported version (this reader knows 1)', { file, field: 'version', value: d.version });
  if (d.composition !== 'sum' && d.composition !== 'chain')
    throw new InputError('unsupported composition (this reader knows "sum" and "chain")', {
      file,
      field: 'composition',
      value: d.composition,
    });
  const original = networkFromJson(d.original, file, 'original');
  const n = original.inputSize;
  const k = original.outputSize;
  if (!Array.isArray(d.patches)) throw new InputError('must be an array', { file, field: 'patches', value: d.patches });
  let inputBox: Box | undefined;
  if (d.inputBox !== undefined) {
    const b = d.inputBox as Record<string, unknown>;
    inputBox = expandBox(b?.lower, b?.upper, n, file, 'inputBox');
  }
  const patches: RegionPatch[] = d.patches.map((p: unknown, i: number) => {
    const f = `patches[${i}]`;
    const P = (p ?? {}) as Record<string, unknown>;
    if (P.kind !== 'constant' && P.kind !== 'affine')
      throw new InputError('kind must be "constant" or "affine"', { file, field: `${f}.kind`, value: P.kind });
    const radius = P.radius;
    if (typeof radius !== 'number' || !(radius > 0) || !Number.isFinite(radius))
      throw new InputError('must be a finite number > 0', { file, field: `${f}.radius`, value: radius });
    const S = (P.support ?? {}) as Record<string, unknown>;
    const dd = vector(P.d, k, file, `${f}.d`);
    let patch: RegionPatch;
    if (S.A === undefined && S.fromRegion !== undefined) {
      const rec = supportFromRegion(original, P, S, inputBox, file, f);
      patch = {
        kind: P.kind,
        radius,
        A: rec.A,
        b: rec.b,
        rows: rec.rows,
        ...(rec.inputSet ? { inputSet: rec.inputSet } : {}),
        d: dd,
        region: (P.region ?? {}) as PatchRegionInfo,
      };
    } else {
      const A = matrix(S.A, undefined, n, file, `${f}.support.A`);
      const b = vector(S.b, A.rows, file, `${f}.support.b`);
      patch = { kind: P.kind, radius, A: A.data, b, d: dd, region: (P.region ?? {}) as PatchRegionInfo };
    }
    if (P.kind === 'affine') {
      patch.C = matrix(P.C, k, n, file, `${f}.C`).data;
      patch.H = vector(P.H, k, file, `${f}.H`);
      patch.H.forEach((v, j) => {
        if (v < 0) throw new InputError('clamp bounds must be >= 0', { file, field: `${f}.H[${j}]`, value: v });
      });
    }
    return patch;
  });
  // A support with no rows is 1 everywhere but for the box gate: only meaningful with one.
  const bare = patches.findIndex((p) => p.b.length === 0);
  if (bare >= 0 && d.boxGate === undefined)
    throw new InputError('a support with no rows needs the box gate (it would be 1 everywhere)', {
      file,
      field: `patches[${bare}].support`,
    });
  let boxGate: BoxGate | undefined;
  if (d.boxGate !== undefined) {
    const g = d.boxGate as Record<string, unknown>;
    const b = expandBox(g?.lower, g?.upper, n, file, 'boxGate');
    if (typeof g.radius !== 'number' || !(g.radius > 0) || !Number.isFinite(g.radius))
      throw new InputError('must be a finite number > 0', { file, field: 'boxGate.radius', value: g.radius });
    boxGate = { ...b, radius: g.radius };
  }
  const net = new RepairedNetwork(original, patches, inputBox, boxGate, d.composition);
  if (d.record !== undefined) net.record = recordFromJson(d.record, n, k, file);
  return net;
}

/** The repair record (ts/repaired.ts `RepairRecord`), checked field by field. */
function recordFromJson(v: unknown, n: number, k: number, file: string | undefined): RepairRecord {
  const r = (v ?? {}) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null) throw new InputError('must be an object', { file, field: 'record', value: v });
  if (r.kind !== 'area' && r.kind !== 'points')
    throw new InputError('kind must be "area" or "points"', { file, field: 'record.kind', value: r.kind });
  if (!Array.isArray(r.regions) || !r.regions.every((h) => typeof h === 'string'))
    throw new InputError('must be an array of activation patterns (hex)', { file, field: 'record.regions', value: r.regions });
  if (!Number.isInteger(r.patches) || (r.patches as number) < 0)
    throw new InputError('must be a whole number >= 0', { file, field: 'record.patches', value: r.patches });
  const out: RepairRecord = { kind: r.kind, regions: r.regions as string[], patches: r.patches as number };
  if (r.area !== undefined) {
    const a = r.area as Record<string, unknown>;
    const box = expandBox(a?.lower, a?.upper, n, file, 'record.area');
    out.area = { lower: Array.from(box.lower), upper: Array.from(box.upper) };
    if (a.A !== undefined) {
      const A = matrix(a.A, undefined, n, file, 'record.area.A');
      out.area.A = rows(A.data, n);
      out.area.b = Array.from(vector(a.b, A.rows, file, 'record.area.b'));
    }
  }
  if (r.boxes !== undefined) {
    if (!Array.isArray(r.boxes))
      throw new InputError('must be an array of {lower, upper, piece?}', { file, field: 'record.boxes', value: r.boxes });
    out.boxes = r.boxes.map((bx: unknown, i: number) => {
      const o = (bx ?? {}) as Record<string, unknown>;
      const box = expandBox(o.lower, o.upper, n, file, `record.boxes[${i}]`);
      if (o.piece !== undefined && !(Number.isInteger(o.piece) && (o.piece as number) >= 0))
        throw new InputError('must be a whole number >= 0', { file, field: `record.boxes[${i}].piece`, value: o.piece });
      return { lower: Array.from(box.lower), upper: Array.from(box.upper), ...(o.piece !== undefined ? { piece: o.piece as number } : {}) };
    });
  }
  if (r.proof !== undefined) out.proof = areaProofFromJson(r.proof, n, file);
  if (r.spec !== undefined) {
    const pieces = (r.spec as Record<string, unknown>)?.pieces;
    if (!Array.isArray(pieces) || pieces.length === 0)
      throw new InputError('must be a non-empty array of {P, q}', { file, field: 'record.spec.pieces', value: pieces });
    out.spec = {
      pieces: pieces.map((pc: unknown, i: number) => {
        const P = matrix((pc as Record<string, unknown>)?.P, undefined, k, file, `record.spec.pieces[${i}].P`);
        return {
          P: rows(P.data, k),
          q: Array.from(vector((pc as Record<string, unknown>)?.q, P.rows, file, `record.spec.pieces[${i}].q`)),
        };
      }),
    };
  }
  return out;
}
