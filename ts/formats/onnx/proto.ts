/**
 * The ONNX messages relu-repair reads and writes (onnx/onnx.proto3, field numbers as there):
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and the tensor
 * type/shape. Decoding is strict about structure (every error names the message path) and lazy
 * about what it does not need (sub-graphs, sparse tensors, training info are skipped).
 */
import { InputError } from '../../errors.js';
import { bfloat16ToNumber, float16ToNumber } from '../float16.js';
import { FIXED32, LEN, PbReader, PbWriter, VARINT } from '../protobuf.js';

/** Number of elements of a tensor of shape `dims` (1 for a scalar). */
export const prod = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);

export const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

const DT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k]));
export const dataTypeName = (t: number) => DT_NAMES[t] ?? `type ${t}`;

/** A decoded tensor: values widened to float64 (int64 exact below 2^53). */
export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  data: Float64Array;
  /** The TensorProto as read (graph initializers only): copied verbatim by head-repair exports. */
  raw?: Uint8Array;
}

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.type (1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS, ...), 0 if absent. */
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
  /** Set when the attribute holds a sub-graph (If, Loop, ...): those ops are never supported. */
  hasGraph: boolean;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
  /** The NodeProto as read (graph nodes): copied verbatim by head-repair exports. */
  raw?: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  /** Element type, 0 if not a tensor or not given. */
  elemType: number;
  /** Dimensions: a number, a symbolic name, or null when unknown; undefined when no shape. */
  shape?: (number | string | null)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Number of sparse initializers (not supported). */
  sparseInitializers: number;
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  metadata: { key: string; value: string }[];
}

function decodeTensor(r: PbReader): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  const floatData: number[] = [];
  const intData: number[] = [];
  const doubleData: number[] = [];
  let raw: Uint8Array | undefined;
  let external = false;
  let segment = false;
  for (let f = r.next(); f; f = r.next()) {
    switch (f.field) {
      case 1:
        r.ints(f, 'dims', dims);
        break;
      case 2:
        dataType = r.int(f, 'data_type');
        break;
      case 3:
        segment = true;
        break;
      case 4:
        r.floats(f, 'float_data', floatData);
        break;
      case 5: // int32_data
      case 7: // int64_data
      case 11: // uint64_data
        r.ints(f, 'int data', intData);
        break;
      case 8:
        name = r.string(f, 'name');
        break;
      case 9:
        raw = r.bytesOf(f, 'raw_data');
        break;
      case 10:
        r.doubles(f, 'double_data', doubleData);
        break;
      case 13:
        external = true;
        break;
      case 14:
        if (r.int(f, 'data_location') === 1) external = true;
        break;
      default:
        break;
    }
  }
  const where = { file: r.file, field: `${r.path}${name ? ` ("${name}")` : ''}` };
  if (external)
    throw new InputError(
      'stores its data in an external file (ONNX external data), which this reader does not load; re-save the model with the weights inside',
      where,
    );
  if (segment) throw new InputError('is a segmented tensor, which this reader does not support', where);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InputError('has an invalid dimension', { ...where, value: d });
  }
  const count = prod(dims);
  if (count > 2 ** 31) throw new InputError(`has ${count} elements, too many`, where);
  let data: Float64Array;
  if (raw) {
    const size = ELEMENT_SIZE[dataType];
    if (size === undefined) throw new InputError(`has unsupported element type ${dataTypeName(dataType)}`, where);
    if (raw.length !== count * size) throw new InputError(`raw_data has ${raw.length} bytes, expected ${count} x ${size}`, where);
    data = decodeRaw(raw, dataType, count);
  } else {
    const src = dataType === DT.FLOAT ? floatData : dataType === DT.DOUBLE ? doubleData : intData;
    if (ELEMENT_SIZE[dataType] === undefined) throw new InputError(`has unsupported element type ${dataTypeName(dataType)}`, where);
    if (src.length !== count) throw new InputError(`holds ${src.length} values, its dims ${JSON.stringify(dims)} need ${count}`, where);
    if (dataType === DT.FLOAT16) data = Float64Array.from(src, float16ToNumber);
    else if (dataType === DT.BFLOAT16) data = Float64Array.from(src, bfloat16ToNumber);
    else if (dataType === DT.UINT64) data = Float64Array.from(src, (v) => (v < 0 ? v + 2 ** 64 : v));
    else data = Float64Array.from(src);
  }
  return { name, dataType, dims, data };
}

const ELEMENT_SIZE: Record<number, number> = {
  [DT.FLOAT]: 4,
  [DT.DOUBLE]: 8,
  [DT.INT64]: 8,
  [DT.INT32]: 4,
  [DT.INT16]: 2,
  [DT.INT8]: 1,
  [DT.UINT8]: 1,
  [DT.UINT16]: 2,
  [DT.UINT32]: 4,
  [DT.UINT64]: 8,
  [DT.BOOL]: 1,
  [DT.FLOAT16]: 2,
  [DT.BFLOAT16]: 2,
};

function decodeRaw(raw: Uint8Array, t: number, count: number): Float64Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  switch (t) {
    case DT.FLOAT:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case DT.DOUBLE:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case DT.INT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      break;
    case DT.UINT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigUint64(8 * i, true));
      break;
    case DT.INT32:
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case DT.UINT32:
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(4 * i, true);
      break;
    case DT.INT16:
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, true);
      break;
    case DT.UINT16:
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(2 * i, true);
      break;
    case DT.FLOAT16:
      for (let i = 0; i < count; i++) out[i] = float16ToNumber(dv.getUint16(2 * i, true));
      break;
    case DT.BFLOAT16:
      for (let i = 0; i < count; i++) out[i] = bfloat16ToNumber(dv.getUint16(2 * i, true));
      break;
    case DT.INT8:
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i);
      break;
    default: // UINT8, BOOL
      for (let i = 0; i < count; i++) out[i] = raw[i];
  }
  return out;
}

function decodeAttribute(r: PbReader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, floats: [], ints: [], hasGraph: false };
  for (let f = r.next(); f; f = r.next()) {
    switch (f.field) {
      case 1:
        a.name = r.string(f, 'name');
        break;
      case 2:
        r.expect(f, FIXED32, 'f');
        a.f = f.value;
        break;
      case 3:
        a.i = r.int(f, 'i');
        break;
      case 4:
        a.s = r.string(f, 's');
        break;
      case 5:
        a.t = decodeTensor(r.sub(f, `${r.path}.t`));
        break;
      case 6:
      case 11:
        a.hasGraph = true;
        break;
      case 7:
        r.floats(f, 'floats', a.floats);
        break;
      case 8:
        r.ints(f, 'ints', a.ints);
        break;
      case 20:
        a.type = r.int(f, 'type');
        break;
      default:
        break;
    }
  }
  return a;
}

function decodeNode(r: PbReader): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  for (let f = r.next(); f; f = r.next()) {
    switch (f.field) {
      case 1:
        n.inputs.push(r.string(f, 'input'));
        break;
      case 2:
        n.outputs.push(r.string(f, 'output'));
        break;
      case 3:
        n.name = r.string(f, 'name');
        break;
      case 4:
        n.opType = r.string(f, 'op_type');
        break;
      case 5:
        n.attributes.push(decodeAttribute(r.sub(f, `${r.path}.attribute[${n.attributes.length}]`)));
        break;
      case 7:
        n.domain = r.string(f, 'domain');
        break;
      default:
        break;
    }
  }
  return n;
}

function decodeShape(r: PbReader): (number | string | null)[] {
  const dims: (number | string | null)[] = [];
  for (let f = r.next(); f; f = r.next()) {
    if (f.field !== 1) continue;
    const d = r.sub(f, `${r.path}.dim[${dims.length}]`);
    let v: number | string | null = null;
    for (let g = d.next(); g; g = d.next()) {
      if (g.field === 1) v = d.int(g, 'dim_value');
      else if (g.field === 2) v = d.string(g, 'dim_param');
    }
    dims.push(v);
  }
  return dims;
}

function decodeValueInfo(r: PbReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0 };
  for (let f = r.next(); f; f = r.next()) {
    if (f.field === 1) v.name = r.string(f, 'name');
    else if (f.field === 2) {
      const t = r.sub(f, `${r.path}.type`);
      for (let g = t.next(); g; g = t.next()) {
        if (g.field !== 1) continue; // only tensor_type
        const tt = t.sub(g, `${t.path}.tensor_type`);
        for (let h = tt.next(); h; h = tt.next()) {
          if (h.field === 1) v.elemType = tt.int(h, 'elem_type');
          else if (h.field === 2) v.shape = decodeShape(tt.sub(h, `${tt.path}.shape`));
        }
      }
    }
  }
  return v;
}

function decodeGraph(r: PbReader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], sparseInitializers: 0 };
  for (let f = r.next(); f; f = r.next()) {
    switch (f.field) {
      case 1:
        g.nodes.push({ ...decodeNode(r.sub(f, `graph.node[${g.nodes.length}]`)), raw: r.bytes.subarray(f.start, f.end) });
        break;
      case 2:
        g.name = r.string(f, 'name');
        break;
      case 5:
        g.initializers.push({
          ...decodeTensor(r.sub(f, `graph.initializer[${g.initializers.length}]`)),
          raw: r.bytes.subarray(f.start, f.end),
        });
        break;
      case 11:
        g.inputs.push(decodeValueInfo(r.sub(f, `graph.input[${g.inputs.length}]`)));
        break;
      case 12:
        g.outputs.push(decodeValueInfo(r.sub(f, `graph.output[${g.outputs.length}]`)));
        break;
      case 15:
        r.expect(f, LEN, 'sparse_initializer');
        g.sparseInitializers++;
        break;
      default:
        break;
    }
  }
  return g;
}

/** Decodes a ModelProto. */
export function decodeModel(bytes: Uint8Array, file: string): OnnxModel {
  if (bytes.length === 0) throw new InputError('is empty, not an ONNX model', { file });
  const r = new PbReader(bytes, file, '');
  const m: OnnxModel = {
    irVersion: 0,
    opsets: [],
    producerName: '',
    producerVersion: '',
    graph: undefined as unknown as OnnxGraph,
    metadata: [],
  };
  for (let f = r.next(); f; f = r.next()) {
    switch (f.field) {
      case 1:
        m.irVersion = r.int(f, 'ir_version');
        break;
      case 2:
        m.producerName = r.string(f, 'producer_name');
        break;
      case 3:
        m.producerVersion = r.string(f, 'producer_version');
        break;
      case 7:
        if (m.graph) r.fail('the model has two graphs');
        m.graph = decodeGraph(r.sub(f, 'graph'));
        break;
      case 8: {
        const o = r.sub(f, `opset_import[${m.opsets.length}]`);
        const op = { domain: '', version: 0 };
        for (let g = o.next(); g; g = o.next()) {
          if (g.field === 1) op.domain = o.string(g, 'domain');
          else if (g.field === 2) op.version = o.int(g, 'version');
        }
        m.opsets.push(op);
        break;
      }
      case 14: {
        const e = r.sub(f, `metadata_props[${m.metadata.length}]`);
        const kv = { key: '', value: '' };
        for (let g = e.next(); g; g = e.next()) {
          if (g.field === 1) kv.key = e.string(g, 'key');
          else if (g.field === 2) kv.value = e.string(g, 'value');
        }
        m.metadata.push(kv);
        break;
      }
      default:
        if (f.wire !== VARINT && f.wire !== LEN && f.wire !== FIXED32 && f.wire !== 1) r.fail(`unexpected wire type ${f.wire}`);
        break;
    }
  }
  if (!m.graph) throw new InputError('has no graph: not an ONNX model (or truncated before the graph)', { file });
  if (!(m.irVersion >= 1 && m.irVersion <= 100))
    throw new InputError('has no valid ir_version: not an ONNX model?', { file, field: 'ir_version', value: m.irVersion });
  return m;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface TensorOut {
  /** A TensorProto to write as it is (the other fields are then not written). */
  raw?: Uint8Array;
  name: string;
  dataType: number;
  dims: number[];
  data: ArrayLike<number>;
}

export function encodeTensor(t: TensorOut): PbWriter {
  const w = new PbWriter();
  w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  w.string(8, t.name);
  const n = t.data.length;
  const size = t.dataType === DT.FLOAT ? 4 : 8;
  // (FLOAT, DOUBLE and INT64 only: what the exporter and the tests need.)
  const raw = new Uint8Array(n * size);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    if (t.dataType === DT.FLOAT) dv.setFloat32(4 * i, t.data[i], true);
    else if (t.dataType === DT.DOUBLE) dv.setFloat64(8 * i, t.data[i], true);
    else if (t.dataType === DT.INT64) dv.setBigInt64(8 * i, BigInt(t.data[i]), true);
    else throw new RangeError(`encodeTensor: element type ${dataTypeName(t.dataType)} is not written`);
  }
  w.bytes(9, raw);
  return w;
}

export interface AttrOut {
  name: string;
  i?: number;
  f?: number;
  s?: string;
  ints?: number[];
  floats?: number[];
  t?: TensorOut;
}

export interface NodeOut {
  /** A NodeProto to write as it is (the other fields are then not written). */
  raw?: Uint8Array;
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attributes?: AttrOut[];
}

function encodeAttribute(a: AttrOut): PbWriter {
  const w = new PbWriter().string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f).int(20, 1);
  else if (a.i !== undefined) w.int(3, a.i).int(20, 2);
  else if (a.s !== undefined) w.string(4, a.s).int(20, 3);
  else if (a.t !== undefined) w.message(5, encodeTensor(a.t)).int(20, 4);
  else if (a.floats !== undefined) {
    for (const v of a.floats) w.float(7, v);
    w.int(20, 6);
  } else if (a.ints !== undefined) w.packedInts(8, a.ints).int(20, 7);
  return w;
}

function encodeValueInfo(name: string, elemType: number, shape: (number | string)[] | undefined): PbWriter {
  const tt = new PbWriter().int(1, elemType);
  if (shape) {
    const sh = new PbWriter();
    for (const d of shape) sh.message(1, typeof d === 'number' ? new PbWriter().int(1, d) : new PbWriter().string(2, d));
    tt.message(2, sh);
  }
  return new PbWriter().string(1, name).message(2, new PbWriter().message(1, tt));
}

export interface ValueInfoOut {
  name: string;
  elemType: number;
  /** Omitted: no shape information. */
  shape?: (number | string)[];
}

export interface ModelOut {
  irVersion: number;
  /** Default-domain opset version (or several opset imports). */
  opset: number | { domain: string; version: number }[];
  producerName?: string;
  producerVersion: string;
  graphName: string;
  docString: string;
  nodes: NodeOut[];
  initializers: TensorOut[];
  inputs: ValueInfoOut[];
  outputs: ValueInfoOut[];
  metadata: { key: string; value: string }[];
}

export function encodeModel(m: ModelOut): Uint8Array {
  const g = new PbWriter();
  for (const n of m.nodes) {
    if (n.raw) {
      g.bytes(1, n.raw);
      continue;
    }
    const nw = new PbWriter();
    for (const i of n.inputs) nw.string(1, i);
    for (const o of n.outputs) nw.string(2, o);
    nw.string(3, n.name).string(4, n.opType);
    for (const a of n.attributes ?? []) nw.message(5, encodeAttribute(a));
    if (n.domain) nw.string(7, n.domain);
    g.message(1, nw);
  }
  g.string(2, m.graphName);
  for (const t of m.initializers) {
    if (t.raw) g.bytes(5, t.raw);
    else g.message(5, encodeTensor(t));
  }
  g.string(10, m.docString);
  for (const v of m.inputs) g.message(11, encodeValueInfo(v.name, v.elemType, v.shape));
  for (const v of m.outputs) g.message(12, encodeValueInfo(v.name, v.elemType, v.shape));
  const w = new PbWriter()
    .int(1, m.irVersion)
    .string(2, m.producerName ?? 'relu-repair')
    .string(3, m.producerVersion);
  w.message(7, g);
  const opsets = typeof m.opset === 'number' ? [{ domain: '', version: m.opset }] : m.opset;
  for (const o of opsets) w.message(8, new PbWriter().string(1, o.domain).int(2, o.version));
  for (const kv of m.metadata) w.message(14, new PbWriter().string(1, kv.key).string(2, kv.value));
  return w.finish();
}
