// Compiled (not run) against the installed tarball's declarations.
import {
  AbortError,
  createPool,
  init,
  labelSpec,
  parseNnet,
  type RepairPool,
  type RepairReport,
  type RepairResult,
  repair,
  WasmError,
} from 'relu-repair';
import { HCAS_DEMO } from 'relu-repair/demo';
import * as slim from 'relu-repair/slim';

export async function typed(): Promise<RepairReport> {
  await init({ flavour: 'auto' });
  const net = parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
  const pool: RepairPool = await createPool({ size: 2 });
  const res: RepairResult = await repair(net, {
    points: [[1, 2, 3]],
    spec: labelSpec(4, net.outputSize),
    workers: pool,
    signal: AbortSignal.timeout(1000),
    onProgress: (e) => e.done / e.total,
  });
  const n: number = res.network.predict([[1, 2, 3]])[0][0];
  // Disposal is typed without any `lib` setting (dist/disposable.d.ts).
  net[Symbol.dispose]();
  await pool[Symbol.asyncDispose]();
  await pool.close();
  await slim.init({ wasm: new Uint8Array(8) });
  // The declarations are real types, not `any`: these must be rejected.
  // @ts-expect-error workers is a RepairPool or a number
  await repair(net, { points: [], labels: 4, workers: 'two' });
  // @ts-expect-error HCAS_DEMO.advisories is a readonly tuple
  HCAS_DEMO.advisories.push('X');
  const e: unknown = null;
  if (e instanceof WasmError || e instanceof AbortError) throw e;
  return { ...res.report, notes: [String(n)] };
}
