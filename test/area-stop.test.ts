/**
 * An area repair stopped at its hard limit (issue 10 item 6; ts/area-bab.ts `hardStopMs`): an
 * AbortError carrying a partial report — the phase it stopped in, the share of the box decided and
 * how, regions and patches so far, nothing certified — and through the CLI (`--hard-stop`) the
 * report file, a summary, exit 1 and no network written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  AreaBabStopped,
  type AreaBabStopReport,
  init,
  loadModel,
  type Network,
  parseVnnlib,
  propertyInputDomain,
  repairAreaBab,
  safeSpec,
} from '../ts/index.js';
import { acasSubProperty, fixture, runCli } from './helpers.js';

const SUB = { lower: [0.6, -0.05, -0.5, 0.45, -0.5], upper: [0.64, 0.05, -0.4, 0.5, -0.45] };
const subText = () => acasSubProperty(2, SUB);

let net: Network;
beforeAll(async () => {
  await init();
  net = await loadModel(fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'));
});

async function stopped(extra: Partial<Parameters<typeof repairAreaBab>[1]>): Promise<{ report: AreaBabStopReport; phases: string[] }> {
  const pr = parseVnnlib(subText(), 'sub.vnnlib').properties[0];
  const { inputBox, inputSet } = propertyInputDomain(pr, net.info.inputBox);
  const { spec } = await safeSpec(pr, 5);
  const phases: string[] = [];
  try {
    await repairAreaBab(net, {
      area: { box: inputBox, inputSet },
      spec,
      unsafe: pr.unsafe,
      timeoutMs: 20_000,
      onProgress: (e) => phases.push(e.phase),
      ...extra,
    });
  } catch (e) {
    expect(e).toBeInstanceOf(AreaBabStopped);
    expect(e).toBeInstanceOf(AbortError);
    expect((e as Error).message).toMatch(/hard limit of/);
    return { report: (e as AreaBabStopped).report, phases };
  }
  throw new Error('the repair was not stopped');
}

describe('hard stop: a partial report', () => {
  it('stopped inside the branch and bound: phase "verify", the share decided so far, nothing certified, no shares by method', async () => {
    const { report: r, phases } = await stopped({ hardStopMs: 30 });
    expect(r.kind).toBe('area-bab-stopped');
    expect(r.phase).toBe('verify');
    expect(phases.every((p) => p === 'verify')).toBe(true);
    expect(r.verify).toBeNull();
    expect(r.shares.decided).toBeGreaterThanOrEqual(0);
    expect(r.shares.decided).toBeLessThanOrEqual(1);
    expect(r.shares.bounds).toBeNull();
    expect(r.shares.certified).toBe(0);
    expect(r.patches).toBe(0);
    expect(r.limitMs).toBe(30);
    expect(r.notes.join(' ')).toMatch(/nothing is certified/);
  }, 60_000);

  it('stopped after the branch and bound: its shares by method add up to the box, the phase is the last one reported', async () => {
    const { report: r, phases } = await stopped({ hardStopMs: 1500, verify: { timeoutMs: 100, jobs: 4 }, pending: { maxDepth: 9 } });
    expect(r.phase).toBe(phases[phases.length - 1]);
    expect(r.phase).not.toBe('verify');
    expect(r.verify).not.toBeNull();
    const s = r.shares;
    expect(s.bounds! + s.regions! + s.violated! + s.undecided!).toBeCloseTo(1, 9);
    expect(s.decided).toBeCloseTo(1 - s.undecided!, 12);
    expect(s.certified).toBe(0);
    expect(r.phases.map((p) => p.phase)).toContain('verify');
    if (s.pendingBounds !== null) expect(s.pendingBounds + s.pendingBoxPatch! + s.pendingNoPatch!).toBeLessThanOrEqual(s.undecided! + 1e-9);
    expect(r.boxPatches).toBeLessThanOrEqual(r.patches);
  }, 60_000);

  it('CLI --hard-stop: the partial report file, a summary, exit 1, no network written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-stop-'));
    writeFileSync(join(dir, 'sub.vnnlib'), subText());
    const out = join(dir, 'rep.onnx');
    const rep = join(dir, 'r.json');
    const r = await runCli([
      'repair',
      '--model',
      fixture('acasxu', 'ACASXU_run2a_2_1_batch_2000.onnx'),
      '--area',
      join(dir, 'sub.vnnlib'),
      '--method',
      'bab',
      '--out',
      out,
      '--report',
      rep,
      '--hard-stop',
      '0.03',
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /area repair stopped at its hard limit of 0\.03 s in phase "verify"; the branch and bound decided [\d.]+ % of the box/,
    );
    expect(r.stderr).toMatch(/no network written; partial report in/);
    expect(existsSync(out)).toBe(false);
    const doc = JSON.parse(readFileSync(rep, 'utf8')) as AreaBabStopReport;
    expect(doc.kind).toBe('area-bab-stopped');
    expect(doc.phase).toBe('verify');
  }, 60_000);
});
