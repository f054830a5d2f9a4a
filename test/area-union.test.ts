/**
 * Area repair with a non-convex (union) safe set, composed soundly (docs/COMPOSITION.md "Union
 * safe sets"): ACAS Xu φ2 ("COC is not maximal", a union of four half-spaces) on N2,1 restricted to
 * sub-boxes of its property box. Neighbouring regions repaired towards different pieces used to
 * mix their patches in the bands between them and leave the union (issue 10: a 273-region sub-box
 * with 15 regions not certified, real violations at the witnesses); band validity now keeps every
 * region's output and every patch that reaches it in that region's piece. The truth is decided
 * independently: onnxruntime on the float64 ONNX the CLI wrote, at uniform and face samples.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ortRun } from './formats-helpers.js';
import { fixture, rng, runCli } from './helpers.js';

/** φ2 with the box narrowed: dimensions 1 and 2 to ±w, and the upper bound of 3, lower of 4 moved. */
function subProperty(w: number, x3hi: number, x4lo: number): { text: string; lower: number[]; upper: number[] } {
  let text = readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8');
  const set = (from: string, to: string) => {
    expect(text).toContain(from);
    text = text.replace(from, to);
  };
  set('(assert (<= X_1 0.5))', `(assert (<= X_1 ${w}))`);
  set('(assert (>= X_1 -0.5))', `(assert (>= X_1 -${w}))`);
  set('(assert (<= X_2 0.5))', `(assert (<= X_2 ${w}))`);
  set('(assert (>= X_2 -0.5))', `(assert (>= X_2 -${w}))`);
  set('(assert (<= X_3 0.5))', `(assert (<= X_3 ${x3hi}))`);
  set('(assert (>= X_4 -0.5))', `(assert (>= X_4 ${x4lo}))`);
  return { text, lower: [0.6, -w, -w, 0.45, x4lo], upper: [0.679857769, w, w, x3hi, -0.45] };
}

describe('area repair with a union safe set (ACAS Xu φ2 on N2,1, sub-boxes)', () => {
  // Both area paths end in the same composition: every region enumerated, and branch and bound
  // (whose region-decided boxes here cover the whole box).
  it.each(['enumerate', 'bab'])(
    '--method %s: every region certified, and no sample of the box violates the property in the written ONNX',
    async (method) => {
      const dir = mkdtempSync(join(tmpdir(), 'relu-repair-union-'));
      const prop = subProperty(0.002, 0.47, -0.48);
      writeFileSync(join(dir, 'p.vnnlib'), prop.text);
      const out = join(dir, 'rep.onnx');
      const reportFile = join(dir, 'r.json');
      const model = fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx');
      const r = await runCli([
        'repair',
        '--model',
        model,
        '--area',
        join(dir, 'p.vnnlib'),
        '--method',
        method,
        '--out',
        out,
        '--report',
        reportFile,
        '--quiet',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(readFileSync(reportFile, 'utf8'));
      // Regions of both kinds and several pieces, so that mixing across pieces could happen.
      expect(report.result.buggyRegions).toBeGreaterThan(20);
      expect(report.result.regions - report.result.buggyRegions).toBeGreaterThan(5);
      expect(report.certificate.status).toBe('certified');
      expect(report.certificate.certifiedRegions).toBe(report.result.regions);
      // The patches that had to keep a neighbour's piece are reported as enlarged beyond the minimum.
      expect(report.refinement.expandedPatches.length).toBeGreaterThan(0);
      if (method === 'enumerate') {
        // Regions repaired towards several pieces, so that mixing across pieces could happen.
        const pieces = new Set(report.regions.map((g: { specPiece: number }) => g.specPiece));
        expect(pieces.size).toBeGreaterThanOrEqual(2);
        for (const g of report.regions) expect(g.patchNorm).toBeGreaterThanOrEqual(g.minimalNorm * (1 - 1e-12));
      } else {
        expect(report.result.certified).toBe(true);
        expect(report.unproven).toEqual([]);
      }

      // Independent truth: onnxruntime, float64, on uniform samples and samples on the box's faces
      // and corners (where the witnesses of the old failures were).
      const bytes = readFileSync(out);
      const g = rng(7).next;
      const n = 20_000;
      const x = new Float64Array(n * 5);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < 5; j++) {
          const u = g();
          const t = i % 2 === 0 ? g() : u < 0.3 ? 0 : u > 0.7 ? 1 : g();
          x[i * 5 + j] = prop.lower[j] + t * (prop.upper[j] - prop.lower[j]);
        }
      const y = await ortRun(bytes, x, n, [1, 1, 5], 'float64');
      let violating = 0;
      let worst = -Infinity;
      for (let i = 0; i < n; i++) {
        // Safe: some output other than COC (0) is at least as large as COC.
        let m = -Infinity;
        for (let k = 1; k < 5; k++) m = Math.max(m, y[i * 5 + k] - y[i * 5]);
        worst = Math.max(worst, -m);
        if (-m > 1e-9) violating++;
      }
      expect(violating).toBe(0);
      expect(worst).toBeLessThanOrEqual(1e-9);
    },
    180_000,
  );
});
