/** Entry of a pool worker on Node's worker_threads (dist/worker.node.js). */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { WasmError } from '../errors.js';
import { createWorkerApi } from './worker-api.js';

if (!parentPort) throw new WasmError('relu-repair: worker.node.js must run in a worker thread');
Comlink.expose(
  createWorkerApi({
    crash() {
      setTimeout(() => {
        // A typed error all the same: what matters is that nothing catches it (the worker dies).
        throw new WasmError('injected crash (test)');
      });
    },
  }),
  nodeEndpoint(parentPort),
);
