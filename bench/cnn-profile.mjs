// Profile of CNN point-wise repair by phase (region build, constant-patch LP, repair+certificate),
// CPU time and wasm heap. Usage: node bench/cnn-profile.mjs [points] (after npm run build).
//
// With WASM=<a core built with its name section> (e.g. the release build with
// CARGO_PROFILE_RELEASE_STRIP=none, see scripts/build-wasm.sh for the flags), the repair's CPU
// time is also split by core phase from V8's sampling profiler: region build (linearise),
// implied-row pruning, minimal-patch LP, certificate (its region rebuild, frame, band tests and
// row LPs). Inclusive sample time per phase; the profiler itself adds some overhead.
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCore, init, LinearRegion, labelSpec, loadModel, repair } from '../dist/index.js';
import { firstWhere, mnistTestSet, predictions } from './mnist-data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const named = process.env.WASM;
await init(named ? { wasm: readFileSync(named) } : { flavour: 'simd' });
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
  rows.push({
    image: i,
    rows: rc,
    impliedRows: r.impliedRows,
    impliedTests: r.impliedTests,
    regionMs: c1 - c0,
    constantPatchMs: c2 - c1,
    proof: cp.proof,
    heapMB: heap(),
  });
  r.free();
}
const session = named ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const c0 = cpu();
const { report } = await repair(net, {
  points: wrong.map((i) => Array.from(x.subarray(i * 784, (i + 1) * 784))),
  labels: wrong.map((i) => labels[i]),
  inputBox: box,
  certify: true,
});
const c1 = cpu();
const profile = session ? (await session.post('Profiler.stop')).profile : undefined;
// PROFILE_OUT=<file.cpuprofile>: the raw profile too (for self-time by function).
if (profile && process.env.PROFILE_OUT) (await import('node:fs')).writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
const phases = profile ? phaseTimes(profile, wrong.length) : undefined;
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
      ...(phases ? { corePhasesCpuMsPerPoint: phases } : {}),
      heapMB: heap(),
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    },
    null,
    1,
  ) + '\n',
);

/**
 * Inclusive sampled time (ms per point) of the core's phases, by the mangled names of their
 * functions (a frame counts once per sample for its outermost matching phase).
 */
function phaseTimes(profile, points) {
  const phases = [
    ['certificate', /Certifier.*region_over/],
    ['certificate: region rebuild', /of_pattern_rows/],
    ['certificate: frame', /Frame.*3new/],
    ['certificate: band tests', /Frame.*(reaches|may_reach)/],
    ['certificate: row LPs', /certify_convex.*|maximize_unless_below/],
    ['region: implied-row pruning', /implied_rows.*implied_rows/],
    ['region: linearise', /linearise.*linearise/],
    ['minimal-patch LP', /minimal_patch_with/],
  ];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = new Map();
  profile.samples.forEach((s, i) => dt.set(s, (dt.get(s) ?? 0) + profile.timeDeltas[i]));
  const out = Object.fromEntries(phases.map(([k]) => [k, 0]));
  for (const [id, t] of dt) {
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur).callFrame.functionName);
    for (const [k, re] of phases) {
      // Row LPs: LPs called from the convex tier directly (not under the frame or band tests).
      if (k === 'certificate: row LPs') {
        const at = stack.findIndex((f) => /certify_convex/.test(f));
        if (at > 0 && !stack.slice(0, at).some((f) => /Frame/.test(f)) && stack.slice(0, at).some((f) => /maximize/.test(f))) out[k] += t;
      } else if (stack.some((f) => re.test(f))) out[k] += t;
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v / 1e3 / points)]));
}
