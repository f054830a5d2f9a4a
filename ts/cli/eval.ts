/** `relu-repair eval` (accuracy on a labelled data set) and `relu-repair export-model` (format conversion). */
import type { Command } from 'commander';
import { accuracy } from '../eval.js';
import { loadModel } from '../formats/load.js';
import type { Network } from '../network.js';
import { RepairedNetwork } from '../repaired.js';
import { init } from '../wasm/raw.js';
import { loadData, loadEvaluator } from './data.js';
import { parsePrecision, saveNetworkFile, saveRepairedFile } from './formats.js';
import type { CommandRunner } from './interrupt.js';
import { checkExtension, checkOutputs, givenFlags, rejectFlags, UsageError } from './usage.js';

export function registerEval(program: Command, run: CommandRunner): void {
  program
    .command('eval')
    .description('accuracy of a model or repaired network on labelled inputs (argmax)')
    .requiredOption('--model <file>', 'model (.onnx, .nnet, .json, TF.js model.json) or repaired network (.json)')
    .requiredOption('--images <file>', 'inputs: IDX (optionally .gz) or .npy, first dimension = samples')
    .requiredOption('--labels <file>', 'labels: IDX, .npy or .txt')
    .option('--scale <s>', 'multiply inputs by s; "auto" (default) = 1/255 for uint8 data, else 1')
    .option('--json', 'print the result as JSON on stdout')
    .action((o: { model: string; images: string; labels: string; scale?: string; json?: boolean }) =>
      run(async () => {
        await init();
        const model = await loadEvaluator(o.model);
        const { data, labels, description } = await loadData(o.images, {
          labels: o.labels,
          scale: o.scale,
          inputs: model.inputSize,
          outputs: model.outputSize,
        });
        const t0 = performance.now();
        const r = accuracy(model, data, labels!, { file: o.images });
        const ms = performance.now() - t0;
        if (o.json) {
          const doc = {
            model: o.model,
            images: o.images,
            labels: o.labels,
            samples: r.total,
            correct: r.correct,
            accuracy: r.accuracy,
            inputScale: data.scale,
            inputType: data.dtype,
            evalMs: ms,
          };
          process.stdout.write(JSON.stringify(doc) + '\n');
        } else {
          process.stdout.write(`accuracy ${(100 * r.accuracy).toFixed(2)} % (${r.correct}/${r.total})\n`);
          process.stderr.write(`${o.model}: ${description}; ${ms.toFixed(0)} ms\n`);
        }
        return 0;
      }),
    );
}

export function registerExportModel(program: Command, run: CommandRunner): void {
  program
    .command('export-model')
    .description(
      'convert a model: by the output name to relu-repair .json, .onnx, .nnet or TF.js model.json (+ weights.bin); a repaired network (relu-repair JSON) to .onnx',
    )
    .requiredOption('--model <file>', 'input model, or a repaired network (relu-repair JSON from repair --out X.json)')
    .requiredOption('--out <file>', 'output: X.json (relu-repair JSON), X.onnx, X.nnet or model.json (TF.js)')
    .option('--onnx-precision <p>', 'with --out X.onnx: float32 (default) or float64')
    .option('--nnet-normalize', 'with a .nnet model: apply its header normalisation')
    .option(
      '--input-shape <d1,d2,...>',
      'with --out X.onnx: the input shape without the batch axis, e.g. 1,28,28 (a Flatten is inserted; default: as imported, else [inputs])',
    )
    .action((o: { model: string; out: string; onnxPrecision?: string; nnetNormalize?: boolean; inputShape?: string }, cmd: Command) =>
      run(async () => {
        checkExtension(o.out, '--out', ['.json', '.onnx', '.nnet'], 'a model');
        rejectFlags(givenFlags(cmd), 'export-model', {
          '--onnx-precision': o.out.toLowerCase().endsWith('.onnx') ? undefined : `--out ${o.out} is not ONNX`,
          '--input-shape': o.out.toLowerCase().endsWith('.onnx') ? undefined : `--out ${o.out} is not ONNX`,
          '--nnet-normalize': o.model.toLowerCase().endsWith('.nnet')
            ? undefined
            : `--model ${o.model} is not a .nnet file (only .nnet headers carry a normalisation)`,
        });
        const precision = parsePrecision(o.onnxPrecision);
        const inputShape = o.inputShape === undefined ? undefined : o.inputShape.split(',').map((d) => Number(d));
        if (inputShape?.some((d) => !Number.isSafeInteger(d) || d <= 0))
          throw new UsageError('must be positive integers separated by commas (e.g. 1,28,28)', {
            field: '--input-shape',
            value: o.inputShape,
          });
        checkOutputs({ '--out': o.out });
        await init();
        const model = o.nnetNormalize ? await loadModel(o.model, { normalize: true }) : await loadEvaluator(o.model);
        if (model instanceof RepairedNetwork) {
          // A repaired network is the original plus patch networks: one ONNX graph (or its JSON), not an MLP.
          if (!o.out.toLowerCase().endsWith('.onnx') && !o.out.toLowerCase().endsWith('.json')) {
            throw new UsageError('a repaired network is not a plain MLP: export it to .onnx (or keep the .json)', {
              field: '--out',
              value: o.out,
            });
          }
          const written = await saveRepairedFile(o.out, model, { precision, inputShape });
          process.stderr.write(`wrote ${written}\n`);
          return 0;
        }
        await saveNetworkFile(o.out, model as Network, { precision, inputShape });
        return 0;
      }),
    );
}
