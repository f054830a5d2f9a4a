/**
 * Starting pool workers on each runtime. Node uses worker_threads (spawn-node.ts); browsers and
 * Deno use module Web Workers. The worker scripts live next to the bundle in dist/.
 */
import type { Endpoint } from 'comlink/dist/esm/comlink.mjs';

export interface WorkerHandle {
  endpoint: Endpoint;
  /** Registers the callback for a failure outside any call (uncaught error, exit); fires once. */
  onFailure(cb: (message: string) => void): void;
  terminate(): void;
  /** Node: a busy worker keeps the process alive, an idle one does not. */
  setBusy(busy: boolean): void;
}

export interface Platform {
  kind: RuntimeKind;
  spawn(workerUrl?: URL | string): WorkerHandle;
  /** Hardware threads. */
  concurrency(): number;
}

export type RuntimeKind = 'node' | 'deno' | 'browser' | 'other';

export function runtimeKind(): RuntimeKind {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno === 'object' && g.Deno !== null) return 'deno';
  const proc = g.process as { versions?: { node?: string } } | undefined;
  if (proc?.versions?.node && typeof g.window === 'undefined' && typeof g.WorkerGlobalScope === 'undefined') return 'node';
  if (typeof g.Worker === 'function') return 'browser';
  return 'other';
}

/** Module Web Worker (browsers, Deno). */
export function spawnWebWorker(workerUrl?: URL | string): WorkerHandle {
  // Written out literally so that bundlers (Vite, webpack 5, esbuild plugins) find the worker.
  const worker = workerUrl
    ? new Worker(workerUrl, { type: 'module' })
    : new Worker(new URL('./worker.web.js', import.meta.url), { type: 'module' });
  let failed: ((message: string) => void) | undefined;
  let pending: string | undefined;
  const fail = (message: string) => {
    if (failed) {
      const cb = failed;
      failed = undefined;
      cb(message);
    } else pending ??= message;
  };
  worker.addEventListener('error', (ev: ErrorEvent) => {
    ev.preventDefault();
    fail(`the worker failed: ${ev.message || 'uncaught error (the worker script may not have loaded)'}`);
  });
  worker.addEventListener('messageerror', () => fail('the worker sent a message that could not be deserialised'));
  return {
    endpoint: worker as unknown as Endpoint,
    onFailure(cb) {
      if (pending !== undefined) cb(pending);
      else failed = cb;
    },
    terminate: () => worker.terminate(),
    setBusy() {},
  };
}

export const webPlatform = (kind: RuntimeKind): Platform => ({
  kind,
  spawn: spawnWebWorker,
  concurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2,
});
