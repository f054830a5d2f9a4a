/**
 * Bounds and `verify` on graph networks read from ONNX (PyTorch exports with a residual
 * connection and with MaxPool): the bounds of every node against an independent forward pass at
 * sampled points, one property proven from them and one violated at the box centre, whose
 * counterexample is re-checked by an independent forward pass.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../ts/formats/onnx/import.js';
import { init, type Network, parseVnnlib, preActivationBounds, verify } from '../ts/index.js';
import { forwardAdd } from '../ts/network/ops.js';
import { fixture, rng, runCli } from './helpers.js';

/** Every node's pre-activation at x, from the graph's operators in plain JavaScript. */
function nodeValues(net: Network, x: ArrayLike<number>): Float64Array[] {
  const values: Float64Array[] = [Float64Array.from(x)];
  const pre: Float64Array[] = [];
  for (const node of net.graph.nodes) {
    const z = Float64Array.from(node.bias);
    for (const t of node.terms) {
      const part = new Float64Array(z.length);
      forwardAdd(t.op, values[t.from], part);
      for (let i = 0; i < z.length; i++) z[i] += t.negate ? -part[i] : part[i];
    }
    pre.push(z);
    values.push(node.relu ? z.map((v) => Math.max(0, v)) : z);
  }
  return pre;
}

function vnnlib(n: number, box: { lower: number[]; upper: number[] }, outputs: number, unsafe: string): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`(declare-const X_${i} Real)`);
  for (let j = 0; j < outputs; j++) lines.push(`(declare-const Y_${j} Real)`);
  for (let i = 0; i < n; i++) lines.push(`(assert (>= X_${i} ${box.lower[i]}))`, `(assert (<= X_${i} ${box.upper[i]}))`);
  lines.push(`(assert ${unsafe})`);
  return lines.join('\n');
}

const cases = [
  ['residual', 'residual-opset17-f64.onnx'],
  ['maxpool', 'maxpool-opset17-f64.onnx'],
] as const;

describe('bounds and verify on residual and MaxPool graphs', () => {
  beforeAll(() => init());

  for (const [name, file] of cases) {
    it(`${name}: node bounds hold at sampled points; a property proven, one violated with a checked counterexample`, async () => {
      const ref = JSON.parse(readFileSync(fixture('graph/reference.json'), 'utf8'))[name];
      const net = parseOnnx(new Uint8Array(readFileSync(fixture('graph', file))), file);
      expect(net.denseLayers).toBeUndefined();
      const c: number[] = ref.inputs[0];
      const n = net.inputSize;
      const k = net.outputSize;
      const r = 0.01;
      const box = { lower: c.map((v) => v - r), upper: c.map((v) => v + r) };
      const b = preActivationBounds(net, box);
      expect(b.lower.length).toBe(net.graph.nodes.length);
      const g = rng(7);
      let sampledMax = -Infinity;
      for (let s = 0; s < 300; s++) {
        // Corners and interior points: corners are where interval-style bounds are tight.
        const x = c.map((v) => (s % 3 === 0 ? v + (g.next() < 0.5 ? -r : r) : v + (2 * g.next() - 1) * r));
        const pre = nodeValues(net, x);
        pre.forEach((z, node) => {
          for (let i = 0; i < z.length; i++) {
            const tol = 1e-9 * (1 + Math.abs(z[i]));
            expect(z[i]).toBeGreaterThanOrEqual(b.lower[node][i] - tol);
            expect(z[i]).toBeLessThanOrEqual(b.upper[node][i] + tol);
          }
        });
        const y = net.forwardFlat(Float64Array.from(x), 1);
        for (let j = 0; j < k; j++) {
          expect(y[j]).toBeGreaterThanOrEqual(b.outputLower[j] - 1e-9 * (1 + Math.abs(y[j])));
          expect(y[j]).toBeLessThanOrEqual(b.outputUpper[j] + 1e-9 * (1 + Math.abs(y[j])));
        }
        sampledMax = Math.max(sampledMax, y[0]);
      }
      expect(b.outputUpper[0]).toBeGreaterThanOrEqual(sampledMax);

      // Y_0 above its own proven upper bound (with room): holds, proven.
      const above = b.outputUpper[0] + 0.01 * (1 + Math.abs(b.outputUpper[0]));
      const safe = parseVnnlib(vnnlib(n, box, k, `(>= Y_0 ${above})`), `${name}-safe.vnnlib`, { inputs: n, outputs: k });
      const proven = await verify(net, safe, { timeoutMs: 60_000 });
      expect(proven.status).toBe('holds');

      // Y_0 at least its value at the centre minus a little: the centre violates it.
      const y0 = net.forwardFlat(Float64Array.from(c), 1)[0];
      const at = y0 - 1e-3 * (1 + Math.abs(y0));
      const unsafeText = vnnlib(n, box, k, `(>= Y_0 ${at})`);
      const unsafe = parseVnnlib(unsafeText, `${name}-unsafe.vnnlib`, { inputs: n, outputs: k });
      const found = await verify(net, unsafe, { timeoutMs: 60_000 });
      expect(found.status).toBe('violated');
      const cx = found.counterexample;
      expect(cx).toBeDefined();
      if (!cx) return;
      for (let i = 0; i < n; i++) {
        expect(cx.x[i]).toBeGreaterThanOrEqual(box.lower[i]);
        expect(cx.x[i]).toBeLessThanOrEqual(box.upper[i]);
      }
      const pre = nodeValues(net, cx.x);
      const yOut = pre[pre.length - 1];
      const last = net.graph.nodes[net.graph.nodes.length - 1];
      const y = last.relu ? Math.max(0, yOut[0]) : yOut[0];
      expect(y).toBeGreaterThanOrEqual(at);

      // The CLI: exit 1, "sat" with every input in the result file, a short line on stderr.
      const dir = mkdtempSync(join(tmpdir(), 'rr-verify-graph-'));
      writeFileSync(join(dir, 'p.vnnlib'), unsafeText);
      const out = join(dir, 'result.txt');
      const run = await runCli(['verify', '--model', fixture('graph', file), '--property', join(dir, 'p.vnnlib'), '--result', out]);
      expect(run.code).toBe(1);
      expect(run.stdout.trim()).toBe('violated');
      expect(run.stderr).toContain(`(${n} values, all in ${out})`);
      const text = readFileSync(out, 'utf8');
      expect(text.startsWith('sat')).toBe(true);
      expect(text).toContain(`(X_${n - 1} `);
    });
  }
});
