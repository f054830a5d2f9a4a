// Area repair by branch and bound (issue 10, ts/area-bab.ts) of every violated ACAS Xu instance of
// test/fixtures/acasxu (the ones bench/acasxu.mjs answers `violated`): per instance the seconds
// (certificate included), the box share proven by bounds vs by exact regions, the regions
// enumerated, the patches, whether the whole box is certified, and — when it is — the violating
// samples among 200,000 uniform box samples by onnxruntime on the exported float64 ONNX (a sample
// violates when it lies deeper than 1e-8 inside the unsafe set). Each instance runs with the default
// work budgets of repairAreaBab (boxes bounded by the branch and bound and by the pending phase,
// from the network's size: the same boxes, patches and proof map on any machine) unless
// --verify-boxes / --pending-boxes say otherwise; --budget S adds a time cap (`timeoutMs`: the
// result then depends on the load where the cap cuts), --workers N runs the branch and bound in N
// worker threads (same result), and a hard stop (AbortSignal, --hard, default 2 × the cap or 300 s)
// reports the instance `aborted`. --dir and --instances run other networks (e.g. the VNN-COMP 2021
// set: --dir /work/acasxu-all --instances 3_3:2,2_2:2).
// Also: 5,000 points beyond the patch bands compared bit for bit with the original's float64
// ONNX; with --python the same checks again by bench/onnx-samples.py (numpy, no code shared with
// relu-repair or onnxruntime).
// Each certified repair is then checked as a user would check the shipped file: its float64 ONNX
// read back and certified from its proof map (`fileCertificate`: ts/certificate-area.ts), timed
// against the repair's own certificate and re-proof.
// Target (issue 10): < 45 s per violated instance including the certificate, median < 10 s.
// Usage: node bench/acasxu-repair.mjs [--budget S] [--hard S] [--verify-boxes N] [--pending-boxes N] [--workers N]
//        [--samples N] [--far N] [--python] [--no-ort] [--only net:prop,...] [--dir D --instances net:prop,...]  (JSON on stdout)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  certifyArea,
  init,
  loadModel,
  networkToOnnx,
  parseVnnlib,
  propertyData,
  propertyInputDomain,
  repairAreaBab,
  repairedFromOnnx,
  repairedToOnnx,
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
const numberFlag = (name) => (flag(name) !== undefined ? Number(flag(name)) : undefined);
// An optional time cap (s): without it the work budgets alone limit the phases.
const budget = numberFlag('--budget');
const sampleCount = Number(flag('--samples') ?? 200_000);
const hard = Number(flag('--hard') ?? (budget !== undefined ? 2 * budget : 300));
const verifyBoxes = numberFlag('--verify-boxes');
const pendingBoxes = numberFlag('--pending-boxes');
const workers = numberFlag('--workers');
const farCount = Number(flag('--far') ?? 5000);
// Also the independent numpy evaluator (bench/onnx-samples.py; Debian python3-onnx, python3-numpy).
const python = args.includes('--python');
// The python check only (onnxruntime's left out).
const noOrt = args.includes('--no-ort');
const only = flag('--only')?.split(',');
// The violated instances among the fixtures' networks (bench/acasxu.mjs, test/verify.test.ts).
const VIOLATED = flag('--instances')?.split(',') ?? ['2_1:2', '2_9:2', '3_4:2', '4_1:2', '5_4:2', '1_9:3', '1_9:4', '1_9:7', '2_9:8'];

// Box patches (report.boxPatches with a patch): ‖d‖∞ from the sound bounds vs the smallest
// constant patch the worst violations found in the box need (`minimalNorm`): the minimality gap
// is their difference; `maxWitnessed` is the largest such need over the boxes.
function gapFigures(rows) {
  const patched = rows.filter((b) => b.patchNorm > 0);
  if (patched.length === 0) return null;
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const at = (a, f) => a[Math.min(a.length - 1, Math.floor(f * a.length))];
  const norms = sorted(patched.map((b) => b.patchNorm));
  const gaps = sorted(patched.map((b) => b.patchNorm - b.minimalNorm));
  const maxWitnessed = Math.max(...patched.map((b) => b.minimalNorm));
  return {
    count: patched.length,
    maxNorm: norms[norms.length - 1],
    medianNorm: at(norms, 0.5),
    p90Norm: at(norms, 0.9),
    maxGap: gaps[gaps.length - 1],
    medianGap: at(gaps, 0.5),
    maxWitnessed,
    maxNormOverMaxWitnessed: maxWitnessed > 0 ? norms[norms.length - 1] / maxWitnessed : null,
    noViolationFound: patched.filter((b) => !(b.minimalNorm > 0)).length,
  };
}

/**
 * The independent check of a certified repair: its float64 ONNX run by onnxruntime (no code of
 * ours), on `sampleCount` uniform samples of the property's box (a sample violates when its output
 * lies deeper than 1e-8 inside the unsafe set), and on `farCount` points outside every patch band
 * (more than the largest patch radius beyond a face of the box, within half the box's width of
 * it), whose outputs must be bit for bit those of the original network's own float64 ONNX.
 * onnxruntime with its graph optimisations on spends minutes (tens of thousands of nodes, one
 * small subgraph per patch) before the first run: they are off, one thread, and session creation
 * and runs are timed apart.
 */
async function sampleCheck(repaired, original, pr, box) {
  const opts = { graphOptimizationLevel: 'disabled', executionMode: 'sequential', intraOpNumThreads: 1 };
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(repairedToOnnx(repaired, { precision: 'float64' }), opts);
  const plain = await ort.InferenceSession.create(networkToOnnx(original, { precision: 'float64' }), opts);
  const createMs = performance.now() - t0;
  const run = async (s, x, c) => (await s.run({ [s.inputNames[0]]: new ort.Tensor('float64', x, [c, 1, 1, 5]) }))[s.outputNames[0]].data;
  const data = propertyData(pr, 5, original.info.inputBox);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const t1 = performance.now();
  let violating = 0;
  let deepest = -Infinity;
  const chunk = 20_000;
  for (let done = 0; done < sampleCount; done += chunk) {
    const c = Math.min(chunk, sampleCount - done);
    const x = Float64Array.from({ length: c * 5 }, (_, i) => box.lower[i % 5] + (box.upper[i % 5] - box.lower[i % 5]) * rand());
    const y = await run(session, x, c);
    for (let i = 0; i < c; i++) {
      const d = -unsafeDepth(data, Array.from(x.subarray(i * 5, i * 5 + 5)), Array.from(y.subarray(i * 5, i * 5 + 5)));
      deepest = Math.max(deepest, d);
      if (d > 1e-8) violating++;
    }
  }
  const runMs = performance.now() - t1;
  // Far points: beyond the bands on at least one input.
  const r = 1.001 * repaired.patches.reduce((m, p) => Math.max(m, p.radius), 0);
  const far = [];
  while (far.length < farCount * 5) {
    const x = Array.from({ length: 5 }, (_, j) => {
      const w = box.upper[j] - box.lower[j];
      return box.lower[j] - 0.5 * w + 2 * w * rand();
    });
    if (x.some((v, j) => v < box.lower[j] - r || v > box.upper[j] + r)) far.push(...x);
  }
  const xf = Float64Array.from(far);
  const [a, b] = [await run(session, xf, farCount), await run(plain, xf, farCount)];
  let differ = 0;
  for (let i = 0; i < farCount; i++) if (a.slice(i * 5, i * 5 + 5).some((v, o) => !Object.is(v, b[i * 5 + o]))) differ++;
  await session.release();
  await plain.release();
  return {
    samples: sampleCount,
    violatingSamples: violating,
    // Largest depth inside the unsafe set over the samples (< 0: every sample safe, by that margin).
    deepestSampleDepth: deepest,
    farPoints: farCount,
    farPointsNotBitIdentical: differ,
    onnxruntime: { sessionsMs: Math.round(createMs), samplesMs: Math.round(runMs) },
  };
}

/**
 * The same checks by bench/onnx-samples.py (numpy walking the ONNX graph node by node: no code
 * shared with relu-repair nor onnxruntime), on its own samples (numpy's generator) and its own
 * reading of the VNN-LIB file.
 */
function pythonCheck(repaired, original, name, p) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'rr-acas-py-'));
  const file = join(tmp, 'repaired.onnx');
  const plain = join(tmp, 'original.onnx');
  writeFileSync(file, repairedToOnnx(repaired, { precision: 'float64' }));
  writeFileSync(plain, networkToOnnx(original, { precision: 'float64' }));
  const r = 1.001 * repaired.patches.reduce((m, q) => Math.max(m, q.radius), 0);
  const args = [join(root, 'bench/onnx-samples.py'), file, join(dir, `prop_${p}.vnnlib`), '--samples', String(sampleCount)];
  args.push('--compare', plain, '--far', String(farCount), '--radius', String(r));
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 24 }));
  } catch (e) {
    return { instance: name, error: String(e?.message ?? e).slice(0, 300) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await init();
const out = [];
const load = { before: os.loadavg() };
for (const name of VIOLATED) {
  if (only && !only.includes(name)) continue;
  const [n, p] = name.split(':');
  const net = await loadModel(join(dir, `ACASXU_run2a_${n}_batch_2000.onnx`));
  const pr = parseVnnlib(readFileSync(join(dir, `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`, { inputs: 5, outputs: 5 }).properties[0];
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const safe = await safeSpec(pr, 5);
  const item = { instance: name, loadBefore: os.loadavg()[0] };
  const t0 = performance.now();
  let phase = 'start';
  try {
    const { network, report } = await repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec: safe.spec,
      unsafe: pr.unsafe,
      timeoutMs: budget !== undefined ? budget * 1000 : undefined,
      verify: verifyBoxes !== undefined ? { maxBoxes: verifyBoxes } : undefined,
      pending: pendingBoxes !== undefined ? { maxBoxes: pendingBoxes } : undefined,
      workers,
      signal: AbortSignal.timeout(hard * 1000),
      onProgress: (e) => {
        phase = e.phase;
      },
    });
    const r = report.result;
    Object.assign(item, {
      status: r.status,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
      boundsShare: report.shares.bounds,
      regionsShare: report.shares.regions,
      reprovenShare: report.shares.reproven,
      unprovenShare: report.shares.unproven,
      pendingHandedBack: report.pending.handedBack,
      pendingSplits: report.pending.splits,
      pendingShares: report.pending.shares,
      pendingMs: { split: Math.round(report.pending.splitMs), patch: Math.round(report.pending.patchMs) },
      pendingGroups: report.pending.groups,
      boxPatches: report.boxPatches.length,
      maxPatchNorm: r.maxPatchNorm,
      boxPatchGaps: gapFigures(report.boxPatches),
      regionsEnumerated: r.regions,
      buggyRegions: r.buggyRegions,
      patches: r.patches,
      certified: r.certified,
      unproven: report.unproven.length,
      timingsMs: report.timingsMs,
      verifyBoxes: report.verify.boxes,
      // The work budgets and their use: boxes the branch and bound may bound (per job), jobs that
      // spent theirs, the pending phase's budget and boxes bounded; whether a time cap cut them.
      budget: report.budget,
    });
    if (r.certified) {
      // The user's check of the shipped file: the float64 ONNX read back (a new network from its
      // bytes) and certified from its proof map, against the repair's own certificate + re-proof.
      const bytes = repairedToOnnx(network, { precision: 'float64' });
      const t1 = performance.now();
      const file = repairedFromOnnx(bytes, `${name}.onnx`);
      const t2 = performance.now();
      const c = await certifyArea(file, {
        spec: safe.spec,
        unsafe: pr.unsafe,
        area: { box: inputBox, inputSet },
        signal: AbortSignal.timeout(hard * 1000),
      });
      item.fileCertificate = {
        status: c.status,
        source: c.source,
        seconds: Number(((performance.now() - t1) / 1000).toFixed(2)),
        // Of which reading the ONNX back (repairedFromOnnx: the record's network rebuilt and compared with the file's graph).
        readBackSeconds: Number(((t2 - t1) / 1000).toFixed(2)),
        repairOwnCertificateSeconds: Number(((report.timingsMs.certify + report.timingsMs.reprove) / 1000).toFixed(2)),
        pieces: c.pieces,
        proofMapBytes: JSON.stringify(file.record?.proof ?? null).length,
        shares: Object.fromEntries(Object.entries(c.byMethod).map(([k, v]) => [k, v.share])),
        provenByVerify: c.provenByVerify,
        provenByHint: c.provenByHint,
        provenOnOriginal: c.provenOnOriginal,
        regions: c.regions.enumerated,
        refused: c.refused.length,
        timingsMs: c.timingsMs,
      };
    }
    if (r.certified && sampleCount > 0 && !noOrt) Object.assign(item, await sampleCheck(network, net, pr, inputBox));
    if (r.certified && python) item.python = pythonCheck(network, net, name, p);
  } catch (e) {
    item.status = e?.name === 'AbortError' || e?.name === 'TimeoutError' ? 'aborted' : 'error';
    item.seconds = Number(((performance.now() - t0) / 1000).toFixed(2));
    item.phaseAtStop = phase;
    item.error = String(e?.message ?? e).slice(0, 300);
  }
  item.loadAfter = os.loadavg()[0];
  out.push(item);
  process.stderr.write(`${JSON.stringify(item)}\n`);
}
const secs = out.map((x) => x.seconds).sort((a, b) => a - b);
const median = secs.length ? secs[Math.floor((secs.length - 1) / 2)] : null;
const result = {
  timeCapSeconds: budget ?? null,
  workBudgets: verifyBoxes !== undefined || pendingBoxes !== undefined ? { verifyBoxes, pendingBoxes } : 'defaults',
  workers: workers ?? 0,
  load: { ...load, after: os.loadavg() },
  instances: out,
  certified: out.filter((x) => x.certified).length,
  of: out.length,
  medianSeconds: median,
  target: {
    perInstanceSeconds: 45,
    medianSeconds: 10,
    // From the measured seconds (load beside them in `load`): every instance certified under 45 s, median under 10 s.
    met: out.every((x) => x.certified && x.seconds < 45) && median !== null && median < 10,
  },
  enumerationOnlyReference: { 'N2,1 φ2 regions': 193197 },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
