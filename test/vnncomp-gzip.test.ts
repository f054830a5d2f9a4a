/**
 * Gzip-compressed benchmark files (VNN-COMP 2021 ships nn4sys as `.onnx.gz`; other years gzip
 * `.vnnlib` too): `loadModel` and the CLI read them as the plain files, `parseModel` (synchronous)
 * refuses gzip bytes with an error naming the file, and a corrupt gzip file is an InputError
 * naming it — never a silently different network.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, init, loadModel, parseModel, parseResultText, parseVnnlib, vnnlibText } from '../ts/index.js';
import { fixture, runCli } from './helpers.js';

const model = fixture('acasxu', 'ACASXU_run2a_2_9_batch_2000.onnx');
const prop = fixture('acasxu', 'prop_8.vnnlib');

beforeAll(async () => {
  await init();
});

describe('gzip-compressed models and properties', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rr-gz-'));
  const gzModel = join(dir, 'net.onnx.gz');
  const gzProp = join(dir, 'prop.vnnlib.gz');
  writeFileSync(gzModel, gzipSync(readFileSync(model)));
  writeFileSync(gzProp, gzipSync(readFileSync(prop)));

  it('loadModel reads .onnx.gz as the plain file: same network, bit for bit on random inputs', async () => {
    const a = await loadModel(model);
    const b = await loadModel(gzModel);
    expect(b.inputSize).toBe(a.inputSize);
    const xs = Float64Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * 0.5);
    expect(Array.from(b.forwardFlat(xs, 10))).toEqual(Array.from(a.forwardFlat(xs, 10)));
  });

  it('vnnlibText gunzips; plain text passes through unchanged', async () => {
    const plain = readFileSync(prop, 'utf8');
    expect(await vnnlibText(new Uint8Array(readFileSync(gzProp)), gzProp)).toBe(plain);
    expect(await vnnlibText(new Uint8Array(readFileSync(prop)), prop)).toBe(plain);
    const p = parseVnnlib(await vnnlibText(new Uint8Array(readFileSync(gzProp)), gzProp), gzProp, { inputs: 5, outputs: 5 });
    expect(p.properties.length).toBe(1);
  });

  it('parseModel refuses gzip bytes, naming the file; a corrupt .gz is an InputError naming it', async () => {
    expect(() => parseModel('net.onnx.gz', new Uint8Array(readFileSync(gzModel)))).toThrow(/net\.onnx\.gz.*gzip-compressed/);
    const bad = join(dir, 'bad.onnx.gz');
    const bytes = new Uint8Array(readFileSync(gzModel));
    writeFileSync(bad, bytes.subarray(0, 200));
    const err = await loadModel(bad).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(bad);
  });

  it('CLI verify on .onnx.gz + .vnnlib.gz answers as on the plain files', async () => {
    const out = join(dir, 'r.txt');
    const r = await runCli(['verify', '--model', gzModel, '--property', gzProp, '--result', out]);
    expect(r.code).toBe(1);
    const res = parseResultText(readFileSync(out, 'utf8'));
    expect(res.result).toBe('sat');
    const plain = await runCli(['verify', '--model', model, '--property', prop]);
    expect(plain.code).toBe(1);
  });
});
