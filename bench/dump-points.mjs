// Dumps a network and its first misclassified MNIST test images for the native LP profile
// (crates/core/examples/lp_profile.rs): node bench/dump-points.mjs MODEL.onnx OUTDIR [count]
// writes OUTDIR/net.bin (the core's network descriptor), pts.bin (784 f64 per point) and
// labels.bin (one f64 per point), all little-endian f64. Run `npm run build` first.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, loadModel } from '../dist/index.js';
import { firstWhere, mnistTestSet, predictions } from './mnist-data.mjs';

const [model, out, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 20);
await init();
const net = await loadModel(model);
const { x, labels } = await mnistTestSet();
const wrong = firstWhere(predictions(net, x), count, (b, i) => b !== labels[i]);
const desc = [net.layers.length];
for (const l of net.layers) desc.push(l.inputs, l.outputs, l.relu ? 1 : 0);
const parts = [Float64Array.from(desc)];
for (const l of net.layers) parts.push(l.weights, l.bias);
const flat = (arrs) => {
  const r = new Float64Array(arrs.reduce((s, a) => s + a.length, 0));
  let p = 0;
  for (const a of arrs) {
    r.set(a, p);
    p += a.length;
  }
  return r;
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'net.bin'), new Uint8Array(flat(parts).buffer));
writeFileSync(join(out, 'pts.bin'), new Uint8Array(flat(wrong.map((i) => Float64Array.from(x.subarray(i * 784, (i + 1) * 784)))).buffer));
writeFileSync(join(out, 'labels.bin'), new Uint8Array(Float64Array.from(wrong.map((i) => labels[i])).buffer));
process.stdout.write(`${wrong.length} points: test images ${wrong.join(' ')}\n`);
