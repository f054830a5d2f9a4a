/**
 * The NNet text format (Kyle Julian, Stanford 2016): `//` comments, then
 * `numLayers,inputSize,outputSize,maxLayerSize`, the layer sizes, a "symmetric" flag, four header
 * lines (input minimums, maximums, means + output mean, ranges + output range), then per layer the
 * weight rows and one bias per line. Hidden layers are ReLU, the output layer is linear.
 *
 * Values are comma-separated with or without a trailing comma (the reference's reader drops the
 * last value of lines without one; this one does not). The normalisation fields are kept in
 * `NnetHeader` but not applied: the network is read in the space its first weight matrix
 * multiplies, as REASSURE's experiments use it. The declared min/max become the model's input box.
 */
import { InputError } from '../errors.js';
import { type DenseLayer, Network } from '../network.js';

export interface NnetHeader {
  min: number[];
  max: number[];
  mean: number[];
  range: number[];
  /** True when the normalisation was applied on reading (`normalize: true`). */
  applied?: boolean;
}

export interface NnetOptions {
  /**
   * Apply the header's normalisation, as the NNet reference evaluator does: inputs
   * x ↦ (x − mean_i) / range_i (an input affine layer, folded into the first layer) and outputs
   * y ↦ y · range_out + mean_out (folded into the last layer). The network then takes raw inputs
   * and gives raw outputs. Input clipping to [min, max] is not applied; [min, max] is the model's
   * input box either way. Default false: the network is read in the space its weights multiply.
   */
  normalize?: boolean;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

class Lines {
  private i = 0;
  private readonly lines: string[];
  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.lines = text.split(/\r?\n/);
    // Leading comment block.
    while (this.i < this.lines.length && this.lines[this.i].trim().startsWith('//')) this.i++;
  }

  /** Next non-blank line as numbers, with exactly `count` values when given. */
  next(what: string, count?: number): number[] {
    while (this.i < this.lines.length && this.lines[this.i].trim() === '') this.i++;
    if (this.i >= this.lines.length) {
      throw new InputError(`the file ends before ${what} (truncated?)`, { file: this.file, field: `line ${this.lines.length}` });
    }
    const lineNo = this.i + 1;
    const raw = this.lines[this.i++];
    const tokens = raw
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    const values = tokens.map((t) => {
      if (!NUMBER.test(t)) throw new InputError(`${what}: not a finite number`, { file: this.file, field: `line ${lineNo}`, value: t });
      return Number(t);
    });
    if (count !== undefined && values.length !== count) {
      throw new InputError(`${what}: expected ${count} values, found ${values.length}`, {
        file: this.file,
        field: `line ${lineNo}`,
        value: raw.trim(),
      });
    }
    return values;
  }

  rest(): number | undefined {
    for (let j = this.i; j < this.lines.length; j++) if (this.lines[j].trim() !== '') return j + 1;
    return undefined;
  }
}

function positiveInt(v: number, what: string, file: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new InputError(`${what} must be a positive integer`, { file, field: 'header', value: v });
  return v;
}

export function parseNnet(text: string, file = 'model.nnet', opts: NnetOptions = {}): Network & { nnet?: NnetHeader } {
  const r = new Lines(text, file);
  const [numLayers, inputSize, outputSize] = r
    .next('the header "numLayers,inputSize,outputSize,maxLayerSize"', 4)
    .map((v, i) => positiveInt(v, ['numLayers', 'inputSize', 'outputSize', 'maxLayerSize'][i], file));
  const sizes = r.next(`the ${numLayers + 1} layer sizes`, numLayers + 1).map((v) => positiveInt(v, 'a layer size', file));
  if (sizes[0] !== inputSize)
    throw new InputError(`first layer size ${sizes[0]} differs from inputSize ${inputSize}`, {
      file,
      field: 'layer sizes',
      value: sizes[0],
    });
  if (sizes[numLayers] !== outputSize)
    throw new InputError(`last layer size ${sizes[numLayers]} differs from outputSize ${outputSize}`, {
      file,
      field: 'layer sizes',
      value: sizes[numLayers],
    });
  r.next('the symmetric flag', 1);
  const header: NnetHeader = {
    min: r.next('the input minimums', inputSize),
    max: r.next('the input maximums', inputSize),
    mean: r.next('the input means and output mean', inputSize + 1),
    range: r.next('the input ranges and output range', inputSize + 1),
  };
  const layers: DenseLayer[] = [];
  for (let l = 0; l < numLayers; l++) {
    const ni = sizes[l];
    const no = sizes[l + 1];
    // Rows are read before the matrix is allocated, so sizes the file cannot hold (a corrupt
    // header) end in "the file ends before ..." instead of a huge allocation.
    const rowsRead: number[][] = [];
    for (let i = 0; i < no; i++) rowsRead.push(r.next(`layer ${l} weights, row ${i}`, ni));
    const w = new Float64Array(ni * no);
    rowsRead.forEach((row, i) => w.set(row, i * ni));
    const b = new Float64Array(no);
    for (let i = 0; i < no; i++) b[i] = r.next(`layer ${l} bias ${i}`, 1)[0];
    layers.push({ inputs: ni, outputs: no, weights: w, bias: b, relu: l < numLayers - 1 });
  }
  const extra = r.rest();
  if (extra !== undefined) throw new InputError('unexpected data after the last layer', { file, field: `line ${extra}` });
  if (opts.normalize) applyNormalization(layers, header, file);
  const box = header.min.every((v, j) => v <= header.max[j]) ? { lower: header.min, upper: header.max } : undefined;
  const net = new Network(layers, { source: file, inputBox: box }) as Network & { nnet?: NnetHeader };
  net.nnet = header;
  return net;
}

/** Folds the header normalisation into the first and last layers (see {@link NnetOptions}). */
function applyNormalization(layers: DenseLayer[], h: NnetHeader, file: string): void {
  const first = layers[0];
  const n = first.inputs;
  for (let j = 0; j <= n; j++) {
    if (!(h.range[j] !== 0 && Number.isFinite(h.range[j])))
      throw new InputError('a normalisation range is zero or not finite, so it cannot be applied', {
        file,
        field: `range[${j}]`,
        value: h.range[j],
      });
  }
  const W = Float64Array.from(first.weights);
  const b = Float64Array.from(first.bias);
  for (let r = 0; r < first.outputs; r++) {
    let shift = 0;
    for (let c = 0; c < n; c++) {
      const w = first.weights[r * n + c] / h.range[c];
      W[r * n + c] = w;
      shift += w * h.mean[c];
    }
    b[r] -= shift;
  }
  layers[0] = { ...first, weights: W, bias: b };
  const li = layers.length - 1;
  const last = layers[li];
  const so = h.range[n];
  const mo = h.mean[n];
  layers[li] = { ...last, weights: last.weights.map((v) => v * so), bias: last.bias.map((v) => v * so + mo) };
  h.applied = true;
}

/**
 * A plain MLP as .nnet text: every layer but the last must be ReLU, the last linear. The header
 * (min, max, means, ranges) is the one the network was read with when it came from a .nnet file
 * without `normalize`; otherwise min/max are the network's input box (±1.7976931348623157e308
 * without one) and the normalisation is the identity (means 0, ranges 1). Values are written in
 * shortest round-trip form, so reading the file back gives the same weights bit for bit.
 */
export function nnetToText(net: Network, opts: { comment?: string } = {}): string {
  const L = net.requireDenseLayers('the .nnet format');
  L.forEach((l, i) => {
    const wantRelu = i < L.length - 1;
    if (l.relu !== wantRelu) {
      throw new InputError(
        `.nnet needs ReLU on every hidden layer and a linear output layer; layer ${i} is ${l.relu ? 'ReLU' : 'linear'}`,
        { field: `layers[${i}].activation` },
      );
    }
  });
  const n = net.inputSize;
  const k = net.outputSize;
  const src = (net as Network & { nnet?: NnetHeader }).nnet;
  const big = 1.7976931348623157e308;
  const header: NnetHeader =
    src && !src.applied
      ? src
      : {
          min: net.info.inputBox ? [...net.info.inputBox.lower] : new Array(n).fill(-big),
          max: net.info.inputBox ? [...net.info.inputBox.upper] : new Array(n).fill(big),
          mean: new Array(n + 1).fill(0),
          range: new Array(n + 1).fill(1),
        };
  const sizes = [n, ...L.map((l) => l.outputs)];
  const row = (v: ArrayLike<number>) => Array.from(v, (x) => String(x)).join(',') + ',';
  const lines: string[] = [];
  for (const c of (opts.comment ?? `relu-repair export`).split('\n')) lines.push(`// ${c}`);
  lines.push(row([L.length, n, k, Math.max(...sizes)]));
  lines.push(row(sizes));
  lines.push('0,');
  lines.push(row(header.min), row(header.max), row(header.mean), row(header.range));
  for (const l of L) {
    for (let r = 0; r < l.outputs; r++) lines.push(row(l.weights.subarray(r * l.inputs, (r + 1) * l.inputs)));
    for (let r = 0; r < l.outputs; r++) lines.push(`${String(l.bias[r])},`);
  }
  return lines.join('\n') + '\n';
}
