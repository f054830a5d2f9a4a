// Runs in the consumer project with Deno (package.json + node_modules: 'relu-repair' resolves to
// the installed tarball, with the "deno" export condition).
import * as rr from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';

const out: Record<string, unknown> = { resolved: import.meta.resolve('relu-repair') };
await rr.init();
const net = rr.parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
const pts = rr.parsePoints(HCAS_DEMO.points, 3, 5);
const job = { points: pts.points, labels: pts.labels, inputBox: pts.inputBox };
const one = await rr.repair(net, job);
const pool = await rr.createPool({ size: 2 });
let progress = 0;
const many = await rr.repair(net, { ...job, workers: pool, onProgress: () => progress++ });
out.runtime = pool.runtime;
out.flavour = many.report.tool.wasm;
out.progressEvents = progress;
out.fixed = `${many.report.result.fixedPoints}/${many.report.result.buggyPoints}`;
out.identical = JSON.stringify(rr.repairedToJson(one.network)) === JSON.stringify(rr.repairedToJson(many.network));
out.repaired = rr.repairedToJson(many.network);

// The full-LP path in Deno workers (glpk.js loaded inside the worker): a narrow output box.
const x = pts.points[0];
const y = net.predict([x])[0];
const c = y.map((v, i) => (i === 4 ? v + 50 : v - 50));
const P: number[][] = [];
const q: number[] = [];
c.forEach((ci, i) => {
  const up = new Array(5).fill(0);
  up[i] = 1;
  P.push(
    up,
    up.map((v) => -v),
  );
  q.push(ci + 1, -(ci - 1));
});
const spec = rr.polytopeSpec(P, q);
const lpOne = await rr.repair(net, { points: [x], spec, inputBox: pts.inputBox });
const lpMany = await rr.repair(net, { points: [x], spec, inputBox: pts.inputBox, workers: pool });
out.fullLp = {
  proof: lpMany.report.regions[0]?.minimalityProof,
  lp: lpMany.report.tool.lp,
  status: lpMany.report.result.status,
  identical: JSON.stringify(rr.repairedToJson(lpOne.network)) === JSON.stringify(rr.repairedToJson(lpMany.network)),
};
// A trapping worker is replaced and reported as a WasmError in Deno too.
pool.injectFaultForTesting(1, 'trap');
try {
  await rr.repair(net, { ...job, workers: pool });
  out.trap = null;
} catch (e) {
  out.trap = { isWasmError: e instanceof rr.WasmError, message: (e as Error).message, replaced: pool.stats.replaced };
}
const after = await rr.repair(net, { ...job, workers: pool });
out.afterTrapIdentical = JSON.stringify(rr.repairedToJson(one.network)) === JSON.stringify(rr.repairedToJson(after.network));
await pool.close();
console.log(JSON.stringify(out));
