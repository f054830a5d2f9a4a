/** The built CLI (dist/cli.js): `repair --area` and `certify`, run as a user runs them. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadRepaired } from '../ts/index.js';
import { argmax, fixture, rng, runCli } from './helpers.js';

const run = runCli;

const TAU20 = fixture('hcas/HCAS_rect_v6_pra1_tau20_25HU_3000.nnet');
const AREA = fixture('hcas/area-repair-pra1-tau20.json');

describe('relu-repair CLI: area repair and certify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-area-'));
  const out = join(dir, 'repaired.json');
  const rep = join(dir, 'report.json');
  beforeAll(() => init());

  it('repair --area with the shared task file as it is: exit 0, every region certified', async () => {
    const r = await run(['repair', '--model', TAU20, '--area', AREA, '--out', out, '--report', rep]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/165 linear regions in the area, 87 violated the spec and were repaired/);
    expect(r.stderr).toMatch(/165\/165 regions certified/);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    expect(report).toMatchObject({
      schemaVersion: 1,
      kind: 'area',
      result: { status: 'repaired', regions: 165, buggyRegions: 87, certifiedRegions: 165 },
    });
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['enumeration', 'regions', 'certificate', 'refinement', 'timingsMs', 'notes']),
    );
    expect(Object.keys(report.certificate)).toEqual(
      expect.arrayContaining(['status', 'maxViolation', 'largestViolationFound', 'tolerance', 'perRegion']),
    );
    const net = await loadRepaired(out);
    const r2 = rng(3);
    const xs = Array.from({ length: 500 }, () => [r2.range(10, 5000), r2.range(10, 5000), r2.range(-Math.PI, -Math.PI / 2)]);
    expect(net.predict(xs).every((y) => argmax(y) === 4)).toBe(true);
  });

  it('certify: exit 0 on the repaired network (area and repaired regions), 1 on the original and on a wrong spec', async () => {
    const cr = join(dir, 'cert.json');
    let r = await run(['certify', '--model', out, '--area', AREA, '--report', cr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/certified on every linear region of the area/);
    expect(JSON.parse(readFileSync(cr, 'utf8'))).toMatchObject({ status: 'certified', scope: 'area', regions: 165, certifiedRegions: 165 });
    r = await run(['certify', '--model', out, '--label', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/87\/87 regions certified/);
    r = await run(['certify', '--model', TAU20, '--area', AREA]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NOT certified.*87 of 165 regions not certified.*largest violation found/);
    r = await run(['certify', '--model', out, '--area', AREA, '--label', '3']);
    expect(r.code).toBe(1);
  });

  it('a VNN-LIB property is an area too (its input box and safe set): repair and certify', async () => {
    const v = join(dir, 'hcas.vnnlib');
    const bound = (j: number, lo: number, hi: number) => `(assert (>= X_${j} ${lo}))\n(assert (<= X_${j} ${hi}))\n`;
    writeFileSync(
      v,
      [0, 1, 2].map((j) => `(declare-const X_${j} Real)\n`).join('') +
        [0, 1, 2, 3, 4].map((j) => `(declare-const Y_${j} Real)\n`).join('') +
        bound(0, 10, 5000) +
        bound(1, 10, 5000) +
        bound(2, -3.141592653589793, -1.5707963267948966) +
        '(assert (or (and (>= Y_0 Y_4)) (and (>= Y_1 Y_4)) (and (>= Y_2 Y_4)) (and (>= Y_3 Y_4))))\n',
    );
    const o = join(dir, 'rv.json');
    let r = await run(['repair', '--model', TAU20, '--area', v, '--method', 'enumerate', '--out', o]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/safe set convex/);
    expect(r.stderr).toMatch(/165 linear regions in the area, 87 violated the spec and were repaired.*165\/165 regions certified/s);
    r = await run(['certify', '--model', o, '--area', v]);
    expect(r.code, r.stderr).toBe(0);
    r = await run(['certify', '--model', TAU20, '--area', v]);
    expect(r.code).toBe(1);
  });

  const badInput = async (args: string[], message: RegExp) => {
    const o = join(dir, `never-${Math.random()}.json`);
    const p = join(dir, `never-report-${Math.random()}.json`);
    const r = await run([...args, '--out', o, '--report', p]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(o)).toBe(false);
    expect(existsSync(p)).toBe(false);
  };

  it('bad area files and limits: exit 2, naming the file, the field and the value; nothing written', async () => {
    const f = join(dir, 'bad-area.json');
    writeFileSync(f, JSON.stringify({ box: { lower: [10, 10, -3], upper: [5000, 'x', -1] }, targetLabel: 4 }));
    await badInput(['repair', '--model', TAU20, '--area', f], /bad-area\.json: box\.upper\[1\]: is not a finite number \(got "x"\)/);
    writeFileSync(f, JSON.stringify({ box: { lower: [10, 10], upper: [5000, 5000] }, targetLabel: 4 }));
    await badInput(['repair', '--model', TAU20, '--area', f], /bad-area\.json: box\.lower: has 2 bounds, the network has 3 inputs/);
    writeFileSync(f, JSON.stringify({ box: { lower: [10, 10, -3], upper: [5000, 5000, -1] } }));
    await badInput(['repair', '--model', TAU20, '--area', f], /no specification/);
    writeFileSync(f, JSON.stringify({ box: { lower: [10, 10, -3], upper: [5000, 5000, -1] }, A: [[1, 1]], b: [0], targetLabel: 4 }));
    await badInput(['repair', '--model', TAU20, '--area', f], /bad-area\.json: A\[0\]: must have 3 entries/);
    await badInput(['repair', '--model', TAU20, '--area', AREA, '--max-regions', '50'], /has more than 50 linear regions; raise the limit/);
    await badInput(
      ['repair', '--model', TAU20, '--area', AREA, '--points', fixture('hcas/buggy-points-pra1-tau05.json')],
      /give --points or --area, not both/,
    );
    await badInput(['repair', '--model', TAU20], /give --points FILE \(point-wise repair\) or --area FILE/);
    const v = join(dir, 'prop.vnnlib');
    writeFileSync(v, '(declare-const X_0 Real)\n(assert (<= X_0 1))\n');
    await badInput(['repair', '--model', TAU20, '--area', v], /prop\.vnnlib/);
    const r = await run(['certify', '--model', TAU20, '--label', '4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a repaired network.*pass --area/);
  });
});

describe('area files (ts/formats/area.ts)', () => {
  it('read the shared task as it is, and round-trip box, H-polytope and spec', async () => {
    const { parseAreaJson, areaToJson } = await import('../ts/formats/area.js');
    const { polytopeSpec } = await import('../ts/index.js');
    const task = parseAreaJson(JSON.parse(readFileSync(AREA, 'utf8')), 3, 5, 'task.json');
    expect(task.area.box).toEqual({ lower: [10, 10, -Math.PI], upper: [5000, 5000, -Math.PI / 2] });
    expect(task.spec?.label).toBe(4);
    const file = {
      area: {
        box: { lower: [0, -1], upper: [2, 1] },
        inputSet: { A: Float64Array.from([1, 1, -0.5, 2]), b: Float64Array.from([0.25, 1e-17]) },
      },
      spec: polytopeSpec(
        [
          [1, -1, 0],
          [0, 0.1, 3],
        ],
        [0.5, -2],
      ),
    };
    const back = parseAreaJson(JSON.parse(JSON.stringify(areaToJson(file))), 2, 3);
    expect(back.area.box).toEqual(file.area.box);
    expect(back.area.inputSet).toEqual(file.area.inputSet);
    expect(back.spec!.P).toEqual(file.spec.P);
    expect(back.spec!.q).toEqual(file.spec.q);
    const lab = parseAreaJson(
      areaToJson({ area: { box: { lower: [0], upper: [1] } }, spec: (await import('../ts/index.js')).labelSpec(1, 3, { margin: 0.5 }) }),
      1,
      3,
    );
    expect(lab.spec).toMatchObject({ label: 1, margin: 0.5 });
    expect(() => parseAreaJson({ box: { lower: [0], upper: [1] }, spec: { label: 1 }, targetLabel: 1 }, 1, 3, 'a.json')).toThrow(
      /a\.json: spec: give either "spec" or a label, not both/,
    );
  });
});
