/**
 * What crosses the boundary between the pool (main thread) and its workers: plain data only.
 * Errors travel as {@link SerializedError} and are rebuilt as the same {@link ReluRepairError}
 * subclass on the caller's side (comlink alone would turn them into plain `Error`s).
 */

import type { BoxOutcome, BoxTask } from '../box-job.js';
import { AbortError, EmptySetError, InputError, LpError, ReluRepairError, RepairError, WasmError } from '../errors.js';
import type { NetworkGraph, NetworkInfo } from '../network.js';
import type { RegionOutcome, RegionTask } from '../region-job.js';
import type { Flavour } from '../wasm/raw.js';

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  field?: string;
  value?: unknown;
  stack?: string;
}

/** Faults a test can inject into one task (never used by the library itself). */
export type DebugFault = 'trap' | 'crash';

export type SolveReply = { ok: true; outcome: RegionOutcome; lpName?: string } | { ok: false; error: SerializedError };

/** The reply to a branch-and-bound job (ts/box-job.ts). */
export type BoxReply = { ok: true; outcome: BoxOutcome } | { ok: false; error: SerializedError };

/** The API every worker exposes through comlink. */
export interface WorkerApi {
  /** Instantiates the core from the main thread's compiled module; returns the flavour it runs. */
  init(module: WebAssembly.Module, flavour: Flavour): Promise<Flavour>;
  /** Stores the network of job `job` (sent once per job and worker). */
  setNetwork(job: number, graph: NetworkGraph, info: NetworkInfo): void;
  dropNetwork(job: number): void;
  solve(job: number, task: RegionTask, fault?: DebugFault): Promise<SolveReply>;
  /** Runs one branch-and-bound job on the job's network. */
  solveBox(job: number, task: BoxTask, fault?: DebugFault): Promise<BoxReply>;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const out: SerializedError = { name: e.name, message: e.message, stack: e.stack };
    if (e instanceof ReluRepairError) out.code = e.code;
    if (e instanceof InputError) {
      out.file = e.file;
      out.field = e.field;
      try {
        out.value = structuredClone(e.value);
      } catch {
        out.value = String(e.value);
      }
    }
    return out;
  }
  return { name: 'Error', message: String(e) };
}

function define<T extends object>(obj: T, props: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(props)) {
    if (v !== undefined) Object.defineProperty(obj, k, { value: v, enumerable: true, configurable: true, writable: false });
  }
  return obj;
}

/** Rebuilds the typed error a worker threw; `context` says where (prefixed to the message). */
export function deserializeError(s: SerializedError, context: string): Error {
  const msg = s.message;
  let e: Error;
  switch (s.name) {
    case 'InputError':
      e = define(new InputError(msg), { file: s.file, field: s.field, value: s.value });
      break;
    case 'LpError':
      e = new LpError(msg);
      break;
    case 'EmptySetError':
      e = new EmptySetError(msg);
      break;
    case 'WasmError':
      e = new WasmError(`${context}: ${msg}`);
      break;
    case 'RepairError':
      e = new RepairError(msg);
      break;
    case 'AbortError':
      e = new AbortError();
      e.message = msg;
      break;
    default:
      // Anything else that escapes a worker is a bug or a runtime failure there.
      e = new WasmError(`${context}: ${s.name}: ${msg}`);
  }
  if (s.stack) e.stack = `${e.name}: ${e.message}\n    [in worker]\n${s.stack.split('\n').slice(1).join('\n')}`;
  return e;
}
