// Benchmarks (npm run bench): JSON on stdout and in bench/results/latest.json.
// Each case runs in its own process (one wasm flavour per process) and reports medians.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const runCase = (name, flavour) =>
  JSON.parse(execFileSync(process.execPath, [join(here, 'cases.mjs'), name, flavour], { encoding: 'utf8', maxBuffer: 1 << 26 }));

const REFERENCE_MS_PER_POINT = 230; // the reference implementation on this kind of machine (issue 2)
const simd = runCase('hcas-pointwise', 'simd');
const scalar = runCase('hcas-pointwise', 'scalar');
const fullLp = runCase('full-lp', 'simd');
const mnist = runCase('mnist-pointwise', 'simd');
const mnistScalar = runCase('mnist-pointwise', 'scalar');
const result = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  date: new Date().toISOString(),
  cases: {
    'hcas-pointwise': {
      ...simd,
      scalar: { medianTotalMs: scalar.medianTotalMs, msPerPoint: scalar.msPerPoint },
      ratios: {
        speedupVsReference: REFERENCE_MS_PER_POINT / simd.msPerPoint,
        simdOverScalarTime: simd.msPerPoint / scalar.msPerPoint,
      },
      target: { msPerPoint: 2, met: simd.msPerPoint <= 2 },
    },
    'full-lp-backends': fullLp,
    'mnist-pointwise': {
      ...mnist,
      scalar: mnistScalar,
      simdOverScalarTime: mnist.oneThread.medianMsPerPoint / mnistScalar.oneThread.medianMsPerPoint,
    },
  },
};
// runtime (issue 6): the worker pool (start-up, 1 thread vs pools of 1 and 2 workers).
result.cases['worker-pool'] = {
  loadAverageBefore: os.loadavg()[0],
  ...JSON.parse(execFileSync(process.execPath, [join(here, 'pool.mjs')], { encoding: 'utf8', maxBuffer: 1 << 26 })),
};
// Area repair (issue 4): enumeration + repair + certificate must take under 1 s on HCAS tau20.
result.cases['hcas-area'] = runCase('hcas-area', 'simd');
result.cases['acas-shaped-area'] = runCase('acas-shaped-area', 'simd');
// Verification (issue 10): every ACAS Xu instance of the fixtures (bench/acasxu.mjs), one thread.
result.cases.acasxu = JSON.parse(execFileSync(process.execPath, [join(here, 'acasxu.mjs')], { encoding: 'utf8', maxBuffer: 1 << 26 }));
// Area repair by branch and bound (issue 10): every violated ACAS Xu instance of the fixtures.
result.cases['acasxu-repair'] = JSON.parse(
  execFileSync(process.execPath, [join(here, 'acasxu-repair.mjs')], { encoding: 'utf8', maxBuffer: 1 << 26 }),
);
// ... and the same instances through the CLI: the shared 186-row CSV, rows of absent networks skipped.
{
  const out = join(here, 'results', 'acasxu-results.csv');
  mkdirSync(join(here, 'results'), { recursive: true });
  const csv = join(here, '..', 'test/fixtures/acasxu/acasxu_instances.csv');
  const t0 = performance.now();
  let code = 0;
  try {
    execFileSync(process.execPath, [join(here, '..', 'dist/cli.js'), 'run-instances', csv, '--out', out, '--skip-missing', '--quiet']);
  } catch (e) {
    code = e.status ?? 1;
  }
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  result.cases['acasxu-run-instances'] = {
    exitCode: code,
    rows: rows.length,
    answered: rows.filter((r) => r[3] === 'sat' || r[3] === 'unsat').length,
    sat: rows.filter((r) => r[3] === 'sat').length,
    unsat: rows.filter((r) => r[3] === 'unsat').length,
    seconds: (performance.now() - t0) / 1000,
    results: out,
  };
}
// Region LPs at depth (issue 14): mnistfc-style 784-256x4-10 and x6-10, 20 points each.
result.cases['mnistfc-256x4'] = { loadAverageBefore: os.loadavg()[0], ...runCase('mnistfc-4', 'simd') };
result.cases['mnistfc-256x6'] = { loadAverageBefore: os.loadavg()[0], ...runCase('mnistfc-6', 'simd') };
// Assembly linear in the number of points (issue 14): time per point at 10, 100 and 1,000 points.
result.cases['mnist-scaling'] = { loadAverageBefore: os.loadavg()[0], ...runCase('mnist-scaling', 'simd') };
result.cases['mnist-scaling-deep'] = { loadAverageBefore: os.loadavg()[0], ...runCase('mnist-scaling-deep', 'simd') };
// The sound default with a different spec per region (issue 14 item 4): its cost against --no-certify.
result.cases['mnist-bands'] = { loadAverageBefore: os.loadavg()[0], ...runCase('mnist-bands', 'simd') };
// Graph networks (issue 12): regions of the VNN-COMP CNNs, their time and memory.
result.cases['cnn-regions'] = { loadAverageBefore: os.loadavg()[0], ...runCase('cnn-regions', 'simd') };
// CNN repair (issue 12 item 5): the MNIST conv net on 20 misclassified images, the CIFAR conv net
// on counterexamples inside its VNN-LIB boxes; every region certified.
result.cases['cnn-mnist-pointwise'] = runCase('cnn-mnist-pointwise', 'simd');
result.cases['cnn-cifar-pointwise'] = runCase('cnn-cifar-pointwise', 'simd');
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
