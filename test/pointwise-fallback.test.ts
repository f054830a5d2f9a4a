/**
 * Never fail silently at depth (issue 14): when the core simplex cannot solve a region's LPs, the
 * region goes to the `lp` backend, whose answers the core certifies; a region that still cannot
 * be solved is reported (`failedRegions`, status `partial`) while the others are repaired, and the
 * CLI exits 1 (no network unless --allow-partial). The core simplex is driven to its limit with
 * the pivot budget option (`lpPivotLimit`, `--lp-pivot-limit`, which sets the lp module's forced
 * limits around each region job).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EmptySetError,
  GlpkBackend,
  init,
  LinearRegion,
  type LpBackend,
  LpError,
  loadRepaired,
  type RepairReport,
  repair,
  type SparseLp,
} from '../ts/index.js';
import { argmax, fixture, hcasTau05, narrowBoxCase, rng, runCli } from './helpers.js';

const NNET = fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet');
const POINTS = fixture('hcas/buggy-points-pra1-tau05.json');

/** glpk.js, except that the LPs of one region (by the label the region job gives them) fail. */
class FailingFor implements LpBackend {
  readonly inner = new GlpkBackend();
  readonly name = 'glpk.js (failing on one region)';
  calls = 0;
  constructor(readonly label: RegExp) {}
  async solve(lp: SparseLp, context: string) {
    this.calls++;
    if (this.label.test(context)) throw new LpError(`${context}: refused by the test backend`);
    return this.inner.solve(lp, context);
  }
}

const sameNorms = (a: RepairReport, b: RepairReport) =>
  a.regions.length === b.regions.length &&
  a.regions.every(
    (r, i) => r.pattern === b.regions[i].pattern && Math.abs(r.patchNorm - b.regions[i].patchNorm) <= 1e-9 * (1 + r.patchNorm),
  );

describe('LP fallback of point-wise repair', () => {
  const hcas = hcasTau05();
  let base: RepairReport;
  beforeAll(async () => {
    await init();
    base = (await repair(hcas.net, { points: hcas.points, labels: 4, inputBox: hcas.inputBox })).report;
  });

  it('with the core simplex at a budget of 0 pivots every region is solved by the backend, with the same proven patches, and certified', async () => {
    for (const lp of ['glpk', 'highs'] as const) {
      const { network, report } = await repair(hcas.net, { points: hcas.points, labels: 4, inputBox: hcas.inputBox, lp, lpPivotLimit: 0 });
      expect(report.result).toMatchObject({ status: 'repaired', fixedPoints: 50 });
      expect(report.failedRegions).toEqual([]);
      expect(report.regions.every((r) => r.lpFallback?.startsWith(lp === 'glpk' ? 'glpk.js' : 'highs'))).toBe(true);
      expect(report.regions.map((r) => r.minimalityProof)).toEqual(base.regions.map((r) => r.minimalityProof));
      expect(sameNorms(report, base)).toBe(true);
      expect(report.notes.some((n) => n.startsWith('LP fallback: the core simplex failed') && n.includes('pivot limit reached'))).toBe(
        true,
      );
      // The certificate runs after the jobs, with the core's own budgets again.
      expect(report.certificate?.status).toBe('certified');
      expect(network.predict(hcas.points).every((y) => argmax(y) === 4)).toBe(true);
    }
  });

  it('general specs (full LP, affine patches): the checks of the full LP fall back too, same minimal norms', async () => {
    const c = narrowBoxCase(rng(7));
    const ref = await repair(c.net, { points: c.points, spec: c.spec, inputBox: c.inputBox, certify: false });
    const fb = await repair(c.net, { points: c.points, spec: c.spec, inputBox: c.inputBox, certify: false, lpPivotLimit: 0 });
    expect(fb.report.result.status).toBe(ref.report.result.status);
    expect(fb.report.regions.length).toBe(ref.report.regions.length);
    fb.report.regions.forEach((r, i) => {
      expect(r.lpFallback).toBeDefined();
      expect(Math.abs(r.patchNorm - ref.report.regions[i].patchNorm)).toBeLessThanOrEqual(1e-6 * (1 + r.patchNorm));
    });
  });

  it('a region the fallback cannot solve either is reported; every other region is repaired (status partial)', async () => {
    // The region of point 7, whatever other points share it.
    const group = base.regions.find((r) => r.points.includes(7))!;
    const backend = new FailingFor(new RegExp(`region of points? ${group.points[0]}[,:]`));
    const { network, report } = await repair(hcas.net, {
      points: hcas.points,
      labels: 4,
      inputBox: hcas.inputBox,
      lp: backend,
      lpPivotLimit: 0,
    });
    expect(backend.calls).toBeGreaterThan(40);
    expect(report.result.status).toBe('partial');
    expect(report.failedRegions).toHaveLength(1);
    const failed = report.failedRegions[0];
    expect(failed.points).toEqual(group.points);
    expect(failed.pattern).toBe(group.pattern);
    // Both failures are named: the core's pivot limit and the backend's refusal.
    expect(failed.reason).toMatch(/pivot limit reached/);
    expect(failed.reason).toMatch(/refused by the test backend/);
    expect(report.regions.map((r) => r.pattern)).toEqual(base.regions.filter((r) => r !== group).map((r) => r.pattern));
    expect(report.result.unfixedPoints).toEqual(group.points);
    expect(report.result.fixedPoints).toBe(50 - group.points.length);
    const y = network.predict(hcas.points);
    hcas.points.forEach((_, i) => expect(argmax(y[i]) === 4).toBe(!group.points.includes(i)));
    // The certificate covers the solved regions only, and holds there.
    expect(report.certificate?.regions).toBe(base.regions.length - 1);
    expect(report.certificate?.status).toBe('certified');
  });

  it('without the fallback, regions past the pivot budget fail and the others are repaired; workers give the same outcome', async () => {
    const one = await repair(hcas.net, {
      points: hcas.points,
      labels: 4,
      inputBox: hcas.inputBox,
      lpPivotLimit: 4,
      lpFallback: false,
      certify: false,
    });
    const r = one.report;
    expect(r.result.status).toBe('partial');
    expect(r.failedRegions.length).toBeGreaterThan(0);
    expect(r.regions.length).toBeGreaterThan(0);
    expect(r.failedRegions.every((f) => /no LP fallback/.test(f.reason))).toBe(true);
    // Exactly the regions of the unlimited repair, split between solved and failed.
    expect([...r.regions.map((g) => g.pattern), ...r.failedRegions.map((f) => f.pattern)].sort()).toEqual(
      base.regions.map((g) => g.pattern).sort(),
    );
    const pooled = await repair(hcas.net, {
      points: hcas.points,
      labels: 4,
      inputBox: hcas.inputBox,
      lpPivotLimit: 4,
      lpFallback: false,
      certify: false,
      workers: 2,
    });
    expect(pooled.report.failedRegions.map((f) => f.pattern)).toEqual(r.failedRegions.map((f) => f.pattern));
    expect(pooled.network.predict(hcas.points)).toEqual(one.network.predict(hcas.points));
  });

  it('rejects a pivot budget that is not a whole number', async () => {
    await expect(repair(hcas.net, { points: hcas.points, labels: 4, inputBox: hcas.inputBox, lpPivotLimit: -1 })).rejects.toThrow(
      /lpPivotLimit: must be a whole number >= 0/,
    );
  });

  it('proven emptiness is its own error (EmptySetError, code LP_EMPTY), an LpError that is not a solver failure', () => {
    const region = LinearRegion.ofPoint(hcas.net, hcas.points[0], hcas.inputBox);
    try {
      // x0 <= -70000 inside the box x0 >= -65000: proven empty by the core.
      region.intersect({ A: Float64Array.from([1, 0, 0]), b: Float64Array.from([-70000]) });
      let caught: unknown;
      try {
        region.maximize([1, 0, 0]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(EmptySetError);
      expect(caught).toBeInstanceOf(LpError);
      expect((caught as EmptySetError).code).toBe('LP_EMPTY');
    } finally {
      region.free();
    }
  });
});

describe('CLI: forced LP limits, fallback, partial report and exit codes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-fallback-'));
  beforeAll(() => init());

  it('--lp-pivot-limit 0: every region through the fallback, exit 0, network written', async () => {
    const out = join(dir, 'fb.json');
    const rep = join(dir, 'fb-report.json');
    const r = await runCli([
      'repair',
      '--model',
      NNET,
      '--points',
      POINTS,
      '--lp-pivot-limit',
      '0',
      '--out',
      out,
      '--report',
      rep,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    expect(report.result.status).toBe('repaired');
    expect(report.regions.every((g: { lpFallback?: string }) => g.lpFallback?.startsWith('glpk.js'))).toBe(true);
    expect(existsSync(out)).toBe(true);
  });

  it('regions past the budget without fallback: exit 1 with the report and no network; --allow-partial writes the others', async () => {
    const out = join(dir, 'partial.json');
    const rep = join(dir, 'partial-report.json');
    const args = ['repair', '--model', NNET, '--points', POINTS, '--lp-pivot-limit', '4', '--no-lp-fallback', '--no-certify'];
    const r = await runCli([...args, '--out', out, '--report', rep]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/could not repair every region: \d+ region\(s\) could not be solved \(points [\d, .]+\): .*pivot limit/);
    expect(r.stderr).toMatch(/no network written \(--allow-partial/);
    expect(existsSync(out)).toBe(false);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    expect(report.result.status).toBe('partial');
    const failedPoints: number[] = report.failedRegions.flatMap((f: { points: number[] }) => f.points);
    expect(failedPoints.length).toBeGreaterThan(0);
    expect(report.result.unfixedPoints).toEqual([...failedPoints].sort((a, b) => a - b));

    const r2 = await runCli([...args, '--allow-partial', '--out', out, '--report', rep]);
    expect(r2.code, r2.stderr).toBe(1);
    expect(r2.stderr).toMatch(/PARTIAL REPAIR \(--allow-partial\)/);
    const net = await loadRepaired(out);
    const { points } = hcasTau05();
    const y = net.predict(points);
    points.forEach((_, i) => expect(argmax(y[i]) === 4).toBe(!failedPoints.includes(i)));
  });

  it('the new flags are refused in area mode and checked in point-wise mode (exit 2)', async () => {
    const area = join(dir, 'area.json');
    writeFileSync(area, JSON.stringify({ box: { lower: [10, 10, -3.14], upper: [500, 500, -1.6] }, targetLabel: 4 }));
    const a = await runCli(['repair', '--model', NNET, '--area', area, '--lp-pivot-limit', '3', '--out', join(dir, 'a.json')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--lp-pivot-limit/);
    const b = await runCli(['repair', '--model', NNET, '--points', POINTS, '--lp-pivot-limit', 'x', '--out', join(dir, 'b.json')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--lp-pivot-limit: must be a whole number >= 0/);
  });
});
