// Worker-pool benchmark (issue 6), in a fresh process: node bench/pool.mjs
// Pool start-up, and wall time of the same repair on 1 thread and on pools of 1 and 2 workers,
// for HCAS (cheap regions: overhead dominates) and a heavier random network (the pool pays off).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, init, Network, parseNnet, parsePoints, repair, repairedToJson } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await init();
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const now = () => performance.now();

function mulberry(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function heavyJob() {
  const r = mulberry(5);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-300))) * Math.cos(2 * Math.PI * r());
  const sizes = [8, 96, 96, 10];
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    layers.push({
      weights: Array.from({ length: sizes[l + 1] }, () => Array.from({ length: sizes[l] }, () => normal() / Math.sqrt(sizes[l]))),
      bias: Array.from({ length: sizes[l + 1] }, () => 0.1 * normal()),
    });
  }
  const net = Network.fromArrays(layers);
  const points = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => 2 * r() - 1));
  const labels = net.predict(points).map((y) => (y.indexOf(Math.max(...y)) + 1) % 10);
  return { net, opts: { points, labels, inputBox: { lower: new Array(8).fill(-1), upper: new Array(8).fill(1) } } };
}

const hcasNet = parseNnet(readFileSync(join(root, 'test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8'));
const hcasPts = parsePoints(JSON.parse(readFileSync(join(root, 'test/fixtures/hcas/buggy-points-pra1-tau05.json'), 'utf8')), 3, 5);
const jobs = {
  hcas: { net: hcasNet, opts: { points: hcasPts.points, labels: hcasPts.labels, inputBox: hcasPts.inputBox } },
  'random-8-96-96-10': heavyJob(),
};

const t0 = now();
const pools = { 1: await createPool({ size: 1 }), 2: await createPool({ size: 2 }) };
// Spawning is lazy: the first job on each pool starts its workers; measure that separately.
const startMs = {};
for (const [k, pool] of Object.entries(pools)) {
  const t = now();
  await repair(jobs.hcas.net, { ...jobs.hcas.opts, workers: pool });
  startMs[k] = now() - t;
}
const out = { loadAverage: (await import('node:os')).loadavg()[0], poolCreateMs: now() - t0, firstJobMs: startMs, cases: {} };
for (const [name, { net, opts }] of Object.entries(jobs)) {
  const reps = name === 'hcas' ? 15 : 5;
  const time = async (workers) => {
    const ms = [];
    const busy = [];
    let json;
    for (let i = 0; i < reps; i++) {
      const t = now();
      const { network, report } = await repair(net, { ...opts, workers });
      ms.push(now() - t);
      // Task time summed over regions (measured where each ran) per wall-clock ms: > 1 = parallel.
      busy.push((report.timingsMs.regions + report.timingsMs.lp + report.timingsMs.assembly) / (now() - t));
      if (report.result.status !== 'repaired') throw new Error(`${name}: not repaired`);
      json ??= JSON.stringify(repairedToJson(network));
    }
    return { ms: median(ms), busyOverWall: median(busy), json };
  };
  const one = await time(undefined);
  const w1 = await time(pools[1]);
  const w2 = await time(pools[2]);
  out.cases[name] = {
    regions: (await repair(net, opts)).report.result.regions,
    medianMs: { oneThread: one.ms, pool1: w1.ms, pool2: w2.ms },
    speedup2VsOneThread: one.ms / w2.ms,
    busyOverWall: { oneThread: one.busyOverWall, pool1: w1.busyOverWall, pool2: w2.busyOverWall },
    identical: one.json === w1.json && one.json === w2.json,
  };
}
await pools[1].close();
await pools[2].close();
process.stdout.write(JSON.stringify(out));
