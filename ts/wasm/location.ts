/**
 * Where the bundled package finds its wasm files. In the source tree this returns `undefined`
 * (raw.ts then uses `__RELU_REPAIR_PKG__`/`../../pkg/`); the build swaps this module for
 * `location.dist.ts` (literal URLs, so that bundlers such as Vite copy the files) or
 * `location.slim.ts` (`null`: the caller must pass `init({ wasm })`).
 */
import type { Flavour } from './flavour.js';

export function packagedWasmUrl(_flavour: Flavour): URL | null | undefined {
  return undefined;
}

/** The Node pool worker: the built one in dist/ (tests run the source against it). */
export function nodeWorkerUrl(): URL {
  return new URL('../../dist/worker.node.js', import.meta.url);
}
