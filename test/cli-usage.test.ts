/**
 * The CLI never surprises (issue 13), run as a user runs it (dist/cli.js): each flag works in each
 * mode or is refused with exit 2 naming the flag and the mode, before any work; unknown output
 * extensions and missing output directories are refused; no arguments is a usage error; the
 * default ONNX precision follows the bands; the summary says what the report says; Ctrl-C exits
 * 130 and writes nothing; help texts say how a VNN-LIB property is passed; activation hints.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadRepaired, networkToJson, parseNnet, parseVnnlib, specViolation } from '../ts/index.js';
import { buildOnnx } from './formats-helpers.js';
import { argmax, fixture, narrowBoxCase, randomNetwork, rng, root, runCli } from './helpers.js';

const run = runCli;
const TAU05 = fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet');
const TAU20 = fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet');
const POINTS = fixture('hcas/buggy-points-pra1-tau05.json');
const AREA = fixture('hcas/area-repair-pra1-tau20.json');
const MNIST = fixture('mnist/reassure-mlp-784-256-256-10.onnx');
const IMAGES = fixture('mnist/t10k-images-idx3-ubyte.gz');
const LABELS = fixture('mnist/t10k-labels-idx1-ubyte.gz');

describe('relu-repair CLI: usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-usage-'));
  beforeAll(() => init());

  /** Exit 2 with the message, before any work (no progress line) and with nothing written. */
  const refused = async (args: string[], message: RegExp) => {
    const before = readdirSync(dir).length;
    const r = await run(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/progress:/);
    expect(readdirSync(dir).length).toBe(before);
  };
  const out = (name: string) => join(dir, name);

  it('no arguments: exit 2 with the help on stderr; --help: exit 0', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: relu-repair \[options\] \[command\]/);
    expect(r.stderr).toMatch(/repair \[options\][\s\S]*certify[\s\S]*demo[\s\S]*compare[\s\S]*find-failures/);
    expect(r.stderr).toMatch(/no command given/);
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('repair --area refuses the point-wise-only flags, naming flag and mode', async () => {
    const base = ['repair', '--model', TAU20, '--area', AREA, '--out', out('a.json')];
    await refused(
      [...base, '--input-box', '0,1'],
      /--input-box: does not apply to area repair \(--area\): the area file's box is the input domain/,
    );
    // Area repair takes --workers for its branch and bound only (--method bab); this area is enumerated.
    await refused([...base, '--workers', '2'], /--workers: applies to --method bab only among area repairs/);
    await refused([...base, '--no-certify'], /--no-certify: does not apply to area repair \(--area\): area repair always certifies/);
    await refused([...base, '--certify'], /--certify: does not apply to area repair \(--area\): area repair always certifies/);
  });

  it('point-wise --certify certifies above 8 inputs too, --no-certify never; the default certifies up to 8', async () => {
    const g = rng(21);
    const net = randomNetwork(g, [10, 12, 3]);
    const model = out('ten.json');
    writeFileSync(model, JSON.stringify(networkToJson(net)));
    // Points where label 0 does not win (one convex spec for all: chain composition certifies it).
    const xs: number[][] = [];
    while (xs.length < 3) {
      const x = Array.from({ length: 10 }, () => g.range(-1, 1));
      if (argmax(net.predict([x])[0]) !== 0) xs.push(x);
    }
    const pts = out('ten-points.json');
    writeFileSync(pts, JSON.stringify({ points: xs, targetLabel: 0, inputBox: { lower: -1, upper: 1 } }));
    const job = async (extra: string[]) => {
      const rep = out(`ten-report${extra.join('')}.json`);
      const r = await run([
        'repair',
        '--model',
        model,
        '--points',
        pts,
        '--out',
        out(`ten-out${extra.join('')}.json`),
        '--report',
        rep,
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return { stderr: r.stderr, report: JSON.parse(readFileSync(rep, 'utf8')) };
    };
    const d = await job([]);
    expect(d.report.certificate).toBeUndefined();
    expect(d.stderr).toMatch(/not certified by default for more than 8 inputs \(--certify asks for it\)/);
    const c = await job(['--certify']);
    expect(c.report.certificate).toMatchObject({ status: 'certified', regions: c.report.result.regions });
    expect(c.stderr).toMatch(/certificate: \d+\/\d+ regions certified/);
    const n = await job(['--no-certify']);
    expect(n.report.certificate).toBeUndefined();
    expect(n.stderr).toMatch(/certificate skipped \(--no-certify\)/);
  });

  it('repair --points refuses --max-regions; flags tied to a file kind are refused elsewhere', async () => {
    const base = ['repair', '--model', TAU05, '--points', POINTS];
    await refused(
      [...base, '--out', out('p.json'), '--max-regions', '5'],
      /--max-regions: does not apply to point-wise repair \(--points\): it limits the regions of an area/,
    );
    await refused(
      [...base, '--out', out('p.json'), '--onnx-precision', 'float64'],
      /--onnx-precision: does not apply to point-wise repair \(--points\): --out .*p\.json is not ONNX/,
    );
    await refused(
      [...base, '--out', out('p.json'), '--vnnlib-tolerance', '1e-4'],
      /--vnnlib-tolerance: does not apply to point-wise repair.*give --out-vnnlib too/,
    );
    await refused([...base, '--out', out('p.json'), '--property', '1'], /--property: does not apply to point-wise repair.*VNN-LIB/);
    const spec = out('spec.json');
    writeFileSync(spec, JSON.stringify({ label: 4 }));
    await refused([...base, '--out', out('p.json'), '--spec', spec, '--margin', '1'], /--margin: does not apply with --spec FILE/);
    const json = out('model.json');
    writeFileSync(json, JSON.stringify(networkToJson(parseNnet(readFileSync(TAU05, 'utf8'), 'tau05.nnet'))));
    await refused(
      ['repair', '--model', json, '--points', POINTS, '--out', out('p.json'), '--nnet-normalize'],
      /--nnet-normalize: does not apply to point-wise repair.*is not a \.nnet file/,
    );
    await refused(
      ['repair', '--model', TAU20, '--area', AREA, '--out', out('p.json'), '--nnet-normalize', '--input-box', '0,1'],
      /--input-box: does not apply to area repair/,
    );
  });

  it('certify and export-model refuse flags that do not apply; certify --spec X.vnnlib says to use --area', async () => {
    await refused(
      ['certify', '--model', TAU20, '--label', '4', '--max-regions', '3'],
      /--max-regions: does not apply to certify without --area/,
    );
    await refused(
      ['certify', '--model', TAU20, '--area', AREA, '--property', '1'],
      /--property: does not apply to certify: it picks a property of a VNN-LIB area/,
    );
    await refused(
      ['certify', '--model', TAU20, '--spec', out('p.vnnlib')],
      /--spec: a VNN-LIB property is passed as --area .*certify --model M --area prop\.vnnlib/,
    );
    await refused(
      ['export-model', '--model', TAU05, '--out', out('m.nnet'), '--onnx-precision', 'float64'],
      /--onnx-precision: does not apply to export-model: --out .*m\.nnet is not ONNX/,
    );
    await refused(
      ['export-model', '--model', MNIST, '--out', out('m.json'), '--nnet-normalize'],
      /--nnet-normalize: does not apply to export-model.*not a \.nnet file/,
    );
  });

  it('unknown output extensions are refused (exit 2), never written as JSON', async () => {
    await refused(
      ['repair', '--model', TAU05, '--points', POINTS, '--out', out('r.txt')],
      /--out: unknown extension "\.txt" for a repaired network \(expected \.json, \.onnx\)/,
    );
    await refused(['repair', '--model', TAU05, '--points', POINTS, '--out', out('repaired')], /--out: no extension for a repaired network/);
    await refused(
      ['repair', '--model', TAU20, '--area', AREA, '--out', out('r.nnet')],
      /--out: unknown extension "\.nnet" for a repaired network/,
    );
    await refused(
      ['export-model', '--model', TAU05, '--out', out('m.pt')],
      /--out: unknown extension "\.pt" for a model \(expected \.json, \.onnx, \.nnet\)/,
    );
    await refused(['demo', '--out', out('d.csv')], /--out: unknown extension "\.csv"/);
    await refused(
      ['compare', '--model', MNIST, '--repaired', MNIST, '--data', IMAGES, '--labels', LABELS, '--out', out('c.csv')],
      /--out: unknown extension "\.csv" for the comparison \(expected \.json\)/,
    );
    await refused(
      ['compare', '--model', MNIST, '--repaired', MNIST, '--data', IMAGES, '--labels', LABELS, '--plot', out('c.png')],
      /--plot: unknown extension "\.png" for the chart \(expected \.svg\)/,
    );
    await refused(
      ['find-failures', '--model', MNIST, '--data', IMAGES, '--labels', LABELS, '--out', out('f.txt')],
      /--out: unknown extension "\.txt" for a points file/,
    );
  });

  it('an output in a missing directory is refused before any work (exit 2)', async () => {
    const missing = join(dir, 'no-such-dir');
    await refused(
      ['repair', '--model', TAU05, '--points', POINTS, '--out', join(missing, 'r.json')],
      /--out: the directory .*no-such-dir does not exist \(create it first; nothing was computed\)/,
    );
    await refused(
      ['repair', '--model', TAU05, '--points', POINTS, '--out', out('r.json'), '--report', join(missing, 'rep.json')],
      /--report: the directory .*no-such-dir does not exist/,
    );
    await refused(
      ['repair', '--model', TAU20, '--area', AREA, '--out', out('r.json'), '--out-vnnlib', join(missing, 'p.vnnlib')],
      /--out-vnnlib: the directory .*no-such-dir does not exist/,
    );
    await refused(
      ['certify', '--model', TAU20, '--area', AREA, '--report', join(missing, 'c.json')],
      /--report: the directory .*no-such-dir does not exist/,
    );
    await refused(
      ['compare', '--model', MNIST, '--repaired', MNIST, '--data', IMAGES, '--labels', LABELS, '--plot', join(missing, 'c.svg')],
      /--plot: the directory .*no-such-dir does not exist/,
    );
    await refused(['demo', '--report', join(missing, 'r.json')], /--report: the directory .*no-such-dir does not exist/);
    await refused(['repair', '--model', TAU05, '--points', POINTS, '--out', dir + '/'], /--out: (no extension|.*is a directory)/);
  });

  it('repair --area with --out-vnnlib writes one property per patch, each holding on samples of its region', async () => {
    const o = out('area.json');
    const props = out('area.vnnlib');
    const r = await run([
      'repair',
      '--model',
      TAU20,
      '--area',
      AREA,
      '--out',
      o,
      '--out-vnnlib',
      props,
      '--vnnlib-tolerance',
      '1e-4',
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const net = await loadRepaired(o);
    const files = readdirSync(dir).filter((f) => /^area\.region\d+\.vnnlib$/.test(f));
    expect(files.length).toBe(net.patches.length);
    const parsed = files.map((f) => parseVnnlib(readFileSync(join(dir, f), 'utf8'), f, { inputs: 3, outputs: 5 }).properties[0]);
    // Samples of the area; each is checked against every property whose input set contains it:
    // no output may lie in an unsafe set (all rows of one U_t satisfied).
    const g = rng(5);
    const xs = Array.from({ length: 20_000 }, () => [g.range(10, 5000), g.range(10, 5000), g.range(-Math.PI, -Math.PI / 2)]);
    const ys = net.predict(xs);
    const holds = (A: ArrayLike<number>, b: ArrayLike<number>, v: number[], tol = 0) => {
      for (let i = 0; i < b.length; i++) {
        let a = 0;
        for (let j = 0; j < v.length; j++) a += A[i * v.length + j] * v[j];
        if (a > b[i] + tol) return false;
      }
      return true;
    };
    let checked = 0;
    xs.forEach((x, s) => {
      for (const p of parsed) {
        if (x.some((v, j) => v < p.input.box.lower[j] || v > p.input.box.upper[j]) || !holds(p.input.rows.A, p.input.rows.b, x)) continue;
        for (const u of p.unsafe) expect(holds(u.A, u.b, ys[s])).toBe(false);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(2000);
  });

  it('repair --area --nnet-normalize repairs the normalised network (inputs in raw header units)', async () => {
    const o = out('norm.json');
    const area = out('norm-area.json');
    // Raw units: x, y in feet inside the training domain, theta in radians (the header's ranges).
    writeFileSync(area, JSON.stringify({ box: { lower: [5000, 5000, 0], upper: [8000, 8000, 0.3] }, targetLabel: 4 }));
    const r = await run(['repair', '--model', TAU20, '--area', area, '--nnet-normalize', '--out', o, '--report', out('norm-report.json')]);
    expect(r.code, r.stderr).toBe(0);
    const net = await loadRepaired(o);
    const normalised = parseNnet(readFileSync(TAU20, 'utf8'), 'tau20.nnet', { normalize: true });
    // The repaired network's original part is the normalised network, bit for bit.
    expect(net.original.layers.map((l) => Array.from(l.weights))).toEqual(normalised.layers.map((l) => Array.from(l.weights)));
    const g = rng(9);
    const xs = Array.from({ length: 300 }, () => [g.range(5000, 8000), g.range(5000, 8000), g.range(0, 0.3)]);
    expect(net.predict(xs).every((y) => y.indexOf(Math.max(...y)) === 4)).toBe(true);
  });

  it('the summary counts proven-minimal, enlarged and split patches as the report does', async () => {
    const r0 = rng(7);
    narrowBoxCase(r0); // the same draws as the certificate test: its second case splits regions into cells
    const { net, inputBox, points, spec } = narrowBoxCase(r0);
    const model = out('narrow.json');
    writeFileSync(model, JSON.stringify(networkToJson(net)));
    const pts = out('narrow-points.json');
    writeFileSync(pts, JSON.stringify({ points, inputBox }));
    const specFile = out('narrow-spec.json');
    writeFileSync(
      specFile,
      JSON.stringify({ P: Array.from({ length: 4 }, (_, i) => Array.from(spec.P.subarray(i * 2, i * 2 + 2))), q: Array.from(spec.q) }),
    );
    const rep = out('narrow-report.json');
    const r = await run([
      'repair',
      '--model',
      model,
      '--points',
      pts,
      '--spec',
      specFile,
      '--out',
      out('narrow-out.json'),
      '--report',
      rep,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    const split = report.regions.filter((g: { minimalityProof: string }) => g.minimalityProof === 'cells');
    expect(split.length).toBeGreaterThan(0);
    const cells = split.reduce((t: number, g: { cells: number }) => t + g.cells, 0);
    expect(r.stderr).toContain(
      `${split.length} region(s) with no constant patch split into ${cells} cells with constant patches (not minimal`,
    );
    const proven = report.regions.filter(
      (g: { minimalityProof: string }) => g.minimalityProof === 'constant-patch' || g.minimalityProof === 'full-lp',
    );
    if (proven.length) expect(r.stderr).toMatch(new RegExp(`patches: ${proven.length} proven minimal`));
    else expect(r.stderr).not.toMatch(/proven minimal/);
    expect(r.stderr).not.toMatch(/by cells|by band-constrained/);
    // The repaired network satisfies the spec at the points (sanity: the report's claim).
    const repaired = await loadRepaired(out('narrow-out.json'));
    for (const y of repaired.predict(points)) expect(specViolation(spec, y)).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...y.map(Math.abs))));
  });

  it('non-TTY progress: one line per phase, with elapsed time', async () => {
    const r = await run(['repair', '--model', TAU20, '--area', AREA, '--out', out('prog.json')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines.map((l) => l.split(':')[1].trim())).toEqual(['enumerate', 'check', 'certify']);
    for (const l of lines) expect(l).toMatch(/\d+\/\d+ regions[ a-z]*, [\d.]+ s elapsed/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal output under test is made of ANSI escape sequences
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    expect((await run(['repair', '--model', TAU20, '--area', AREA, '--out', out('prog2.json'), '--quiet'])).stderr).toBe('');
  });

  it('help: certify says how a VNN-LIB property is passed; repair says which mode each flag is for', async () => {
    const c = await run(['certify', '--help']);
    expect(c.code).toBe(0);
    const flat = (s: string) => s.replace(/\s+/g, ' ');
    expect(flat(c.stdout)).toMatch(
      /A VNN-LIB property is passed as the area: `relu-repair certify --model repaired\.json --area prop\.vnnlib \[--property i\]`/,
    );
    expect(flat(c.stdout)).toMatch(/--area <file> certify every linear region of this area: JSON .*or a VNN-LIB property file/);
    const r = await run(['repair', '--help']);
    expect(flat(r.stdout)).toMatch(/--max-regions <N> area repair:/);
    expect(flat(r.stdout)).toMatch(/--workers <n> point-wise repair:/);
    expect(flat(r.stdout)).toMatch(
      /--onnx-precision <p> with --out X\.onnx: float32 or float64 \(default: float32 when it resolves every patch band, else float64\)/,
    );
  });

  it('activations that are not piecewise linear: the hint depends on where they are', async () => {
    const net = (nodes: { opType: string; inputs: string[]; outputs: string[] }[]) =>
      buildOnnx({
        input: { name: 'x', shape: ['N', 2] },
        output: { name: 'y' },
        nodes,
        inits: [{ name: 'W', dims: [2, 2], data: [1, 2, 3, 4] }],
      });
    const hidden = out('hidden-sigmoid.onnx');
    writeFileSync(
      hidden,
      net([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'Sigmoid', inputs: ['a'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'W'], outputs: ['y'] },
      ]),
    );
    const head = out('head-sigmoid.onnx');
    writeFileSync(
      head,
      net([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'Relu', inputs: ['a'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'W'], outputs: ['z'] },
        { opType: 'Sigmoid', inputs: ['z'], outputs: ['y'] },
      ]),
    );
    const tanh = out('hidden-tanh.onnx');
    writeFileSync(
      tanh,
      net([
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
        { opType: 'Tanh', inputs: ['a'], outputs: ['h'] },
        { opType: 'MatMul', inputs: ['h', 'W'], outputs: ['y'] },
      ]),
    );
    const h = await run(['export-model', '--model', hidden, '--out', out('x1.json')]);
    expect(h.code).toBe(2);
    expect(h.stderr).toMatch(
      /graph\.node\[1\].*operator Sigmoid is not piecewise linear: relu-repair repairs only piecewise-linear networks \(affine operators, ReLU, max, min\); a Sigmoid hidden layer cannot be repaired/,
    );
    expect(h.stderr).not.toMatch(/logits/);
    const t = await run(['export-model', '--model', tanh, '--out', out('x2.json')]);
    expect(t.stderr).toMatch(/Tanh is not piecewise linear: relu-repair repairs only piecewise-linear networks .*; a Tanh hidden layer/);
    const o = await run(['export-model', '--model', head, '--out', out('x3.json')]);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(
      /graph\.node\[3\].*Sigmoid is not piecewise linear: .*as the last operator, export the logits instead, i\.e\. the model without its final Sigmoid \(the argmax is the same\)/,
    );
    expect(existsSync(out('x1.json')) || existsSync(out('x2.json')) || existsSync(out('x3.json'))).toBe(false);
  });

  it('Ctrl-C: exit 130, nothing written', async () => {
    const pts = out('mnist-points.json');
    const f = await run(['find-failures', '--model', MNIST, '--data', IMAGES, '--labels', LABELS, '--limit', '12', '--out', pts]);
    expect(f.code, f.stderr).toBe(0);
    const o = out('interrupted.json');
    const rep = out('interrupted-report.json');
    const child = spawn(
      process.execPath,
      [join(root, 'dist/cli.js'), 'repair', '--model', MNIST, '--points', pts, '--out', o, '--report', rep],
      { cwd: root },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The regions phase has started: the job is running.
        if (/progress: regions:/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted \(Ctrl-C\): stopping, nothing will be written/);
    expect(existsSync(o) || existsSync(rep)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
