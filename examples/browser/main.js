// The browser demo: load a model and points (HCAS by default), repair them in Web Workers with a
// progress bar, and plot a 2-D slice (inputs 0 and 1, the others fixed) of the classes before and
// after repair with the repaired regions outlined. The page's state is in document.body.dataset
// .state and window.demo (for its test).
import { createPool, init, parseModel, parseNnet, parsePoints, repair } from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';
import {
  classCounts,
  classes,
  defaultView,
  HCAS_VIEW,
  insideMask,
  OUTLINE,
  outlineMask,
  PALETTE,
  renderPixels,
  sliceInputs,
} from './slice.js';

const W = 320;
const H = 320;
const $ = (id) => document.getElementById(id);
const demo = { width: W, height: H, progressEvents: 0, job: null, view: null, report: null, counts: null, sliceRegions: 0 };
window.demo = demo;
let job; // { net, pts, modelName, pointsName, names }
let result; // { network, report }
let pool;

function setState(s, text) {
  document.body.dataset.state = s;
  if (text !== undefined) $('status').textContent = text;
}

function showError(e) {
  $('error').textContent = `${e.name ?? 'Error'}: ${e.message}`;
  setState('error', 'failed');
}

function useJob(net, doc, modelName, pointsName, view) {
  const pts = parsePoints(doc, net.inputSize, net.outputSize, pointsName);
  if (net.inputSize < 2) throw new Error(`${modelName}: a 2-D slice needs at least 2 inputs`);
  job = {
    net,
    pts,
    modelName,
    pointsName,
    names: modelName === HCAS_DEMO.modelName ? [...HCAS_DEMO.advisories] : Array.from({ length: net.outputSize }, (_, i) => `class ${i}`),
  };
  result = undefined;
  demo.job = { model: modelName, points: pts.points.length };
  demo.report = null;
  $('job').textContent = `${modelName}: ${net.inputSize} inputs, ${net.outputSize} outputs; ${pointsName}: ${pts.points.length} points`;
  const v = view ?? defaultView(pts.points);
  $('x0').value = v.x[0];
  $('x1').value = v.x[1];
  $('y0').value = v.y[0];
  $('y1').value = v.y[1];
  const theta = $('theta');
  $('thetaLabel').hidden = net.inputSize < 3;
  if (net.inputSize >= 3) {
    const box = pts.inputBox ?? net.info.inputBox;
    theta.min = box ? box.lower[2] : Math.min(...pts.points.map((p) => p[2]));
    theta.max = box ? box.upper[2] : Math.max(...pts.points.map((p) => p[2]));
    theta.value = v.fixed[2];
  }
  demo.fixed = v.fixed;
  $('legend').innerHTML =
    job.names.map((n, i) => `<span style="--c: rgb(${PALETTE[i % PALETTE.length]})">${n}</span>`).join('') +
    `<span style="--c: rgb(${OUTLINE})">repaired region (outline)</span>`;
  $('summary').textContent = '';
  $('error').textContent = '';
  $('progress').value = 0;
  draw();
  setState('ready', 'ready');
  $('repair').disabled = false;
}

function currentView() {
  const fixed = [...demo.fixed];
  if (job.net.inputSize >= 3) fixed[2] = Number($('theta').value);
  $('thetaValue').textContent = job.net.inputSize >= 3 ? `${fixed[2].toFixed(3)}` : '';
  return { x: [Number($('x0').value), Number($('x1').value)], y: [Number($('y0').value), Number($('y1').value)], fixed };
}

function paint(canvas, cls, outline) {
  const ctx = canvas.getContext('2d');
  ctx.putImageData(new ImageData(renderPixels(cls, outline), W, H), 0, 0);
}

function draw() {
  const view = currentView();
  const n = job.net.inputSize;
  const k = job.net.outputSize;
  const xs = sliceInputs(view, n, W, H);
  const before = classes(job.net.forwardFlat(xs, W * H), k);
  const after = result ? classes(result.network.forwardFlat(xs, W * H), k) : null;
  const masks = result ? result.network.patches.map((p) => insideMask(p.A, p.b, xs, n)) : [];
  const outline = result ? outlineMask(masks, W, H) : null;
  paint($('before'), before, outline);
  if (after) paint($('after'), after, outline);
  else $('after').getContext('2d').clearRect(0, 0, W, H);
  demo.view = view;
  demo.sliceRegions = masks.filter((m) => m.some((v) => v)).length;
  demo.counts = {
    before: classCounts(before, k),
    after: after ? classCounts(after, k) : null,
    outline: outline ? outline.reduce((a, v) => a + v, 0) : 0,
  };
  const rows = job.names.map(
    (name, i) => `<tr><th>${name}</th><td>${demo.counts.before[i]}</td><td>${after ? demo.counts.after[i] : '–'}</td></tr>`,
  );
  $('counts').innerHTML = `<tr><th>pixels</th><th>before</th><th>after</th></tr>${rows.join('')}`;
  if (result) {
    const r = result.report.result;
    $('summary').textContent =
      `${r.fixedPoints}/${r.buggyPoints} buggy points fixed · ${r.regions} regions patched · ${demo.sliceRegions} outlined in this slice · ` +
      `max patch norm ${r.maxPatchNorm.toPrecision(4)} · ${result.report.timingsMs.total.toFixed(0)} ms on ${demo.workers} workers (wasm ${result.report.tool.wasm})`;
  }
}

async function runRepair() {
  $('repair').disabled = true;
  $('error').textContent = '';
  setState('repairing', 'starting workers…');
  try {
    const size = Number($('workers').value);
    if (!pool || pool.size !== size) {
      await pool?.close();
      pool = await createPool({ size });
    }
    demo.progressEvents = 0;
    result = await repair(job.net, {
      points: job.pts.points,
      labels: job.pts.labels,
      inputBox: job.pts.inputBox,
      workers: pool,
      onProgress: (e) => {
        demo.progressEvents++;
        $('progress').max = Math.max(1, e.total);
        $('progress').value = e.done;
        $('status').textContent = `${e.phase}: ${e.done}/${e.total} regions`;
      },
    });
    demo.workers = size;
    demo.report = result.report;
    $('report').textContent = JSON.stringify(result.report, null, 2);
    draw();
    setState('repaired', result.report.result.status === 'repaired' ? 'done' : 'done: some points not fixed');
  } catch (e) {
    showError(e);
  } finally {
    $('repair').disabled = false;
  }
}

async function readFile(input) {
  const f = input.files?.[0];
  return f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : null;
}

async function loadFiles() {
  try {
    const m = await readFile($('model'));
    const p = await readFile($('points'));
    if (!m || !p) return; // wait for both
    useJob(parseModel(m.name, m.bytes), JSON.parse(new TextDecoder().decode(p.bytes)), m.name, p.name);
  } catch (e) {
    showError(e);
  }
}

try {
  await init();
  useJob(parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName), HCAS_DEMO.points, HCAS_DEMO.modelName, HCAS_DEMO.pointsName, HCAS_VIEW);
  $('repair').addEventListener('click', runRepair);
  for (const id of ['x0', 'x1', 'y0', 'y1', 'theta']) $(id).addEventListener('input', () => job && draw());
  $('model').addEventListener('change', loadFiles);
  $('points').addEventListener('change', loadFiles);
} catch (e) {
  showError(e);
}
