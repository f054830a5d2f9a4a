/**
 * The hand-built networks of issue 11 whose violations live in slivers thinner than the old
 * enumeration's decision slack (eps = 1e-9·max|box bound|): each was certified before, with a
 * true violation of 5e-6 … 49. Every one is refused now, with a witness whose violation is
 * decided in exact rational arithmetic (test/tamper-helpers.ts), and a repair is only ever
 * certified where the exact evaluation of the repaired network agrees.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { certify, init, labelSpec, Network, RepairedNetwork, repairArea } from '../ts/index.js';
import { runCli } from './helpers.js';
import { denseDoc, exactNetwork, exactRepaired, exactViolation, qCmp, qNum, qOf } from './tamper-helpers.js';

interface Sliver {
  name: string;
  layers: { weights: number[][]; bias: number[]; activation: 'relu' | 'linear' }[];
  box: { lower: number[]; upper: number[] };
  /** The true largest violation and where (exact arithmetic on the construction). */
  worst: number;
  at: number[];
  /** Coordinates of x0 around which the sliver lies (dense checks there). */
  near: number;
}

const c4 = 1e4 + 0.5;
const SLIVERS: Sliver[] = [
  {
    name: 'box [0,1000]², a ReLU switching on 5e-7 before the edge, weight 10',
    layers: [
      { weights: [[1, 0]], bias: [-(1000 - 5e-7)], activation: 'relu' },
      { weights: [[10], [0]], bias: [0, 0], activation: 'linear' },
    ],
    box: { lower: [0, 0], upper: [1000, 1000] },
    worst: 5e-6,
    at: [1000, 0],
    near: 1000 - 5e-7,
  },
  {
    name: '[0,1]², weights 1e8 and 1000: a violation of 49 in a sliver 4.9e-10 wide',
    layers: [
      { weights: [[1e8, 0]], bias: [-(1e8 - 0.049)], activation: 'relu' },
      { weights: [[1000], [0]], bias: [0, 0], activation: 'linear' },
    ],
    box: { lower: [0, 0], upper: [1, 1] },
    worst: 49,
    at: [1, 0.5],
    near: 1 - 4.9e-10,
  },
  {
    name: '[0,1]², three parallel hyperplanes 5e-10 apart (weights 1000): a tent of height 2.5e-4',
    layers: [
      {
        weights: [
          [1000, 0],
          [1000, 0],
          [1000, 0],
        ],
        bias: [-500, -500 - 5e-7, -500 - 1e-6],
        activation: 'relu',
      },
      {
        weights: [
          [500, -1000, 500],
          [0, 0, 0],
        ],
        bias: [0, 0],
        activation: 'linear',
      },
    ],
    box: { lower: [0, 0], upper: [1, 1] },
    worst: 2.5e-4,
    at: [0.5 + 5e-10, 0.5],
    near: 0.5,
  },
  {
    name: 'box [1e4, 1e4+1]², weights <= 10, hyperplanes 5e-6 apart: a tent of height 2.5e-4',
    layers: [
      {
        weights: [
          [10, 0],
          [10, 0],
          [10, 0],
        ],
        bias: [-10 * c4, -10 * (c4 + 5e-6), -10 * (c4 + 1e-5)],
        activation: 'relu',
      },
      {
        weights: [
          [5, -10, 5],
          [0, 0, 0],
        ],
        bias: [0, 0],
        activation: 'linear',
      },
    ],
    box: { lower: [1e4, 1e4], upper: [1e4 + 1, 1e4 + 1] },
    worst: 2.5e-4,
    at: [c4 + 5e-6, 1e4 + 0.25],
    near: c4,
  },
];

const LABEL_1 = [{ P: [[1, -1]], q: [0] }];
const net = (s: Sliver) => Network.fromArrays(s.layers.map((l) => ({ weights: l.weights, bias: l.bias, relu: l.activation === 'relu' })));

describe('hand-built sliver and slab networks (issue 11): refused, with witnesses checked exactly', () => {
  beforeAll(() => init());

  for (const s of SLIVERS) {
    it(`refuses: ${s.name}`, async () => {
      // The truth of the construction, exactly: the spec "label 1" (y0 − y1 <= 0) fails by `worst`.
      const exact = qNum(exactViolation(LABEL_1, exactNetwork(s.layers, s.at)));
      expect(Math.abs(exact / s.worst - 1)).toBeLessThan(1e-6);
      const original = new RepairedNetwork(net(s), [], s.box);
      const spec = labelSpec(1, 2);
      for (const boundHelpful of [true, false]) {
        const report = await certify(original, { spec, area: { box: s.box }, boundHelpful });
        expect(report.status, `${s.name} (boundHelpful ${boundHelpful})`).toBe('not-certified');
        // A real witness: some refused region's witness violates, in exact arithmetic, by more
        // than its tolerance.
        const real = report.failedRegions.some((i) => {
          const c = report.perRegion[i];
          return c.witness !== null && qNum(exactViolation(LABEL_1, exactNetwork(s.layers, c.witness))) > c.tolerance;
        });
        expect(real, s.name).toBe(true);
        expect(report.largestViolationFound).toBeGreaterThan(report.tolerance.largestAbsolute);
        expect(report.maxViolation).toBeGreaterThanOrEqual(exact * (1 - 1e-9));
      }
    });
  }

  it('a repair of a sliver is certified only where the exact repaired network holds (dense around the sliver and at the edges)', async () => {
    let certified = 0;
    for (const s of SLIVERS) {
      const { network, report } = await repairArea(net(s), { area: { box: s.box }, label: 1 });
      if (report.result.status !== 'repaired') {
        // Not claimed: nothing to check (the slabs below the LP's resolution stay unrepaired).
        expect(report.result.status).toBe('not-certified');
        continue;
      }
      certified++;
      const doc = denseDoc(network);
      const tol = report.certificate.tolerance.largestAbsolute;
      const xs: number[][] = [];
      for (let i = 0; i <= 400; i++) {
        const t = (i - 200) / 200;
        for (const w of [1e-6, 1e-9, 1e-11]) xs.push([Math.min(s.box.upper[0], Math.max(s.box.lower[0], s.near + t * w)), s.box.lower[1]]);
      }
      xs.push(s.at, [s.box.upper[0], s.box.upper[1]], [s.box.lower[0], s.box.lower[1]]);
      for (const x of xs) {
        const v = exactViolation(LABEL_1, exactRepaired(doc, x));
        expect(qCmp(v, qOf(tol)) <= 0, `${s.name}: x ${x} violates by ${qNum(v)}`).toBe(true);
      }
    }
    // The two slivers the LP resolves are repaired and certified.
    expect(certified).toBeGreaterThanOrEqual(2);
  });

  it('the CLI refuses the first one with exit 1 and names the thin cell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relu-repair-sliver-'));
    const s = SLIVERS[0];
    writeFileSync(join(dir, 'n.json'), JSON.stringify({ format: 'relu-repair.network', version: 1, layers: s.layers }));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ box: s.box, targetLabel: 1 }));
    const r = await runCli(['certify', '--model', join(dir, 'n.json'), '--area', join(dir, 'a.json'), '--quiet']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/NOT certified.*1 of 2 regions not certified.*thinner than the enumeration's minRadius/);
    expect(r.stderr).toMatch(/largest violation found 5\.000e-6/);
  });
});
