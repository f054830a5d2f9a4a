/**
 * 16-bit floating-point decoders for the model readers (ONNX FLOAT16/BFLOAT16 tensors, TF.js
 * float16 weights and quantisation). Both widen exactly: every float16 and bfloat16 value is a
 * float64 value.
 */

/** IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits) from its bits. */
export function float16ToNumber(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 (the upper half of a float32) from its bits. */
export function bfloat16ToNumber(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, (bits & 0xffff) << 16);
  return dv.getFloat32(0);
}
