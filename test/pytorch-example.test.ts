/**
 * examples/pytorch/train_repair.py, run as a user runs it (Debian's /usr/bin/python3 with
 * python3-torch and python3-onnx): train → export ONNX four ways → find-failures → repair →
 * compare → repaired ONNX evaluated back in Python. Skipped (with the reason in its name) only when
 * that Python has no torch/onnx; `npm test` installs them and sets RELU_REPAIR_REQUIRE_PYTORCH=1,
 * so there a missing torch fails instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, loadRepaired, parseNpy } from '../ts/index.js';
import { maxAbsDiff, ortRun } from './formats-helpers.js';
import { root } from './helpers.js';

const PYTHON = process.env.RELU_REPAIR_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' });
const missing = probe.error
  ? `${PYTHON} not found`
  : probe.status !== 0
    ? `${PYTHON} has no torch/onnx/numpy (apt-get install python3-torch python3-onnx python3-numpy)`
    : '';
const required = process.env.RELU_REPAIR_REQUIRE_PYTORCH === '1';

describe.skipIf(missing !== '' && !required)(`examples/pytorch${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'relu-repair-pytorch-'));
  let summary: Record<string, unknown>[];

  beforeAll(async () => {
    expect(missing, 'the PyTorch example needs Debian python3-torch and python3-onnx').toBe('');
    await init();
    execFileSync(
      PYTHON,
      [
        join(root, 'examples/pytorch/train_repair.py'),
        '--work',
        work,
        '--json',
        join(work, 'summary.json'),
        '--cli',
        `${process.execPath} ${join(root, 'dist/cli.js')}`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, PYTHONWARNINGS: 'ignore' },
        maxBuffer: 1 << 26,
      },
    );
    summary = JSON.parse(readFileSync(join(work, 'summary.json'), 'utf8'));
  }, 180_000);

  it('exports with nn.Flatten and with x.view(x.size(0), -1), at opsets 13 and 17, are all read and repaired', () => {
    expect(summary.map((e) => [e.export, e.status])).toEqual([
      ['flatten-opset13', 'repaired'],
      ['flatten-opset17', 'repaired'],
      ['view-opset13', 'repaired'],
      ['view-opset17', 'repaired'],
    ]);
    // Dynamic-batch x.view(): a shape computation the importer folds to a constant reshape.
    for (const e of summary.slice(2)) expect(e.ops).toEqual(expect.arrayContaining(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']));
  });

  it('the repaired ONNX, evaluated back in Python, fixes the repaired failures and matches relu-repair compare', () => {
    for (const e of summary) {
      expect(e.repairedPoints).toBe(5);
      expect(e.fixedInOnnx).toBe(5);
      expect(e.accuracyAfterOnnx).toBe(e.accuracyAfterCli);
      expect(e.accuracyBefore).toBe(e.accuracyTorch); // the imported ONNX predicts as PyTorch does
      expect(e.accuracyAfterOnnx as number).toBeGreaterThan(e.accuracyBefore as number);
      expect(e.changedOutputs as number).toBeLessThan(2000 / 10); // local
      expect(existsSync(e.plot as string)).toBe(true);
    }
    // Every export is the same model, so the same failures and the same repair.
    const [a] = summary;
    for (const b of summary)
      expect([b.failures, b.accuracyAfterOnnx, b.changedOutputs]).toEqual([a.failures, a.accuracyAfterOnnx, a.changedOutputs]);
  });

  it('the repaired ONNX keeps the input shape (N, 1, 28, 28) and computes the repaired network (onnxruntime vs our evaluator)', async () => {
    const e = summary[0];
    const images = parseNpy(new Uint8Array(readFileSync(join(work, 'heldout-images.npy'))), 'heldout-images.npy');
    expect(images.shape).toEqual([2000, 28, 28]);
    const x = Float64Array.from(images.data, (v) => v / 255);
    const y = await ortRun(new Uint8Array(readFileSync(e.repairedOnnx as string)), x, 2000, [1, 28, 28], 'float32');
    const ours = (await loadRepaired(join(work, 'repaired-flatten-opset13.json'))).forwardFlat(x, 2000);
    expect(maxAbsDiff(y, ours)).toBeLessThan(1e-3); // float32 graph vs float64 evaluator
  });
});
