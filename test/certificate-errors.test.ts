/**
 * The error paths and robustness cases of issue 11, each as a user meets it through the CLI:
 * one-region areas, flat (lower == upper) areas, empty safe sets, absurd boxes and empty input
 * sets, one point with two labels, Ctrl-C during certify, an output in a missing directory, and
 * what a file records about its own repair (a deleted patch does not pass silently).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../ts/index.js';
import { fixture, root, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'relu-repair-errors-'));
const path = (n: string) => join(dir, n);
const write = (n: string, v: unknown) => {
  writeFileSync(path(n), typeof v === 'string' ? v : JSON.stringify(v));
  return path(n);
};
const network = (layers: unknown[]) => ({ format: 'relu-repair.network', version: 1, layers });

// y = (x0 + 10, x1 + 10) through always-active ReLUs on [0, 1]³: one linear region. Label 1 fails
// where x0 > x1.
const ONE = network([
  {
    weights: [
      [1, 0, 0],
      [0, 1, 0],
    ],
    bias: [10, 10],
    activation: 'relu',
  },
  {
    weights: [
      [1, 0],
      [0, 1],
    ],
    bias: [0, 0],
    activation: 'linear',
  },
]);
const SMALL = network([
  {
    weights: [
      [1, -1, 0.5],
      [0.3, 1, -1],
      [-1, 0.2, 1],
      [0.7, 0.7, -0.4],
    ],
    bias: [0.1, -0.2, 0.05, 0],
    activation: 'relu',
  },
  {
    weights: [
      [1, -1, 0.5, 0.2],
      [-0.5, 1, 1, -1],
    ],
    bias: [0, 0.1],
    activation: 'linear',
  },
]);

describe('error paths and robustness (issue 11)', () => {
  beforeAll(() => init());

  it('an area that is exactly one linear region is repaired and certified (a support with no rows), point-wise too', async () => {
    const m = write('one.json', ONE);
    const a = write('one-area.json', { box: { lower: [0, 0, 0], upper: [1, 1, 1] }, targetLabel: 1 });
    let r = await runCli(['repair', '--model', m, '--area', a, '--out', path('one-rep.json'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(['certify', '--model', path('one-rep.json'), '--area', a, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(path('one-rep.json'), 'utf8'));
    expect(doc.patches[0].support.b ?? doc.patches[0].support.fromRegion).toHaveLength(0);
    const pts = write('one-points.json', { points: [[0.9, 0.1, 0.5]], labels: [1], inputBox: { lower: [0, 0, 0], upper: [1, 1, 1] } });
    r = await runCli(['repair', '--model', m, '--points', pts, '--out', path('one-pw.json'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a flat area (lower == upper in one dimension) is repaired and certified in bounded time, not a hang', async () => {
    const m = write('small.json', SMALL);
    const a = write('flat-area.json', { box: { lower: [-1, 0.25, -1], upper: [1, 0.25, 1] }, targetLabel: 1 });
    const t0 = performance.now();
    let r = await runCli(['repair', '--model', m, '--area', a, '--out', path('flat-rep.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/thinner than minRadius|regions certified/);
    r = await runCli(['certify', '--model', path('flat-rep.json'), '--area', a, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('an empty safe set P y <= q is refused before any work (exit 2, naming the file and the rows)', async () => {
    const m = write('one-b.json', ONE);
    const a = write('one-area-b.json', { box: { lower: [0, 0, 0], upper: [1, 1, 1] } });
    const s = write('empty-spec.json', {
      P: [
        [1, 0],
        [-1, 0],
      ],
      q: [-1e9, -1e9],
    });
    let r = await runCli(['repair', '--model', m, '--area', a, '--spec', s, '--out', path('x.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/empty-spec\.json.*the safe output set P y <= q is empty: no output satisfies rows 0, 1 together/);
    expect(r.stderr).not.toMatch(/glpk/);
    const pts = write('pts-b.json', { points: [[0.5, 0.5, 0.5]], inputBox: { lower: [0, 0, 0], upper: [1, 1, 1] } });
    r = await runCli(['repair', '--model', m, '--points', pts, '--spec', s, '--out', path('x.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/empty-spec\.json.*rows 0, 1/);
    expect(existsSync(path('x.json'))).toBe(false);
  });

  it('a box bound of −1e308 and an empty A x <= b: exit 2 with the reason', async () => {
    const m = write('one-c.json', ONE);
    const huge = write('huge.json', { box: { lower: [-1e308, 0, 0], upper: [1, 1, 1] }, targetLabel: 1 });
    let r = await runCli(['repair', '--model', m, '--area', huge, '--out', path('y.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/box\.lower\[0\].*beyond ±1000000000000.*-1e\+308/);
    r = await runCli(['certify', '--model', m, '--area', huge]);
    expect(r.code, r.stderr).toBe(2);
    const empty = write('empty.json', { box: { lower: [0, 0, 0], upper: [1, 1, 1] }, A: [[1, 1, 1]], b: [-1], targetLabel: 1 });
    r = await runCli(['repair', '--model', m, '--area', empty, '--out', path('y.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the area is empty: no point of the box satisfies A x <= b/);
    r = await runCli(['certify', '--model', m, '--area', empty]);
    expect(r.code, r.stderr).toBe(2);
    expect(existsSync(path('y.json'))).toBe(false);
  });

  it('the same point with two labels: exit 2 naming both indices', async () => {
    const m = write('one-d.json', ONE);
    const pts = write('twice.json', {
      points: [
        [0.2, 0.3, 0.4],
        [0.9, 0.1, 0.5],
        [0.2, 0.3, 0.4],
      ],
      labels: [0, 1, 1],
      inputBox: { lower: [0, 0, 0], upper: [1, 1, 1] },
    });
    const r = await runCli(['repair', '--model', m, '--points', pts, '--out', path('z.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/points\[2\]: is the same point as points\[0\] but has label 1, that one 0/);
  });

  it('certify: an output in a missing directory is refused before any work; Ctrl-C exits 130 with nothing written', async () => {
    const net = fixture('acasxu/ACASXU_run2a_2_1_batch_2000.onnx');
    const prop = fixture('acasxu/prop_2.vnnlib');
    const r = await runCli(['certify', '--model', net, '--area', prop, '--report', join(dir, 'no-such-dir', 'r.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--report: the directory .*no-such-dir does not exist/);
    const report = path('interrupted.json');
    // The whole φ2 box: some 190,000 regions (a minute of enumeration); interrupted once running.
    const args = ['certify', '--model', net, '--area', prop, '--max-regions', '1000000', '--report', report];
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root });
    let stderr = '';
    let scheduled = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The property is read: the enumeration is about to run.
        if (/property 0 of 1/.test(stderr) && !scheduled) {
          scheduled = true;
          setTimeout(() => child.kill('SIGINT'), 1500);
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(stderr).toMatch(/interrupted \(Ctrl-C\)/);
    expect(code, stderr).toBe(130);
    expect(existsSync(report)).toBe(false);
  }, 60_000);

  it('a file records its repair: a deleted patch is reported and not certified; an area or spec other than the recorded one is named', async () => {
    const m = write('small-e.json', SMALL);
    const a = write('small-area.json', { box: { lower: [-1, -1, -1], upper: [1, 1, 1] }, targetLabel: 1 });
    let r = await runCli(['repair', '--model', m, '--area', a, '--out', path('rec.json'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(path('rec.json'), 'utf8'));
    expect(doc.record).toMatchObject({ kind: 'area', area: { lower: [-1, -1, -1], upper: [1, 1, 1] }, patches: doc.patches.length });
    expect(doc.record.regions.length).toBeGreaterThan(1);
    // Without --area and without a spec flag: the recorded spec, the regions named, the patch count.
    r = await runCli(['certify', '--model', path('rec.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`certified on the ${doc.record.regions.length} region\\(s\\) its ${doc.patches.length} patch\\(es\\) repaired`),
    );
    expect(r.stderr).toMatch(/; regions [0-9a-f]+/);
    // One patch deleted: not certified, the mismatch named, the orphaned region refused too.
    const cut = structuredClone(doc);
    cut.patches.splice(0, 1);
    writeFileSync(path('cut.json'), JSON.stringify(cut));
    r = await runCli(['certify', '--model', path('cut.json')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/mismatch \(patches\): the file records \d+ patch\(es\) from its repair, it has \d+/);
    expect(r.stderr).toMatch(/mismatch \(regions\): 1 region\(s\) the repair patched have no patch in the file/);
    // Another area: named, and certified honestly on it.
    const other = write('other-area.json', { box: { lower: [-0.5, -1, -1], upper: [1, 1, 1] }, targetLabel: 1 });
    r = await runCli(['certify', '--model', path('rec.json'), '--area', other]);
    expect(r.stderr).toMatch(/mismatch \(area\): the file was repaired on the area box \[-1, -1, -1\]/);
    // --tolerance: an absolute tolerance the bound must meet (0 cannot be met: rounding is counted).
    r = await runCli(['certify', '--model', path('rec.json'), '--tolerance', '0', '--quiet']);
    expect(r.code, r.stderr).toBe(1);
    r = await runCli(['certify', '--model', path('rec.json'), '--tolerance', '1e-6', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(['certify', '--model', path('rec.json'), '--tolerance', '-1']);
    expect(r.code, r.stderr).toBe(2);
  });
});
