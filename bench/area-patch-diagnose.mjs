// Diagnosis of the box patches of an ACAS Xu area repair (issue 10, brief h28): for the largest
// box patches of one instance, the box's widths (share of the area's box per input), the norm of
// the patch from the bound it was sized with (symbolic, over its band box), what the LP relaxation
// and the best of all bounds give over the same band box, the smallest patch the worst violation
// found in the box needs for the patch's own piece (sign-gradient ascent + 20,000 uniform samples:
// `boxPatch`'s search), how many of 20,000 uniform samples violate the property itself (union
// semantics: the piece can fall short where another piece holds), and the box's linear regions
// (exact enumeration, up to 3,000 regions / 10 s).
// Usage: node bench/area-patch-diagnose.mjs [--instances 1_9:7,2_9:8] [--top 8] [--dir D]  (JSON on stdout)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bandBox,
  boxPatch,
  enumerateRegions,
  init,
  loadModel,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  repairAreaBab,
  safeSpec,
  unsafeDepth,
} from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = flag('--dir') ?? join(root, 'test/fixtures/acasxu');
const top = Number(flag('--top') ?? 8);
const instances = (flag('--instances') ?? '1_9:7,2_9:8').split(',');
await init();
const out = [];
for (const name of instances) {
  const [n, p] = name.split(':');
  const net = await loadModel(join(dir, `ACASXU_run2a_${n}_batch_2000.onnx`));
  const pr = parseVnnlib(readFileSync(join(dir, `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`, { inputs: 5, outputs: 5 }).properties[0];
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const safe = await safeSpec(pr, 5);
  const { network, report } = await repairAreaBab(net, { area: { box: inputBox, inputSet }, spec: safe.spec, unsafe: pr.unsafe });
  const radius = network.patches.reduce((m, q) => Math.max(m, q.radius), 0);
  const rows = report.boxPatches
    .filter((b) => b.patchNorm > 0)
    .sort((a, b) => b.patchNorm - a.patchNorm)
    .slice(0, top);
  const boxes = [];
  for (const r of rows) {
    const box = { lower: r.lower, upper: r.upper };
    const sizeBox = bandBox(box, radius, inputBox);
    const common = { radius, sizeBox, relativeSlack: 0.05, search: { starts: 3, steps: 40, randomPoints: 20000 } };
    const t0 = performance.now();
    const sym = await boxPatch(net, box, safe.spec, { ...common, bound: 'symbolic' });
    const t1 = performance.now();
    const lp = await boxPatch(net, box, safe.spec, { ...common, bound: 'lp' });
    const t2 = performance.now();
    // The property itself (union semantics, VNN-LIB unsafe set) on 20,000 uniform samples of the
    // box: the piece the patch maps into can fall short where another piece holds.
    const data = propertyData(pr, 5, net.info.inputBox);
    let seed = 99;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const m = 20000;
    const xs = Float64Array.from({ length: m * 5 }, (_, i) => r.lower[i % 5] + (r.upper[i % 5] - r.lower[i % 5]) * rand());
    const ys = net.forwardFlat(xs, m);
    let violating = 0;
    let deepest = -Infinity;
    for (let i = 0; i < m; i++) {
      const d = -unsafeDepth(data, Array.from(xs.subarray(i * 5, i * 5 + 5)), Array.from(ys.subarray(i * 5, i * 5 + 5)));
      deepest = Math.max(deepest, d);
      if (d > 0) violating++;
    }
    let regions;
    try {
      const en = await enumerateRegions(net, { box, inputSet }, { maxRegions: 3000, signal: AbortSignal.timeout(10_000) });
      regions = en.regions.length;
    } catch (e) {
      regions = `> limit (${String(e?.message ?? e).slice(0, 60)})`;
    }
    boxes.push({
      lower: r.lower,
      upper: r.upper,
      widths: r.lower.map((l, j) => Number(((r.upper[j] - l) / (inputBox.upper[j] - inputBox.lower[j] || 1)).toPrecision(3))),
      share: r.share,
      depth: report.pending.boxes.find((b) => b.lower.every((v, j) => v === r.lower[j]) && b.upper.every((v, j) => v === r.upper[j]))
        ?.depth,
      patchNormInRepair: r.patchNorm,
      symbolic: { norm: sym.norm, piece: sym.piece, maxUpper: Math.max(...sym.upper), ms: Math.round(t1 - t0) },
      lp: { norm: lp.needed ? lp.norm : 0, needed: lp.needed, piece: lp.piece, maxUpper: Math.max(...lp.upper), ms: Math.round(t2 - t1) },
      // The need witnessed for the patch's own piece (the search's worst point of that piece).
      pieceNeed: sym.minimalNorm,
      pieceShortfall: sym.witnessViolation,
      // The property on uniform samples: violating samples and the deepest one (depth in the unsafe set; < 0: none).
      propertySamples: { samples: m, violating, deepest },
      regions,
    });
    process.stderr.write(`${name} ${JSON.stringify(boxes.at(-1))}\n`);
  }
  out.push({ instance: name, radius, boxPatches: report.boxPatches.length, maxPatchNorm: report.result.maxPatchNorm, largest: boxes });
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
