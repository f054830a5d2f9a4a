// Runs in the consumer project with plain Node: only the installed tarball is visible.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as rr from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';

const out = { resolved: import.meta.resolve('relu-repair'), slimResolved: import.meta.resolve('relu-repair/slim') };
await rr.init();
const net = rr.parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
const pts = rr.parsePoints(HCAS_DEMO.points, 3, 5);
const job = { points: pts.points, labels: pts.labels, inputBox: pts.inputBox };
const one = await rr.repair(net, job);
const pool = await rr.createPool({ size: 2 });
const many = await rr.repair(net, { ...job, workers: pool });
await pool.close();
out.runtime = pool.runtime;
out.flavour = one.report.tool.wasm;
out.fixed = `${many.report.result.fixedPoints}/${many.report.result.buggyPoints}`;
out.regions = many.report.result.regions;
out.identical = JSON.stringify(rr.repairedToJson(one.network)) === JSON.stringify(rr.repairedToJson(many.network));
out.repaired = rr.repairedToJson(many.network);

// The slim entry: no default wasm; the caller passes the bytes.
const slim = await import('relu-repair/slim');
try {
  await slim.init();
  out.slimError = null;
} catch (e) {
  out.slimError = { name: e.name, isWasmError: e instanceof slim.WasmError, message: e.message };
}
await slim.init({ wasm: readFileSync(fileURLToPath(import.meta.resolve('relu-repair/pkg/relu_repair.wasm'))), flavour: 'scalar' });
const slimNet = slim.parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
const slimRes = await slim.repair(slimNet, { ...job, workers: 2 });
out.slim = { flavour: slimRes.report.tool.wasm, fixed: slimRes.report.result.fixedPoints };
process.stdout.write(JSON.stringify(out));
