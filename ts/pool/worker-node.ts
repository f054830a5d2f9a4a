/** Entry of a pool worker on Node's worker_threads (dist/worker.node.js). */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createWorkerApi } from './worker-api.js';

if (!parentPort) throw new Error('relu-repair: worker.node.js must run in a worker thread');
Comlink.expose(
  createWorkerApi({
    crash() {
      setTimeout(() => {
        throw new Error('injected crash (test)');
      });
    },
  }),
  nodeEndpoint(parentPort),
);
