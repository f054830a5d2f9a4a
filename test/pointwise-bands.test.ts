/**
 * Point-wise repair says what it proved (issue 14 item 4): a patch's band can reach another
 * repaired region whose spec differs and break it there. Without a requested certificate (more
 * than 8 inputs), every such (patch, region) pair is proven apart (first-layer slacks,
 * ts/repair.ts keepBandsApart) or reported as NOT proven (report and CLI summary); `--certify`
 * then finds the violation and the CLI writes no network.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, type Network, networkToJson, repair } from '../ts/index.js';
import { argmax, randomNetwork, rng, runCli } from './helpers.js';

beforeAll(async () => {
  await init();
});

const dir = mkdtempSync(join(tmpdir(), 'rr-bands-'));

/** A random network and points in [−1, 1]ⁿ, each with a target label other than its argmax. */
function task(seed: number, sizes: number[], count: number, label: (top: number, i: number) => number) {
  const g = rng(seed);
  const net = randomNetwork(g, sizes);
  const n = sizes[0];
  const k = sizes[sizes.length - 1];
  const points: number[][] = [];
  while (points.length < count) {
    const x = Array.from({ length: n }, () => g.range(-1, 1));
    if (seed !== 21 || argmax(net.predict([x])[0]) !== 0) points.push(x);
  }
  const labels = points.map((x, i) => label(argmax(net.predict([x])[0]), i) % k);
  const inputBox = { lower: new Array(n).fill(-1), upper: new Array(n).fill(1) };
  return { net, points, labels, inputBox };
}

function writeTask(name: string, net: Network, points: number[][], labels: number[]) {
  const model = join(dir, `${name}.json`);
  writeFileSync(model, JSON.stringify(networkToJson(net)));
  const pts = join(dir, `${name}-points.json`);
  writeFileSync(pts, JSON.stringify({ points, labels, inputBox: { lower: -1, upper: 1 } }));
  return { model, pts };
}

describe('point-wise repair with a different spec per region, above 8 inputs', () => {
  it('reports a band it cannot prove off another region as NOT proven (rng(21) 10-12-3), and --certify refuses the network', async () => {
    const t = task(21, [10, 12, 3], 3, (top) => top + 1);
    expect(new Set(t.labels).size).toBeGreaterThan(1);
    const { report } = await repair(t.net, { points: t.points, labels: t.labels, inputBox: t.inputBox });
    expect(report.result.fixedPoints).toBe(3);
    expect(report.certificate).toBeUndefined();
    expect(report.bands?.otherSpecPairs).toBeGreaterThan(0);
    expect(report.bands?.unresolved).toBeGreaterThan(0);
    expect(report.notes.join(' ')).toMatch(/NOT PROVEN: \d+ patch band\(s\) may reach a repaired region with another spec/);
    // The band of one patch does break a neighbouring region: the certificate says so.
    const c = await repair(t.net, { points: t.points, labels: t.labels, inputBox: t.inputBox, certify: true });
    expect(c.report.certificate?.status).toBe('not-certified');
    expect(c.report.certificate!.maxViolation).toBeGreaterThan(1);

    const f = writeTask('r21', t.net, t.points, t.labels);
    const rep = join(dir, 'r21-report.json');
    const d = await runCli(['repair', '--model', f.model, '--points', f.pts, '--out', join(dir, 'r21-d.json'), '--report', rep]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/NOT PROVEN: \d+ patch band\(s\) may reach a repaired region with another spec \(--certify checks them\)/);
    expect(JSON.parse(readFileSync(rep, 'utf8')).bands.unresolved).toBeGreaterThan(0);
    const out = join(dir, 'r21-out.json');
    const r = await runCli(['repair', '--model', f.model, '--points', f.pts, '--out', out, '--certify']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/not certified.*no network written/);
    expect(existsSync(out)).toBe(false);
  });

  it('proves every band off the regions with another spec without a certificate when it can, and the certificate agrees', async () => {
    const t = task(23, [16, 32, 32, 3], 4, (top, i) => top + 1 + (i % 2));
    const { network, report } = await repair(t.net, { points: t.points, labels: t.labels, inputBox: t.inputBox });
    expect(report.result.fixedPoints).toBe(4);
    expect(report.certificate).toBeUndefined();
    expect(report.bands).toMatchObject({ otherSpecPairs: 8, provenApart: 8, radiiShrunk: 0, unresolved: 0 });
    expect(report.notes.join(' ')).toMatch(/every patch band is proven to stay off the 8/);
    // Independently: the same radii certify (no refinement needed) when a certificate is asked for.
    const c = await repair(t.net, { points: t.points, labels: t.labels, inputBox: t.inputBox, certify: true });
    expect(c.report.certificate?.status).toBe('certified');
    expect(c.report.refinement?.rounds).toBe(0);
    expect(c.network.patches.map((p) => p.radius).sort()).toEqual(network.patches.map((p) => p.radius).sort());

    const f = writeTask('r23', t.net, t.points, t.labels);
    const out = join(dir, 'r23-out.json');
    const r = await runCli(['repair', '--model', f.model, '--points', f.pts, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/every patch band proven off the 8 repaired region\(s\) with another spec/);
    expect(existsSync(out)).toBe(true);
  });
});
