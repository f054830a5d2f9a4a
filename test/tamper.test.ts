/**
 * The tamper and adversarial suite of issue 11: certified repairs, edited the way an adversary
 * (or a careless tool) would edit the saved file — patch vectors turned the harmful way, scaled,
 * deleted or reordered patches, moved or removed gates, radii, support rows, original weights,
 * composition — and certified again. The truth of every file is decided independently of the
 * certificate: onnxruntime on the float64 ONNX export, at uniform samples of the area, at samples
 * in the patches' bands and at the regions' centres, and at the witnesses the certificate names.
 *
 *   - no certified file violates at any sample (soundness);
 *   - every file that violates somewhere is refused, and some refused region's witness violates
 *     in onnxruntime too (a real witness);
 *   - correct files are counted: they should rarely be refused.
 *
 * The counts are printed and quoted in the README.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Area, certify, init, labelSpec, parseNnet, polytopeSpec, repairArea, repairedFromJson, type Spec } from '../ts/index.js';
import { bandInputs } from './formats-helpers.js';
import { fixture, randomNetwork, rng } from './helpers.js';
import { clone, denseDoc, ortDoc, type RepairedDoc, violations } from './tamper-helpers.js';

interface Base {
  name: string;
  doc: RepairedDoc;
  area: Area;
  spec: Spec;
  pieces: { P: number[][]; q: number[] }[];
  /** Points where the truth is checked besides uniform samples and witnesses. */
  probes: Float64Array;
  /** A violation above this is a real one (the certificate's tolerance scale). */
  threshold: number;
  /** Added to the output biases by the "against the spec" edit. */
  harm: number[];
}

type Tamper = [string, (d: RepairedDoc) => void];

/**
 * The edits, each a function of the document (k: a patch in the middle of the chain; `harm`: a
 * shift of the output biases that pushes the outputs out of the spec).
 */
function tampers(doc: RepairedDoc, harm: number[]): Tamper[] {
  const P = doc.patches.length;
  const k = Math.floor(P / 2);
  const j = Math.max(0, k - 1);
  const scale = (p: number, s: number) => (d: RepairedDoc) => {
    d.patches[p].d = d.patches[p].d.map((v) => v * s);
  };
  return [
    ['patch vector in the harmful direction (−d)', scale(k, -1)],
    ['patch vector halved', scale(k, 0.5)],
    ['every patch vector shrunk by 1e-3', (d) => d.patches.forEach((_, i) => scale(i, 0.999)(d))],
    ['patch vector ×1.5', scale(k, 1.5)],
    ['a patch deleted', (d) => void d.patches.splice(k, 1)],
    ['the first patch deleted', (d) => void d.patches.splice(0, 1)],
    ['chain order reversed', (d) => void d.patches.reverse()],
    [
      'two patches swapped',
      (d) => {
        [d.patches[0], d.patches[P - 1]] = [d.patches[P - 1], d.patches[0]];
      },
    ],
    [
      'box gate moved (lower[0] += 10% of the width)',
      (d) => {
        if (d.boxGate) d.boxGate.lower[0] += 0.1 * (d.boxGate.upper[0] - d.boxGate.lower[0]);
      },
    ],
    [
      'box gate shrunk (upper[1] −= 20% of the width)',
      (d) => {
        if (d.boxGate) d.boxGate.upper[1] -= 0.2 * (d.boxGate.upper[1] - d.boxGate.lower[1]);
      },
    ],
    ['box gate removed', (d) => void delete d.boxGate],
    [
      'box gate radius ×1000',
      (d) => {
        if (d.boxGate) d.boxGate.radius *= 1000;
      },
    ],
    [
      'every radius ×1000',
      (d) => {
        for (const p of d.patches) p.radius *= 1000;
      },
    ],
    [
      'every radius ×0.001',
      (d) => {
        for (const p of d.patches) p.radius *= 0.001;
      },
    ],
    [
      'a support row moved outwards (b += 5% of the box)',
      (d) => {
        const w = Math.max(...(d.inputBox ? d.inputBox.upper.map((u, i) => u - d.inputBox!.lower[i]) : [1]));
        if (d.patches[j].support.b.length > 0) d.patches[j].support.b[0] += 0.05 * w;
      },
    ],
    [
      'a support row flipped to the other side',
      (d) => {
        const s = d.patches[j].support;
        if (s.b.length > 0) {
          s.A[0] = s.A[0].map((v) => -v);
          s.b[0] = -s.b[0];
        }
      },
    ],
    [
      'a support row deleted',
      (d) => {
        const s = d.patches[j].support;
        if (s.b.length > 1) {
          s.A.shift();
          s.b.shift();
        }
      },
    ],
    [
      'original network: the first hidden layer scaled by 1.01',
      (d) => {
        const l = d.original.layers[0];
        l.weights = l.weights.map((row) => row.map((v) => v * 1.01));
        l.bias = l.bias.map((v) => v * 1.01);
      },
    ],
    [
      'original network: output biases shifted against the spec',
      (d) => {
        const last = d.original.layers[d.original.layers.length - 1];
        last.bias = last.bias.map((b, o) => b + harm[o]);
      },
    ],
    [
      'original network: a hidden bias shifted',
      (d) => {
        d.original.layers[0].bias[0] += 0.5 * (1 + Math.abs(d.original.layers[0].bias[0]));
      },
    ],
    [
      'composition chain → sum',
      (d) => {
        d.composition = 'sum';
      },
    ],
    ['untouched (a correct file)', () => {}],
  ];
}

interface Outcome {
  name: string;
  certified: boolean;
  violatesAtSamples: boolean;
  worstSample: number;
  realWitness: boolean;
}

async function judge(base: Base, name: string, doc: RepairedDoc, area: Area = base.area): Promise<Outcome> {
  const rep = repairedFromJson(doc);
  const report = await certify(rep, { spec: base.spec, area });
  const n = rep.inputSize;
  const k = rep.outputSize;
  // Uniform samples of the area, the probes, and every witness the certificate names.
  const r = rng(7);
  const uniform = Float64Array.from({ length: 3000 * n }, (_, i) => r.range(area.box.lower[i % n], area.box.upper[i % n]));
  const failedWitness = report.failedRegions.flatMap((i) => {
    const c = report.perRegion[i];
    return c.witness ? [c.witness] : [];
  });
  const witnesses = report.perRegion.flatMap((c) => (c.witness ? c.witness : []));
  const x = Float64Array.from([...uniform, ...base.probes, ...witnesses, ...failedWitness.flat()]);
  const count = x.length / n;
  const v = violations(base.pieces, await ortDoc(doc, x, count), k);
  const inArea = (i: number) => {
    for (let t = 0; t < n; t++) if (x[i * n + t] < area.box.lower[t] || x[i * n + t] > area.box.upper[t]) return false;
    return true;
  };
  let worst = -Infinity;
  for (let i = 0; i < count; i++) if (inArea(i)) worst = Math.max(worst, v[i]);
  // Witnesses of refused regions (the last ones), evaluated by onnxruntime.
  const realWitness = Array.from(v.subarray(count - failedWitness.length)).some((w) => w > base.threshold);
  return { name, certified: report.status === 'certified', violatesAtSamples: worst > base.threshold, worstSample: worst, realWitness };
}

function check(outcomes: Outcome[], label: string) {
  for (const o of outcomes) {
    // Soundness: nothing certified violates.
    if (o.certified) expect(o.violatesAtSamples, `${label}: "${o.name}" is certified but violates by ${o.worstSample}`).toBe(false);
    // Every truly violating file is refused, with a real witness.
    if (o.violatesAtSamples) {
      expect(o.certified, `${label}: "${o.name}" violates by ${o.worstSample} but is certified`).toBe(false);
      expect(o.realWitness, `${label}: "${o.name}" is refused without a real witness`).toBe(true);
    }
  }
  const violating = outcomes.filter((o) => o.violatesAtSamples);
  const correct = outcomes.filter((o) => !o.violatesAtSamples);
  const line =
    `${label}: ${outcomes.length} files; ${violating.length} violate (all refused, each with a real witness); ` +
    `${correct.length} correct at every sample: ${correct.filter((o) => o.certified).length} certified, ${correct.filter((o) => !o.certified).length} refused (${correct
      .filter((o) => !o.certified)
      .map((o) => o.name)
      .join('; ')})`;
  console.log(line);
  return { violating: violating.length, correct: correct.length, correctCertified: correct.filter((o) => o.certified).length };
}

describe('tamper suite: every truly violating file refused with a real witness, no certified file violating', () => {
  beforeAll(() => init());

  it('HCAS tau20 area repair (87 patches, 165 regions) and 23 edits of it, plus the area 0.01 larger', async () => {
    const task = JSON.parse(readFileSync(fixture('hcas/area-repair-pra1-tau20.json'), 'utf8'));
    const net = parseNnet(readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet'), 'utf8'), 'tau20.nnet');
    const area: Area = { box: task.box };
    const { network, report } = await repairArea(net, { area, label: 4 });
    expect(report.result.status).toBe('repaired');
    const spec = labelSpec(4, 5);
    const doc = denseDoc(network);
    const centres = new Map(report.regions.map((g) => [g.pattern, g.centre]));
    const r = rng(11);
    const band = bandInputs(network, (a) => centres.get(network.patches[a].region.pattern)!, 8, r, [100, 100, 0.01]);
    const allCentres = Float64Array.from(report.regions.flatMap((g) => g.centre));
    const base: Base = {
      name: 'HCAS',
      doc,
      area,
      spec,
      pieces: [{ P: [0, 1, 2, 3].map((j) => [0, 1, 2, 3, 4].map((o) => (o === j ? 1 : o === 4 ? -1 : 0))), q: [0, 0, 0, 0] }],
      probes: Float64Array.from([...band, ...allCentres]),
      threshold: 1e-6,
      harm: [0, 0, 0, 0, -1],
    };
    const outcomes: Outcome[] = [];
    for (const [name, edit] of tampers(doc, base.harm)) {
      const d = clone(doc);
      edit(d);
      outcomes.push(await judge(base, name, d));
    }
    // The case without tampering: the correct file on an area 0.01 larger than its own.
    const bigger: Area = { box: { lower: task.box.lower.map((v: number, i: number) => v - (i < 2 ? 0.01 : 0)), upper: task.box.upper } };
    outcomes.push(await judge(base, 'correct file, area 0.01 larger than the repair area', doc, bigger));
    const c = check(outcomes, 'HCAS tau20');
    // Not vacuous: most edits break the repair, and correct files are certified.
    expect(c.violating).toBeGreaterThanOrEqual(10);
    expect(c.correctCertified).toBeGreaterThanOrEqual(8);
  }, 300_000);

  it('random 2-8-8-3 networks, label and polytope specs, 23 edits each', async () => {
    const all: Outcome[] = [];
    for (const [seed, polytope] of [
      [5, false],
      [9, true],
    ] as const) {
      const r = rng(seed);
      const net = randomNetwork(r, [2, 8, 8, 3]);
      const box = { lower: [-1, -1], upper: [1, 1] };
      const area: Area = { box };
      const ys = net.predict(Array.from({ length: 400 }, () => [r.range(-1, 1), r.range(-1, 1)]));
      // A polytope spec violated by part of the outputs: y0 − y2 <= median, y1 <= 80th percentile.
      const med = (a: number[], q: number) => [...a].sort((x, y) => x - y)[Math.floor(q * a.length)];
      const spec: Spec = polytope
        ? polytopeSpec(
            [
              [1, 0, -1],
              [0, 1, 0],
            ],
            [
              med(
                ys.map((y) => y[0] - y[2]),
                0.6,
              ),
              med(
                ys.map((y) => y[1]),
                0.8,
              ),
            ],
          )
        : labelSpec(1, 3);
      const { network, report } = await repairArea(net, { area, spec, radius: 0.05 });
      expect(report.result.status, `seed ${seed}`).toBe('repaired');
      const doc = denseDoc(network);
      const centres = new Map(report.regions.map((g) => [g.pattern, g.centre]));
      const band = bandInputs(network, (a) => centres.get(network.patches[a].region.pattern) ?? [0, 0], 20, rng(seed + 1), [0.05, 0.05]);
      const grid = Float64Array.from({ length: 2 * 101 * 101 }, (_, i) => {
        const p = Math.floor(i / 2);
        return i % 2 === 0 ? -1 + (p % 101) / 50 : -1 + Math.floor(p / 101) / 50;
      });
      const base: Base = {
        name: `random ${seed}`,
        doc,
        area,
        spec,
        pieces: [
          { P: Array.from({ length: spec.q.length }, (_, j) => Array.from(spec.P.subarray(j * 3, j * 3 + 3))), q: Array.from(spec.q) },
        ],
        probes: Float64Array.from([...band, ...grid]),
        threshold: 1e-7,
        harm: polytope ? [0.2, 0.2, 0] : [0, -0.2, 0],
      };
      const outcomes: Outcome[] = [];
      for (const [name, edit] of tampers(doc, base.harm)) {
        const d = clone(doc);
        edit(d);
        outcomes.push(await judge(base, name, d));
      }
      all.push(...outcomes);
      check(outcomes, `random network ${seed} (${polytope ? 'polytope' : 'label'} spec)`);
    }
    const c = check(all, 'random networks');
    expect(c.violating).toBeGreaterThanOrEqual(18);
    expect(c.correctCertified).toBeGreaterThanOrEqual(15);
  }, 300_000);
});
