/**
 * `certify` re-proves box patches from the saved file (issue 10; ts/certificate-boxes.ts): an
 * MNIST L∞ ball (radius 0.03, 784 inputs) repaired with `repair --method box`, saved as JSON and
 * as float64 ONNX; `certify` proves the box by bounds recomputed on the file's own parameters.
 * Tampered copies: the patch vector halved, one entry 1e-3 past the bound, the box moved in the
 * record, the record removed, the patch's box info removed — each refused or reported for what it
 * is, never "certified" for a box that was not proven.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certify,
  init,
  labelSpec,
  loadModel,
  loadRepaired,
  parseImages,
  parseLabels,
  type RepairedNetwork,
  repairAreaBab,
  repairedFromJson,
  repairedToJson,
  repairedToOnnx,
  specRowUpperBound,
} from '../ts/index.js';
import { fixture, randomNetwork, rng, runCli } from './helpers.js';
import { editRecord, initializer, tamper } from './readback-helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: tamper edits reach into the saved JSON freely.
type Json = any;

const MODEL = fixture('mnist/reassure-mlp-784-256-256-10.onnx');

describe('certify on a box-patched MNIST ball (JSON and float64 ONNX)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rr-boxcert-'));
  const repJson = join(dir, 'rep.json');
  const repOnnx = join(dir, 'rep.onnx');
  let label = -1;
  let doc: Json;
  let box: { lower: number[]; upper: number[] };

  beforeAll(async () => {
    await init();
    const net = await loadModel(MODEL);
    const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', {
      scale: 1 / 255,
    });
    const labels = await parseLabels(new Uint8Array(readFileSync(fixture('mnist/t10k-labels-idx1-ubyte.gz'))), 'labels.gz', 10);
    const n = 784;
    const y = net.forwardFlat(images.x.subarray(0, 2000 * n), 2000);
    let idx = -1;
    for (let i = 0; i < 2000 && idx < 0; i++) {
      let b = 0;
      for (let o = 1; o < 10; o++) if (y[i * 10 + o] > y[i * 10 + b]) b = o;
      if (b !== labels[i]) idx = i;
    }
    label = labels[idx];
    const x0 = images.x.subarray(idx * n, (idx + 1) * n);
    box = { lower: Array.from(x0, (v) => Math.max(0, v - 0.03)), upper: Array.from(x0, (v) => Math.min(1, v + 0.03)) };
    const area = join(dir, 'ball.json');
    writeFileSync(area, JSON.stringify({ box }));
    const r = await runCli([
      'repair',
      '--model',
      MODEL,
      '--area',
      area,
      '--label',
      String(label),
      '--method',
      'box',
      '--out',
      repJson,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    doc = JSON.parse(readFileSync(repJson, 'utf8'));
    // The same network as float64 ONNX (what `repair --out rep.onnx --onnx-precision float64` writes).
    writeFileSync(repOnnx, repairedToOnnx(repairedFromJson(doc, repJson), { precision: 'float64' }));
  }, 180_000);

  const edited = (edit: (d: Json) => void): RepairedNetwork => {
    const d = structuredClone(doc);
    edit(d);
    return repairedFromJson(d, 'edited.json');
  };

  it('the record names the box and its patch; certify (CLI) proves it from the JSON and from the ONNX file', async () => {
    expect(doc.record.boxes).toEqual([{ lower: box.lower, upper: box.upper }]);
    expect(doc.record.regions).toEqual([]);
    expect(doc.patches).toHaveLength(1);
    for (const file of [repJson, repOnnx]) {
      const rpt = join(dir, `cert-${file.endsWith('.onnx') ? 'onnx' : 'json'}.json`);
      const r = await runCli(['certify', '--model', file, '--report', rpt]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /certified on the 0 region\(s\) its 1 patch\(es\) repaired \(and its record names\) and the 1 box\(es\) patched as a whole: 1\/1 box\(es\) proven by bounds \(best; largest proven bound -/,
      );
      const c = JSON.parse(readFileSync(rpt, 'utf8'));
      expect(c.status).toBe('certified');
      expect(c.boxes.perBox[0]).toMatchObject({ source: 'record+patch', patch: 0, status: 'certified', provenParts: 1 });
      expect(c.boxes.perBox[0].provenBound).toBeLessThanOrEqual(0);
      expect(c.boxes.perBox[0].lower).toEqual(box.lower);
    }
    // Read back from the ONNX file alone, the library gives the same certificate.
    const fromOnnx = await loadRepaired(repOnnx);
    const c = await certify(fromOnnx, { spec: labelSpec(label, 10) });
    expect(c.status).toBe('certified');
    expect(c.boxes?.certified).toBe(1);
  }, 120_000);

  it('the patch vector halved, or one entry 1e-3 past the bound: refused by the bound (library, and the CLI exits 1)', async () => {
    const spec = labelSpec(label, 10);
    const half = await certify(
      edited((d) => (d.patches[0].d = d.patches[0].d.map((v: number) => v / 2))),
      { spec },
    );
    expect(half.status).toBe('not-certified');
    expect(half.boxes?.perBox[0].status).toBe('refused');
    expect(half.boxes?.perBox[0].provenBound).toBeGreaterThan(0);
    expect(half.mismatch).toBeUndefined();
    // The binding row: the output o != label with the largest sound bound U_o of y_o − y_label on
    // the box (the patch is sized from it: d_o − d_label = −U_o − δ). Raising d_o by 1e-3 puts
    // U_o + d_o − d_label at 1e-3 − δ > 0: the certificate has no slack for it.
    const net = await loadModel(MODEL);
    let o = -1;
    let uMax = -Infinity;
    for (let j = 0; j < 10; j++) {
      if (j === label) continue;
      const c = new Array(10).fill(0);
      c[j] = 1;
      c[label] = -1;
      const u = specRowUpperBound(net, box, c, 0, { method: 'best' }).upper;
      if (u > uMax) [o, uMax] = [j, u];
    }
    expect(doc.patches[0].d[o] - doc.patches[0].d[label]).toBeCloseTo(-uMax, 6);
    const past = await certify(
      edited((d) => (d.patches[0].d[o] += 1e-3)),
      { spec },
    );
    expect(past.status).toBe('not-certified');
    expect(past.boxes?.perBox[0].provenBound).toBeGreaterThan(5e-4);
    expect(past.boxes?.perBox[0].provenBound).toBeLessThan(1e-3);
    // The same file through the CLI: exit 1, the box named as not proven.
    const bad = join(dir, 'half.json');
    const d = structuredClone(doc);
    d.patches[0].d = d.patches[0].d.map((v: number) => v / 2);
    writeFileSync(bad, JSON.stringify(d));
    const r = await runCli(['certify', '--model', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NOT certified on .*0\/1 box\(es\) proven by bounds/);
    expect(r.stderr).toMatch(/box 0 \(record\+patch, patch 0\) NOT proven: 1 part\(s\) refused; proven bound/);
  }, 120_000);

  it('the box moved in the record: a mismatch, not certified (JSON); refused at read-back (ONNX, exit 2)', async () => {
    const spec = labelSpec(label, 10);
    const moved = await certify(
      edited((d) => {
        d.record.boxes[0].lower[300] += 0.01;
      }),
      { spec },
    );
    expect(moved.status).toBe('not-certified');
    expect(moved.mismatch?.map((m) => m.what)).toEqual(['boxes', 'boxes']);
    // Both boxes were looked at: the recorded one and the patch's own.
    expect(moved.boxes?.perBox.map((b) => b.source)).toEqual(['record', 'patch']);
    const onnx = join(dir, 'moved.onnx');
    writeFileSync(
      onnx,
      tamper(readFileSync(repOnnx), (m) =>
        editRecord(m, (rec) => {
          rec.record.boxes[0].upper[0] += 0.01;
        }),
      ),
    );
    const r = await runCli(['certify', '--model', onnx]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /record\.boxes.*names 1 box\(es\), the box patches cover 1; 1 patch box\(es\) not named, 1 named box\(es\) without a patch/,
    );
    expect(r.stderr).not.toMatch(/certified on/);
  }, 120_000);

  it('the record removed: the box is taken from the patch itself and proven, and the report says so; without the box too: NOT checked, not certified', async () => {
    const spec = labelSpec(label, 10);
    const noRecord = await certify(
      edited((d) => delete d.record),
      { spec },
    );
    expect(noRecord.status).toBe('certified');
    expect(noRecord.boxes?.perBox[0].source).toBe('patch');
    expect(noRecord.boxes?.notes.join()).toMatch(/no repair record: the boxes were taken from the box patches themselves/);
    // Neither record nor box info: the patch is a box patch by its own account, its box is unknown.
    const blind = await certify(
      edited((d) => {
        delete d.record;
        delete d.patches[0].region.box;
      }),
      { spec },
    );
    expect(blind.status).toBe('not-certified');
    expect(blind.boxes?.total).toBe(0);
    expect(blind.boxes?.unchecked[0].message).toMatch(/box patch .* without its box: the box was not checked/);
    // ONNX with the record removed from its metadata: read back, box proven from the patch.
    const onnx = join(dir, 'norecord.onnx');
    writeFileSync(
      onnx,
      tamper(readFileSync(repOnnx), (m) => editRecord(m, (rec) => delete rec.record)),
    );
    const r = await runCli(['certify', '--model', onnx, '--label', String(label)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1\/1 box\(es\) proven by bounds/);
    expect(r.stderr).toMatch(/no repair record: the boxes were taken from the box patches themselves/);
    // And the patch vector edited in the ONNX graph and its record together (so that it reads back): refused by the bound.
    const halved = join(dir, 'halved.onnx');
    writeFileSync(
      halved,
      tamper(readFileSync(repOnnx), (m) => {
        const t = initializer(m, 'patch0_d');
        for (let i = 0; i < t.data.length; i++) t.data[i] /= 2;
        editRecord(m, (rec) => (rec.patches[0].d = rec.patches[0].d.map((v: number) => v / 2)));
      }),
    );
    const h = await runCli(['certify', '--model', halved]);
    expect(h.code, h.stderr).toBe(1);
    expect(h.stderr).toMatch(/NOT certified .*0\/1 box\(es\) proven by bounds/);
  }, 180_000);
});

describe('certify on a branch-and-bound repair with box patches (3 inputs)', () => {
  it('the record names every box patch; certify proves the regions and the boxes from the saved JSON; a box patch reversed is refused', async () => {
    await init();
    const net = randomNetwork(rng(6), [3, 12, 12, 3]);
    const box = { lower: [-1, -1, -1], upper: [1, 1, 1] };
    const y0 = net.predict([[0, 0, 0]])[0];
    const label = y0.indexOf(Math.max(...y0));
    const spec = labelSpec(label, 3);
    const { network: rep, report } = await repairAreaBab(net, { area: { box }, label, radius: 0.02, maxLeafRegions: 25, boxPatches: true });
    expect(report.result.status).toBe('repaired');
    const boxPatches = rep.patches.filter((p) => p.region.box);
    expect(boxPatches.length).toBeGreaterThan(0);
    expect(rep.record?.boxes).toHaveLength(boxPatches.length);
    expect(rep.record?.regions.length).toBe(report.result.buggyRegions);
    // Saved and loaded: certify (no area, the recorded spec asked explicitly) proves every region and box.
    const doc = JSON.parse(JSON.stringify(repairedToJson(rep)));
    const seen: [number, number][] = [];
    const c = await certify(repairedFromJson(doc, 'bab.json'), { spec, onProgress: (e) => seen.push([e.done, e.total]) });
    // Progress counts the boxes after the regions, up to all of them.
    expect(seen.at(-1)).toEqual([c.regions + boxPatches.length, c.regions + boxPatches.length]);
    expect(c.status, JSON.stringify(c.boxes?.perBox.filter((b) => b.status !== 'certified').slice(0, 1))).toBe('certified');
    expect(c.regions).toBe(report.result.buggyRegions);
    expect(c.boxes?.total).toBe(boxPatches.length);
    expect(c.boxes?.perBox.every((b) => b.source === 'record+patch' && b.status === 'certified')).toBe(true);
    // The largest box patch reversed in the file: its box is refused. (Halved is not a test here:
    // a leaf's box patch is sized from a bound over the whole leaf, and the certificate's splits
    // prove the halved patch still valid — which is then true.)
    let k = -1;
    rep.patches.forEach((p, i) => {
      if (p.region.box && (k < 0 || Math.max(...p.d.map(Math.abs)) > Math.max(...rep.patches[k].d.map(Math.abs)))) k = i;
    });
    doc.patches[k].d = doc.patches[k].d.map((v: number) => -v);
    const bad = await certify(repairedFromJson(doc, 'bab-reversed.json'), { spec });
    expect(bad.status).toBe('not-certified');
    expect(bad.boxes?.perBox.find((b) => b.patch === k)?.status).toBe('refused');
  }, 120_000);
});
