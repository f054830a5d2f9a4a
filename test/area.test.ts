/**
 * Area repair of the HCAS tau20 network on the reference task (box [10, 5000]² × [−π, −π/2],
 * advisory 4), checked against the acceptance criteria with independent oracles: the
 * reference's buggy regions, random box samples (forward passes), glpk.js LPs over every repaired
 * region, the h5 training samples, and bit-for-bit locality outside the box.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  type AreaRepairResult,
  certify,
  enumerateRegions,
  GlpkBackend,
  init,
  LinearRegion,
  labelSpec,
  parseNnet,
  parseNpy,
  patternHex,
  RegionLimitError,
  RepairedNetwork,
  repairArea,
  repairedFromJson,
  repairedToJson,
  specViolation,
} from '../ts/index.js';
import { LpBuilder } from '../ts/lp/backend.js';
import { argmax, fixture, rng } from './helpers.js';

const task = JSON.parse(readFileSync(fixture('hcas/area-repair-pra1-tau20.json'), 'utf8'));
const net = parseNnet(readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet'), 'utf8'), 'tau20.nnet');
const box = task.box as { lower: number[]; upper: number[] };
const spec = labelSpec(4, 5);
const glpk = new GlpkBackend();

/** The reference experiment's sampler, with our own seeded PRNG: x, y = randint[100, 5000), θ = U[−π, −π/2). */
function boxSamples(count: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: count }, () => [
    100 + Math.floor(r.next() * 4900),
    100 + Math.floor(r.next() * 4900),
    -Math.PI + r.next() * (Math.PI / 2),
  ]);
}

/** max c·x + k over {A x <= b} ∩ box by glpk.js (independent of the core simplex). */
async function glpkMax(A: Float64Array, b: Float64Array, c: ArrayLike<number>, k: number): Promise<number> {
  const lp = new LpBuilder();
  for (let j = 0; j < 3; j++) lp.addVars(1, box.lower[j], box.upper[j], -c[j]);
  for (let i = 0; i < b.length; i++) lp.addRow([0, 1, 2], [A[i * 3], A[i * 3 + 1], A[i * 3 + 2]], -Infinity, b[i]);
  const s = await glpk.solve(lp.build(), 'test LP');
  return -s.objective + k;
}

describe('HCAS tau20 area repair (acceptance)', () => {
  let res: AreaRepairResult;
  const samples = boxSamples(10_000, 2024);
  beforeAll(async () => {
    await init();
    res = await repairArea(net, { area: { box }, label: 4 });
  });

  it('finds the 165 linear regions of the box, 87 buggy, with the reference activation patterns', () => {
    const rep = res.report;
    expect(rep.result).toMatchObject({ status: 'repaired', regions: 165, buggyRegions: 87, correctRegions: 78 });
    expect(res.regions.length).toBe(165);
    const ours = new Set(res.regions.map((r) => patternHex(r.pattern)));
    expect(ours.size).toBe(165);
    const reference = new Set<string>(
      task.buggyRegions.map((g: { activationPattern: number[][] }) => patternHex(g.activationPattern.flat())),
    );
    expect(reference.size).toBe(87);
    expect(new Set(rep.regions.map((g) => g.pattern))).toEqual(reference);
    // The centre of every region is strictly inside it: the forward pass gives its pattern.
    const centres = net.patterns(res.regions.map((r) => Array.from(r.centre)));
    centres.forEach((p, i) => expect(patternHex(p)).toBe(patternHex(res.regions[i].pattern)));
  });

  it('enumeration is complete: every random box sample falls into an enumerated region', () => {
    const ours = new Set(res.regions.map((r) => patternHex(r.pattern)));
    const missing = net.patterns(samples).filter((p) => !ours.has(patternHex(p)));
    expect(missing.length).toBe(0);
  });

  it('the worst violation of each buggy region agrees with the reference (float32) figure', () => {
    const byPattern = new Map(res.report.regions.map((g) => [g.pattern, g]));
    for (const g of task.buggyRegions as { activationPattern: number[][]; maxViolation: number }[]) {
      const ours = byPattern.get(patternHex(g.activationPattern.flat()))!;
      // Label spec: the minimal patch norm is half the worst violation.
      expect(Math.abs(2 * ours.patchNorm - g.maxViolation)).toBeLessThan(1e-3 * (1 + g.maxViolation));
      expect(ours.minimalityProof).toBe('constant-patch');
    }
  });

  it('every one of the 165 regions is certified, repaired or not', () => {
    const c = res.report.certificate;
    expect(c.status).toBe('certified');
    expect(c.regions).toBe(165);
    expect(c.certifiedRegions).toBe(165);
    expect(c.largestViolationFound).toBeNull();
    for (const r of c.perRegion) {
      expect(r.certified).toBe(true);
      expect(r.maxViolation).toBeLessThanOrEqual(r.tolerance);
      expect(r.tolerance).toBeLessThan(1e-4);
      expect(r.emptyPieces).toBe(0);
    }
    expect(res.report.refinement.rounds).toBe(0);
  });

  it('10,000 random box inputs are all classified 4 (about half were not before)', () => {
    const before = net.predict(samples).filter((y) => argmax(y) === 4).length;
    expect(before).toBeGreaterThan(4000);
    expect(before).toBeLessThan(6500);
    const after = res.network.predict(samples);
    expect(after.filter((y) => argmax(y) === 4).length).toBe(10_000);
    for (const y of after) expect(specViolation(spec, y)).toBeLessThanOrEqual(0);
  });

  it('independent check by glpk.js: f + d_A satisfies the spec on every repaired region, and every later patch of the chain lowers every spec row at least as much', async () => {
    const patches = res.network.patches;
    expect(res.network.composition).toBe('chain');
    const Pd = (d: ArrayLike<number>, j: number) => spec.P.subarray(j * 5, (j + 1) * 5).reduce((s, v, i) => s + v * d[i], 0);
    // On a patched region the output is f + a convex mix of its own patch and later ones: when
    // every later one has P_j d_i <= P_j d_own, every mix satisfies the spec where f + d_own does.
    for (let a = 0; a < patches.length; a++) {
      for (let j = 0; j < 4; j++) expect(Pd(patches[a].d, j)).toBeLessThanOrEqual(0);
      if (a > 0) for (let j = 0; j < 4; j++) expect(Pd(patches[a].d, j)).toBeLessThanOrEqual(Pd(patches[a - 1].d, j));
    }
    for (const p of patches) {
      const r = res.regions[res.report.regions.find((g) => g.pattern === p.region.pattern)!.index];
      const region = LinearRegion.ofPattern(net, r.pattern, box);
      const [A, b, F, e] = [region.A, region.b, region.F, region.e];
      region.free();
      for (let j = 0; j < 4; j++) {
        const Pj = spec.P.subarray(j * 5, (j + 1) * 5);
        const c = [0, 1, 2].map((x) => Pj.reduce((s, v, i) => s + v * F[i * 3 + x], 0));
        const k = Pj.reduce((s, v, i) => s + v * (e[i] + p.d[i]), 0) - spec.q[j];
        expect(await glpkMax(A, b, c, k)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(k)));
      }
      // The patch's support holds on the whole region (g = 1 there): every row is one of its rows.
      for (let i = 0; i < p.b.length; i++)
        expect(await glpkMax(A, b, p.A.subarray(i * 3, i * 3 + 3), -p.b[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(p.b[i])));
    }
  });

  it('accuracy on the h5 samples is unchanged (98.048 % of the 50,000 shipped rows), outputs bit for bit', () => {
    const x = parseNpy(new Uint8Array(readFileSync(fixture('hcas/samples-pra1-tau05.x.npy'))));
    const y = parseNpy(new Uint8Array(readFileSync(fixture('hcas/samples-pra1-tau20.y.npy'))));
    const n = y.data.length;
    const before = net.forwardFlat(x.data, n);
    const after = res.network.forwardFlat(x.data, n);
    let correct = 0;
    for (let i = 0; i < n; i++) if (argmax(after.subarray(i * 5, (i + 1) * 5)) === y.data[i]) correct++;
    expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    expect(Math.abs((100 * correct) / n - 98.048)).toBeLessThan(0.0005);
  });

  it('is bit-for-bit unchanged beyond the radius outside the box', () => {
    const r = rng(7);
    const radius = res.network.boxGate!.radius;
    const pts: number[][] = [];
    while (pts.length < 2000) {
      const x = [r.range(-20000, 25000), r.range(-20000, 25000), r.range(-4, 1)];
      const outside = x.some((v, j) => v < box.lower[j] - radius || v > box.upper[j] + radius);
      if (outside) pts.push(x);
    }
    const a = net.predict(pts);
    const b = res.network.predict(pts);
    a.forEach((y, i) => y.forEach((v, j) => expect(Object.is(v, b[i][j])).toBe(true)));
  });

  it('a saved network certifies the same from its file; a broken patch is caught with a violating witness', async () => {
    const loaded = repairedFromJson(JSON.parse(JSON.stringify(repairedToJson(res.network))), 'r.json');
    const again = await certify(loaded, { spec, area: { box } });
    expect(again.status).toBe('certified');
    expect(again.certifiedRegions).toBe(165);
    // Halve one patch: its region (and only regions near it) fail, with a real counterexample.
    const patches = loaded.patches.map((p, i) => (i === 5 ? { ...p, d: p.d.map((v) => v / 2) } : p));
    const broken = new RepairedNetwork(loaded.original, patches, loaded.inputBox, loaded.boxGate);
    const c = await certify(broken, { spec, area: { box } });
    expect(c.status).toBe('not-certified');
    const failed = c.failedRegions.map((i) => c.perRegion[i]);
    expect(failed.map((f) => f.pattern)).toContain(patches[5].region.pattern);
    expect(c.largestViolationFound).toBeGreaterThan(0);
    for (const f of failed) {
      const y = broken.predict([f.witness!])[0];
      expect(specViolation(spec, y)).toBeCloseTo(f.violationAtWitness!, 9);
    }
  });

  it('reports progress through every phase and stops with AbortError when the signal fires', async () => {
    const phases: string[] = [];
    await repairArea(net, { area: { box }, label: 4, onProgress: (e) => phases[phases.length - 1] !== e.phase && phases.push(e.phase) });
    expect(phases).toEqual(['enumerate', 'check', 'certify', 'done']);
    const ctl = new AbortController();
    const err = await repairArea(net, {
      area: { box },
      label: 4,
      signal: ctl.signal,
      onProgress: (e) => e.phase === 'check' && e.done === 10 && ctl.abort(new Error('user')),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(String(err.message)).toMatch(/cancelled: user/);
  });

  it('progress events, and a clear error past the region limit', async () => {
    const phases = new Set<string>();
    const en = await enumerateRegions(net, { box }, { onProgress: (e) => phases.add(`${e.phase}:${e.explored > 0}`) });
    expect(en.regions.length).toBe(165);
    expect(phases.has('enumerate:true')).toBe(true);
    const err = await enumerateRegions(net, { box }, { maxRegions: 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(RegionLimitError);
    expect(String(err.message)).toMatch(/more than 100 linear regions; raise the limit \(maxRegions, --max-regions\)/);
  });
});
