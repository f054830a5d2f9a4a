import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  getCore,
  InputError,
  init,
  LinearRegion,
  Network,
  networkFromJson,
  networkToJson,
  parseNnet,
  repair,
  repairedFromJson,
  repairedToJson,
  VERSION,
  WasmError,
} from '../ts/index.js';
import { resetForTests } from '../ts/wasm/raw.js';
import { fixture, hcasTau05, randomNetwork, rng, root } from './helpers.js';

describe('formats', () => {
  beforeAll(() => init());

  it('.nnet: reads header lines without trailing commas completely, and the declared range', () => {
    const { net } = hcasTau05();
    const nn = net as Network & { nnet: { min: number[]; mean: number[]; range: number[] } };
    expect(nn.nnet.min).toEqual([-56000, -56000, -3.141593]);
    expect(nn.nnet.mean).toEqual([-278.628049, 0, 0, -0.242819]);
    expect(nn.nnet.range).toEqual([112000, 112000, 6.283185, 17.479225]);
    expect(net.info.inputBox).toEqual({ lower: [-56000, -56000, -3.141593], upper: [56000, 56000, 3.141593] });
    expect(net.layers.map((l) => [l.inputs, l.outputs, l.relu])).toEqual([
      [3, 25, true],
      [25, 25, true],
      [25, 25, true],
      [25, 25, true],
      [25, 25, true],
      [25, 5, false],
    ]);
    expect(net.layers[0].weights[0]).toBe(-0.432604);
  });

  it('.nnet: truncation and bad tokens are typed errors naming the line', () => {
    const text = readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8');
    const lines = text.split('\n');
    expect(() => parseNnet(lines.slice(0, 100).join('\n'), 'cut.nnet')).toThrow(
      /cut\.nnet: line \d+: the file ends before layer \d+ .*truncated/,
    );
    const bad = [...lines];
    bad[20] = bad[20].replace(/[-0-9.e+]+,/, 'nan,');
    expect(() => parseNnet(bad.join('\n'), 'bad.nnet')).toThrow(
      /bad\.nnet: line 21: layer 0 weights, row \d+: not a finite number \(got "nan"\)/,
    );
    const short = [...lines];
    short[20] = short[20].replace(/^[^,]+,/, '');
    expect(() => parseNnet(short.join('\n'), 's.nnet')).toThrow(InputError);
  });

  it('JSON network and repaired network round-trip exactly', async () => {
    const { net, points, labels, inputBox } = hcasTau05();
    const back = networkFromJson(JSON.parse(JSON.stringify(networkToJson(net))));
    const xs = points.slice(0, 10);
    expect(back.predict(xs)).toEqual(net.predict(xs));
    const { network } = await repair(net, { points: points.slice(0, 5), labels: labels.slice(0, 5), inputBox });
    const doc = JSON.parse(JSON.stringify(repairedToJson(network)));
    const loaded = repairedFromJson(doc, 'r.json');
    expect(loaded.predict(points)).toEqual(network.predict(points));
    expect(loaded.patches.length).toBe(network.patches.length);
    doc.patches[0].support.b[0] = 'x';
    expect(() => repairedFromJson(doc, 'r.json')).toThrow(/r\.json: patches\[0\]\.support\.b\[0\]: is not a finite number \(got "x"\)/);
  });

  it('rejects NaN weights and mismatched shapes with the field named', () => {
    expect(() => Network.fromArrays([{ weights: [[1, NaN]], bias: [0] }], { source: 'm.json' })).toThrow(
      /m\.json: layers\[0\]\.weights\[0\]\[1\]: is not a finite number \(got NaN\)/,
    );
    expect(() =>
      Network.fromArrays([
        { weights: [[1, 2]], bias: [0] },
        { weights: [[1, 2]], bias: [0] },
      ]),
    ).toThrow(/layers\[1\]\.inputs: expects 2 inputs but layer 0 has 1 outputs \(got 2\)/);
    expect(() => Network.fromArrays([{ weights: [[1, 2]], bias: [0, 1] }])).toThrow(/layers\[0\]\.bias: expected 1 biases \(got 2\)/);
  });

  it('package and core versions agree', () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(getCore().coreVersion).toBe(pkg.version);
  });
});

describe('repair() input validation', () => {
  beforeAll(() => init());
  const { net, points, inputBox } = hcasTau05();

  it('names the field and value of bad inputs', async () => {
    await expect(repair(net, { points: [[1, 2]], labels: 4, inputBox })).rejects.toThrow(
      /points\[0\]: has 2 coordinates, the network has 3 inputs/,
    );
    await expect(repair(net, { points: [[1, 2, NaN]], labels: 4, inputBox })).rejects.toThrow(
      /points\[0\]\[2\]: is not a finite number \(got NaN\)/,
    );
    await expect(repair(net, { points, labels: 7, inputBox })).rejects.toThrow(
      /label: label is out of range: the network has 5 outputs \(labels 0\.\.4\) \(got 7\)/,
    );
    await expect(repair(net, { points: [[1e6, 0, 0]], labels: 4, inputBox })).rejects.toThrow(
      /points\[0\]\[0\]: lies outside the input box \[-65000, 65000\] \(got 1000000\)/,
    );
    await expect(repair(net, { points, inputBox })).rejects.toThrow(/no specification/);
    await expect(repair(net, { points: [], labels: 4, inputBox })).rejects.toThrow(/no points/);
    const noBox = Network.fromArrays([
      {
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
      },
    ]);
    await expect(repair(noBox, { points: [[0, 0]], labels: 1 })).rejects.toThrow(/no input domain/);
  });
});

describe('long work: progress and cancellation', () => {
  beforeAll(() => init());
  const { net, points, labels, inputBox } = hcasTau05();

  it('reports progress per region', async () => {
    const events: { phase: string; done: number; total: number }[] = [];
    const { report } = await repair(net, { points, labels, inputBox, onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ phase: 'regions', done: 0 });
    expect(events.at(-1)).toMatchObject({ phase: 'done', done: report.result.regions, total: report.result.regions });
    expect(events.filter((e) => e.phase === 'regions').length).toBe(report.result.regions + 1);
  });

  it('stops with AbortError when the signal fires', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(repair(net, { points, labels, inputBox, signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    const ctl2 = new AbortController();
    const p = repair(net, {
      points,
      labels,
      inputBox,
      signal: ctl2.signal,
      onProgress: (e) => e.done === 3 && ctl2.abort(new Error('user')),
    });
    await expect(p).rejects.toThrow(/repair cancelled: user/);
  });
});

describe('WebAssembly core', () => {
  it('SIMD and scalar builds compute identical bits (same operation order by design)', async () => {
    const r = rng(3);
    const net = randomNetwork(r, [5, 32, 32, 4]);
    const xs = Array.from({ length: 200 }, () => Array.from({ length: 5 }, () => r.range(-2, 2)));
    resetForTests();
    await init({ flavour: 'scalar' });
    expect(getCore().flavour).toBe('scalar');
    const ys = net.predict(xs);
    const reg = LinearRegion.ofPoint(net, xs[0], { lower: [-3, -3, -3, -3, -3], upper: [3, 3, 3, 3, 3] });
    const Fs = reg.F;
    resetForTests();
    await init({ flavour: 'simd' });
    expect(getCore().flavour).toBe('simd');
    const yv = net.predict(xs);
    const reg2 = LinearRegion.ofPoint(net, xs[0], { lower: [-3, -3, -3, -3, -3], upper: [3, 3, 3, 3, 3] });
    expect(Array.from(reg2.F)).toEqual(Array.from(Fs));
    for (let i = 0; i < xs.length; i++) for (let j = 0; j < 4; j++) expect(Object.is(ys[i][j], yv[i][j])).toBe(true);
  });

  it('a Rust panic becomes a WasmError, and the next call runs on a fresh instance', async () => {
    await init();
    const core = getCore();
    const net = randomNetwork(rng(5), [2, 4, 2]);
    const before = net.predict([[0.1, 0.2]]);
    expect(() => core.guard(() => core.exports.rr_debug_panic())).toThrow(WasmError);
    expect(core.isDead).toBe(true);
    expect(() => core.guard(() => core.exports.rr_version())).toThrow(/trapped earlier/);
    // The network re-creates its handle in the new instance.
    expect(net.predict([[0.1, 0.2]])).toEqual(before);
    expect(getCore()).not.toBe(core);
  });

  it('releases core objects (no handle leaks across a repair)', async () => {
    await init();
    const { net, points, labels, inputBox } = hcasTau05();
    net.predict([points[0]]);
    const live = getCore().liveObjects();
    const { network } = await repair(net, { points, labels, inputBox });
    network.predict([points[0]]);
    network.free();
    expect(getCore().liveObjects()).toBe(live);
  });
});
