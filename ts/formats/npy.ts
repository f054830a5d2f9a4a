/**
 * NumPy `.npy` (format versions 1–3, little/big endian, C or Fortran order) for the dtypes data
 * sets use: f4, f8, i1, i2, i4, i8, u1, u2, u4, b1. Values come back as a Float64Array in C order.
 */
import { InputError } from '../errors.js';

export interface NpyArray {
  shape: number[];
  dtype: string;
  data: Float64Array;
}

export function parseNpy(bytes: Uint8Array, file = 'array.npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new InputError('is not a .npy file (bad magic)', { file });
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let pos: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    pos = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError('truncated .npy header', { file });
    headerLen = dv.getUint32(8, true);
    pos = 12;
  } else {
    throw new InputError('unsupported .npy format version', { file, field: 'version', value: major });
  }
  if (pos + headerLen > bytes.length) throw new InputError('truncated .npy header', { file });
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(pos, pos + headerLen));
  pos += headerLen;
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new InputError('malformed .npy header', { file, field: 'header', value: header.trim() });
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw new InputError('bad dimension in .npy shape', { file, field: 'shape', value: s });
      return v;
    });
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) throw new InputError('unsupported .npy dtype', { file, field: 'descr', value: descr });
  const little = m[1] !== '>';
  const kind = m[2];
  const size = Number(m[3]);
  const count = shape.reduce((a, b) => a * b, 1);
  if (pos + count * size > bytes.length) {
    throw new InputError(`truncated .npy data: expected ${count * size} bytes, found ${bytes.length - pos}`, { file });
  }
  const read: Record<string, (o: number) => number> = {
    f4: (o) => dv.getFloat32(o, little),
    f8: (o) => dv.getFloat64(o, little),
    i1: (o) => dv.getInt8(o),
    i2: (o) => dv.getInt16(o, little),
    i4: (o) => dv.getInt32(o, little),
    i8: (o) => Number(dv.getBigInt64(o, little)),
    u1: (o) => dv.getUint8(o),
    u2: (o) => dv.getUint16(o, little),
    u4: (o) => dv.getUint32(o, little),
    u8: (o) => Number(dv.getBigUint64(o, little)),
    b1: (o) => dv.getUint8(o),
  };
  const get = read[kind + size];
  if (!get) throw new InputError('unsupported .npy dtype', { file, field: 'descr', value: descr });
  const raw = new Float64Array(count);
  for (let i = 0; i < count; i++) raw[i] = get(pos + i * size);
  const data = fortran === 'True' && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { shape, dtype: descr, data };
}

function fortranToC(src: Float64Array, shape: number[]): Float64Array {
  const out = new Float64Array(src.length);
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    let stride = 1;
    for (let d = 0; d < nd; d++) {
      f += idx[d] * stride;
      stride *= shape[d];
    }
    out[c] = src[f];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
