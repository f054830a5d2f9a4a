/**
 * The built CLI (dist/cli.js) on the ONNX it writes: `certify --model rep.onnx` with no other
 * input, refusals of tampered and float32 files, a plain-graph certificate with --area, and
 * `repair --model rep.onnx --points new.json` (incremental repair) certified again.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadRepaired, loadRepairedOnnx, polytopeSpec, repair, repairedToOnnx } from '../ts/index.js';
import { argmax, fixture, randomNetwork, rng, runCli } from './helpers.js';
import { initializer, tamper } from './readback-helpers.js';

const TAU20 = fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet');
const AREA = fixture('hcas/area-repair-pra1-tau20.json');

describe('relu-repair CLI: shipping and re-checking a repaired ONNX', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-readback-'));
  const rep = join(dir, 'rep.onnx');
  beforeAll(async () => {
    await init();
    const r = await runCli(['repair', '--model', TAU20, '--area', AREA, '--out', rep, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('certify --model rep.onnx: certified from the file alone, like the JSON', async () => {
    const r = await runCli(['certify', '--model', rep, '--report', join(dir, 'cert.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /certified on the 87 region\(s\) its 87 patch\(es\) repaired \(and its record names\): 87\/87 regions certified/,
    );
    expect(r.stderr).toMatch(/spec from the file's record: label 4 is the argmax\n/);
    expect(JSON.parse(readFileSync(join(dir, 'cert.json'), 'utf8')).status).toBe('certified');
  });

  it('a tampered copy is refused naming what differs (exit 2); a float32 export is refused with the reason', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(
      bad,
      tamper(readFileSync(rep), (m) => (initializer(m, 'patch3_d').data[1] += 1e-3)),
    );
    const r = await runCli(['certify', '--model', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /bad\.onnx.*is not a recognised repaired network: initializer "patch3_d[^"]*": 1 value\(s\) differ.*pass --area/,
    );
    expect(r.stderr).not.toMatch(/certified on/);
    const loaded = await loadRepairedOnnx(rep);
    expect(loaded.kind).toBe('repaired');
    expect((await loadRepaired(rep)).patches.length).toBe(87);
    await expect(loadRepaired(bad)).rejects.toThrow(/bad\.onnx.*not a recognised repaired network/);
    const f32 = join(dir, 'rep32.onnx');
    writeFileSync(f32, repairedToOnnx((loaded as { network: Parameters<typeof repairedToOnnx>[0] }).network));
    const r32 = await runCli(['certify', '--model', f32]);
    expect(r32.code).toBe(2);
    expect(r32.stderr).toMatch(/element type is FLOAT/);
  });

  it('with --area, a file that is not recognised is certified as the plain graph it is, and says so', async () => {
    const r0 = rng(4);
    const net = randomNetwork(r0, [2, 6, 6, 2]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    const pts = Array.from({ length: 200 }, () => [r0.range(-1, 1), r0.range(-1, 1)]);
    const ys = net.predict(pts);
    const bound = Math.max(...ys.map((y) => y[0])) - 0.05;
    const spec = polytopeSpec([[1, 0]], [bound]);
    const buggy = pts.filter((_, i) => ys[i][0] > bound).slice(0, 3);
    const { network } = await repair(net, { points: buggy, spec, inputBox: box });
    const file = join(dir, 'small.onnx');
    writeFileSync(
      file,
      tamper(repairedToOnnx(network, { precision: 'float64' }), (m) => (initializer(m, 'patch0_d').data[0] += 1e-3)),
    );
    const area = join(dir, 'area.json');
    writeFileSync(area, JSON.stringify({ box }));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ P: [[1, 0]], q: [bound] }));
    const r = await runCli(['certify', '--model', file, '--area', area, '--spec', join(dir, 'spec.json')]);
    expect([0, 1]).toContain(r.code);
    expect(r.stderr).toMatch(
      /small\.onnx is not a recognised repaired network: initializer "patch0_d.*certified as a plain graph on the area/,
    );
  });

  it('repair --model rep.onnx --points new.json: the whole file is the base; certified, and certify on the new file passes', async () => {
    const loaded = await loadRepairedOnnx(rep);
    if (loaded.kind !== 'repaired') throw new Error('not read back');
    const r0 = rng(23);
    const points: number[][] = [];
    for (let i = 0; i < 20_000 && points.length < 3; i++) {
      const x = [r0.range(5010, 5500), r0.range(10, 5000), r0.range(-Math.PI, -Math.PI / 2)];
      if (argmax(loaded.network.predict([x])[0]) !== 4) points.push(x);
    }
    expect(points.length).toBe(3);
    const ptsFile = join(dir, 'new.json');
    writeFileSync(ptsFile, JSON.stringify({ points, targetLabel: 4 }));
    const rep2 = join(dir, 'rep2.onnx');
    const r = await runCli(['repair', '--model', rep, '--points', ptsFile, '--out', rep2]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3\/3 buggy points fixed/);
    expect(r.stderr).toMatch(/wrote .*rep2\.onnx \(float64 ONNX\)/);
    const c = await runCli(['certify', '--model', rep2]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/certified on the \d+ region\(s\) its \d+ patch\(es\) repaired/);
    expect(c.stderr).toMatch(/neurons\)/);
  });
});
