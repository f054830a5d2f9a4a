/**
 * A small Protocol Buffers wire-format reader and writer: just what the ONNX messages need
 * (varints, 32/64-bit fixed, length-delimited fields, packed repeated scalars). Hand-written
 * instead of protobufjs + onnx-proto so that the package stays dependency-free in browsers and
 * edge functions, and so that every malformed byte ends in an {@link InputError} that names the
 * file and the message path (`graph.node[3].attribute[0]`), never in a RangeError.
 */
import { InputError } from '../errors.js';

/** Wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

const TWO32 = 4294967296;

/** One field of a message: its number, wire type and where its payload lies. */
export interface PbField {
  field: number;
  wire: number;
  /** VARINT / FIXED64 / FIXED32: the value (int64 as a JS number, exact below 2^53). */
  value: number;
  /** LEN: payload [start, end) in `bytes`. */
  start: number;
  end: number;
}

export class PbReader {
  private pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    /** Path of this message inside the file, for messages. */
    readonly path: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(message: string, value?: unknown): never {
    const where = { file: this.file, field: this.path || undefined } as { file: string; field?: string; value?: unknown };
    if (value !== undefined) where.value = value;
    throw new InputError(`${message} (not a valid protobuf message; truncated or corrupt file?)`, where);
  }

  /** A varint as a signed 64-bit integer (two's complement), returned as a JS number. */
  private varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`varint runs past the end of the message at byte ${this.pos}`);
      const b = this.bytes[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << shift;
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (3 + 7 * (i - 5));
      shift += 7;
      if ((b & 0x80) === 0) {
        lo >>>= 0;
        hi >>>= 0;
        if (hi & 0x80000000) {
          // Negative: −(~v + 1).
          const nlo = (~lo >>> 0) + 1;
          return -((~hi >>> 0) * TWO32 + nlo);
        }
        return hi * TWO32 + lo;
      }
    }
    this.fail(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** The next field, or undefined at the end of the message. */
  next(): PbField | undefined {
    if (this.pos >= this.end) return undefined;
    const at = this.pos;
    const tag = this.varint();
    if (tag < 0 || tag > 0x1fffffff * 8 + 7) this.fail(`bad field tag at byte ${at}`, tag);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) this.fail(`field number 0 at byte ${at}`);
    switch (wire) {
      case VARINT:
        return { field, wire, value: this.varint(), start: 0, end: 0 };
      case FIXED64: {
        if (this.pos + 8 > this.end) this.fail(`64-bit field ${field} runs past the end at byte ${this.pos}`);
        const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8);
        this.pos += 8;
        return { field, wire, value: dv.getFloat64(0, true), start: this.pos - 8, end: this.pos };
      }
      case LEN: {
        const len = this.varint();
        if (len < 0 || this.pos + len > this.end)
          this.fail(`field ${field} claims ${len} bytes, only ${this.end - this.pos} remain at byte ${this.pos}`);
        const start = this.pos;
        this.pos += len;
        return { field, wire, value: len, start, end: this.pos };
      }
      case FIXED32: {
        if (this.pos + 4 > this.end) this.fail(`32-bit field ${field} runs past the end at byte ${this.pos}`);
        const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
        this.pos += 4;
        return { field, wire, value: dv.getFloat32(0, true), start: this.pos - 4, end: this.pos };
      }
      default:
        this.fail(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
    }
  }

  /** A reader for the sub-message in a LEN field. */
  sub(f: PbField, path: string): PbReader {
    this.expect(f, LEN, path);
    return new PbReader(this.bytes, this.file, path, f.start, f.end);
  }

  expect(f: PbField, wire: number, what: string): void {
    if (f.wire !== wire) this.fail(`${what}: field ${f.field} has wire type ${f.wire}, expected ${wire}`);
  }

  string(f: PbField, what: string): string {
    this.expect(f, LEN, what);
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(f.start, f.end));
  }

  bytesOf(f: PbField, what: string): Uint8Array {
    this.expect(f, LEN, what);
    return this.bytes.subarray(f.start, f.end);
  }

  int(f: PbField, what: string): number {
    this.expect(f, VARINT, what);
    return f.value;
  }

  /** A repeated varint field: one value, or a packed run (appended to `out`). */
  ints(f: PbField, what: string, out: number[]): void {
    if (f.wire === VARINT) out.push(f.value);
    else if (f.wire === LEN) {
      const r = new PbReader(this.bytes, this.file, this.path, f.start, f.end);
      while (r.pos < r.end) out.push(r.varint());
    } else this.fail(`${what}: field ${f.field} has wire type ${f.wire}, expected a varint or a packed run`);
  }

  /** A repeated float (fixed32) field, packed or not. */
  floats(f: PbField, what: string, out: number[]): void {
    if (f.wire === FIXED32) out.push(f.value);
    else if (f.wire === LEN) {
      if ((f.end - f.start) % 4 !== 0) this.fail(`${what}: packed floats of ${f.end - f.start} bytes (not a multiple of 4)`);
      const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset + f.start, f.end - f.start);
      for (let o = 0; o < f.end - f.start; o += 4) out.push(dv.getFloat32(o, true));
    } else this.fail(`${what}: field ${f.field} has wire type ${f.wire}, expected floats`);
  }

  /** A repeated double (fixed64) field, packed or not. */
  doubles(f: PbField, what: string, out: number[]): void {
    if (f.wire === FIXED64) out.push(f.value);
    else if (f.wire === LEN) {
      if ((f.end - f.start) % 8 !== 0) this.fail(`${what}: packed doubles of ${f.end - f.start} bytes (not a multiple of 8)`);
      const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset + f.start, f.end - f.start);
      for (let o = 0; o < f.end - f.start; o += 8) out.push(dv.getFloat64(o, true));
    } else this.fail(`${what}: field ${f.field} has wire type ${f.wire}, expected doubles`);
  }
}

/** Builds one message; nested messages are built first and embedded as bytes. */
export class PbWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  private rawVarint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf writer: ${v} is not a safe integer`);
    this.ensure(10);
    if (v < 0) {
      // Two's complement in 64 bits, 10 bytes.
      let lo = v % TWO32;
      let hi = Math.floor(v / TWO32);
      lo = lo < 0 ? lo + TWO32 : lo;
      hi = (hi + TWO32) >>> 0;
      for (let i = 0; i < 10; i++) {
        const byte = lo & 0x7f;
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi >>>= 7;
        this.buf[this.len++] = i < 9 ? byte | 0x80 : byte & 0x01;
      }
      return;
    }
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    this.tag(field, VARINT);
    this.rawVarint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, LEN);
    this.rawVarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: PbWriter): this {
    return this.bytes(field, m.finish());
  }

  float(field: number, v: number): this {
    this.tag(field, FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  /** Packed repeated varints. */
  packedInts(field: number, vs: readonly number[]): this {
    const inner = new PbWriter();
    for (const v of vs) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
