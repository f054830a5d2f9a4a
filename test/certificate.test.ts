/**
 * Certificates and multi-patch composition on small networks, checked by sampling (forward
 * passes of the finished network), plus the certificate of point-wise repair on HCAS tau05.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certify,
  certifyItems,
  enumerateRegions,
  init,
  labelSpec,
  Network,
  polytopeSpec,
  RepairedNetwork,
  repair,
  repairArea,
  repairedFromJson,
  repairedToJson,
  specViolation,
} from '../ts/index.js';
import { argmax, hcasTau05, narrowBoxCase, randomNetwork, rng } from './helpers.js';

/** Activation pattern bits of a hex pattern (ts/patch.ts patternHex). */
function hexBits(hex: string, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (parseInt(hex[i >> 2], 16) >> (3 - (i & 3))) & 1);
}

/** Uniform samples in a box. */
function sample(r: ReturnType<typeof rng>, lower: number[], upper: number[], count: number): number[][] {
  return Array.from({ length: count }, () => lower.map((l, j) => r.range(l, upper[j])));
}

describe('certificates on small networks', () => {
  beforeAll(() => init());

  it('label specs: area repair of random 2-D and 3-D networks is certified, and sampling agrees', async () => {
    for (const [seed, sizes] of [
      [3, [2, 10, 10, 3]],
      [2, [2, 12, 8, 4]],
      [4, [3, 8, 8, 3]],
    ] as [number, number[]][]) {
      const r = rng(seed);
      const net = randomNetwork(r, sizes);
      const n = sizes[0];
      const box = { lower: new Array(n).fill(-1), upper: new Array(n).fill(1) };
      // The label the network predicts most often: some regions are right, others wrong.
      const k = sizes[sizes.length - 1];
      const counts = new Array(k).fill(0);
      net.predict(sample(r, box.lower, box.upper, 2000)).forEach((y) => counts[argmax(y)]++);
      const label = counts.indexOf(Math.max(...counts));
      expect(counts[label]).toBeLessThan(2000);
      const { network, report } = await repairArea(net, { area: { box }, label, radius: 0.02 });
      expect(report.result.buggyRegions).toBeGreaterThan(0);
      expect(report.result.correctRegions).toBeGreaterThan(0);
      expect(report.certificate.status).toBe('certified');
      const xs = sample(r, box.lower, box.upper, 3000);
      expect(network.predict(xs).every((y) => specViolation(labelSpec(label, y.length), y) <= 1e-9)).toBe(true);
      expect(net.predict(xs).some((y) => argmax(y) !== label)).toBe(true);
    }
  });

  it('conflicting patches: a band that pushes the wrong way fails the certificate, and the radius is refined until it holds', async () => {
    // y = x − ½ReLU(x − 1) + ½ReLU(−1 − x) on [−3, 3], spec −1.5 <= y <= 1.5: the two end
    // regions get opposite patches (+½ on [−3, −1], −½ on [1, 3], equal norms). With radius 8
    // the band of the later one in the chain covers the earlier one's region, where it is
    // invalid (the mix gives |y| = 2 at the far end); no constant patch is valid on both ends,
    // so its radius is shrunk: radius 2 (one refinement round) keeps it off the other end.
    const net = Network.fromArrays([
      { weights: [[1], [-1], [1], [-1]], bias: [0, 0, -1, -1] },
      { weights: [[1, -1, -0.5, 0.5]], bias: [0] },
    ]);
    const spec = polytopeSpec([[1], [-1]], [1.5, 1.5]);
    const box = { lower: [-3], upper: [3] };
    const xs = Array.from({ length: 6001 }, (_, i) => [-3 + i / 1000]);
    const { network, report } = await repairArea(net, { area: { box }, spec, radius: 8, refineRounds: 0 });
    expect(report.result.buggyRegions).toBe(2);
    expect(report.result.status).toBe('not-certified');
    expect(report.certificate.failedRegions.length).toBe(1);
    const failed = report.certificate.perRegion[report.certificate.failedRegions[0]];
    const [first, second] = [...report.regions].sort((a, b) => a.chainPosition! - b.chainPosition!);
    expect(failed.pattern).toBe(first.pattern);
    expect(Math.abs(failed.witness![0])).toBeGreaterThan(1);
    expect(Math.sign(failed.witness![0])).toBe(Math.sign(first.centre[0]));
    expect(report.certificate.largestViolationFound).toBeCloseTo(0.5, 9);
    // The certificate is right: the network really leaves the spec, at its witnesses and on samples.
    expect(network.predict(xs).some((y) => specViolation(spec, y) > 0.49)).toBe(true);
    const refined = await repairArea(net, { area: { box }, spec, radius: 8 });
    expect(refined.report.result.status).toBe('repaired');
    expect(refined.report.refinement.rounds).toBeGreaterThanOrEqual(1);
    expect(refined.report.refinement.expandedPatches).toEqual([]);
    const later = refined.report.regions.find((g) => g.pattern === second.pattern)!;
    expect(refined.report.refinement.shrunkPatches).toEqual([later.chainPosition]);
    expect(later.radius).toBeLessThanOrEqual(2);
    expect(refined.network.predict(xs).every((y) => specViolation(spec, y) <= 1e-12)).toBe(true);
  });

  it('adjacent regions sharing a face: the sum of patches breaks the spec there at any radius, the chain is certified', async () => {
    // f(x) = −0.5 + 2x − 0.4·ReLU(x − 1) on [0, 2], spec −1 <= y <= 1: A = [0, 1] needs −0.5,
    // B = [1, 2] needs −2.1. On the face x = 1 the sum gives 1.5 − 0.5 − 2.1 = −1.1.
    const net = Network.fromArrays([
      { weights: [[1], [1]], bias: [0, -1] },
      { weights: [[2, -0.4]], bias: [-0.5] },
    ]);
    const spec = polytopeSpec([[1], [-1]], [1, 1]);
    const box = { lower: [0], upper: [2] };
    const xs = Array.from({ length: 4001 }, (_, i) => [i / 2000]);
    for (const radius of [1e-3, 0.1]) {
      const { network, report } = await repairArea(net, { area: { box }, spec, radius });
      expect(report.result.buggyRegions).toBe(2);
      expect(report.result.status).toBe('repaired');
      expect(report.refinement.rounds).toBe(0);
      expect(report.regions.map((g) => g.patchNorm).sort()).toEqual([0.5, 2.1].map((v) => expect.closeTo(v, 12)));
      expect(network.composition).toBe('chain');
      expect(network.predict(xs).every((y) => specViolation(spec, y) <= 1e-12)).toBe(true);
      // The same patches summed: not certified, and really wrong on the face.
      const sum = new RepairedNetwork(net, network.patches, network.inputBox, network.boxGate, 'sum');
      const cert = await certifyItems(
        sum,
        report.certificate.perRegion.map((c) => ({ pattern: hexBits(c.pattern, 2), spec })),
        { box },
        { scope: 'area' },
      );
      expect(cert.status).toBe('not-certified');
      expect(specViolation(spec, sum.predict([[1]])[0])).toBeCloseTo(0.1, 9);
    }
  });

  it('general specs: regions with no constant patch are split into cells, conflicting patches are made valid on their bands, and every region is certified', async () => {
    const r = rng(11);
    const net = randomNetwork(r, [2, 6, 6, 2]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    // An output box centred on the network's mean output: where the output varies more than the
    // box is wide no constant patch exists, and the full LP gives affine patches.
    const ys = net.predict(sample(r, box.lower, box.upper, 500));
    const mid = [0, 1].map((o) => ys.reduce((s, y) => s + y[o], 0) / ys.length);
    const w = 0.15;
    const spec = polytopeSpec(
      [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ],
      [mid[0] + w, -mid[0] + w, mid[1] + w, -mid[1] + w],
    );
    const { network, report } = await repairArea(net, { area: { box }, spec, radius: 0.01 });
    const cert = report.certificate;
    expect(cert.status).toBe('certified');
    expect(report.result.buggyRegions).toBe(report.regions.length);
    const split = report.regions.filter((g) => g.minimalityProof === 'cells');
    expect(split.length).toBeGreaterThan(0);
    for (const g of split) {
      expect(g.cells).toBeGreaterThan(1);
      // No constant patch exists on the whole region: the cells' largest norm is above the
      // affine minimal norm, which the report keeps.
      expect(g.patchNorm).toBeGreaterThan(g.minimalNorm);
    }
    for (const g of report.regions) {
      expect(g.patchNorm).toBeGreaterThanOrEqual(g.minimalNorm * (1 - 1e-9));
      expect(g.patchNorm).toBeGreaterThanOrEqual(g.lowerBound * (1 - 1e-9));
    }
    expect(network.patches.every((p) => p.kind === 'constant')).toBe(true);
    const cells = network.patches.filter((p) => p.region.cell !== undefined);
    expect(cells.length).toBe(split.reduce((t, g) => t + g.cells!, 0));
    // Sampling agrees everywhere, cells' borders included; the original network was wrong a lot.
    const xs = sample(r, box.lower, box.upper, 4000);
    expect(network.predict(xs).every((y) => specViolation(spec, y) <= 1e-9)).toBe(true);
    expect(net.predict(xs).filter((y) => specViolation(spec, y) > 0).length).toBeGreaterThan(500);
    // Saved and loaded, the network certifies the same.
    const again = repairedFromJson(JSON.parse(JSON.stringify(repairedToJson(network))));
    const c2 = await certify(again, { spec, area: { box } });
    expect(c2.status).toBe('certified');
  });

  it('general specs where constant patches exist: every region of the area is certified (random networks, output polytopes)', async () => {
    let repaired = 0;
    let enlarged = 0;
    for (const seed of [2, 3, 7]) {
      const r = rng(seed);
      const net = randomNetwork(r, [2, 8, 8, 3]);
      const box = { lower: [-1, -1], upper: [1, 1] };
      const ys = net.predict(sample(r, box.lower, box.upper, 2000));
      // Four random output half-spaces, each violated by a fifth of the samples.
      const P = Array.from({ length: 4 }, () => [r.normal(), r.normal(), r.normal()]);
      const q = P.map((row) => {
        const v = ys.map((y) => row.reduce((s, c, o) => s + c * y[o], 0)).sort((a, b) => a - b);
        return v[Math.floor(v.length * 0.8)];
      });
      const spec = polytopeSpec(P, q);
      const { network, report } = await repairArea(net, { area: { box }, spec, radius: 0.05 });
      if (report.regions.some((g) => g.patchKind === 'affine')) continue;
      repaired++;
      expect(report.certificate.status).toBe('certified');
      enlarged += report.refinement.expandedPatches.length;
      const xs = sample(r, box.lower, box.upper, 3000);
      expect(network.predict(xs).every((y) => specViolation(spec, y) <= 1e-9)).toBe(true);
    }
    expect(repaired).toBeGreaterThanOrEqual(2);
    expect(enlarged).toBeGreaterThan(0);
  });

  it('an H-polytope area: only regions of the set are enumerated and repaired; the set is certified', async () => {
    const r = rng(5);
    const net = randomNetwork(r, [2, 10, 10, 3]);
    const box = { lower: [-1, -1], upper: [1, 1] };
    const inputSet = { A: Float64Array.from([1, 1]), b: Float64Array.from([0]) }; // x0 + x1 <= 0
    const { network, report, regions } = await repairArea(net, { area: { box, inputSet }, label: 2, radius: 0.01 });
    expect(report.certificate.status).toBe('certified');
    for (const g of regions) expect(g.centre[0] + g.centre[1]).toBeLessThan(0);
    const all = await enumerateRegions(net, { box });
    expect(regions.length).toBeLessThan(all.regions.length);
    const xs = sample(r, box.lower, box.upper, 3000).filter((x) => x[0] + x[1] <= 0);
    expect(network.predict(xs).every((y) => argmax(y) === 2 || specViolation(labelSpec(2, 3), y) <= 1e-9)).toBe(true);
  });
});

describe('point-wise repair with conflicting affine patches', () => {
  beforeAll(() => init());

  it('adjacent regions with no constant patch (narrow output box) are split into cells; the repaired regions are certified and sampling agrees', async () => {
    const r = rng(7);
    let checked = 0;
    for (let trial = 0; trial < 2; trial++) {
      const { net, inputBox, points, spec } = narrowBoxCase(r);
      const { network, report } = await repair(net, { points, spec, inputBox });
      if (trial === 0) continue;
      expect(report.certificate!.status).toBe('certified');
      const split = report.regions.filter((g) => g.minimalityProof === 'cells');
      expect(split.length).toBeGreaterThan(0);
      for (const g of split) expect(g.cells).toBeGreaterThan(1);
      expect(report.result.regions).toBe(report.regions.length);
      expect(network.patches.length).toBeGreaterThan(report.regions.length);
      // Inputs of every repaired region satisfy the spec, cells' borders included.
      const patterns = new Set(report.regions.map((g) => g.pattern));
      const hex = (bits: number[]) =>
        bits
          .join('')
          .match(/.{1,4}/g)!
          .map((q) => parseInt(q.padEnd(4, '0'), 2).toString(16))
          .join('');
      const xs = sample(r, inputBox.lower, inputBox.upper, 20_000);
      const pats = net.patterns(xs).map((p) => hex(Array.from(p)));
      const ys = network.predict(xs);
      xs.forEach((_, i) => {
        if (!patterns.has(pats[i])) return;
        expect(specViolation(spec, ys[i])).toBeLessThanOrEqual(1e-9);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('point-wise repair is certified region by region (HCAS tau05)', () => {
  const data = hcasTau05();
  beforeAll(() => init());

  it('the report certifies every repaired region; a broken patch is caught', async () => {
    const { network, report } = await repair(data.net, { points: data.points, labels: data.labels, inputBox: data.inputBox });
    const c = report.certificate!;
    expect(c.status).toBe('certified');
    expect(c.scope).toBe('regions');
    expect(c.regions).toBe(report.result.regions + report.unchangedRegions.length);
    expect(c.certifiedRegions).toBe(c.regions);
    expect(c.tolerance.relative).toBe(1e-9);
    expect(report.timingsMs.certify).toBeGreaterThan(0);
    const saved = await certify(network, { spec: labelSpec(4, 5) });
    expect(saved.status).toBe('certified');
    expect(saved.scope).toBe('repaired-regions');
    // Shrink one patch to 40 %: its region is no longer certified and the witness violates.
    const patches = network.patches.map((p, i) => (i === 0 ? { ...p, d: p.d.map((v) => 0.4 * v) } : p));
    const broken = new RepairedNetwork(network.original, patches, network.inputBox, network.boxGate);
    const items = data.net.patterns([data.points[patches[0].region.points[0]]]).map((pattern) => ({ pattern, spec: labelSpec(4, 5) }));
    const b = await certifyItems(broken, items, { box: data.inputBox }, { scope: 'regions' });
    expect(b.status).toBe('not-certified');
    expect(b.largestViolationFound).toBeGreaterThan(0);
    const w = b.perRegion[0].witness!;
    expect(specViolation(labelSpec(4, 5), broken.predict([w])[0])).toBeGreaterThan(0);
  });

  it('can be switched off, and then the report has no certificate', async () => {
    const { report } = await repair(data.net, {
      points: data.points.slice(0, 5),
      labels: data.labels.slice(0, 5),
      inputBox: data.inputBox,
      certify: false,
    });
    expect(report.certificate).toBeUndefined();
  });
});
