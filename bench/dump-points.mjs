// Dumps a network and its first misclassified MNIST test images for the native LP profile
// (crates/core/examples/lp_profile.rs): node bench/dump-points.mjs MODEL.onnx OUTDIR [count]
// writes OUTDIR/net.bin (the core's network descriptor), pts.bin (784 f64 per point) and
// labels.bin (one f64 per point), all little-endian f64. Run `npm run build` first.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, loadModel, parseImages, parseLabels } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [model, out, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 20);
await init();
const net = await loadModel(model);
const images = await parseImages(new Uint8Array(readFileSync(join(root, 'test/fixtures/mnist/t10k-images-idx3-ubyte.gz'))), 'images.gz', {
  scale: 1,
});
const x = images.x.map((v) => Math.fround(v / 255));
const labels = await parseLabels(
  new Uint8Array(readFileSync(join(root, 'test/fixtures/mnist/t10k-labels-idx1-ubyte.gz'))),
  'labels.gz',
  10,
);
const y = net.forwardFlat(x, 10000);
const wrong = [];
for (let i = 0; i < 10000 && wrong.length < count; i++) {
  let b = 0;
  for (let j = 1; j < 10; j++) if (y[i * 10 + j] > y[i * 10 + b]) b = j;
  if (b !== labels[i]) wrong.push(i);
}
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
