// Repair a ReLU network on its buggy points in Deno module workers, then write the repaired
// network and the report. Without arguments: the HCAS demo job.
//
//   deno run --allow-read --allow-write examples/deno/repair.ts [--model net.nnet --points p.json] [--workers N] [--out DIR]
//
// In a project with package.json + node_modules, 'relu-repair' resolves there; elsewhere write
// 'npm:relu-repair' and 'npm:relu-repair/demo'.
import { parseArgs } from 'node:util';
import { createPool, init, parseModel, parseNnet, parsePoints, repair, repairedToJson } from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: 'string' },
    points: { type: 'string' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: '.' },
  },
});

await init();
const net = args.model ? parseModel(args.model, await Deno.readFile(args.model)) : parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
const doc = args.points ? JSON.parse(await Deno.readTextFile(args.points)) : HCAS_DEMO.points;
const pts = parsePoints(doc, net.inputSize, net.outputSize, args.points ?? HCAS_DEMO.pointsName);
await using pool = await createPool({ size: Number(args.workers) });
const { network, report } = await repair(net, { points: pts.points, labels: pts.labels, inputBox: pts.inputBox, workers: pool });
await Deno.mkdir(args.out, { recursive: true });
await Deno.writeTextFile(`${args.out}/repaired.json`, JSON.stringify(repairedToJson(network)) + '\n');
await Deno.writeTextFile(`${args.out}/report.json`, JSON.stringify(report) + '\n');
const r = report.result;
console.log(
  `${r.fixedPoints}/${r.buggyPoints} buggy points fixed with ${r.regions} patches on ${pool.size} ${pool.runtime} workers (wasm ${report.tool.wasm}) in ${report.timingsMs.total.toFixed(0)} ms`,
);
if (r.status !== 'repaired') Deno.exit(1);
