// Profile of CNN point-wise repair by phase (region build, constant-patch LP, repair+certificate),
// CPU time and wasm heap. Usage: node bench/cnn-profile.mjs [points] (after npm run build).
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCore, init, LinearRegion, labelSpec, loadModel, repair } from '../dist/index.js';
import { firstWhere, mnistTestSet, predictions } from './mnist-data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await init({ flavour: 'simd' });
const count = Number(process.argv[2] ?? 3);
const net = await loadModel(join(root, 'test/fixtures/cnn/Convnet_avgpool.onnx'));
const { x, labels } = await mnistTestSet();
const wrong = firstWhere(predictions(net, x), count, (b, i) => b !== labels[i]);
const box = { lower: new Array(784).fill(0), upper: new Array(784).fill(1) };
const heap = () => getCore().exports.memory.buffer.byteLength / 2 ** 20;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const load = os.loadavg()[0];
const rows = [];
for (const i of process.env.SKIP_REGIONS ? [] : wrong) {
  const p = Array.from(x.subarray(i * 784, (i + 1) * 784));
  const c0 = cpu();
  const r = LinearRegion.ofPoint(net, p, box);
  const c1 = cpu();
  const cp = r.constantPatch(labelSpec(labels[i], 10));
  const c2 = cpu();
  const rc = r.rowCount;
  r.free();
  rows.push({ image: i, rows: rc, regionMs: c1 - c0, constantPatchMs: c2 - c1, proof: cp.proof, heapMB: heap() });
}
const c0 = cpu();
const { report } = await repair(net, {
  points: wrong.map((i) => Array.from(x.subarray(i * 784, (i + 1) * 784))),
  labels: wrong.map((i) => labels[i]),
  inputBox: box,
  certify: true,
});
const c1 = cpu();
process.stdout.write(
  JSON.stringify(
    {
      loadAverage: load,
      loadAfter: os.loadavg()[0],
      perRegion: rows,
      repair: {
        points: wrong.length,
        cpuMsPerPoint: (c1 - c0) / wrong.length,
        timingsMsPerPoint: Object.fromEntries(Object.entries(report.timingsMs).map(([k, v]) => [k, v / wrong.length])),
        certified: report.certificate?.certifiedRegions,
        lps: report.certificate?.lps,
        pieces: report.certificate?.pieces,
        perRegion: report.certificate?.perRegion.map((c) => ({
          lps: c.lps,
          patches: c.patches.length,
          exact: c.exactPatches,
          pieces: c.pieces,
        })),
      },
      heapMB: heap(),
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    },
    null,
    1,
  ) + '\n',
);
