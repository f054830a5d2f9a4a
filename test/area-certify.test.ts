/**
 * `certify --area` of a saved area repair from its proof map, without enumerating the area (issue
 * 10; ts/area-proof.ts, ts/certificate-area.ts). Two N2,1 φ2 sub-boxes repaired by the branch and
 * bound path: one where the budget hands most of the box back (bounds pieces and box patches), one
 * small enough for exact leaves (region pieces, region patches). Saved as JSON and float64 ONNX and
 * certified from the file alone; tampered copies refused — a box patch halved (a violating witness,
 * checked by the tampered network's own forward pass), a piece removed from the record and a piece
 * moved (the exact cover check, with a point no piece covers), a region patch changed (the region
 * certificate) — and a file without its proof map falls back to the enumeration and says so. The
 * cover check itself on hand-made splits: exact, gaps named by uncovered points, overlaps refused.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AreaCertificate,
  type AreaProof,
  type Box,
  certifyArea,
  checkCover,
  init,
  loadModel,
  type Network,
  parseVnnlib,
  propertyInputDomain,
  type RepairedNetwork,
  repairAreaBab,
  repairedFromJson,
  repairedToJson,
  repairedToOnnx,
  type Spec,
  type SpecUnion,
  safeSpec,
} from '../ts/index.js';
import { fixture, runCli } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: tampering edits the saved JSON freely.
type Json = any;

/** A's box: most of it handed back by a tiny branch-and-bound budget (bounds pieces and box patches). */
const SUB_A = { lower: [0.6, -0.05, -0.5, 0.45, -0.5], upper: [0.64, 0.05, -0.4, 0.5, -0.45] };
/** B's box: around a counterexample, decided by exact leaves (region pieces and region patches). */
const SUB_B = { lower: [0.6098, -0.0229, -0.4567, 0.495, -0.4916], upper: [0.6178, -0.0029, -0.4367, 0.5, -0.4816] };

const prop2Text = () => readFileSync(fixture('acasxu', 'prop_2.vnnlib'), 'utf8');

/** φ2 with its input box replaced by `box`, as VNN-LIB text. */
const subText = (box: Box) =>
  prop2Text().replace(
    /\(assert \((<=|>=) X_(\d) ([-0-9.e]+)\)\)/g,
    (_all, op: string, j: string) => `(assert (${op} X_${j} ${op === '<=' ? box.upper[Number(j)] : box.lower[Number(j)]}))`,
  );

interface Case {
  box: Box;
  spec: Spec | SpecUnion;
  doc: Json;
  rep: RepairedNetwork;
  report: Awaited<ReturnType<typeof repairAreaBab>>['report'];
  ms: number;
}

let net: Network;
const dir = mkdtempSync(join(tmpdir(), 'rr-areacert-'));
const cases: { A?: Case; B?: Case } = {};

async function repairCase(box: Box, extra: Partial<Parameters<typeof repairAreaBab>[1]>): Promise<Case> {
  const pr = parseVnnlib(subText(box), 'sub.vnnlib').properties[0];
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const { spec } = await safeSpec(pr, 5);
  const t = performance.now();
  const { network: rep, report } = await repairAreaBab(net, {
    area: { box: inputBox, inputSet },
    spec,
    unsafe: pr.unsafe,
    timeoutMs: 20_000,
    ...extra,
  });
  const ms = performance.now() - t;
  expect(report.result.status, JSON.stringify(report.unproven.slice(0, 2))).toBe('repaired');
  return { box: inputBox, spec, doc: JSON.parse(JSON.stringify(repairedToJson(rep))), rep, report, ms };
}

const certifyDoc = (c: Case, doc: Json): Promise<AreaCertificate> =>
  certifyArea(repairedFromJson(doc), { spec: c.spec, area: { box: c.box } });

beforeAll(async () => {
  await init();
  net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'));
  cases.A = await repairCase(SUB_A, { verify: { timeoutMs: 150, jobs: 4 }, pending: { maxDepth: 5 } });
  cases.B = await repairCase(SUB_B, {});
}, 120_000);

describe('certify --area from the proof map', () => {
  it('A (bounds + box patches): the float64 ONNX certified from the file alone by the CLI, no enumeration; shares add up to the box', async () => {
    const c = cases.A!;
    const proof = c.rep.record!.proof as AreaProof;
    const how = new Set(proof.pieces.map((p) => p[0]));
    expect(how).toEqual(new Set(['bounds', 'box-patch']));
    const onnx = join(dir, 'a.onnx');
    writeFileSync(onnx, repairedToOnnx(c.rep, { precision: 'float64' }));
    writeFileSync(join(dir, 'a.vnnlib'), subText(SUB_A));
    const out = join(dir, 'a-cert.json');
    const r = await runCli(['certify', '--model', onnx, '--area', join(dir, 'a.vnnlib'), '--report', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /certified on the area .* from the file's proof map: the record's \d+ pieces cover the area \(checked exactly\)/,
    );
    const cert = JSON.parse(readFileSync(out, 'utf8')) as AreaCertificate;
    expect(cert.source).toBe('record');
    expect(cert.status).toBe('certified');
    expect(cert.cover?.covered).toBe(true);
    expect(cert.pieces).toBe(proof.pieces.length);
    expect(cert.refused).toEqual([]);
    expect(cert.byMethod['box-patch'].proven).toBe(c.report.boxPatches.length);
    expect(cert.largestProvenBound).toBeLessThanOrEqual(0);
    const share = cert.byMethod.bounds.share + cert.byMethod['box-patch'].share;
    expect(share).toBeCloseTo(1, 9);
    console.log(
      `certify from the proof map (A: ${cert.pieces} pieces, ${c.rep.patches.length} patches): ${cert.timingsMs.total.toFixed(0)} ms; ` +
        `the repair's own certificate + re-proof ${(c.report.timingsMs.certify + c.report.timingsMs.reprove).toFixed(0)} ms, whole repair ${c.ms.toFixed(0)} ms`,
    );
  }, 120_000);

  it('B (exact leaves): every region piece re-enumerated and certified; the same regions the repair enumerated', async () => {
    const c = cases.B!;
    const cert = await certifyDoc(c, c.doc);
    expect(cert.status, JSON.stringify(cert.refused.slice(0, 2))).toBe('certified');
    expect(cert.byMethod.regions.pieces).toBeGreaterThan(1);
    expect(cert.byMethod.regions.proven).toBe(cert.byMethod.regions.pieces);
    expect(cert.regions.enumerated).toBe(c.report.result.regions);
    expect(cert.regions.certified).toBe(cert.regions.enumerated);
    expect(c.report.result.buggyRegions).toBeGreaterThan(0);
  }, 120_000);

  it('a halved box patch is refused, with a witness where the tampered network violates', async () => {
    const c = cases.A!;
    // Box patches closest to their minimal norm first (halving those leaves a violation).
    // Halved below the violation the repair found there, a patch leaves a true violation: every
    // one is refused. The witness search is a search (the boxes vary with the time-cut branch and
    // bound, and a halved patch can leave a violation of 1e-4 in a corner), so the patches with
    // the largest such violation are tried, up to four, until one refusal comes with a witness.
    const candidates = c.report.boxPatches
      .filter((t) => t.minimalNorm > 0.5 * t.patchNorm)
      .sort((u, v) => v.minimalNorm - 0.5 * v.patchNorm - (u.minimalNorm - 0.5 * u.patchNorm))
      .slice(0, 4);
    expect(candidates.length).toBeGreaterThan(0);
    let tampered: ReturnType<typeof repairedFromJson> | undefined;
    let w: Awaited<ReturnType<typeof certifyArea>>['refused'][number] | undefined;
    for (const target of candidates) {
      const doc = structuredClone(c.doc);
      const k = (doc.patches as Json[]).findIndex((p) =>
        (p.region?.box?.lower as number[] | undefined)?.every((v, j) => v === target.lower[j] && p.region.box.upper[j] === target.upper[j]),
      );
      expect(k).toBeGreaterThanOrEqual(0);
      doc.patches[k].d = doc.patches[k].d.map((v: number) => 0.5 * v);
      tampered = repairedFromJson(doc);
      const cert = await certifyArea(tampered, { spec: c.spec, area: { box: c.box } });
      expect(cert.status).toBe('not-certified');
      expect(cert.refused.length).toBeGreaterThan(0);
      w = cert.refused.find((r) => r.witness);
      if (w) break;
    }
    expect(w).toBeDefined();
    // The witness: inside its piece, and the tampered network's output lies outside every piece of the safe set there.
    for (let j = 0; j < 5; j++) {
      expect(w!.witness![j]).toBeGreaterThanOrEqual(w!.lower[j]);
      expect(w!.witness![j]).toBeLessThanOrEqual(w!.upper[j]);
    }
    const y = tampered!.forwardFlat(Float64Array.from(w!.witness!), 1);
    const pieces = 'pieces' in c.spec ? c.spec.pieces : [c.spec];
    const inside = pieces.some((p) => {
      for (let r = 0; r < p.q.length; r++) {
        let s = -p.q[r];
        for (let o = 0; o < 5; o++) s += p.P[r * 5 + o] * y[o];
        if (s > 0) return false;
      }
      return true;
    });
    expect(inside).toBe(false);
  }, 120_000);

  it('a piece removed from the record, or one moved: the cover check refuses, naming a point no piece covers', async () => {
    const c = cases.A!;
    const doc = structuredClone(c.doc);
    const removed = doc.record.proof.pieces.splice(7, 1)[0];
    const cert = await certifyDoc(c, doc);
    expect(cert.status).toBe('not-certified');
    expect(cert.cover?.covered).toBe(false);
    const wit = cert.refused[0].witness!;
    // The point lies in the removed piece, and in no piece left.
    expect(wit.every((v, j) => v >= removed[1][j] && v <= removed[2][j])).toBe(true);
    for (const [, lo, hi] of doc.record.proof.pieces as [string, number[], number[]][])
      expect(wit.every((v, j) => v >= lo[j] && v <= hi[j])).toBe(false);

    // A piece moved (by a tenth of its width) along an input where it does not start at the box's face: a gap and an overlap.
    const doc2 = structuredClone(c.doc);
    const pieces = doc2.record.proof.pieces as [string, number[], number[]][];
    const p = pieces.find((q) => q[1].some((v, j) => v > c.box.lower[j]))!;
    const j = p[1].findIndex((v, i) => v > c.box.lower[i]);
    const shift = 0.1 * (p[2][j] - p[1][j]);
    p[1][j] -= shift;
    p[2][j] -= shift;
    const cert2 = await certifyDoc(c, doc2);
    expect(cert2.status).toBe('not-certified');
    expect(cert2.cover?.covered).toBe(false);
  }, 120_000);

  it('a region patch changed is refused by the region certificate', async () => {
    const c = cases.B!;
    const doc = structuredClone(c.doc);
    // The region patch of largest norm, scaled down to a tenth.
    let k = -1;
    (doc.patches as Json[]).forEach((p, i) => {
      if (!p.region?.box && (k < 0 || p.region.patchNorm > doc.patches[k].region.patchNorm)) k = i;
    });
    expect(k).toBeGreaterThanOrEqual(0);
    doc.patches[k].d = doc.patches[k].d.map((v: number) => 0.1 * v);
    const cert = await certifyDoc(c, doc);
    expect(cert.status).toBe('not-certified');
    const r = cert.refused.find((x) => x.pattern !== undefined);
    expect(r, JSON.stringify(cert.refused.slice(0, 2))).toBeDefined();
    expect(r!.how).toBe('regions');
  }, 120_000);

  it('proof map v2: the hints only order the proofs — v1 (no hints) and wrong hints certify the same file, a wrong hint is never a proof', async () => {
    const c = cases.A!;
    const proof = c.rep.record!.proof as AreaProof;
    expect(proof.version).toBe(2);
    const hinted = proof.pieces.filter((p) => p[0] === 'bounds' && p[3] !== undefined);
    // Every bounds piece carries how the repair re-proved it (no patch reaching it is "the original's proof", -1).
    expect(hinted.length).toBe(proof.pieces.filter((p) => p[0] === 'bounds').length);
    expect(proof.pieces.every((p) => p[0] === 'bounds' || p.length === 3)).toBe(true);
    const right = await certifyDoc(c, c.doc);
    expect(right.status).toBe('certified');
    expect(right.provenByHint + right.provenByVerify + right.provenOnOriginal).toBeGreaterThan(0);

    // Version 1: the same pieces without hints.
    const v1 = structuredClone(c.doc);
    v1.record.proof.version = 1;
    v1.record.proof.pieces = (v1.record.proof.pieces as Json[]).map((p) => p.slice(0, 3));
    const c1 = await certifyDoc(c, v1);
    expect(c1.status, JSON.stringify(c1.refused.slice(0, 2))).toBe('certified');
    expect(c1.provenByHint).toBe(0);

    // Every hint wrong (another piece of the union; "the original" where a piece was named): certified by the other proofs.
    const pieces = 'pieces' in c.spec ? c.spec.pieces.length : 1;
    const wrong = structuredClone(c.doc);
    for (const p of wrong.record.proof.pieces as Json[])
      if (p.length === 4) p[3] = p[3] < 0 ? pieces - 1 : (p[3] + 1) % pieces === p[3] ? -1 : (p[3] + 1) % pieces;
    const cw = await certifyDoc(c, wrong);
    expect(cw.status, JSON.stringify(cw.refused.slice(0, 2))).toBe('certified');

    // The original network's COC score raised by 100 (COC is then maximal everywhere: every piece
    // violates), every bounds piece hinted "the original's proof stands", then to the union's
    // first piece: refused both times, at a bounds piece.
    const tampered = structuredClone(c.doc);
    const layers = tampered.original.layers as Json[];
    layers[layers.length - 1].bias[0] += 100;
    for (const h of [-1, 0]) {
      for (const p of tampered.record.proof.pieces as Json[]) if (p[0] === 'bounds') p[3] = h;
      const ct = await certifyArea(repairedFromJson(tampered), { spec: c.spec, area: { box: c.box }, maxRefused: 1 });
      expect(ct.status).toBe('not-certified');
      // The map lists the bounds pieces first: the refusal is of one of them, under the wrong hint.
      expect(ct.refused.map((r) => r.how)).toEqual(['bounds']);
    }

    // Malformed hints are input errors naming the field.
    const bad = (edit: (d: Json) => void) => {
      const d = structuredClone(c.doc);
      edit(d);
      return () => repairedFromJson(d);
    };
    const iBox = (c.doc.record.proof.pieces as Json[]).findIndex((p) => p[0] === 'box-patch');
    expect(bad((d) => d.record.proof.pieces[iBox].push(0))).toThrow(/record\.proof\.pieces\[\d+\].*must be \[how, lower, upper\]/);
    const iB = (c.doc.record.proof.pieces as Json[]).findIndex((p) => p[0] === 'bounds');
    expect(bad((d) => (d.record.proof.pieces[iB][3] = 0.5))).toThrow(/record\.proof\.pieces\[\d+\]\[3\].*hint must be an integer >= -1/);
    expect(bad((d) => (d.record.proof.version = 3))).toThrow(/record\.proof\.version.*must be 1 or 2/);
    // A version 1 map has no hints.
    expect(
      bad((d) => {
        d.record.proof.version = 1;
      }),
    ).toThrow(/must be \[how, lower, upper\]/);
    console.log(
      `certify A from the proof map: v2 ${right.timingsMs.total.toFixed(0)} ms (${right.provenByHint} by hint, ${right.provenOnOriginal} by one bound and ${right.provenByVerify} by branch and bound on the original), ` +
        `v1 ${c1.timingsMs.total.toFixed(0)} ms, wrong hints ${cw.timingsMs.total.toFixed(0)} ms`,
    );
  }, 240_000);

  it('a file without its proof map falls back to enumerating the area, and says so (CLI too)', async () => {
    const c = cases.B!;
    const doc = structuredClone(c.doc);
    delete doc.record.proof;
    const cert = await certifyDoc(c, doc);
    expect(cert.source).toBe('enumeration');
    expect(cert.notes.join(' ')).toMatch(/no proof map .* every linear region of the area was enumerated/);
    expect(cert.status).toBe('certified');
    expect(cert.enumeration?.regions).toBeGreaterThan(0);
    const file = join(dir, 'b-noproof.json');
    writeFileSync(file, JSON.stringify(doc));
    writeFileSync(join(dir, 'b.vnnlib'), subText(SUB_B));
    const r = await runCli(['certify', '--model', file, '--area', join(dir, 'b.vnnlib')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/has no proof map of its repair \(record\.proof\): every linear region of the area is enumerated/);
  }, 120_000);
});

describe('checkCover (exact, by re-playing the split tree)', () => {
  const box = { lower: [0, 0, 5], upper: [1, 1, 5] };
  // A split tree: x0 at 0.5, the left half at x1 = 0.25, the right at x1 = 0.7 (input 2 fixed).
  const tree = [
    { lower: [0, 0, 5], upper: [0.5, 0.25, 5] },
    { lower: [0, 0.25, 5], upper: [0.5, 1, 5] },
    { lower: [0.5, 0, 5], upper: [1, 0.7, 5] },
    { lower: [0.5, 0.7, 5], upper: [1, 1, 5] },
  ];
  it('a split tree covers its box; so does any piece order and a duplicated piece', () => {
    expect(checkCover(box, tree).covered).toBe(true);
    expect(checkCover(box, [...tree].reverse()).covered).toBe(true);
    expect(checkCover(box, [...tree, tree[2]]).covered).toBe(true);
  });
  it('a missing piece or a shrunk one: a witness inside the box that no piece contains', () => {
    for (const pieces of [tree.slice(1), [tree[0], tree[1], { lower: [0.5, 0, 5], upper: [1, 0.69, 5] }, tree[3]]]) {
      const c = checkCover(box, pieces);
      expect(c.covered).toBe(false);
      if (c.covered) continue;
      expect(c.reason).toBe('uncovered');
      const w = c.witness!;
      expect(w.every((v, j) => v >= box.lower[j] && v <= box.upper[j])).toBe(true);
      for (const p of pieces) expect(w.every((v, j) => v >= p.lower[j] && v <= p.upper[j])).toBe(false);
    }
  });
  it('pieces that are no split tree are not checked; a piece outside the box is refused', () => {
    // A pinwheel: four boxes around a centre one, no cut separates them.
    const pin = [
      { lower: [0, 0, 5], upper: [0.6, 0.4, 5] },
      { lower: [0.6, 0, 5], upper: [1, 0.6, 5] },
      { lower: [0.4, 0.6, 5], upper: [1, 1, 5] },
      { lower: [0, 0.4, 5], upper: [0.4, 1, 5] },
      { lower: [0.4, 0.4, 5], upper: [0.6, 0.6, 5] },
    ];
    const c = checkCover(box, pin);
    expect(c.covered === false && c.reason).toBe('not-a-split');
    const o = checkCover(box, [...tree, { lower: [0, 0, 5], upper: [1.5, 1, 5] }]);
    expect(o.covered === false && o.reason).toBe('outside');
  });
});
