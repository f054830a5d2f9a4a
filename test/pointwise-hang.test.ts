/**
 * Point-wise repairs that once never finished (issue 14, from issue 13's work): a fixed input
 * coordinate (lower = upper in the box, or a flat cell that the certificate's exploration keeps
 * as a degenerate interval) made the warm-started primal simplex flip that variable by zero for
 * ever — flips did not count against the pivot budget. Each repair runs in a child process that
 * is killed after a deadline, so a regression fails here instead of stalling the suite.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, hcasTau05, root } from './helpers.js';

const NNET = fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet');
const POINTS = fixture('hcas/buggy-points-pra1-tau05.json');
/** Far above the seconds these take (about 2 s on a loaded 2-core machine). */
const DEADLINE_MS = 90_000;

function cli(args: string[]): Promise<{ code: number | null; killed: boolean; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, timeout: DEADLINE_MS }, (err, _stdout, stderr) => {
      const e = err as (Error & { code?: number; killed?: boolean }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, killed: Boolean(e?.killed), stderr, ms: performance.now() - t0 });
    });
  });
}

describe('point-wise repair always finishes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-hang-'));

  it('the reported HCAS polytope-spec repair finishes with a definite answer and a report', async () => {
    const spec = join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        P: [
          [1, 0, 0, 0, -1],
          [0, 0, 0, 1, -1],
          [-1, 0, 0, 0, 0],
        ],
        q: [-500, -500, 100000],
      }),
    );
    const report = join(dir, 'report.json');
    const r = await cli([
      'repair',
      '--model',
      NNET,
      '--points',
      POINTS,
      '--spec',
      spec,
      '--out',
      join(dir, 'r.json'),
      '--report',
      report,
      '--quiet',
    ]);
    expect(r.killed, `still running after ${DEADLINE_MS} ms`).toBe(false);
    // Every point fixed; the exit code is 0 (certified) or 1 (a region the certificate cannot
    // prove, reported), never a crash.
    expect([0, 1], r.stderr).toContain(r.code);
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    expect(rep.result.fixedPoints).toBe(50);
    expect(rep.certificate.regions).toBe(rep.result.regions);
  });

  it('an input box with a fixed coordinate (lower = upper) is repaired and certified', async () => {
    const { points } = hcasTau05();
    const box = join(dir, 'box.json');
    const pts = join(dir, 'points.json');
    const theta = points[0][2];
    writeFileSync(box, JSON.stringify({ lower: [-65000, -65000, theta], upper: [65000, 65000, theta] }));
    writeFileSync(pts, JSON.stringify({ points: [points[0]], targetLabel: 4 }));
    const report = join(dir, 'fixed-report.json');
    const r = await cli([
      'repair',
      '--model',
      NNET,
      '--points',
      pts,
      '--input-box',
      box,
      '--out',
      join(dir, 'f.json'),
      '--report',
      report,
      '--quiet',
    ]);
    expect(r.killed, `still running after ${DEADLINE_MS} ms`).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    expect(rep.result).toMatchObject({ status: 'repaired', fixedPoints: 1 });
    expect(rep.regions[0].minimalityProof).toBe('constant-patch');
    expect(rep.certificate.status).toBe('certified');
  });
});
