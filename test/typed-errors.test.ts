/**
 * Every failure reaches callers as a ReluRepairError subclass (README): the library source throws
 * no plain `Error`, and malformed patches handed to a RepairedNetwork are InputErrors naming the
 * field.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, init, type RegionPatch, RepairedNetwork } from '../ts/index.js';
import { randomNetwork, rng, root } from './helpers.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('typed errors', () => {
  beforeAll(() => init());

  it('ts/ throws no plain Error (throw / reject of `new Error` or `Error(`)', () => {
    const plain = /\b(?:throw|reject\()\s*(?:new\s+)?Error\s*\(/;
    const hits = sources(join(root, 'ts')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (plain.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    // The pattern itself must match what it is meant to catch.
    expect(plain.test("  throw new Error('x');")).toBe(true);
    expect(plain.test('  return Promise.reject(new Error(m));')).toBe(true);
    expect(plain.test("  throw new InputError('x');")).toBe(false);
    expect(hits).toEqual([]);
  });

  it('a malformed patch is an InputError naming the field', () => {
    const net = randomNetwork(rng(3), [2, 4, 3]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    const base: RegionPatch = {
      kind: 'constant',
      A: Float64Array.of(1, 0),
      b: Float64Array.of(0.5),
      radius: 0.1,
      d: Float64Array.of(0, 0, 1),
      region: { points: [], pattern: '0', constraints: 1, patchNorm: 1, lowerBound: 1, minimalityProof: 'constant-patch' },
    };
    const x = [[0, 0]];
    expect(new RepairedNetwork(net, [base], box).predict(x)[0]).toHaveLength(3);
    const wrongOutputs = { ...base, d: Float64Array.of(1, 2) };
    expect(() => new RepairedNetwork(net, [wrongOutputs], box).predict(x)).toThrow(InputError);
    expect(() => new RepairedNetwork(net, [wrongOutputs], box).predict(x)).toThrow(/^d: has 2 outputs, the network has 3/);
    const noClamp = { ...base, kind: 'affine' as const, C: new Float64Array(6) };
    expect(() => new RepairedNetwork(net, [noClamp], box).predict(x)).toThrow(/^H: an affine patch needs C and H/);
  });

  it('a batch whose length is not count × inputs is an InputError, not a trap in the core', () => {
    const net = randomNetwork(rng(4), [3, 4, 2]);
    expect(net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4, 5), 2)).toHaveLength(4);
    expect(() => net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4), 2)).toThrow(InputError);
    expect(() => net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4), 2)).toThrow(/^points: holds 5 values, 2 points of 3 inputs need 6/);
    expect(() => net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4, 5), 2.5)).toThrow(InputError);
    // A longer batch: its first `count` points.
    expect(net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8), 2)).toEqual(net.forwardFlat(Float64Array.of(0, 1, 2, 3, 4, 5), 2));
  });
});
