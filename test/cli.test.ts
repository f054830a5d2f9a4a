/** The built CLI (dist/cli.js), run as a user runs it. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadRepaired, parsePoints } from '../ts/index.js';
import { argmax, fixture, runCli } from './helpers.js';

const run = runCli;

const NNET = fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet');
const POINTS = fixture('hcas/buggy-points-pra1-tau05.json');

describe('relu-repair CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-cli-'));
  beforeAll(() => init());

  it('repairs the HCAS points: exit 0, report with stable keys, loadable network', async () => {
    const out = join(dir, 'repaired.json');
    const rep = join(dir, 'report.json');
    const r = await run(['repair', '--model', NNET, '--points', POINTS, '--out', out, '--report', rep]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/50\/50 buggy points fixed/);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['schemaVersion', 'tool', 'result', 'regions', 'timingsMs']));
    expect(Object.keys(report.tool)).toEqual(expect.arrayContaining(['name', 'version', 'wasm', 'lp']));
    expect(Object.keys(report.result)).toEqual(expect.arrayContaining(['status', 'buggyPoints', 'fixedPoints', 'regions', 'maxPatchNorm']));
    expect(Object.keys(report.regions[0])).toEqual(
      expect.arrayContaining(['constraints', 'patchNorm', 'lowerBound', 'minimalityProof', 'lpMs']),
    );
    expect(Object.keys(report.timingsMs)).toEqual(expect.arrayContaining(['total', 'regions', 'lp']));
    expect(report.result).toMatchObject({ status: 'repaired', buggyPoints: 50, fixedPoints: 50 });
    const net = await loadRepaired(out);
    const pts = parsePoints(JSON.parse(readFileSync(POINTS, 'utf8')), 3, 5);
    expect(net.predict(pts.points).every((y) => argmax(y) === 4)).toBe(true);
  });

  it('accepts the array points format, --label and --input-box lo,hi', async () => {
    const pts = parsePoints(JSON.parse(readFileSync(POINTS, 'utf8')), 3, 5).points.slice(0, 4);
    const file = join(dir, 'array-points.json');
    writeFileSync(file, JSON.stringify(pts.map((p) => ({ input: p, label: 4 }))));
    const out = join(dir, 'r2.json');
    const r = await run([
      'repair',
      '--model',
      NNET,
      '--points',
      file,
      '--label',
      '4',
      '--input-box',
      '-65000,65000',
      '--out',
      out,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    // The same job in 2 worker threads with HiGHS named as backend: the same network, byte for byte.
    const out2 = join(dir, 'r3.json');
    const r2 = await run([
      'repair',
      '--model',
      NNET,
      '--points',
      file,
      '--label',
      '4',
      '--input-box',
      '-65000,65000',
      '--out',
      out2,
      '--quiet',
      '--workers',
      '2',
      '--lp',
      'highs',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(out2, 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  const badInput = async (args: string[], message: RegExp) => {
    const out = join(dir, `never-${Math.random()}.json`);
    const rep = join(dir, `never-report-${Math.random()}.json`);
    const r = await run([...args, '--out', out, '--report', rep]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(rep)).toBe(false);
  };

  it('truncated .nnet: exit 2, names file and line, writes nothing', async () => {
    const cut = join(dir, 'cut.nnet');
    writeFileSync(cut, readFileSync(NNET, 'utf8').split('\n').slice(0, 60).join('\n'));
    await badInput(['repair', '--model', cut, '--points', POINTS], /cut\.nnet: line \d+: the file ends before layer/);
  });

  it('point of the wrong dimension: exit 2, names file, field and value', async () => {
    const f = join(dir, 'bad-dim.json');
    writeFileSync(
      f,
      JSON.stringify({
        points: [
          [1, 2, 3],
          [1, 2],
        ],
        targetLabel: 4,
      }),
    );
    await badInput(
      ['repair', '--model', NNET, '--points', f, '--input-box', '-65000,65000'],
      /bad-dim\.json: points\[1\]: has 2 coordinates, the network has 3 inputs \(got \[1,2\]\)/,
    );
  });

  it('label out of range: exit 2', async () => {
    await badInput(['repair', '--model', NNET, '--points', POINTS, '--label', '9'], /label is out of range: the network has 5 outputs/);
    const f = join(dir, 'bad-label.json');
    writeFileSync(f, JSON.stringify({ points: [[1, 2, 3]], labels: [5] }));
    await badInput(['repair', '--model', NNET, '--points', f], /bad-label\.json: labels\[0\]: is not a valid label.*\(got 5\)/);
  });

  it('no input domain anywhere: exit 2 with the reason', async () => {
    const model = join(dir, 'model.json');
    writeFileSync(
      model,
      JSON.stringify({
        format: 'relu-repair.network',
        version: 1,
        layers: [
          {
            weights: [
              [1, 0],
              [0, 1],
            ],
            bias: [0, 0],
            activation: 'linear',
          },
        ],
      }),
    );
    const f = join(dir, 'p.json');
    writeFileSync(f, JSON.stringify({ points: [[0, 1]], targetLabel: 0 }));
    await badInput(['repair', '--model', model, '--points', f], /no input domain/);
  });

  it('malformed JSON and missing files: exit 2', async () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{"points": [[1, 2, 3]');
    await badInput(['repair', '--model', NNET, '--points', f], /broken\.json: is not valid JSON/);
    await badInput(['repair', '--model', join(dir, 'nope.nnet'), '--points', POINTS], /nope\.nnet: cannot read the file: ENOENT/);
    await badInput(['repair', '--model', NNET, '--points', POINTS, '--radius', 'abc'], /--radius: is not a finite number \(got "abc"\)/);
    await badInput(
      ['repair', '--model', NNET, '--points', POINTS, '--workers', '0'],
      /--workers: must be an integer from 1 to 256 \(got "0"\)/,
    );
    await badInput(['repair', '--model', NNET, '--points', POINTS, '--lp', 'cplex'], /--lp: unknown LP backend/);
  });

  it('demo: the embedded default repairs 50/50 and prints a readable table, a summary and honest timing', async () => {
    const rep = join(dir, 'demo-report.json');
    const r = await run(['demo', '--report', rep, '--repeats', '3']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    // The inputs are raw network inputs (REASSURE feeds them un-normalised), not feet.
    expect(r.stdout).not.toMatch(/\[ft\]|feet\]/);
    const head = lines.findIndex((l) => /^ #\s+x0\s+x1\s+x2\s+before -> after\s+region\s+patch \|p\|inf\s+lower bound\s+proof$/.test(l));
    expect(head).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/x0, x1, x2 are the raw network inputs.*\n.*not feet/);
    const rows = lines.slice(head + 1, head + 51);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    const pts = parsePoints(JSON.parse(readFileSync(POINTS, 'utf8')), 3, 5).points;
    rows.forEach((row, i) => {
      const m = /^\s*(\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?[\d.]+)\s+(\w+) \((\d)\) -> SR \(4\)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(row);
      expect(m, row).not.toBeNull();
      expect(Number(m![1])).toBe(i);
      expect(Number(m![4])).toBeCloseTo(pts[i][2], 4);
      const g = report.regions[Number(m![7])];
      expect(g.points).toContain(i);
      expect(Math.abs(Number(m![8]) - g.patchNorm)).toBeLessThanOrEqual(5e-6 * g.patchNorm); // 6 significant digits
      expect(m![10]).toBe(g.minimalityProof);
    });
    expect(r.stdout).toMatch(
      /Summary: 50\/50 buggy points fixed with 42 patches .*; patches: 42 proven minimal \(42 by constant-patch\); certificate of the finished network: 42\/42 regions certified/,
    );
    // Timing says which run it is: the first (cold) and the median of warm repeats.
    expect(r.stdout).toMatch(
      /Time: first run \d+ ms \(cold: includes warming up the core\); warm: [\d.]+ ms, median of 3 repeats \([\d.]+ ms per point\)/,
    );
  });
});
