/**
 * bench/vnncomp-sweep.mjs on a small benchmark directory built from the fixtures (the layout of
 * the VNN-COMP 2021 repository: one folder per benchmark with its `*instances.csv`): a violated
 * ACAS Xu instance (N2,9 φ8) whose counterexample onnxruntime confirms and whose point-wise repair
 * is fixed and certified, the same network gzip-compressed, a missing network and a corrupt one
 * (each recorded with its reason, the sweep going on), and a network killed by the wall-clock cap
 * (its results kept, its instances marked unfinished).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fixture, root } from './helpers.js';

const sweep = async (dir: string, extra: string[] = []) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, 'bench/vnncomp-sweep.mjs'), dir, '--per-benchmark', '3', '--timeout-scale', '1', ...extra],
    { cwd: root, maxBuffer: 1 << 26 },
  );
  return JSON.parse(stdout);
};

describe('bench/vnncomp-sweep.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rr-sweep-'));
  const b = join(dir, 'acas');
  mkdirSync(b);
  copyFileSync(fixture('acasxu', 'ACASXU_run2a_2_9_batch_2000.onnx'), join(b, 'n29.onnx'));
  writeFileSync(join(b, 'n29gz.onnx.gz'), gzipSync(readFileSync(fixture('acasxu', 'ACASXU_run2a_2_9_batch_2000.onnx'))));
  copyFileSync(fixture('acasxu', 'prop_8.vnnlib'), join(b, 'prop_8.vnnlib'));
  writeFileSync(join(b, 'broken.onnx'), new Uint8Array([8, 7, 18, 3, 0xff, 0xff]));
  writeFileSync(
    join(b, 'acas_instances.csv'),
    'n29.onnx,prop_8.vnnlib,60\nn29gz.onnx.gz,prop_8.vnnlib,60\nmissing.onnx,prop_8.vnnlib,60\nbroken.onnx,prop_8.vnnlib,60\n',
  );

  it('records load, onnxruntime agreement, verify answers, confirmed counterexamples and certified repairs; failures with their reasons', async () => {
    const out = await sweep(dir);
    const nets = out.benchmarks[0].networks;
    const [plain, gz, missing, broken] = nets;
    for (const n of [plain, gz]) {
      expect(n.load.ok).toBe(true);
      expect(n.load.relus).toBe(300);
      expect(n.eval.maxAbsDiffFloat64).toBeLessThan(1e-12);
      expect(n.eval.maxAbsDiffFloat32).toBeLessThan(1e-5);
      const [v] = n.instances;
      expect(v.result).toBe('violated');
      expect(v.counterexample.confirmed).toBe(true);
      expect(v.counterexample.depthOnnxruntime).toBeLessThanOrEqual(0);
      expect(v.repair).toMatchObject({ status: 'repaired', fixed: true, certified: true });
      expect(n.repairProbe).toMatchObject({ fixed: true, certified: true });
    }
    expect(missing.load).toMatchObject({ ok: false });
    expect(missing.load.error).toMatch(/missing file/);
    expect(broken.load.ok).toBe(false);
    expect(broken.load.error).toMatch(/InputError: .*broken\.onnx/);
    expect(out.summary).toMatchObject({ networks: 4, loaded: 2, instances: 2, counterexamplesConfirmed: 2, repairsCertified: 2 });
  });

  it('a network over its wall-clock cap is killed, recorded as such, and the sweep goes on', async () => {
    const out = await sweep(dir, ['--network-timeout', '0.3', '--no-probe']);
    const [plain] = out.benchmarks[0].networks;
    expect(plain.crash.signal).toBe('SIGKILL');
    expect(plain.instances[0].error).toMatch(/^not finished: child process killed \(SIGKILL/);
    expect(out.benchmarks[0].networks.length).toBe(4);
  });
});
