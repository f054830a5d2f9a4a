/**
 * The shipped ONNX is the certified artifact: the HCAS tau20 area repair written as float64 ONNX,
 * read back from the file alone (ts/formats/onnx/readback.ts) and certified; tampered copies
 * refused with the reason; the plain graph of the file (our importer, onnxruntime) agreeing with
 * the rebuilt network's evaluator; and a second, point-wise repair of the file on points it still
 * gets wrong, certified again and bit for bit the first repaired network far from the new patches.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { certify } from '../ts/certificate.js';
import { decodeModel } from '../ts/formats/onnx/proto.js';
import { diffModels } from '../ts/formats/onnx/readback.js';
import {
  init,
  labelSpec,
  parseNnet,
  parseOnnx,
  type RepairedNetwork,
  readRepairedOnnx,
  repair,
  repairArea,
  repairBaseFromOnnx,
  repairedFromOnnx,
  repairedToJson,
  repairedToOnnx,
} from '../ts/index.js';
import { bandInputs, countInBands, maxAbsDiff, ortRun } from './formats-helpers.js';
import { argmax, fixture, rng } from './helpers.js';
import { editRecord, encodeDecoded, initializer, tamper } from './readback-helpers.js';

const spec = labelSpec(4, 5);

describe('repaired ONNX read-back (HCAS tau20 area repair, 87 patches)', () => {
  let rep: RepairedNetwork;
  let bytes: Uint8Array;
  let centres: Map<string, number[]>;
  const task = JSON.parse(readFileSync(fixture('hcas/area-repair-pra1-tau20.json'), 'utf8'));
  const net = parseNnet(readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet'), 'utf8'), 'tau20.nnet');

  beforeAll(async () => {
    await init();
    const out = await repairArea(net, { area: { box: task.box }, label: 4 });
    expect(out.report.result.status).toBe('repaired');
    rep = out.network;
    centres = new Map(out.report.regions.map((g) => [g.pattern, g.centre]));
    bytes = repairedToOnnx(rep, { precision: 'float64' });
  }, 120_000);

  it('reads back from the file alone, re-exports to the same graph, and certifies exactly like the JSON', async () => {
    // Decoded and written again unedited, the file still reads back: the tamper edits below change only what they edit.
    expect(readRepairedOnnx(encodeDecoded(decodeModel(bytes, 'x')), 'again.onnx').kind).toBe('repaired');
    const r = readRepairedOnnx(bytes, 'rep.onnx');
    expect(r.kind, JSON.stringify((r as { reasons?: unknown }).reasons)).toBe('repaired');
    const back = (r as { network: RepairedNetwork }).network;
    expect(diffModels(decodeModel(bytes, 'a'), decodeModel(repairedToOnnx(back, { precision: 'float64' }), 'b'))).toEqual([]);
    // The original network came from the graph's tensors: the very weights of the .nnet.
    back.original.layers.forEach((l, i) => {
      expect(Buffer.from(l.weights.buffer).equals(Buffer.from(net.layers[i].weights.buffer))).toBe(true);
      expect(Buffer.from(l.bias.buffer).equals(Buffer.from(net.layers[i].bias.buffer))).toBe(true);
    });
    expect(JSON.parse(JSON.stringify(repairedToJson(back)))).toEqual(JSON.parse(JSON.stringify(repairedToJson(rep))));
    const ours = await certify(back, { spec });
    const json = await certify(rep, { spec });
    expect(ours.status).toBe('certified');
    expect(ours.regions).toBe(87);
    expect(ours.covered).toEqual(json.covered);
    expect(ours.perRegion?.map((p) => p.status)).toEqual(json.perRegion?.map((p) => p.status));
    expect(ours.mismatch).toBeUndefined();
  });

  it('float32 export: refused as a repaired network, with the reason', () => {
    const r = readRepairedOnnx(repairedToOnnx(rep), 'rep32.onnx');
    expect(r.kind).toBe('refused');
    expect((r as { reasons: string[] }).reasons.join(' ')).toMatch(/element type is FLOAT.*float64/);
    expect(() => repairedFromOnnx(repairedToOnnx(rep), 'rep32.onnx')).toThrow(/rep32\.onnx.*not a recognised repaired network/);
  });

  it('the plain graph of the file (our importer, onnxruntime float64) agrees with the rebuilt evaluator: bit for bit off the bands, 1e-9 inside', async () => {
    const back = repairedFromOnnx(bytes, 'rep.onnx');
    const plain = parseOnnx(bytes, 'rep.onnx');
    const r = rng(5);
    const band = bandInputs(back, (a) => centres.get(back.patches[a].region.pattern)!, 12, r, [100, 100, 0.01]);
    const box = task.box as { lower: number[]; upper: number[] };
    const far = Float64Array.from({ length: 3000 * 3 }, (_, i) => r.range(box.lower[i % 3] - 200, box.upper[i % 3] + 200));
    const x = new Float64Array(band.length + far.length);
    x.set(band);
    x.set(far, band.length);
    const count = x.length / 3;
    const inBands = countInBands(back, x);
    expect(inBands).toBeGreaterThanOrEqual(band.length / 3 / 2);
    const ours = back.forwardFlat(x, count);
    const graph = plain.forwardFlat(x, count);
    const g = back.supportsFlat(x, count);
    const P = back.patches.length;
    let exact = 0;
    let banded = 0;
    for (let i = 0; i < count; i++) {
      let inBand = false;
      for (let a = 0; a < P; a++) if (g[i * P + a] > 0 && g[i * P + a] < 1) inBand = true;
      const scale = 1 + Math.max(...ours.subarray(i * 5, i * 5 + 5).map(Math.abs));
      for (let o = 0; o < 5; o++) {
        const a = ours[i * 5 + o];
        const b = graph[i * 5 + o];
        if (inBand) expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * scale);
        else expect(Object.is(a, b), `point ${i} output ${o}: ${a} vs ${b}`).toBe(true);
      }
      if (inBand) banded++;
      else exact++;
    }
    expect(exact).toBeGreaterThan(2000);
    expect(banded).toBeGreaterThan(300);
    // The patches matter at these points.
    expect(maxAbsDiff(ours, net.forwardFlat(x, count))).toBeGreaterThan(1);
    expect(maxAbsDiff(await ortRun(bytes, x, count, [3], 'float64'), ours)).toBeLessThanOrEqual(1e-6);
  });

  const reasonOf = (b: Uint8Array) => {
    const r = readRepairedOnnx(b, 'tampered.onnx');
    return r.kind === 'refused' ? r.reasons.join(' | ') : r.kind;
  };

  it('tampered copies are refused, each with what differs', () => {
    const cases: [string, (m: ReturnType<typeof decodeModel>) => void, RegExp][] = [
      ["a patch's output vector d + 1e-3", (m) => (initializer(m, 'patch5_d').data[0] += 1e-3), /initializer "patch5_d[^"]*": 1 value/],
      ["a patch's support coefficient + 1e-3", (m) => (initializer(m, 'patch7_coef').data[3] += 1e-3), /initializer "patch7_coef/],
      [
        'the last patch term removed (its Add node)',
        (m) => {
          const nodes = m.graph.nodes;
          const last = nodes[nodes.length - 1];
          expect(last.opType).toBe('Add');
          const from = nodes.find((n) => n.outputs.includes(last.inputs[0]))!;
          from.outputs = [last.outputs[0]];
          nodes.pop();
        },
        /the file has \d+ nodes, the rebuilt network \d+|node \d+/,
      ],
      [
        'box gate lower bound moved by 100',
        (m) => (initializer(m, 'box_gate_lo_offset').data[0] += 100 / 0.0015707963267948967),
        /initializer "box_gate_lo_offset/,
      ],
      [
        'record: region list shortened',
        (m) => editRecord(m, (d) => d.record.regions.pop()),
        /record.*names 86 region\(s\), the patches repair 87/,
      ],
      ['record: patch d edited (tensors kept)', (m) => editRecord(m, (d) => (d.patches[3].d[4] += 0.5)), /initializer "patch3_d/],
      ['record: box gate moved (tensors kept)', (m) => editRecord(m, (d) => (d.boxGate.lower[0] -= 100)), /box gate|box_gate/],
      ['record: input box moved (tensors kept)', (m) => editRecord(m, (d) => (d.inputBox.upper[1] += 100)), /input box differs/],
      ['record: a patch deleted', (m) => editRecord(m, (d) => d.patches.splice(10, 1)), /names 87 patch\(es\), the file has 86/],
      ['record: radius changed', (m) => editRecord(m, (d) => (d.patches[2].radius *= 2)), /initializer "patch2_/],
      ['record: malformed JSON', (m) => (m.metadata.find((e) => e.key === 'relu-repair.repaired-network')!.value = '{'), /not valid JSON/],
    ];
    for (const [name, edit, why] of cases) {
      const reason = reasonOf(tamper(bytes, edit));
      expect(reason, name).not.toBe('repaired');
      expect(reason, name).toMatch(why);
    }
    // The record removed altogether: an ordinary graph, no longer a repaired network.
    expect(reasonOf(tamper(bytes, (m) => (m.metadata = m.metadata.filter((e) => e.key !== 'relu-repair.repaired-network'))))).toBe('plain');
  });

  it("an original network's weight edited: the network is rebuilt from the file's own tensors, so whatever reads back is the edited function", () => {
    for (const [t, j] of [
      ['layer0_W', 0],
      ['layer2_W', 7],
      ['layer4_b', 3],
    ] as const) {
      const b = tamper(bytes, (m) => (initializer(m, t).data[j] += 1e-3));
      const r = readRepairedOnnx(b, 'w.onnx');
      if (r.kind !== 'repaired') {
        // The patches' supports, recomputed from the edited network, no longer match the file's.
        expect(r.kind).toBe('refused');
        continue;
      }
      const m = decodeModel(b, 'w.onnx');
      const layer = Number(t[5]);
      const edited = t.endsWith('W') ? r.network.original.layers[layer].weights : r.network.original.layers[layer].bias;
      expect(edited[j]).toBe(initializer(m, t).data[j]);
      const x = Float64Array.from({ length: 300 }, (_, i) => (i % 3 === 2 ? -2 : 1000 + 10 * i));
      const plain = parseOnnx(b, 'w.onnx').forwardFlat(x, 100);
      expect(maxAbsDiff(r.network.forwardFlat(x, 100), plain)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('record: spec changed to another label — the file reads back (its function is unchanged) and is NOT certified against that spec', async () => {
    const b = tamper(bytes, (m) =>
      editRecord(m, (d) => {
        d.record.spec.pieces = [
          { P: [0, 1, 2, 4].map((j) => [0, 1, 2, 3, 4].map((o) => (o === j ? 1 : o === 3 ? -1 : 0))), q: [0, 0, 0, 0] },
        ];
      }),
    );
    const back = repairedFromOnnx(b, 'spec.onnx');
    const c = await certify(back, { spec: labelSpec(3, 5) });
    expect(c.status).not.toBe('certified');
  });

  it('incremental repair: the whole file is the base network; new buggy points fixed and certified, far points bit for bit the first repaired network', async () => {
    const back = repairedFromOnnx(bytes, 'rep.onnx');
    const base = repairBaseFromOnnx(bytes, 'rep.onnx');
    expect(base.info.inputBox).toEqual(net.info.inputBox);
    // Points just beyond the area's x0 range that the repaired network still labels wrongly (found, not hard-coded).
    const r = rng(17);
    const points: number[][] = [];
    for (let i = 0; i < 20_000 && points.length < 4; i++) {
      const x = [r.range(5010, 5500), r.range(10, 5000), r.range(-Math.PI, -Math.PI / 2)];
      if (argmax(back.predict([x])[0]) !== 4) points.push(x);
    }
    expect(points.length).toBe(4);
    const { network: rep2, report } = await repair(base, { points, labels: 4, certify: true });
    expect(report.result.status).toBe('repaired');
    expect(report.certificate?.status).toBe('certified');
    expect(rep2.predict(points).every((y) => argmax(y) === 4)).toBe(true);
    // Shipped again, read back, certified from the file alone.
    const bytes2 = repairedToOnnx(rep2, { precision: 'float64' });
    const back2 = repairedFromOnnx(bytes2, 'rep2.onnx');
    expect(back2.patches.length).toBe(rep2.patches.length);
    const c2 = await certify(back2, { spec });
    expect(c2.status).toBe('certified');
    expect(c2.regions).toBe(new Set(rep2.patches.map((p) => p.region.pattern)).size);
    // Far from the new patches (every new support 0): the first repaired network's file function bit for bit,
    // and its evaluator's bit for bit off its own bands.
    const x = Float64Array.from({ length: 4000 * 3 }, (_, i) =>
      i % 3 === 0 ? r.range(-100, 5600) : i % 3 === 1 ? r.range(-100, 5100) : r.range(-3.2, -1.5),
    );
    const count = 4000;
    const g2 = back2.supportsFlat(x, count);
    const g1 = back.supportsFlat(x, count);
    const y2 = back2.forwardFlat(x, count);
    const yBase = base.forwardFlat(x, count);
    const y1 = back.forwardFlat(x, count);
    let far = 0;
    let farOffBands = 0;
    for (let i = 0; i < count; i++) {
      if (g2.subarray(i * back2.patches.length, (i + 1) * back2.patches.length).some((v) => v !== 0)) continue;
      far++;
      for (let o = 0; o < 5; o++) expect(Object.is(y2[i * 5 + o], yBase[i * 5 + o])).toBe(true);
      if (g1.subarray(i * back.patches.length, (i + 1) * back.patches.length).some((v) => v > 0 && v < 1)) continue;
      farOffBands++;
      for (let o = 0; o < 5; o++) expect(Object.is(y2[i * 5 + o], y1[i * 5 + o])).toBe(true);
    }
    expect(far).toBeGreaterThan(3900);
    expect(farOffBands).toBeGreaterThan(3000);
  }, 120_000);
});
