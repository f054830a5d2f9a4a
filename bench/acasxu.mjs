// ACAS Xu (VNN-COMP 2021) through `verify`: every instance of test/fixtures/acasxu/acasxu_instances.csv
// whose network is in the fixtures, with its timeout. Per instance: the answer, the time, the
// share of the box proven by bounds and by exact regions, the regions decided exactly, and the
// counterexample's depth inside the unsafe set as onnxruntime (float32) computes it.
// Usage: node bench/acasxu.mjs [--workers N] [--only net:prop,...]   (JSON on stdout)
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { init, loadModel, parseInstancesCsv, parseVnnlib, propertyData, unsafeDepth, verify } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test/fixtures/acasxu');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const workers = flag('--workers') ? Number(flag('--workers')) : undefined;
const only = flag('--only')?.split(',');
await init();
const rows = parseInstancesCsv(readFileSync(join(dir, 'acasxu_instances.csv'), 'utf8')).filter((r) => existsSync(join(dir, r.onnx)));
const models = new Map();
const out = [];
const load = { before: os.loadavg() };
for (const r of rows) {
  const name = `${r.onnx.replace('ACASXU_run2a_', '').replace('_batch_2000.onnx', '')}:${r.vnnlib.replace('prop_', '').replace('.vnnlib', '')}`;
  if (only && !only.includes(name)) continue;
  if (!models.has(r.onnx)) models.set(r.onnx, await loadModel(join(dir, r.onnx)));
  const net = models.get(r.onnx);
  const prop = parseVnnlib(readFileSync(join(dir, r.vnnlib), 'utf8'), r.vnnlib, { inputs: 5, outputs: 5 });
  const res = await verify(net, prop, { timeoutMs: r.timeout * 1000, workers });
  const s = res.shares;
  const item = {
    instance: name,
    result: res.status,
    seconds: Number((res.ms / 1000).toFixed(3)),
    boundsShare: s.empty + s.interval + s.symbolic + s.symbolicLp + s.lpRelaxation,
    regionsShare: s.regions,
    shares: s,
    boxes: res.stats.boxes,
    regions: res.stats.regions,
    lps: res.stats.lps,
    maxDepth: res.stats.maxDepth,
    largestProvenBound: res.largestProvenBound,
  };
  if (res.counterexample) {
    const cx = res.counterexample;
    const session = await ort.InferenceSession.create(readFileSync(join(dir, r.onnx)));
    const o = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(cx.x), [1, 1, 1, 5]) });
    const y = Array.from(o[session.outputNames[0]].data);
    await session.release();
    item.counterexample = {
      x: cx.x,
      depthFloat64: cx.margin,
      depthOnnxruntime: unsafeDepth(propertyData(prop.properties[cx.property], 5), cx.x, y),
    };
  }
  out.push(item);
  process.stderr.write(`${name} ${res.status} ${item.seconds}s boxes ${item.boxes} regions ${item.regions}\n`);
}
load.after = os.loadavg();
const times = out.map((o) => o.seconds).sort((a, b) => a - b);
const violated = out
  .filter((o) => o.result === 'violated')
  .map((o) => o.seconds)
  .sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    instances: out.length,
    workers: workers ?? 0,
    loadAverage: load,
    answered: out.filter((o) => o.result === 'holds' || o.result === 'violated').length,
    holds: out.filter((o) => o.result === 'holds').length,
    violated: violated.length,
    totalSeconds: Number(times.reduce((a, b) => a + b, 0).toFixed(2)),
    medianSeconds: times[Math.floor(times.length / 2)],
    maxSeconds: times[times.length - 1],
    violatedMedianSeconds: violated[Math.floor(violated.length / 2)] ?? null,
    violatedMaxSeconds: violated[violated.length - 1] ?? null,
    // The enumeration-only approach (issue 10): N2,1 φ2 holds 193,197 linear regions in its box,
    // 60 s to enumerate them; verification here needs none of them.
    enumerationOnly: { instance: '2_1:2', regions: 193197, seconds: 60 },
    perInstance: out,
  })}\n`,
);
