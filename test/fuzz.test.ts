/**
 * Parser fuzzing: random truncations and byte/token edits of real files (ONNX, VNN-LIB, TF.js
 * model.json and shard, .nnet) must end in a parsed model or our typed InputError — never a
 * TypeError/RangeError, never a hang (every parse is timed). Deterministic seeds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJsonText } from '../ts/formats/load.js';
import { nnetToText, parseNnet } from '../ts/formats/nnet.js';
import { networkToOnnx, repairedToOnnx } from '../ts/formats/onnx/export.js';
import { parseOnnx } from '../ts/formats/onnx/import.js';
import { networkToTfjs, parseTfjs } from '../ts/formats/tfjs.js';
import { parseVnnlib, regionProperty, writeVnnlib } from '../ts/formats/vnnlib.js';
import { InputError, init, labelSpec, repair } from '../ts/index.js';
import { fixture, hcasTau05, rng } from './helpers.js';

type R = ReturnType<typeof rng>;
const int = (r: R, n: number) => Math.floor(r.next() * n);

/** Runs `parse`; anything but success or an InputError fails the test (with the mutation seed). */
function expectTyped(parse: () => unknown, what: string): 'ok' | 'error' {
  const t0 = performance.now();
  try {
    parse();
    return 'ok';
  } catch (e) {
    if (!(e instanceof InputError)) throw new Error(`${what}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
    expect(e.message.length).toBeGreaterThan(0);
    return 'error';
  } finally {
    expect(performance.now() - t0, `${what} took too long`).toBeLessThan(10_000);
  }
}

function mutateBytes(src: Uint8Array, r: R): Uint8Array {
  const b = Uint8Array.from(src);
  switch (int(r, 5)) {
    case 0: // truncate
      return b.subarray(0, int(r, b.length));
    case 1: {
      // flip a few random bits
      const n = 1 + int(r, 8);
      for (let i = 0; i < n; i++) b[int(r, b.length)] ^= 1 << int(r, 8);
      return b;
    }
    case 2: {
      // overwrite a byte in the first 2 kB (where the structure is) with a varint-ish value
      const n = 1 + int(r, 4);
      for (let i = 0; i < n; i++) b[int(r, Math.min(b.length, 2048))] = [0x00, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x3a][int(r, 8)];
      return b;
    }
    case 3: {
      // delete a span
      const at = int(r, b.length);
      const len = 1 + int(r, 16);
      const out = new Uint8Array(Math.max(0, b.length - len));
      out.set(b.subarray(0, at));
      out.set(b.subarray(Math.min(b.length, at + len)).subarray(0, out.length - at), at);
      return out;
    }
    default: {
      // insert random bytes
      const at = int(r, b.length);
      const ins = Uint8Array.from({ length: 1 + int(r, 8) }, () => int(r, 256));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
  }
}

const JUNK = [
  '',
  '(',
  ')',
  '-',
  'NaN',
  'nan',
  '1e999',
  '-1e999',
  '0',
  '-0',
  '1e-320',
  'X_99999',
  'Y_7',
  'Real',
  'assert',
  '"',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  'null',
  'true',
  '1.5.5',
  '99999999999',
  '-1',
  '0x10',
  ';',
];

/** Token edits of a text: replace, delete, duplicate or swap tokens, or truncate. */
function mutateText(text: string, r: R): string {
  const toks = text.split(/(\s+|[(),[\]{}:])/).filter((t) => t !== '');
  const edits = 1 + int(r, 3);
  for (let e = 0; e < edits; e++) {
    const i = int(r, toks.length);
    switch (int(r, 5)) {
      case 0:
        toks[i] = JUNK[int(r, JUNK.length)];
        break;
      case 1:
        toks.splice(i, 1);
        break;
      case 2:
        toks.splice(i, 0, toks[int(r, toks.length)]);
        break;
      case 3: {
        const j = int(r, toks.length);
        [toks[i], toks[j]] = [toks[j], toks[i]];
        break;
      }
      default:
        return toks.slice(0, i).join('');
    }
  }
  return toks.join('');
}

describe('parser fuzzing: only typed errors, never a crash or a hang', () => {
  it('ONNX: the watermark model, an exported HCAS model, a repaired-network export and two graph networks', async () => {
    await init();
    const { net, points, labels, inputBox } = hcasTau05();
    const { network: rep } = await repair(net, { points: points.slice(0, 3), labels: labels.slice(0, 3), inputBox });
    const files: [string, Uint8Array, number][] = [
      ['watermark.onnx', new Uint8Array(readFileSync(fixture('mnist/watermark-mlp-784-150-10.onnx'))), 120],
      ['hcas.onnx', networkToOnnx(net), 400],
      ['repaired.onnx', repairedToOnnx(rep), 150],
      // Graph networks: MaxPool/ConvTranspose/Pad/Slice/Concat and shape sub-graphs; a residual CNN.
      ['maxpool.onnx', new Uint8Array(readFileSync(fixture('graph/maxpool-opset13.onnx'))), 400],
      ['residual.onnx', new Uint8Array(readFileSync(fixture('graph/residual-opset11.onnx'))), 300],
    ];
    const r = rng(1234);
    const counts = { ok: 0, error: 0 };
    for (const [name, bytes, n] of files) {
      for (let i = 0; i < n; i++) counts[expectTyped(() => parseOnnx(mutateBytes(bytes, r), name), `${name} mutation ${i}`)]++;
    }
    // The repaired export is a DAG, not a chain: the graph reader loads it as the repaired function.
    const back = parseOnnx(repairedToOnnx(rep, { precision: 'float64' }), 'repaired.onnx');
    expect(back.denseLayers).toBeUndefined();
    const x = Float64Array.from(points.slice(0, 3).flat());
    const want = rep.forwardFlat(x, 3);
    back.forwardFlat(x, 3).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(want[i]))));
    expect(counts.ok).toBeGreaterThan(50);
    expect(counts.error).toBeGreaterThan(300);
  });

  it('VNN-LIB: a written region property and a hand-written one', async () => {
    await init();
    const { net, points, labels, inputBox } = hcasTau05();
    const { network: rep } = await repair(net, { points: points.slice(0, 1), labels: labels.slice(0, 1), inputBox });
    const written = writeVnnlib(regionProperty(rep, 0, labelSpec(4, 5)));
    const hand = `; comment
(declare-const X_0 Real) (declare-const X_1 Real) (declare-const Y_0 Real) (declare-const Y_1 Real)
(assert (and (<= X_0 0.5) (>= X_0 (- 0.5)) (<= (+ X_0 (* 2 X_1)) 1e-3)))
(assert (or (and (>= Y_0 Y_1) (<= Y_0 3)) (and (= Y_1 2.5) (> (- Y_0 Y_1) -1))))`;
    const r = rng(99);
    const counts = { ok: 0, error: 0 };
    for (const [name, text, n] of [
      ['region.vnnlib', written, 300],
      ['hand.vnnlib', hand, 1500],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const t = mutateText(text, r);
        counts[expectTyped(() => parseVnnlib(t, name), `${name} mutation ${i}: ${t.slice(0, 200)}`)]++;
      }
    }
    expect(counts.ok).toBeGreaterThan(50);
    expect(counts.error).toBeGreaterThan(1000);
  });

  it('TF.js: model.json token edits and shard truncations/edits', () => {
    const { net } = hcasTau05();
    const { modelJson, weights } = networkToTfjs(net);
    const text = JSON.stringify(modelJson, null, 1);
    const r = rng(5);
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < 1500; i++) {
      const t = mutateText(text, r);
      counts[
        expectTyped(
          () => parseTfjs(parseJsonText(t, 'model.json'), () => weights, 'model.json'),
          `model.json mutation ${i}: ${t.slice(0, 300)}`,
        )
      ]++;
    }
    for (let i = 0; i < 200; i++) {
      const w = mutateBytes(weights, r);
      counts[expectTyped(() => parseTfjs(modelJson, () => w, 'model.json'), `shard mutation ${i}`)]++;
    }
    expect(counts.ok).toBeGreaterThan(50);
    expect(counts.error).toBeGreaterThan(1000);
  });

  it('.nnet: the HCAS file and a written one', () => {
    const text = readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8');
    const written = nnetToText(parseNnet(text, 'tau05.nnet'));
    const r = rng(77);
    const counts = { ok: 0, error: 0 };
    for (const [name, t0, n] of [
      ['tau05.nnet', text, 800],
      ['written.nnet', written, 400],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const t = mutateText(t0, r);
        counts[expectTyped(() => parseNnet(t, name, { normalize: i % 2 === 0 }), `${name} mutation ${i}`)]++;
      }
    }
    expect(counts.ok).toBeGreaterThan(50);
    expect(counts.error).toBeGreaterThan(600);
  });
});
