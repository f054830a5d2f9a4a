/** .nnet writer and the header normalisation option. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nnetToText, parseNnet } from '../ts/formats/nnet.js';
import { InputError, init, Network } from '../ts/index.js';
import { fixture, randomNetwork, rng } from './helpers.js';

const TEXT = readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8');

describe('.nnet writer', () => {
  it('round-trips the HCAS network and its header bit for bit', () => {
    const net = parseNnet(TEXT, 'tau05.nnet');
    const text = nnetToText(net);
    const back = parseNnet(text, 'back.nnet');
    back.layers.forEach((l, i) => {
      expect(l.weights).toEqual(net.layers[i].weights);
      expect(l.bias).toEqual(net.layers[i].bias);
      expect(l.relu).toBe(net.layers[i].relu);
    });
    expect(back.nnet).toEqual(net.nnet);
    expect(back.info.inputBox).toEqual(net.info.inputBox);
    expect(nnetToText(back)).toBe(text);
  });

  it('round-trips random MLPs with an identity header', () => {
    const r = rng(7);
    const net = randomNetwork(r, [4, 9, 7, 3]);
    const back = parseNnet(nnetToText(net), 'r.nnet');
    back.layers.forEach((l, i) => expect(l.weights).toEqual(net.layers[i].weights));
    expect(back.nnet?.mean).toEqual([0, 0, 0, 0, 0]);
    expect(back.nnet?.range).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses networks .nnet cannot express', () => {
    const linearHidden = Network.fromArrays([
      { weights: [[1, 2]], bias: [0], relu: false },
      { weights: [[3]], bias: [1], relu: false },
    ]);
    expect(() => nnetToText(linearHidden)).toThrow(/layers\[0\]\.activation: \.nnet needs ReLU on every hidden layer/);
  });

  it('normalisation option: equals the NNet reference evaluation (normalise, run, un-normalise)', async () => {
    await init();
    const raw = parseNnet(TEXT, 'tau05.nnet');
    const norm = parseNnet(TEXT, 'tau05.nnet', { normalize: true });
    const h = raw.nnet!;
    expect(norm.nnet?.applied).toBe(true);
    const r = rng(9);
    const N = 2000;
    const x = Float64Array.from({ length: N * 3 }, (_, i) => r.range(h.min[i % 3], h.max[i % 3]));
    const xn = x.map((v, i) => (v - h.mean[i % 3]) / h.range[i % 3]);
    const yRef = raw.forwardFlat(xn, N).map((v) => v * h.range[3] + h.mean[3]);
    const y = norm.forwardFlat(x, N);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - yRef[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(yRef[i])));
    // Written back, the normalised network has an identity header and the same function.
    const back = parseNnet(nnetToText(norm), 'n.nnet');
    expect(back.nnet?.range.every((v) => v === 1)).toBe(true);
    expect(back.forwardFlat(x, N)).toEqual(y);
    const zero = TEXT.replace(/^112000\.000000,/m, '0,');
    expect(() => parseNnet(zero, 'z.nnet', { normalize: true })).toThrow(/z\.nnet: range\[0\]: a normalisation range is zero/);
  });

  it('layer sizes the file cannot hold end in a typed error, not a huge allocation', () => {
    const huge = TEXT.replace('3,25,25,25,25,25,5,', '3,25,25,25,25,2500000000,5,');
    expect(() => parseNnet(huge, 'h.nnet')).toThrow(InputError);
    expect(() => parseNnet(huge, 'h.nnet')).toThrow(/h\.nnet: line \d+: layer 4 weights, row 25: expected 25 values, found 1/);
  });
});
