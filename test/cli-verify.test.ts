/**
 * `relu-repair verify` and `relu-repair run-instances` as a user runs them (the built CLI):
 * answers, exit codes (0 holds, 1 violated, 3 timeout/unknown, 2 bad input), VNN-COMP result
 * files checked against an independent forward pass, results CSVs with every row answered.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  forwardFloat64,
  InputError,
  init,
  loadModel,
  parseInstancesCsv,
  parseResultText,
  parseVnnlib,
  propertyData,
  RESULTS_HEADER,
  resultText,
  unsafeDepth,
} from '../ts/index.js';
import { fixture, runCli } from './helpers.js';

const acas = (n: string) => fixture('acasxu', `ACASXU_run2a_${n}_batch_2000.onnx`);
const vnn = (p: number) => fixture('acasxu', `prop_${p}.vnnlib`);
const tmp = () => mkdtempSync(join(tmpdir(), 'rr-verify-'));

beforeAll(async () => {
  await init();
});

describe('relu-repair verify', () => {
  it('violated: exit 1, "sat" and a counterexample that an independent forward pass confirms', async () => {
    const dir = tmp();
    const out = join(dir, 'result.txt');
    const r = await runCli(['verify', '--model', acas('2_9'), '--property', vnn(8), '--result', out]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('violated');
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith('sat\n((X_0 ')).toBe(true);
    const res = parseResultText(text);
    const net = await loadModel(acas('2_9'));
    const y = forwardFloat64(net, res.x!);
    res.y!.forEach((v, k) => expect(v).toBe(y[k]));
    const p = parseVnnlib(readFileSync(vnn(8), 'utf8'));
    expect(unsafeDepth(propertyData(p.properties[0], 5), res.x!, res.y!)).toBeLessThan(0);
  });

  it('holds: exit 0 and "unsat"; a time limit too short for the proof: exit 3 and "timeout"; a JSON report', async () => {
    const dir = tmp();
    const out = join(dir, 'r.txt');
    const report = join(dir, 'report.json');
    const r = await runCli(['verify', '--model', acas('1_1'), '--property', vnn(1), '--result', out, '--report', report]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('holds');
    expect(readFileSync(out, 'utf8')).toBe('unsat\n');
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    expect(rep.status).toBe('holds');
    expect(rep.shares.symbolic).toBeGreaterThan(0);
    // Non-TTY progress: a line per phase.
    expect(r.stderr).toMatch(/search: .* % of the box decided/);
    const t = await runCli(['verify', '--model', acas('3_3'), '--property', vnn(2), '--result', out, '--timeout', '1', '--quiet']);
    expect(t.code).toBe(3);
    expect(t.stdout.trim()).toBe('timeout');
    expect(readFileSync(out, 'utf8')).toBe('timeout\n');
    expect(t.stderr).toBe('');
  });

  it('bad input: exit 2 with the file and field named, nothing written', async () => {
    const dir = tmp();
    const out = join(dir, 'r.txt');
    const bad = join(dir, 'bad.vnnlib');
    writeFileSync(bad, '(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= Y_0 1))');
    let r = await runCli(['verify', '--model', acas('1_1'), '--property', bad, '--result', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/declares 1 inputs X_i, the network has 5/);
    r = await runCli(['verify', '--model', acas('1_1'), '--property', join(dir, 'missing.vnnlib'), '--result', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.vnnlib: cannot read the file/);
    r = await runCli(['verify', '--model', acas('1_1'), '--property', vnn(1), '--timeout', '-3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout: must be a number of seconds > 0 \(got "-3"\)/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('relu-repair run-instances', () => {
  it('answers every row of a benchmark CSV (paths relative to it) and writes the counterexamples', async () => {
    const dir = tmp();
    const rows = [
      'ACASXU_run2a_1_1_batch_2000.onnx,prop_1.vnnlib,116',
      'ACASXU_run2a_2_1_batch_2000.onnx,prop_2.vnnlib,116',
      'ACASXU_run2a_1_9_batch_2000.onnx,prop_7.vnnlib,116',
      'ACASXU_run2a_4_5_batch_2000.onnx,prop_10.vnnlib,116',
    ];
    for (const f of [
      'ACASXU_run2a_1_1_batch_2000.onnx',
      'ACASXU_run2a_2_1_batch_2000.onnx',
      'ACASXU_run2a_1_9_batch_2000.onnx',
      'ACASXU_run2a_4_5_batch_2000.onnx',
      'prop_1.vnnlib',
      'prop_2.vnnlib',
      'prop_7.vnnlib',
      'prop_10.vnnlib',
    ])
      copyFileSync(fixture('acasxu', f), join(dir, f));
    const csv = join(dir, 'instances.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const out = join(dir, 'results.csv');
    const r = await runCli(['run-instances', csv, '--out', out, '--workers', '2']);
    expect(r.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(RESULTS_HEADER);
    const results = lines.slice(1).map((l) => l.split(','));
    expect(results.map((c) => c[3])).toEqual(['unsat', 'sat', 'sat', 'unsat']);
    for (const c of results.filter((c) => c[3] === 'sat')) {
      const res = parseResultText(readFileSync(join(dir, c[10]), 'utf8'));
      const net = await loadModel(join(dir, c[0]));
      const p = parseVnnlib(readFileSync(join(dir, c[1]), 'utf8'));
      expect(unsafeDepth(propertyData(p.properties[0], 5), res.x!, forwardFloat64(net, res.x!))).toBeLessThan(0);
    }
    expect(r.stderr).toMatch(/4 instances: 2 hold, 2 violated, 0 timeout, 0 unknown/);
  }, 120_000);

  it('--repair is rejected (exit 2), and so is a CSV naming a missing file unless --skip-missing', async () => {
    const dir = tmp();
    const csv = join(dir, 'i.csv');
    writeFileSync(csv, 'nope.onnx,prop_1.vnnlib,10\n');
    const out = join(dir, 'results.csv');
    let r = await runCli(['run-instances', csv, '--out', out, '--repair']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--repair: --repair is not available yet/);
    r = await runCli(['run-instances', csv, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/i\.csv: line 1: does not exist/);
    expect(existsSync(out)).toBe(false);
    // With --skip-missing the rows whose files exist run (a benchmark on some of its networks).
    for (const f of ['ACASXU_run2a_4_5_batch_2000.onnx', 'prop_4.vnnlib', 'prop_1.vnnlib'])
      copyFileSync(fixture('acasxu', f), join(dir, f));
    writeFileSync(csv, 'nope.onnx,prop_1.vnnlib,10\nACASXU_run2a_4_5_batch_2000.onnx,prop_4.vnnlib,10\n');
    r = await runCli(['run-instances', csv, '--out', out, '--skip-missing']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/1 of 2 rows skipped/);
    expect(readFileSync(out, 'utf8').trim().split('\n').slice(1)[0]).toMatch(/^ACASXU_run2a_4_5_batch_2000\.onnx,prop_4\.vnnlib,10,unsat,/);
  });
});

describe('VNN-COMP formats', () => {
  it('result files round-trip; malformed ones are refused', () => {
    const x = [0.1, -0.25, 3e-8];
    const y = [1.5, -2];
    const text = resultText({ result: 'sat', x, y });
    expect(text).toBe('sat\n((X_0 0.1)\n (X_1 -0.25)\n (X_2 3e-8)\n (Y_0 1.5)\n (Y_1 -2))\n');
    expect(parseResultText(text)).toEqual({ result: 'sat', x, y });
    expect(parseResultText('unsat\n')).toEqual({ result: 'unsat' });
    expect(parseResultText('holds')).toEqual({ result: 'unsat' });
    expect(() => parseResultText('maybe\n')).toThrow(InputError);
    expect(() => parseResultText('sat\n((X_0 1) (X_2 3))')).toThrow(/no X_1/);
    expect(() => resultText({ result: 'sat' })).toThrow(/needs the counterexample/);
  });

  it('instances CSVs: the shared file reads as 186 rows; bad rows are named', () => {
    const rows = parseInstancesCsv(readFileSync(fixture('acasxu', 'acasxu_instances.csv'), 'utf8'));
    expect(rows.length).toBe(186);
    expect(rows[0]).toEqual({ onnx: 'ACASXU_run2a_1_1_batch_2000.onnx', vnnlib: 'prop_1.vnnlib', timeout: 116, line: 1 });
    expect(parseInstancesCsv('onnx,vnnlib,timeout\na.onnx,b.vnnlib,5\n\n')).toEqual([
      { onnx: 'a.onnx', vnnlib: 'b.vnnlib', timeout: 5, line: 2 },
    ]);
    expect(() => parseInstancesCsv('a.onnx,b.vnnlib\n', 'x.csv')).toThrow(/x\.csv: line 1: must have three fields/);
    expect(() => parseInstancesCsv('a.onnx,b.vnnlib,0\n', 'x.csv')).toThrow(/timeout must be a number of seconds > 0/);
    expect(() => parseInstancesCsv('\n', 'x.csv')).toThrow(/lists no instances/);
  });
});
