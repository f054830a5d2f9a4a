#!/usr/bin/env node
// Repair a ReLU network on its buggy points in a pool of worker threads (Node worker_threads),
// then write the repaired network and the report. Without arguments: the HCAS demo job.
//
//   node examples/node/repair.mjs [--model net.nnet --points points.json] [--workers N] [--out DIR]
//
// Exit code 0 when every buggy point is fixed, 1 otherwise, 2 on bad input.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, InputError, init, loadModel, parseNnet, parsePoints, repair, repairedToJson, saveJson } from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    points: { type: 'string' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: '.' },
  },
});

try {
  await init();
  const net = args.model ? await loadModel(args.model) : parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
  const doc = args.points ? JSON.parse(readFileSync(args.points, 'utf8')) : HCAS_DEMO.points;
  const pts = parsePoints(doc, net.inputSize, net.outputSize, args.points ?? HCAS_DEMO.pointsName);
  const pool = await createPool({ size: Number(args.workers) });
  let last = -1;
  const { network, report } = await repair(net, {
    points: pts.points,
    labels: pts.labels,
    inputBox: pts.inputBox,
    workers: pool,
    onProgress: (e) => {
      const pct = Math.floor((100 * e.done) / Math.max(1, e.total));
      if (e.phase === 'regions' && pct >= last + 25) {
        process.stderr.write(`regions: ${e.done}/${e.total}\n`);
        last = pct;
      }
    },
  });
  await pool.close();
  mkdirSync(args.out, { recursive: true });
  await saveJson(join(args.out, 'repaired.json'), repairedToJson(network));
  await saveJson(join(args.out, 'report.json'), report);
  const r = report.result;
  console.log(
    `${r.fixedPoints}/${r.buggyPoints} buggy points fixed with ${r.regions} patches on ${pool.size} ${pool.runtime} workers (wasm ${report.tool.wasm}) in ${report.timingsMs.total.toFixed(0)} ms`,
  );
  process.exitCode = r.status === 'repaired' ? 0 : 1;
} catch (e) {
  console.error(`repair failed: ${e.message}`);
  process.exitCode = e instanceof InputError ? 2 : 1;
}
