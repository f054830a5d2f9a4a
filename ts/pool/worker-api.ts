/**
 * The worker side of the pool: holds one core instance (from the main thread's compiled module,
 * so both sides run the same bits), the networks of running jobs, and the LP backends by name; solves
 * one region per call with {@link solveRegion} and returns the patch with transferable buffers.
 */
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { runBoxTask } from '../box-job.js';
import { WasmError } from '../errors.js';
import type { LpBackend } from '../lp/backend.js';
import { backendByName } from '../lp/select.js';
import { Network, type NetworkGraph, type NetworkInfo } from '../network.js';
import { type RegionOutcome, type RegionTask, solveRegion } from '../region-job.js';
import { type Flavour, getCore, init } from '../wasm/raw.js';
import { type BoxReply, type DebugFault, type SolveReply, serializeError, type WorkerApi } from './protocol.js';

function buffersOf(o: RegionOutcome): ArrayBuffer[] {
  const p = o.patch;
  if (!p) return [];
  const bufs = new Set<ArrayBuffer>();
  for (const a of [p.A, p.b, p.C, p.d, p.H, p.rows?.index, p.rows?.neuron, p.rows?.norm])
    if (a && a.buffer instanceof ArrayBuffer) bufs.add(a.buffer);
  return [...bufs];
}

export function createWorkerApi(hooks: { crash(): void }): WorkerApi {
  const networks = new Map<number, Network>();
  const backends = new Map<string, LpBackend>();
  const backendFor = (name = 'glpk'): LpBackend => {
    let b = backends.get(name);
    if (!b) {
      b = backendByName(name);
      backends.set(name, b);
    }
    return b;
  };
  return {
    async init(module: WebAssembly.Module, flavour: Flavour): Promise<Flavour> {
      await init({ wasm: module, flavour });
      return getCore().flavour;
    },
    setNetwork(job: number, graph: NetworkGraph, info: NetworkInfo): void {
      networks.get(job)?.free();
      networks.set(job, Network.fromGraph(graph, info));
    },
    dropNetwork(job: number): void {
      networks.get(job)?.free();
      networks.delete(job);
    },
    async solve(job: number, task: RegionTask, fault?: DebugFault): Promise<SolveReply> {
      try {
        const net = networks.get(job);
        if (!net) throw new WasmError(`job ${job} has no network in this worker`);
        if (fault === 'trap') {
          const core = getCore();
          core.guard(() => core.exports.rr_debug_panic());
        } else if (fault === 'crash') {
          // Dies outside any call, without replying: the pool must notice the dead worker.
          hooks.crash();
          return new Promise<SolveReply>(() => {});
        }
        const backend = backendFor(task.lp);
        const outcome = await solveRegion(net, task, backend);
        // The backend's name (with its version) as the one-thread report gives it: only once it ran.
        const lpName = outcome.patch?.region.minimalityProof === 'full-lp' ? backend.name : undefined;
        return Comlink.transfer({ ok: true, outcome, lpName }, buffersOf(outcome));
      } catch (e) {
        return { ok: false, error: serializeError(e) };
      }
    },
    async solveBox(job: number, task, fault?: DebugFault): Promise<BoxReply> {
      try {
        const net = networks.get(job);
        if (!net) throw new WasmError(`job ${job} has no network in this worker`);
        if (fault === 'trap') {
          const core = getCore();
          core.guard(() => core.exports.rr_debug_panic());
        }
        return { ok: true, outcome: await runBoxTask(net, task) };
      } catch (e) {
        return { ok: false, error: serializeError(e) };
      }
    },
  };
}
