/** Entry of a pool worker as a module Web Worker: browsers and Deno (dist/worker.web.js). */
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { WasmError } from '../errors.js';
import { createWorkerApi } from './worker-api.js';

Comlink.expose(
  createWorkerApi({
    crash() {
      setTimeout(() => {
        // A typed error all the same: what matters is that nothing catches it (the worker dies).
        throw new WasmError('injected crash (test)');
      });
    },
  }),
);
