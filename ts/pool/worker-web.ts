/** Entry of a pool worker as a module Web Worker: browsers and Deno (dist/worker.web.js). */
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { createWorkerApi } from './worker-api.js';

Comlink.expose(
  createWorkerApi({
    crash() {
      setTimeout(() => {
        throw new Error('injected crash (test)');
      });
    },
  }),
);
