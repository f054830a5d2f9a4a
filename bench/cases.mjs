// One benchmark case in a fresh process: node bench/cases.mjs <case> <simd|scalar>
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlpkBackend, HighsBackend, LinearRegion, buildFullPatchLp, init, parseNnet, parsePoints, polytopeSpec, repair } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, flavour] = process.argv.slice(2);
await init({ flavour });
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

if (name === 'hcas-pointwise') {
  const net = parseNnet(readFileSync(join(root, 'test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8'));
  const pts = parsePoints(JSON.parse(readFileSync(join(root, 'test/fixtures/hcas/buggy-points-pra1-tau05.json'), 'utf8')), 3, 5);
  const runs = [];
  for (let i = 0; i < 23; i++) {
    const { report } = await repair(net, { points: pts.points, labels: pts.labels, inputBox: pts.inputBox });
    if (report.result.fixedPoints !== 50) throw new Error('benchmark repair did not fix all points');
    if (i >= 3) runs.push(report);
  }
  const n = pts.points.length;
  const med = (f) => median(runs.map(f));
  process.stdout.write(
    JSON.stringify({
      flavour,
      points: n,
      regions: runs[0].result.regions,
      runs: runs.length,
      medianTotalMs: med((r) => r.timingsMs.total),
      msPerPoint: med((r) => r.timingsMs.total) / n,
      perPointSplitMs: {
        region: med((r) => r.timingsMs.regions) / n,
        lps: med((r) => r.timingsMs.lp) / n,
        assembly: med((r) => r.timingsMs.assembly) / n,
      },
    }),
  );
}

if (name === 'full-lp') {
  // The full minimal-patch LP (METHOD.md §3, dualised, sparse) on HCAS regions with a narrow
  // output box, where the constant patch is not optimal: glpk.js against HiGHS on the same LPs.
  const net = parseNnet(readFileSync(join(root, 'test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8'));
  const pts = parsePoints(JSON.parse(readFileSync(join(root, 'test/fixtures/hcas/buggy-points-pra1-tau05.json'), 'utf8')), 3, 5);
  const lps = [];
  for (const x of pts.points.slice(0, 10)) {
    const y = net.predict([x])[0];
    const P = [];
    const q = [];
    for (let i = 0; i < 5; i++) {
      const e = [0, 0, 0, 0, 0];
      e[i] = 1;
      P.push(e, e.map((v) => -v));
      q.push(y[i] + 1, -(y[i] + 1) + 2);
    }
    const region = LinearRegion.ofPoint(net, x, pts.inputBox);
    const rows = region.supportRows(true);
    lps.push(buildFullPatchLp({ n: 3, k: 5, G: rows.A, h: rows.b, lower: pts.inputBox.lower, upper: pts.inputBox.upper, F: region.F, e: region.e }, polytopeSpec(P, q)).lp);
    region.free();
  }
  const time = async (backend) => {
    const runs = [];
    let objective = 0;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (const lp of lps) objective += (await backend.solve(lp, 'bench')).objective;
      runs.push((performance.now() - t0) / lps.length);
    }
    return { msPerLp: median(runs.slice(1)), objectiveSum: objective / 5 };
  };
  const glpk = await time(new GlpkBackend());
  const highs = await time(new HighsBackend());
  process.stdout.write(JSON.stringify({ lps: lps.length, variables: lps[0].numVars, rows: lps[0].rows.length, glpk, highs, highsOverGlpkTime: highs.msPerLp / glpk.msPerLp }));
}
