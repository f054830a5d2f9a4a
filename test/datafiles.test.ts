import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maybeGunzip, parseIdx } from '../ts/formats/idx.js';
import { parseNpy } from '../ts/formats/npy.js';
import { InputError } from '../ts/index.js';

function npy(descr: string, shape: number[], body: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('.npy and IDX readers', () => {
  it('reads f4, f8, i4 and Fortran order', () => {
    const f4 = new Float32Array([1.5, -2, 3.25, 4]);
    expect(Array.from(parseNpy(npy('<f4', [2, 2], new Uint8Array(f4.buffer))).data)).toEqual([1.5, -2, 3.25, 4]);
    const f8 = new Float64Array([0.1, 0.2, 0.3]);
    expect(Array.from(parseNpy(npy('<f8', [3], new Uint8Array(f8.buffer))).data)).toEqual([0.1, 0.2, 0.3]);
    const i4 = new Int32Array([1, 2, 3, 4, 5, 6]);
    // Fortran order [[1,3,5],[2,4,6]] stored column-major as 1..6.
    expect(Array.from(parseNpy(npy('<i4', [2, 3], new Uint8Array(i4.buffer), true)).data)).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('rejects truncated and malformed files with typed errors', () => {
    const f8 = npy('<f8', [4], new Uint8Array(new Float64Array([1, 2, 3, 4]).buffer));
    expect(() => parseNpy(f8.subarray(0, f8.length - 3), 'x.npy')).toThrow(/x\.npy: truncated \.npy data/);
    expect(() => parseNpy(new Uint8Array([1, 2, 3]), 'y.npy')).toThrow(InputError);
    expect(() => parseNpy(npy('<c16', [1], new Uint8Array(16)), 'c.npy')).toThrow(/unsupported \.npy dtype/);
  });

  it('reads the shared HCAS samples and the MNIST test labels', async () => {
    const x = parseNpy(new Uint8Array(readFileSync('test/fixtures/hcas/samples-pra1-tau05.x.npy')));
    expect(x.shape).toEqual([50000, 3]);
    expect(x.dtype).toBe('<f4');
    const labels = parseIdx(await maybeGunzip(new Uint8Array(readFileSync('test/fixtures/mnist/t10k-labels-idx1-ubyte.gz')), 'labels.gz'));
    expect(labels.shape).toEqual([10000]);
    expect(labels.data[0]).toBe(7);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 9, 1]), 'l.idx')).toThrow(/l\.idx: truncated IDX data/);
  });
});
