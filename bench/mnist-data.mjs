// The MNIST test set as the benches use it (inputs scaled to [0, 1] and rounded to float32, as the
// models saw them) and the test images a network gets wrong. Run `npm run build` first.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseImages, parseLabels } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (f) => new Uint8Array(readFileSync(join(root, 'test/fixtures/mnist', f)));

/** The 10,000 test images (`x`: 784 values each, flat) and their labels. */
export async function mnistTestSet() {
  const images = await parseImages(fixture('t10k-images-idx3-ubyte.gz'), 'images.gz', { scale: 1 });
  const x = images.x.map((v) => Math.fround(v / 255));
  const labels = await parseLabels(fixture('t10k-labels-idx1-ubyte.gz'), 'labels.gz', 10);
  return { x, labels };
}

/** The network's predicted class (argmax, first on ties) of every test image. */
export function predictions(net, x) {
  const y = net.forwardFlat(x, 10000);
  return Array.from({ length: 10000 }, (_, i) => {
    let b = 0;
    for (let j = 1; j < 10; j++) if (y[i * 10 + j] > y[i * 10 + b]) b = j;
    return b;
  });
}

/** Indices of the first `count` test images whose prediction `accept(predicted, i)` selects (default: wrong). */
export function firstWhere(pred, count, accept) {
  const out = [];
  for (let i = 0; i < pred.length && out.length < count; i++) if (accept(pred[i], i)) out.push(i);
  return out;
}
