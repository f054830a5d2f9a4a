/**
 * The IDX format of the MNIST files (big-endian: 0, 0, type, ndim, then ndim uint32 dimensions,
 * then the data), optionally gzip-compressed (`.gz`, detected by its magic bytes).
 */
import { InputError } from '../errors.js';

export interface IdxArray {
  shape: number[];
  data: Float64Array;
  /** Element type code (0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64). */
  type: number;
}

/** gunzips when the bytes start with the gzip magic (DecompressionStream: Node, Deno, browsers). */
export async function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new InputError(`is not a valid gzip file: ${(e as Error).message}`, { file }, { cause: e });
  }
}

export function parseIdx(bytes: Uint8Array, file = 'data.idx'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new InputError('is not an IDX file (bad magic)', { file });
  const type = bytes[2];
  const nd = bytes[3];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * nd) throw new InputError('truncated IDX header', { file });
  const shape: number[] = [];
  for (let d = 0; d < nd; d++) shape.push(dv.getUint32(4 + 4 * d, false));
  const sizes: Record<number, [number, (o: number) => number]> = {
    0x08: [1, (o) => dv.getUint8(o)],
    0x09: [1, (o) => dv.getInt8(o)],
    0x0b: [2, (o) => dv.getInt16(o, false)],
    0x0c: [4, (o) => dv.getInt32(o, false)],
    0x0d: [4, (o) => dv.getFloat32(o, false)],
    0x0e: [8, (o) => dv.getFloat64(o, false)],
  };
  const t = sizes[type];
  if (!t) throw new InputError('unsupported IDX element type', { file, field: 'type', value: type });
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (start + count * t[0] > bytes.length)
    throw new InputError(`truncated IDX data: expected ${count * t[0]} bytes, found ${bytes.length - start}`, { file });
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = t[1](start + i * t[0]);
  return { shape, data, type };
}
