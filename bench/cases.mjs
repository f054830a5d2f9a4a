// One benchmark case in a fresh process: node bench/cases.mjs <case> <simd|scalar>
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parseNnet, parsePoints, repair } from '../dist/index.js';

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
