/**
 * Node worker_threads behind comlink's node adapter. node:* modules are imported lazily, so the
 * bundles that contain this file still load where they do not exist (edge runtimes).
 */

import type { Endpoint } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { nodeWorkerUrl } from '../wasm/location.js';
import type { Platform, WorkerHandle } from './spawn.js';

type WorkerCtor = typeof import('node:worker_threads').Worker;

function spawnNodeWorker(Worker: WorkerCtor, workerUrl?: URL | string): WorkerHandle {
  const url = workerUrl ? new URL(workerUrl) : nodeWorkerUrl();
  const worker = new Worker(url);
  let failed: ((message: string) => void) | undefined;
  let pending: string | undefined;
  let terminating = false;
  const fail = (message: string) => {
    if (terminating) return;
    if (failed) {
      const cb = failed;
      failed = undefined;
      cb(message);
    } else pending ??= message;
  };
  worker.on('error', (e) => fail(`the worker failed: ${e?.message ?? e}`));
  worker.on('messageerror', () => fail('the worker sent a message that could not be deserialised'));
  worker.on('exit', (code) => fail(`the worker exited (code ${code})`));
  // Idle workers must not keep the process alive.
  worker.unref();
  return {
    endpoint: nodeEndpoint(worker as unknown as Parameters<typeof nodeEndpoint>[0]) as Endpoint,
    onFailure(cb) {
      if (pending !== undefined) cb(pending);
      else failed = cb;
    },
    terminate() {
      terminating = true;
      void worker.terminate();
    },
    setBusy(busy) {
      if (busy) worker.ref();
      else worker.unref();
    },
  };
}

export async function loadNodePlatform(): Promise<Platform> {
  const [{ Worker }, { availableParallelism }] = await Promise.all([import('node:worker_threads'), import('node:os')]);
  return { kind: 'node', spawn: (url) => spawnNodeWorker(Worker, url), concurrency: () => availableParallelism() };
}
