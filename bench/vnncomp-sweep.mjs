// Every VNN-COMP 2021 network through relu-repair (issue 12): per network its load (time, nodes,
// ReLUs, or the exact error), our float64 evaluation against onnxruntime-node (random inputs in
// the first property's box and the centres of the property boxes; float32 models also evaluated
// by onnxruntime on a float64 copy, so the float64 diff is ours vs theirs at the same precision),
// then per benchmark the first N instances through `verify` (answer, time, VNN-COMP expected answer
// where known), a counterexample re-checked by onnxruntime, and for every counterexample a
// point-wise repair of it (head repair from the tensor the importer suggests for a curved network)
// with the certificate asked for: fixed? certified? seconds.
//
// Usage: node bench/vnncomp-sweep.mjs <benchmarks dir> [--per-benchmark N] [--timeout-scale f]
//          [--per-network M] [--only acasxu,test,...] [--network-timeout S] [--repair-timeout S]
// (the first N instances of each benchmark and the first M of each network are verified).
// JSON on stdout, a line per network / instance on stderr. Each network runs in its own child
// process (memory cap 3 GB, wall-clock cap), so a crash, a hang or a memory blow-up is recorded for
// that network and the sweep goes on. Needs `npm run build` first (reads dist/).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = fileURLToPath(import.meta.url);
const root = join(dirname(here), '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

// The expected answers of the competition's own test benchmark (its README and file names):
// test_unsat is ACAS Xu N1,6 on φ3 (holds), test_sat is N1,7 on φ3 (violated); the nano/tiny/small
// networks are sanity checks that hold.
const EXPECTED = {
  'test/test_unsat.onnx|test_prop.vnnlib': 'unsat',
  'test/test_sat.onnx|test_prop.vnnlib': 'sat',
  'test/test_nano.onnx|test_nano.vnnlib': 'unsat',
  'test/test_tiny.onnx|test_tiny.vnnlib': 'unsat',
  'test/test_small.onnx|test_small.vnnlib': 'unsat',
};

const readMaybeGz = (p) => {
  const b = readFileSync(p);
  return p.endsWith('.gz') ? gunzipSync(b) : b;
};

// ---------------------------------------------------------------------------------------------

async function parent() {
  const dir = args[0];
  if (!dir || dir.startsWith('--') || !existsSync(dir)) {
    process.stderr.write('usage: node bench/vnncomp-sweep.mjs <benchmarks dir> [--per-benchmark N] [--timeout-scale f] [--only a,b]\n');
    process.exit(2);
  }
  const perBench = Number(flag('--per-benchmark', '2'));
  const perNet = Number(flag('--per-network', '0'));
  const scale = Number(flag('--timeout-scale', '0.25'));
  const only = flag('--only')?.split(',');
  const networkCap = Number(flag('--network-timeout', '600'));
  const repairCap = Number(flag('--repair-timeout', '120'));
  const benches = readdirSync(dir)
    .filter((b) => statSync(join(dir, b)).isDirectory() && (!only || only.includes(b)))
    .sort();
  const load = { before: os.loadavg(), uptimeBefore: uptime() };
  const out = { benchmarksDir: resolve(dir), perBenchmark: perBench, perNetwork: perNet, timeoutScale: scale, benchmarks: [] };
  const t0 = performance.now();
  for (const b of benches) {
    const csv = readdirSync(join(dir, b)).find((f) => f.endsWith('instances.csv'));
    if (!csv) continue;
    const rows = readFileSync(join(dir, b, csv), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const [onnx, vnnlib, timeout] = l.split(',').map((s) => s.trim());
        return { onnx, vnnlib, timeout: Number(timeout) };
      });
    const benchOut = { benchmark: b, instancesListed: rows.length, networks: [] };
    out.benchmarks.push(benchOut);
    const nets = [...new Set(rows.map((r) => r.onnx))];
    // The first N instances of the benchmark, plus the first M of every network (--per-network).
    const chosen = rows.filter((r, i) => i < perBench || rows.filter((q, j) => j < i && q.onnx === r.onnx).length < perNet);
    for (const onnx of nets) {
      const path = join(dir, b, onnx);
      const item = { network: onnx, file: path };
      if (!existsSync(path)) {
        item.load = { ok: false, error: 'missing file (not in this copy of the benchmarks)' };
        benchOut.networks.push(item);
        process.stderr.write(`${b} ${onnx}: missing\n`);
        continue;
      }
      const instances = chosen
        .filter((r) => r.onnx === onnx)
        .map((r) => ({
          ...r,
          path: join(dir, b, r.vnnlib),
          expected: EXPECTED[`${b}/${r.onnx.replace(/^\.\//, '')}|${r.vnnlib.replace(/^\.\//, '')}`],
        }));
      // Property boxes for the evaluation: the network's first instance even when it is not verified.
      const firstProp = rows.find((r) => r.onnx === onnx);
      const job = {
        bench: b,
        onnx: path,
        instances,
        evalProperty: join(dir, b, firstProp.vnnlib),
        scale,
        repairCap,
        probe: !args.includes('--no-probe'),
      };
      const res = await runChild(job, networkCap);
      Object.assign(item, res);
      benchOut.networks.push(item);
      process.stderr.write(`${b} ${onnx}: ${lineOf(item)}\n`);
      if (item.repairProbe)
        process.stderr.write(`  repair probe (${item.repairProbe.wants} at the box centre): ${repairText(item.repairProbe)}\n`);
      for (const v of item.instances ?? []) process.stderr.write(`  ${v.vnnlib}: ${instanceLine(v)}\n`);
    }
  }
  out.totalSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  load.after = os.loadavg();
  load.uptimeAfter = uptime();
  out.load = load;
  out.summary = summary(out);
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

function uptime() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return '';
  }
}

function runChild(job, capSeconds) {
  return new Promise((done) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['--max-old-space-size=3072', here, '--child', JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 20000) stderr = stderr.slice(-10000);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), capSeconds * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      const last = stdout.trim().split('\n').pop();
      try {
        const r = JSON.parse(last);
        r.childSeconds = seconds;
        if (code !== 0 || signal) {
          // Killed (wall-clock cap, out of memory) or crashed after some results: keep them, say so,
          // and mark the instance it was on and the ones never reached.
          r.crash = { code, signal, seconds, stderrTail: stderr.slice(-1500) };
          const why = `child process ${signal ? `killed (${signal}: wall-clock cap ${capSeconds} s or out of memory)` : `exit ${code}`} after ${seconds} s`;
          for (const [i, inst] of job.instances.entries()) {
            const v = r.instances[i];
            if (!v) r.instances.push({ vnnlib: inst.vnnlib, timeoutSeconds: inst.timeout * job.scale, error: `not finished: ${why}` });
            else if (!v.error && (v.result === undefined || (v.counterexample && !v.repair))) v.error = `not finished: ${why}`;
          }
        }
        return done(r);
      } catch {
        const why = `child process ${signal ? `killed (${signal}: wall-clock cap ${capSeconds} s or out of memory)` : `exit ${code}`} after ${seconds} s`;
        done({
          load: { ok: false, error: why },
          instances: job.instances.map((inst) => ({
            vnnlib: inst.vnnlib,
            timeoutSeconds: inst.timeout * job.scale,
            error: `not finished: ${why}`,
          })),
          crash: { code, signal, seconds, stderrTail: stderr.slice(-1500) },
          partial: stdout.slice(-3000),
        });
      }
    });
  });
}

const fmt = (x, d = 2) => (x === null || x === undefined ? '-' : typeof x === 'number' ? Number(x.toPrecision(d)).toString() : String(x));

function lineOf(n) {
  if (!n.load?.ok) return `LOAD FAILED: ${n.load?.error}`;
  const l = n.load;
  const e = n.eval ?? {};
  return `loaded in ${l.seconds} s (${l.kind}, ${l.nodes} nodes, ${l.relus} ReLUs, ${l.inputs}→${l.outputs}); eval diff vs onnxruntime ${e.error ? `ERROR ${e.error}` : `f32 ${fmt(e.maxAbsDiffFloat32)} f64 ${fmt(e.maxAbsDiffFloat64)}`}`;
}

function instanceLine(v) {
  if (v.error) return `ERROR ${v.error}`;
  let s = `${v.verifyError ? `verify ERROR ${v.verifyError}; ` : ''}${v.method ? `[${v.method}] ` : ''}${v.result} in ${v.seconds} s (timeout ${v.timeoutSeconds} s)`;
  if (v.expected) s += ` expected ${v.expected}${v.agrees === false ? ' DISAGREES' : ''}`;
  if (v.counterexample)
    s += `; cex onnxruntime depth ${fmt(v.counterexample.depthOnnxruntime, 3)} (${v.counterexample.confirmed ? 'confirmed' : 'NOT confirmed'})`;
  if (v.repair) {
    const r = v.repair;
    s += `; repair ${repairText(r)}`;
  }
  return s;
}

function repairText(r) {
  return r.error
    ? `ERROR ${r.error}`
    : r.status === undefined
      ? 'not finished'
      : `${r.status} fixed ${r.fixed} certified ${r.certified} in ${r.seconds} s`;
}

function summary(out) {
  const nets = out.benchmarks.flatMap((b) => b.networks);
  const inst = nets.flatMap((n) => n.instances ?? []);
  return {
    networks: nets.length,
    loaded: nets.filter((n) => n.load?.ok).length,
    loadFailures: nets.filter((n) => !n.load?.ok).map((n) => `${n.network}: ${n.load?.error}`),
    maxEvalDiffFloat64: Math.max(0, ...nets.map((n) => n.eval?.maxAbsDiffFloat64 ?? 0)),
    instances: inst.length,
    verifyErrors: inst.filter((v) => v.verifyError).length,
    answers: Object.fromEntries(
      ['holds', 'violated', 'timeout', 'unknown', 'error'].map((w) => [w, inst.filter((v) => (v.error ? 'error' : v.result) === w).length]),
    ),
    disagreements: inst.filter((v) => v.agrees === false).length,
    counterexamplesConfirmed: inst.filter((v) => v.counterexample?.confirmed).length,
    repairs: inst.filter((v) => v.repair).length,
    repairsFixed: inst.filter((v) => v.repair?.fixed).length,
    repairsCertified: inst.filter((v) => v.repair?.certified === true).length,
    repairProbes: nets.filter((n) => n.repairProbe).length,
    repairProbesFixed: nets.filter((n) => n.repairProbe?.fixed).length,
    repairProbesCertified: nets.filter((n) => n.repairProbe?.certified === true).length,
    repairProbeFailures: nets
      .filter((n) => n.repairProbe && !n.repairProbe.fixed)
      .map((n) => `${n.network}: ${n.repairProbe.error ?? n.repairProbe.status ?? 'not finished'}`),
  };
}

// ---------------------------------------------------------------------------------------------
// One network (child process).

async function child(job) {
  const api = await import(join(root, 'dist/index.js'));
  const ort = await import('onnxruntime-node');
  await api.init();
  const res = { load: { ok: false }, instances: [] };
  const emit = () => process.stdout.write(`${JSON.stringify(res)}\n`);
  const bytes = new Uint8Array(readMaybeGz(job.onnx));
  const name = job.onnx.replace(/\.gz$/, '');
  let net;
  let head;
  let t0 = performance.now();
  try {
    net = api.parseModel(name, bytes);
    res.load = { ok: true, kind: 'network' };
  } catch (e) {
    const from = /--from "([^"]+)"/.exec(e.message)?.[1];
    res.load = { ok: false, error: `${e.constructor.name}: ${e.message}` };
    if (from) {
      try {
        head = api.parseOnnxHead(bytes, name, { headFrom: from });
        res.load = { ok: true, kind: `head from ${JSON.stringify(from)}`, headFrom: from, fullModelError: res.load.error };
      } catch (e2) {
        res.load.headError = `${e2.constructor.name}: ${e2.message}`;
      }
    }
  }
  res.load.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  if (!res.load.ok) return emit();
  const tail = head ? head.tail : net;
  const evaluator = head ? api.headEvaluator(head) : net;
  const n = evaluator.inputSize;
  const k = evaluator.outputSize;
  Object.assign(res.load, {
    inputs: n,
    outputs: k,
    inputShape: head ? head.info.inputShape : net.inputShape,
    nodes: tail.graph.nodes.length,
    relus: tail.hiddenCount,
    denseChain: tail.denseLayers !== undefined,
    bytes: bytes.length,
  });

  // Evaluation against onnxruntime: the model as given (its element type), and a float64 copy.
  let session;
  let session64;
  let inputMeta;
  try {
    session = await ort.InferenceSession.create(bytes);
    inputMeta = session.inputMetadata?.[0];
    res.load.elemType = inputMeta?.type ?? 'unknown';
  } catch (e) {
    res.eval = { error: `onnxruntime cannot load it: ${e.message}` };
  }
  const ortShape = () => {
    const dims = inputMeta?.shape ?? [1, ...res.load.inputShape];
    const fixed = dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const prod = fixed.reduce((a, b) => a * b, 1);
    return prod === n ? fixed : [1, ...res.load.inputShape];
  };
  const runOrt = async (s, x, type) => {
    const data = type === 'float64' ? Float64Array.from(x) : Float32Array.from(x);
    const o = await s.run({ [s.inputNames[0]]: new ort.Tensor(type, data, ortShape()) });
    return Array.from(o[s.outputNames[0]].data, Number);
  };
  let props;
  try {
    t0 = performance.now();
    props = api.parseVnnlib(readMaybeGz(job.evalProperty).toString('utf8'), job.evalProperty, { inputs: n, outputs: k });
    res.load.propertySeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  } catch (e) {
    res.eval = { ...(res.eval ?? {}), propertyError: `${e.constructor.name}: ${e.message}` };
  }
  if (session) {
    try {
      const pts = [];
      let seed = 12345;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const box = props?.properties[0]?.input.box;
      const lo = (j) => (box && Number.isFinite(box.lower[j]) ? box.lower[j] : -1);
      const hi = (j) => (box && Number.isFinite(box.upper[j]) ? box.upper[j] : 1);
      for (let i = 0; i < 8; i++) pts.push({ kind: 'random', x: Array.from({ length: n }, (_, j) => lo(j) + (hi(j) - lo(j)) * rnd()) });
      for (const p of props?.properties ?? [])
        pts.push({
          kind: 'centre',
          x: p.input.box.lower.map((l, j) =>
            Number.isFinite(l) && Number.isFinite(p.input.box.upper[j]) ? (l + p.input.box.upper[j]) / 2 : 0,
          ),
        });
      const type = inputMeta?.type === 'float64' ? 'float64' : 'float32';
      let d32 = 0;
      let d64 = null;
      let scaleY = 0;
      for (const p of pts) {
        // Our float64 evaluation at the very point onnxruntime sees (its element type).
        const xs = type === 'float32' ? Array.from(Float32Array.from(p.x)) : p.x;
        const ours = Array.from(evaluator.forwardFlat(Float64Array.from(xs), 1));
        const theirs = await runOrt(session, xs, type);
        for (let o = 0; o < k; o++) {
          d32 = Math.max(d32, Math.abs(ours[o] - theirs[o]));
          scaleY = Math.max(scaleY, Math.abs(theirs[o]));
        }
      }
      // A float64 copy of the model for onnxruntime, when the model is float32 (relu-repair's own exporter).
      if (!head && type === 'float32') {
        try {
          const b64 = api.networkToOnnx(net, { precision: 'float64' });
          session64 = await ort.InferenceSession.create(b64);
          d64 = 0;
          for (const p of pts) {
            const ours = Array.from(net.forwardFlat(Float64Array.from(p.x), 1));
            const o = await session64.run({
              [session64.inputNames[0]]: new ort.Tensor('float64', Float64Array.from(p.x), [1, ...net.inputShape]),
            });
            const theirs = Array.from(o[session64.outputNames[0]].data, Number);
            for (let j = 0; j < k; j++) d64 = Math.max(d64, Math.abs(ours[j] - theirs[j]));
          }
        } catch (e) {
          res.float64ExportError = `${e.constructor.name}: ${e.message}`.slice(0, 500);
        }
      } else if (type === 'float64') d64 = d32;
      res.eval = {
        ...(res.eval ?? {}),
        points: pts.length,
        modelType: type,
        maxAbsDiffFloat32: type === 'float32' ? d32 : null,
        maxAbsDiffFloat64: d64,
        maxAbsOutput: scaleY,
      };
    } catch (e) {
      res.eval = { ...(res.eval ?? {}), error: `${e.constructor.name}: ${e.message}`.slice(0, 800) };
    }
  }
  emit();

  // Repair probe (every network, with or without a counterexample): the centre of the first
  // property's box made a synthetic bug — the runner-up class asked for (one output: the output
  // asked to drop by 1 + |y|/10) — and repaired point-wise with the certificate. Shows whether
  // point-wise repair of the whole network goes through (memory, time) where no counterexample
  // exercised it.
  if (props && job.probe !== false) {
    const p = props.properties[0];
    const x = p.input.box.lower.map((l, j) =>
      Number.isFinite(l) && Number.isFinite(p.input.box.upper[j]) ? (l + p.input.box.upper[j]) / 2 : 0,
    );
    const y = Array.from(evaluator.forwardFlat(Float64Array.from(x), 1));
    let spec;
    let want;
    if (k >= 2) {
      const order = y.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
      want = order[1][1];
      spec = api.labelSpec(want, k);
    } else {
      want = y[0] - 1 - Math.abs(y[0]) / 10;
      spec = api.polytopeSpec([[1]], [want]);
    }
    res.repairProbe = { x: 'centre of the first property box', wants: k >= 2 ? `label ${want}` : `y <= ${want}` };
    emit();
    Object.assign(
      res.repairProbe,
      await repairOne(api, { net, head, spec, box: api.propertyInputDomain(p).inputBox, x, k, cap: job.repairCap }),
    );
  }
  // Verification, counterexample check, repair.
  for (const inst of job.instances) {
    const v = { vnnlib: inst.vnnlib, timeoutSeconds: inst.timeout * job.scale };
    if (inst.expected) v.expected = inst.expected;
    res.instances.push(v);
    try {
      t0 = performance.now();
      const text = readMaybeGz(inst.path).toString('utf8');
      const prop = api.parseVnnlib(text, inst.path, { inputs: n, outputs: k });
      v.parseSeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
      v.properties = prop.properties.length;
      let cx;
      const falsify = (why) => {
        // No proof possible here: a falsifier (the centre, random points and random vertices of the
        // box, 2,000 in all, evaluated in batches) looks for a counterexample; none found is `unknown`.
        t0 = performance.now();
        const p = prop.properties[0];
        const pd = api.propertyData(p, n);
        let seed = 7;
        const rnd = () => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed / 2147483648;
        };
        const batch = 100;
        for (let b0 = 0; b0 < 2000 && !cx; b0 += batch) {
          const xs = new Float64Array(batch * n);
          for (let i = 0; i < batch; i++) {
            const vertex = (b0 + i) % 2 === 1;
            for (let j = 0; j < n; j++) {
              const t = b0 + i === 0 ? 0.5 : vertex ? (rnd() < 0.5 ? 0 : 1) : rnd();
              xs[i * n + j] = pd.lower[j] + (pd.upper[j] - pd.lower[j]) * t;
            }
          }
          const ys = evaluator.forwardFlat(xs, batch);
          for (let i = 0; i < batch && !cx; i++) {
            const x = Array.from(xs.subarray(i * n, (i + 1) * n));
            const y = Array.from(ys.subarray(i * k, (i + 1) * k));
            const d = api.unsafeDepth(pd, x, y);
            if (d < 0) cx = { property: 0, x, y, margin: d };
          }
        }
        v.result = cx ? 'violated' : 'unknown';
        v.method = `falsifier (2,000 points; not a proof): ${why}`;
        v.seconds = Number(((performance.now() - t0) / 1000).toFixed(2));
      };
      if (head) falsify('the network is not piecewise linear');
      else {
        let r;
        try {
          r = await api.verify(net, prop, { timeoutMs: inst.timeout * job.scale * 1000 });
        } catch (e) {
          v.verifyError = `${e.constructor.name}: ${e.message}`.slice(0, 800);
        }
        if (r) {
          v.result = r.status;
          v.seconds = Number((r.ms / 1000).toFixed(2));
          v.boxes = r.stats.boxes;
          v.regions = r.stats.regions;
          v.shares = r.shares;
          cx = r.counterexample;
        } else falsify('verify refused the network');
      }
      if (inst.expected) {
        const word = v.result === 'holds' ? 'unsat' : v.result === 'violated' ? 'sat' : v.result;
        v.agrees = word === 'unsat' || word === 'sat' ? word === inst.expected : null;
      }
      if (cx) {
        const pd = api.propertyData(prop.properties[cx.property], n);
        const y32 = session ? await runOrt(session, cx.x, inputMeta?.type === 'float64' ? 'float64' : 'float32') : null;
        const depth = y32 ? api.unsafeDepth(pd, cx.x, y32) : null;
        v.counterexample = { depthFloat64: cx.margin, depthOnnxruntime: depth, confirmed: depth !== null && depth <= 0 };
        emit();
        v.repair = await repairOne(api, { net, head, prop, property: prop.properties[cx.property], x: cx.x, k, cap: job.repairCap });
      }
    } catch (e) {
      v.error = `${e.constructor.name}: ${e.message}`.slice(0, 800);
    }
    emit();
  }
  await session?.release();
  await session64?.release();
  emit();
  process.exit(0);
}

async function repairOne(api, { net, head, property, spec: given, box, x, k, cap }) {
  const t0 = performance.now();
  const out = {};
  try {
    const spec = given ?? (await api.safeSpec(property, k)).spec;
    const domain = property ? api.propertyInputDomain(property) : { inputBox: box };
    const signal = AbortSignal.timeout(cap * 1000);
    const r = head
      ? await api.repairHead(head, { points: [x], spec, inputBox: domain.inputBox, certify: true, signal })
      : await api.repair(net, {
          points: [x],
          spec,
          inputBox: domain.inputBox,
          ...(domain.inputSet ? { inputSet: domain.inputSet } : {}),
          certify: true,
          signal,
        });
    const rep = r.report;
    out.status = rep.result.status;
    out.fixed = rep.result.fixedPoints === rep.result.buggyPoints && rep.result.buggyPoints > 0;
    out.certified = rep.certificate ? rep.certificate.status === 'certified' : null;
    out.regions = rep.result.regions;
    out.maxPatchNorm = rep.result.maxPatchNorm;
    if (head) out.guarantee = 'latent space (head repair)';
  } catch (e) {
    out.error = `${e.constructor.name}: ${e.message}`.slice(0, 800);
  }
  out.seconds = Number(((performance.now() - t0) / 1000).toFixed(2));
  return out;
}

// Last, so that every module-level constant above is initialised.
if (args[0] === '--child') await child(JSON.parse(args[1]));
else await parent();
