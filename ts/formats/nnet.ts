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
    const tokens = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
    const values = tokens.map((t) => {
      if (!NUMBER.test(t)) throw new InputError(`${what}: not a finite number`, { file: this.file, field: `line ${lineNo}`, value: t });
      return Number(t);
    });
    if (count !== undefined && values.length !== count) {
      throw new InputError(`${what}: expected ${count} values, found ${values.length}`, { file: this.file, field: `line ${lineNo}`, value: raw.trim() });
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

export function parseNnet(text: string, file = 'model.nnet'): Network & { nnet?: NnetHeader } {
  const r = new Lines(text, file);
  const [numLayers, inputSize, outputSize] = r.next('the header "numLayers,inputSize,outputSize,maxLayerSize"', 4).map((v, i) =>
    positiveInt(v, ['numLayers', 'inputSize', 'outputSize', 'maxLayerSize'][i], file),
  );
  const sizes = r.next(`the ${numLayers + 1} layer sizes`, numLayers + 1).map((v) => positiveInt(v, 'a layer size', file));
  if (sizes[0] !== inputSize) throw new InputError(`first layer size ${sizes[0]} differs from inputSize ${inputSize}`, { file, field: 'layer sizes', value: sizes[0] });
  if (sizes[numLayers] !== outputSize) throw new InputError(`last layer size ${sizes[numLayers]} differs from outputSize ${outputSize}`, { file, field: 'layer sizes', value: sizes[numLayers] });
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
    const w = new Float64Array(ni * no);
    for (let i = 0; i < no; i++) w.set(r.next(`layer ${l} weights, row ${i}`, ni), i * ni);
    const b = new Float64Array(no);
    for (let i = 0; i < no; i++) b[i] = r.next(`layer ${l} bias ${i}`, 1)[0];
    layers.push({ inputs: ni, outputs: no, weights: w, bias: b, relu: l < numLayers - 1 });
  }
  const extra = r.rest();
  if (extra !== undefined) throw new InputError('unexpected data after the last layer', { file, field: `line ${extra}` });
  const box = header.min.every((v, j) => v <= header.max[j]) ? { lower: header.min, upper: header.max } : undefined;
  const net = new Network(layers, { source: file, inputBox: box }) as Network & { nnet?: NnetHeader };
  net.nnet = header;
  return net;
}
